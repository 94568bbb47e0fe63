//! The site index: dump buckets and profile samples joined per key, grouped
//! into sites with their figures and objects; and `why site:` over it.

use std::collections::HashMap;

use super::check::Agreement;
use super::frames::{Key, Positions, positions, visible};
use super::join::{KeyFigures, join_samples};
use super::sampling::{sampling_doc, sampling_rate};
use super::{Estimate, Inuse, ProfileCheck, SamplingDoc, SiteGrouping, SiteWhyDoc};
use crate::analysis::graph::Graph;
use crate::analysis::paths::ShortestTree;
use crate::model::{
    AllocProfile, HeapModel, Memory, ObjectId, SourceFrame, sample_weight, scale_heap_sample,
};

pub(super) struct SiteAcc {
    pub(super) frames: Vec<SourceFrame>,
    /// Stack (positions) → live bytes, to show the heaviest one.
    pub(super) stacks: HashMap<Positions, (u64, Vec<SourceFrame>)>,
    pub(super) sizes: Vec<u64>,
    pub(super) profile: Option<Inuse>,
    pub(super) recorded: Option<Inuse>,
    pub(super) objects: Vec<ObjectId>,
}

/// Everything `sites` and `why site:` need, computed once.
pub struct SiteIndex {
    pub(super) sites: Vec<SiteAcc>,
    pub sampling: SamplingDoc,
    pub profile_check: Option<ProfileCheck>,
    pub notes: Vec<String>,
}

impl SiteIndex {
    pub fn build(
        model: &HeapModel,
        profile: Option<&AllocProfile>,
        grouping: SiteGrouping,
    ) -> SiteIndex {
        let sites = &model.sites;
        let mut notes = Vec::new();
        // Join keys of the dump's buckets.
        let mut keys: HashMap<Key, KeyFigures> = HashMap::new();
        for (i, b) in sites.buckets.iter().enumerate() {
            keys.entry((positions(&b.stack), b.size))
                .or_default()
                .buckets
                .push(i as u32);
        }
        let join = profile
            .map(|p| join_samples(p, sites, &mut keys))
            .unwrap_or_default();

        let (rate, inferred) = sampling_rate(model, profile);
        let mut agreement = Agreement::default();

        // Objects by bucket.
        let mut objects_of_bucket: Vec<Vec<ObjectId>> = vec![Vec::new(); sites.buckets.len()];
        for &(obj, b) in &sites.object_bucket {
            if let Some(list) = objects_of_bucket.get_mut(b as usize)
                && list.last() != Some(&obj)
            {
                list.push(obj);
            }
        }

        let mut accs: Vec<SiteAcc> = Vec::new();
        let mut site_of_key: HashMap<Positions, usize> = HashMap::new();
        let mut sorted_keys: Vec<_> = keys.into_iter().collect();
        sorted_keys.sort_by(|a, b| a.0.cmp(&b.0));
        for ((pos, size), figures) in sorted_keys {
            // What pprof would report for these buckets: scaled per bucket
            // (each is one record) when the profile (or none) is scaled.
            let scaled_rate = match profile {
                Some(p) if !p.scaled => 1,
                _ => rate.unwrap_or(1) as i64,
            };
            let recorded = (!figures.buckets.is_empty()).then(|| {
                let mut f = Inuse::default();
                for &b in &figures.buckets {
                    let b = &sites.buckets[b as usize];
                    let live = b.allocs.saturating_sub(b.frees) as i64;
                    let (n, bytes) =
                        scale_heap_sample(live, live.saturating_mul(b.size as i64), scaled_rate);
                    f.inuse_objects = f.inuse_objects.saturating_add(n);
                    f.inuse_bytes = f.inuse_bytes.saturating_add(bytes);
                }
                f
            });
            let from_profile = profile.map(|p| {
                let mut f = Inuse::default();
                // The profile's integers may be anything: add without overflow.
                for &s in &figures.samples {
                    f.inuse_objects = f.inuse_objects.saturating_add(p.samples[s].inuse_objects);
                    f.inuse_bytes = f.inuse_bytes.saturating_add(p.samples[s].inuse_bytes);
                }
                f
            });
            if let Some(p) = profile {
                agreement.compare(p, sites, &pos, &figures, recorded, from_profile);
            }

            let bucket_frames = figures
                .buckets
                .first()
                .map(|&bi| visible(&sites.buckets[bi as usize].stack).to_vec());
            // Names: the profile's (it expands inlined calls) when it has them.
            let frames = match (join.names.get(&(pos.clone(), size)), bucket_frames) {
                (Some(p), _) if !sites.inlined_frames || figures.buckets.is_empty() => p.clone(),
                (_, Some(b)) => b,
                (Some(p), None) => p.clone(),
                (None, None) => continue,
            };
            // Grouped by the frames shown, so that a heap dump's innermost
            // position (taken at the return address) does not split or merge
            // sites differently from a core's.
            let shown = frames
                .iter()
                .map(|f| (f.file.clone().unwrap_or_default(), f.line.unwrap_or(0)));
            let group_key: Positions = match grouping {
                SiteGrouping::Line => shown.take(1).collect(),
                SiteGrouping::Stack => shown.collect(),
            };
            let i = *site_of_key.entry(group_key).or_insert_with(|| {
                accs.push(SiteAcc {
                    frames: frames.clone(),
                    stacks: HashMap::new(),
                    sizes: Vec::new(),
                    profile: None,
                    recorded: None,
                    objects: Vec::new(),
                });
                accs.len() - 1
            });
            let acc = &mut accs[i];
            if size > 0 && !acc.sizes.contains(&size) {
                acc.sizes.push(size);
            }
            add_inuse(&mut acc.profile, from_profile);
            add_inuse(&mut acc.recorded, recorded);
            let mut bytes = 0;
            for &b in &figures.buckets {
                for &o in &objects_of_bucket[b as usize] {
                    acc.objects.push(o);
                    bytes += model.objects.size(o);
                }
            }
            let e = acc.stacks.entry(pos).or_insert((0, frames));
            e.0 += bytes;
        }

        let sampling = sampling_doc(rate, inferred);
        if sites.buckets.is_empty() {
            notes.push(
                "the dump has no memory-profile records: the program never sampled an \
                 allocation (it does not use runtime/pprof, or MemProfileRate is 0), so no \
                 object can be tied to its site"
                    .into(),
            );
        } else if !sites.inlined_frames && profile.is_none() {
            notes.push(
                "heap dumps name an inlined call after the function it is inlined into; \
                 pass the profile (--heap) for the inlined names"
                    .into(),
            );
        }

        let profile_check = profile
            .map(|p| agreement.check(p, sites.rate, sites.last_gc, join.matched, join.unmatched));

        SiteIndex {
            sites: accs,
            sampling,
            profile_check,
            notes,
        }
    }

    /// Sites whose innermost frame is `function`, or sits at `file:line`
    /// (`file` may be a path suffix).
    pub fn select(&self, spec: &str) -> Vec<usize> {
        let by_line = spec.rsplit_once(':').and_then(|(file, line)| {
            let line: u32 = line.parse().ok()?;
            Some((file.to_string(), line))
        });
        (0..self.sites.len())
            .filter(|&i| {
                let Some(leaf) = self.sites[i].frames.first() else {
                    return false;
                };
                match &by_line {
                    Some((file, line)) => {
                        leaf.line == Some(*line)
                            && leaf
                                .file
                                .as_deref()
                                .is_some_and(|f| f == file || f.ends_with(&format!("/{file}")))
                    }
                    None => leaf.function == spec,
                }
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    /// `why site:SPEC`: the selected sites' objects, merged by root.
    pub fn explain(
        &self,
        model: &HeapModel,
        memory: Option<&dyn Memory>,
        selected: &[usize],
        raw: bool,
    ) -> SiteWhyDoc {
        let graph = Graph::new(model);
        let tree = ShortestTree::compute(&graph);
        let first = selected.first().and_then(|&i| self.sites[i].frames.first());
        let ids: Vec<ObjectId> = selected
            .iter()
            .flat_map(|&i| self.sites[i].objects.iter().copied())
            .collect();
        // Alike goroutines hold together, as in `top` and `sites`.
        let holders = crate::analysis::root_holders::RootHolders::new(model);
        let merged = holders.merge(model, memory, &graph, &tree, ids.iter().copied(), raw);
        let rate = self.sampling.rate.unwrap_or(0);
        let estimated = (rate > 1).then(|| {
            let (objects, bytes) = ids.iter().fold((0f64, 0f64), |(o, b), &id| {
                let size = model.objects.size(id) as f64;
                let w = sample_weight(size, rate);
                (o + w, b + w * size)
            });
            Estimate {
                live_objects: objects.round() as u64,
                live_bytes: bytes.round() as u64,
            }
        });
        SiteWhyDoc {
            site: first.map_or_else(|| "?".into(), |f| f.function.clone()),
            file: first.and_then(|f| f.file.clone()),
            line: first.and_then(|f| f.line),
            objects: merged.objects,
            bytes: merged.bytes,
            unreachable_objects: merged.unreachable_objects,
            estimated,
            roots: merged.roots,
        }
    }
}

fn add_inuse(total: &mut Option<Inuse>, add: Option<Inuse>) {
    if let Some(a) = add {
        let t = total.get_or_insert_with(Inuse::default);
        t.inuse_objects = t.inuse_objects.saturating_add(a.inuse_objects);
        t.inuse_bytes = t.inuse_bytes.saturating_add(a.inuse_bytes);
    }
}
