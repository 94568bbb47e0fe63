//! Allocation sites: the dump's sampled objects grouped by where they were
//! allocated, joined with a pprof heap profile when there is one, with the
//! memory they retain and the roots that keep them.
//!
//! A site's stack is the bucket's stack as pprof shows it: leading runtime
//! frames dropped. Profile samples and dump buckets are joined on
//! (source positions of the visible stack, object size), the key pprof's
//! samples are built on; several buckets may share one key on either side, so
//! both are summed per key.

use std::collections::HashMap;

use serde::Serialize;

use super::graph::Graph;
use super::paths::ShortestTree;
use super::report::Reporter;
use super::report::group_ref;
use super::why::{MergedRoot, merge_roots, root_ref};
use crate::model::{
    AllocProfile, HeapModel, Memory, ObjectId, SourceFrame, sample_weight, scale_heap_sample,
};

/// How objects are grouped into sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteGrouping {
    /// By the allocating source line (the innermost visible frame).
    Line,
    /// By the whole visible stack.
    Stack,
}

/// Order of the site list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteOrder {
    /// Bytes of live sampled objects.
    Live,
    /// Bytes those objects retain.
    Retained,
    /// In-use bytes as the profile (or the dump's own records) count them.
    Inuse,
}

#[derive(Debug, Clone)]
pub struct SiteOptions {
    pub grouping: SiteGrouping,
    pub order: SiteOrder,
    /// Retaining roots listed per site.
    pub retainers: usize,
    pub raw: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            grouping: SiteGrouping::Line,
            order: SiteOrder::Live,
            retainers: 3,
            raw: false,
        }
    }
}

/// In-use figures of one site.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Inuse {
    pub inuse_objects: i64,
    pub inuse_bytes: i64,
}

#[derive(Debug, Serialize)]
pub struct SiteDoc {
    /// The allocating function (innermost visible frame).
    pub site: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Visible frames, innermost first: "pkg.func (file.go:12)". For sites
    /// grouped by line, the stack with the most live bytes.
    pub stack: Vec<String>,
    /// Distinct stacks merged into this site.
    pub stacks: usize,
    /// Object sizes (size classes) allocated here.
    pub sizes: Vec<u64>,
    /// The pprof profile's in-use figures (its estimates when sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Inuse>,
    /// The same figures from the profiling records inside the dump.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Inuse>,
    /// Sampled objects found in the dump and reachable from a root.
    pub live_objects: u64,
    pub live_bytes: u64,
    /// Sampled objects still allocated but unreachable (garbage).
    pub unreachable_objects: u64,
    /// The live figures extrapolated to unsampled objects (absent when every
    /// allocation is sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated: Option<Estimate>,
    /// What the live sampled objects keep alive that nothing else holds
    /// (themselves included).
    pub retained_bytes: u64,
    pub retained_objects: u64,
    pub retainers: Vec<MergedRoot>,
    /// Retaining roots not listed.
    pub more_retainers: usize,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Estimate {
    pub live_objects: u64,
    pub live_bytes: u64,
}

/// How the figures were obtained, and how far to trust them.
#[derive(Debug, Clone, Serialize)]
pub struct SamplingDoc {
    /// Sampling period in bytes (MemProfileRate), when known.
    pub rate: Option<u64>,
    /// "exact" (every allocation sampled), "sampled", "off" (MemProfileRate=0)
    /// or "unknown".
    pub coverage: &'static str,
    pub note: String,
}

/// How well the profile fits the dump.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileCheck {
    pub source: String,
    /// Whether the profile's figures are pprof's estimates (profile.proto)
    /// rather than raw sample counts (legacy text).
    pub scaled: bool,
    /// Profile samples (with in-use objects) that found buckets in the dump.
    pub matched_samples: usize,
    /// Profile samples with in-use objects that no dump bucket has.
    pub unmatched_samples: usize,
    pub unmatched_inuse_bytes: i64,
    /// Matched keys whose in-use counts differ between profile and dump.
    pub disagreeing_sites: usize,
    /// Whether the profile's code addresses are the dump's (None: not checkable).
    pub same_code_addresses: Option<bool>,
    /// Whether it describes the dump's last GC cycle (None: not checkable).
    pub same_gc_cycle: Option<bool>,
    /// "consistent" or "mismatch".
    pub verdict: &'static str,
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SitesDoc {
    pub sampling: SamplingDoc,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_check: Option<ProfileCheck>,
    pub notes: Vec<String>,
    pub sites: Vec<SiteDoc>,
    /// Sites not listed (after the limit).
    pub more_sites: usize,
}

/// `why site:...` : the merged shortest paths of one site's objects.
#[derive(Debug, Serialize)]
pub struct SiteWhyDoc {
    pub site: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub objects: u64,
    pub bytes: u64,
    pub unreachable_objects: u64,
    /// `objects` and `bytes` extrapolated with pprof's weights (absent when
    /// every allocation is sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated: Option<Estimate>,
    pub roots: Vec<MergedRoot>,
}

/// pprof hides leading frames of these packages (runtime/pprof/protomem.go).
fn is_runtime_frame(f: &SourceFrame) -> bool {
    f.function.starts_with("runtime.") || f.function.starts_with("internal/runtime/")
}

/// Index of the first frame pprof shows: after the leading runtime frames,
/// unless the stack has nothing else.
pub(crate) fn first_visible(frames: &[SourceFrame]) -> usize {
    frames
        .iter()
        .position(|f| !is_runtime_frame(f))
        .unwrap_or_default()
}

/// The frames pprof shows: no leading runtime frames, and no
/// `runtime.goexit` at the bottom.
pub(crate) fn visible(frames: &[SourceFrame]) -> &[SourceFrame] {
    visible_bottom(&frames[first_visible(frames)..])
}

/// Source positions of a stack: what both sides agree on (heap dumps name
/// inlined frames after the function they are inlined into, but their files
/// and lines are the same).
type Positions = Vec<(String, u32)>;
/// A join key: the positions of a stack and the object size.
type Key = (Positions, u64);

fn is_runtime_file(file: &str) -> bool {
    ["runtime/", "internal/runtime/"]
        .iter()
        .any(|dir| file.starts_with(dir) || file.contains(&format!("/src/{dir}")))
}

/// The join key's positions: leading frames in the runtime's files dropped.
/// pprof drops leading frames by *function* name, which a heap dump's
/// frames do not give for inlined calls, so both sides are cut by file
/// instead (every runtime function lives in a runtime file).
fn positions(frames: &[SourceFrame]) -> Positions {
    let all = visible_bottom(frames);
    // A stack entirely inside the runtime (its own allocations) is cut by
    // name as pprof cuts it; the legacy text omits those frames.
    let start = all
        .iter()
        .position(|f| !f.file.as_deref().is_some_and(is_runtime_file))
        .unwrap_or_else(|| first_visible(all));
    all[start..]
        .iter()
        .map(|f| (f.file.clone().unwrap_or_default(), f.line.unwrap_or(0)))
        .collect()
}

/// Whether the innermost recorded frame is part of the join key.
fn keeps_leaf(frames: &[SourceFrame]) -> bool {
    positions(frames).len() == visible_bottom(frames).len()
}

/// A key with its innermost position made a wildcard.
fn without_leaf(pos: &Positions) -> Positions {
    let mut p = pos.clone();
    if let Some(first) = p.first_mut() {
        *first = (String::new(), 0);
    }
    p
}

/// Without `runtime.goexit` at the bottom (it symbolizes to nothing in pprof).
fn visible_bottom(frames: &[SourceFrame]) -> &[SourceFrame] {
    let mut v = frames;
    while let [rest @ .., last] = v {
        if last.function != "runtime.goexit" {
            break;
        }
        v = rest;
    }
    v
}

/// One join key's figures on both sides.
#[derive(Default)]
struct KeyFigures {
    buckets: Vec<u32>,
    samples: Vec<usize>,
}

struct SiteAcc {
    frames: Vec<SourceFrame>,
    /// Stack (positions) → live bytes, to show the heaviest one.
    stacks: HashMap<Positions, (u64, Vec<SourceFrame>)>,
    sizes: Vec<u64>,
    profile: Option<Inuse>,
    recorded: Option<Inuse>,
    objects: Vec<ObjectId>,
}

/// Everything `sites` and `why site:` need, computed once.
pub struct SiteIndex {
    sites: Vec<SiteAcc>,
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
        let holders = super::root_holders::RootHolders::new(model);
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

/// Profile samples joined with the dump's keys.
#[derive(Default)]
struct Join {
    /// The profile's frames for each key it matched (it names inlined calls).
    names: HashMap<Key, Vec<SourceFrame>>,
    /// Samples with objects in use that found a key, and (samples, bytes)
    /// that found none (they become keys of their own).
    matched: usize,
    unmatched: (usize, i64),
}

/// Gives each profile sample its key: an exact one first, else the likeliest
/// of the keys that differ only where the two sides record stacks
/// differently; a sample with none adds its own key.
fn join_samples(
    p: &AllocProfile,
    sites: &crate::model::Sites,
    keys: &mut HashMap<Key, KeyFigures>,
) -> Join {
    // Heap dumps take the innermost frame's position at its return
    // address, not at the call: when that frame is in the key its file
    // and line may differ from pprof's. Those keys also match on the
    // caller frames alone.
    let mut loose: HashMap<Key, Vec<Key>> = HashMap::new();
    if !sites.inlined_frames {
        for b in sites.buckets.iter().filter(|b| keeps_leaf(&b.stack)) {
            let pos = positions(&b.stack);
            let entry = loose.entry((without_leaf(&pos), b.size)).or_default();
            if !entry.iter().any(|k| k.0 == pos) {
                entry.push((pos, b.size));
            }
        }
    }
    // profile.proto has one file per function, not per line: a function
    // whose code comes from several files (a package's init, which runs
    // every file's initializers) gets whichever file pprof met first.
    // Such keys also match on lines alone.
    let mut by_lines: HashMap<(Vec<u32>, u64), Vec<Key>> = HashMap::new();
    for k in keys.keys() {
        by_lines
            .entry((k.0.iter().map(|p| p.1).collect(), k.1))
            .or_default()
            .push(k.clone());
    }
    let mut join = Join::default();
    // Exact keys first, so that loose matching only hands out what
    // no sample claimed exactly.
    let mut order: Vec<(usize, Key, bool)> = p
        .samples
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let key = (positions(&s.frames), s.object_size.unwrap_or(0));
            let exact = keys.contains_key(&key);
            (si, key, exact)
        })
        .collect();
    order.sort_by_key(|&(si, _, exact)| (!exact, si));
    let mut claimed: std::collections::HashSet<Key> = Default::default();
    for (si, mut key, exact) in order {
        let s = &p.samples[si];
        let shown = visible(&s.frames);
        if !exact {
            // The likeliest candidate: unclaimed, with the sample's
            // count, in the same file, at the nearest line.
            let (file, line) = key.0.first().cloned().unwrap_or_default();
            let recorded_count = |k: &Key| -> i64 {
                keys.get(k).map_or(0, |f| {
                    f.buckets
                        .iter()
                        .map(|&b| {
                            let b = &sites.buckets[b as usize];
                            b.allocs.saturating_sub(b.frees) as i64
                        })
                        .fold(0i64, i64::saturating_add)
                })
            };
            if let Some(found) = loose.get(&(without_leaf(&key.0), key.1)).and_then(|c| {
                c.iter().min_by_key(|k| {
                    let (f, l) = k.0.first().cloned().unwrap_or_default();
                    (
                        claimed.contains(*k),
                        recorded_count(k) != s.inuse_objects,
                        f != file,
                        l.abs_diff(line),
                    )
                })
            }) {
                key = found.clone();
            } else if let Some(found) = by_lines
                .get(&(key.0.iter().map(|p| p.1).collect(), key.1))
                .and_then(|c| c.iter().find(|k| !claimed.contains(*k)).or(c.first()))
            {
                key = found.clone();
            } else if key.0.iter().all(|(f, _)| is_runtime_file(f)) {
                // The runtime's own allocations: each side may have
                // cut a different number of leading frames.
                let suffix = |a: &Positions, b: &Positions| a.ends_with(b) || b.ends_with(a);
                if let Some(found) = keys
                    .keys()
                    .filter(|k| k.1 == key.1 && !claimed.contains(*k) && suffix(&k.0, &key.0))
                    .min()
                {
                    key = found.clone();
                }
            }
        }
        match keys.get_mut(&key) {
            Some(k) => {
                k.samples.push(si);
                claimed.insert(key.clone());
                if s.inuse_objects != 0 {
                    join.matched += 1;
                }
                join.names
                    .entry(key.clone())
                    .or_insert_with(|| shown.to_vec());
            }
            None => {
                if s.inuse_objects > 0 {
                    join.unmatched.0 += 1;
                    join.unmatched.1 = join.unmatched.1.saturating_add(s.inuse_bytes);
                }
                // A site the dump does not know: list it with the profile's figures.
                keys.insert(
                    key.clone(),
                    KeyFigures {
                        buckets: Vec::new(),
                        samples: vec![si],
                    },
                );
                join.names
                    .entry(key.clone())
                    .or_insert_with(|| shown.to_vec());
            }
        }
    }

    join
}

/// The sampling rate: the dump's own; a heap dump records none, but when
/// nearly every object carries an allocation sample every allocation was
/// sampled (only what the runtime allocated before the program set the rate
/// has none). The profile's period only when the dump tells nothing: a
/// profile of another process must not change the dump's figures. With the
/// counts behind an inferred rate.
fn sampling_rate(
    model: &HeapModel,
    profile: Option<&AllocProfile>,
) -> (Option<u64>, Option<(usize, usize)>) {
    if model.sites.rate.is_some() {
        return (model.sites.rate, None);
    }
    let mut sampled: Vec<ObjectId> = model.sites.object_bucket.iter().map(|&(o, _)| o).collect();
    sampled.dedup();
    if !model.objects.is_empty() && sampled.len() * 10 >= model.objects.len() * 9 {
        return (Some(1), Some((sampled.len(), model.objects.len())));
    }
    let period = profile.map(|p| p.period).filter(|&p| p > 0);
    (period, None)
}

/// How much of the heap the profiling records cover.
fn sampling_doc(rate: Option<u64>, inferred: Option<(usize, usize)>) -> SamplingDoc {
    match rate {
        Some(1) => SamplingDoc {
            rate,
            coverage: "exact",
            note: match inferred {
                None => "every allocation was sampled (MemProfileRate=1): counts are exact".into(),
                Some((sampled, all)) => format!(
                    "the dump does not record MemProfileRate, but {sampled} of its {all} \
                     objects carry an allocation sample, as with MemProfileRate=1: counts \
                     are exact"
                ),
            },
        },
        Some(0) => SamplingDoc {
            rate,
            coverage: "off",
            note: "memory profiling was off (MemProfileRate=0, as in programs that never \
                   use runtime/pprof): only allocations from before it was turned off carry \
                   a site; set runtime.MemProfileRate (or GODEBUG=memprofilerate=1) and \
                   import net/http/pprof to sample"
                .into(),
        },
        Some(r) if r > 1 => SamplingDoc {
            rate,
            coverage: "sampled",
            note: format!(
                "about one allocation per {r} bytes was sampled: only sampled objects can be \
                 tied to a site, so live counts are estimates; run with \
                 GODEBUG=memprofilerate=1 for exact figures"
            ),
        },
        _ => SamplingDoc {
            rate: None,
            coverage: "unknown",
            note: "the sampling rate is unknown (pass the executable or a profile): live \
                   figures count sampled objects only"
                .into(),
        },
    }
}

/// How the profile's figures compare with the dump's own records, gathered
/// key by key.
#[derive(Default)]
struct Agreement {
    /// Keys whose in-use figures differ, and (difference in bytes, text).
    disagreeing: usize,
    examples: Vec<(u64, String)>,
    /// Candidate offsets between the profile's and the dump's code
    /// addresses, each counted once per sample; and the samples compared.
    address_deltas: HashMap<i128, usize>,
    checked_samples: usize,
}

impl Agreement {
    fn compare(
        &mut self,
        profile: &AllocProfile,
        sites: &crate::model::Sites,
        pos: &Positions,
        figures: &KeyFigures,
        recorded: Option<Inuse>,
        from_profile: Option<Inuse>,
    ) {
        if let (Some(r), Some(p)) = (recorded, from_profile)
            && (r.inuse_objects != p.inuse_objects || r.inuse_bytes != p.inuse_bytes)
        {
            self.disagreeing += 1;
            let leaf = pos.first().map_or("?".to_string(), |(f, l)| {
                format!("{}:{l}", crate::model::short_file(f))
            });
            self.examples.push((
                p.inuse_bytes.abs_diff(r.inuse_bytes),
                format!(
                    "{leaf}: {} objects in the profile, {} in the dump",
                    p.inuse_objects, r.inuse_objects
                ),
            ));
        }
        // Code addresses: a profile of this very build and load address
        // has the bucket's return pcs minus one. Keys shared by several
        // buckets (two calls on one line) give each sample several
        // candidate offsets; count each offset once per sample.
        for &s in &figures.samples {
            let sample = &profile.samples[s];
            let Some(&addr) = sample.frame_addresses.first().filter(|&&a| a != 0) else {
                continue;
            };
            // pprof may have cut the stack elsewhere than rootpath:
            // any of the buckets' pcs may be the leaf's.
            let mut candidates: Vec<i128> = figures
                .buckets
                .iter()
                .flat_map(|&bi| sites.buckets[bi as usize].pcs.iter())
                .map(|&pc| i128::from(addr) + 1 - i128::from(pc))
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            if !candidates.is_empty() {
                self.checked_samples += 1;
            }
            for d in candidates {
                *self.address_deltas.entry(d).or_default() += 1;
            }
        }
    }

    fn check(
        mut self,
        p: &AllocProfile,
        dump_rate: Option<u64>,
        dump_gc: Option<crate::model::GcStamp>,
        matched: usize,
        unmatched: (usize, i64),
    ) -> ProfileCheck {
        let mut problems = Vec::new();
        if let Some(rate) = dump_rate
            && p.period > 0
            && p.period != rate
        {
            problems.push(format!(
                "the profile samples one allocation per {} bytes, the dump's MemProfileRate is \
                 {rate}: it comes from another process (the dump's own figures use its rate)",
                p.period
            ));
        }
        let same_code_addresses = if self.checked_samples == 0 {
            None
        } else {
            // Nearly all: a sample whose bucket pairing is ambiguous
            // (equal stacks) may miss; another build misses at most sites.
            let total = self.checked_samples;
            let nearly_all = |n: usize| n * 100 >= total * 95;
            let zero = self.address_deltas.get(&0).copied().unwrap_or(0);
            if nearly_all(zero) {
                Some(true)
            } else {
                let (delta, n) = self
                    .address_deltas
                    .iter()
                    .max_by_key(|&(d, n)| (*n, std::cmp::Reverse(d.unsigned_abs())))
                    .map_or((0, 0), |(&d, &n)| (d, n));
                if nearly_all(n) {
                    let sign = if delta < 0 { "-" } else { "" };
                    problems.push(format!(
                        "the profile's code addresses are shifted by {sign}{:#x} from the \
                         dump's: it comes from another process (a position-independent \
                         build loaded elsewhere)",
                        delta.unsigned_abs()
                    ));
                } else {
                    problems.push(format!(
                        "the profile's code addresses differ from the dump's at {} of {} \
                         allocation sites: it comes from a different build of the program",
                        total - zero,
                        total
                    ));
                }
                Some(false)
            }
        };
        let same_gc_cycle = match (p.last_gc, dump_gc, p.time_nanos) {
            (Some(a), Some(b), _) => {
                if a != b {
                    problems.push(format!(
                        "the profile describes GC cycle {} (ended at {} ns), the dump GC \
                         cycle {} (ended at {} ns): another process, or another moment of \
                         this one",
                        a.num_gc, a.unix_nanos, b.num_gc, b.unix_nanos
                    ));
                }
                Some(a == b)
            }
            (None, Some(b), Some(t)) if t < b.unix_nanos => {
                problems.push(
                    "the profile was written before the dump's last GC: it describes an \
                     earlier heap (another process, or earlier in this one)"
                        .into(),
                );
                Some(false)
            }
            _ => None,
        };
        if self.disagreeing > 0 {
            problems.push(format!(
                "in-use counts differ at {} allocation sites ({}): the profile \
                 was not taken from this process at this GC cycle",
                self.disagreeing,
                {
                    // The largest differences say the most.
                    self.examples
                        .sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                    self.examples
                        .iter()
                        .take(3)
                        .map(|e| e.1.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                }
            ));
        }
        if unmatched.0 > 0 {
            problems.push(format!(
                "{} profile samples ({} in-use bytes) have no profiling record in the dump",
                unmatched.0, unmatched.1
            ));
        }
        ProfileCheck {
            source: p.source.clone(),
            scaled: p.scaled,
            matched_samples: matched,
            unmatched_samples: unmatched.0,
            unmatched_inuse_bytes: unmatched.1,
            disagreeing_sites: self.disagreeing,
            same_code_addresses,
            same_gc_cycle,
            verdict: if problems.is_empty() {
                "consistent"
            } else {
                "mismatch"
            },
            problems,
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

/// What holds a site's objects: a root, or a group of alike goroutines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Root(usize),
    Group(usize),
}

/// Retention figures of sites, over the report's retention analysis and
/// shortest-path tree.
pub struct SiteReporter<'a, 'r, 'm> {
    pub index: &'a SiteIndex,
    reporter: &'a Reporter<'r, 'm>,
}

impl<'a, 'r, 'm> SiteReporter<'a, 'r, 'm> {
    pub fn new(index: &'a SiteIndex, reporter: &'a Reporter<'r, 'm>) -> Self {
        SiteReporter { index, reporter }
    }

    fn model(&self) -> &'m HeapModel {
        self.reporter.retention.graph.model
    }

    /// The sites, in `options.order`, at most `limit`.
    pub fn sites(&self, options: &SiteOptions, limit: usize) -> SitesDoc {
        let covered = self.dominated_by_own_site();
        let mut docs: Vec<SiteDoc> = self
            .index
            .sites
            .iter()
            .map(|s| self.site_doc(s, &covered, options))
            .filter(|d| {
                d.live_objects > 0
                    || d.unreachable_objects > 0
                    || d.profile.is_some_and(|p| p.inuse_objects > 0)
                    || d.recorded.is_some_and(|p| p.inuse_objects > 0)
            })
            .collect();
        let inuse = |d: &SiteDoc| {
            d.profile
                .or(d.recorded)
                .map_or(0, |p| p.inuse_bytes.max(0) as u64)
        };
        docs.sort_by(|a, b| {
            let key = |d: &SiteDoc| match options.order {
                SiteOrder::Live => (d.live_bytes, inuse(d)),
                SiteOrder::Retained => (d.retained_bytes, d.live_bytes),
                SiteOrder::Inuse => (inuse(d), d.live_bytes),
            };
            key(b).cmp(&key(a)).then(a.site.cmp(&b.site))
        });
        let more_sites = docs.len().saturating_sub(limit);
        docs.truncate(limit);
        SitesDoc {
            sampling: self.index.sampling.clone(),
            profile_check: self.index.profile_check.clone(),
            notes: self.index.notes.clone(),
            sites: docs,
            more_sites,
        }
    }

    /// For each sampled object, whether an object of its own site dominates
    /// it (its bytes are then in that object's retained size already).
    fn dominated_by_own_site(&self) -> HashMap<ObjectId, bool> {
        let r = self.reporter.retention;
        let mut site_of: HashMap<u32, usize> = HashMap::new();
        for (i, s) in self.index.sites.iter().enumerate() {
            for &o in &s.objects {
                site_of.entry(r.graph.object_node(o)).or_insert(i);
            }
        }
        let mut covered = HashMap::with_capacity(site_of.len());
        for (&node, &site) in &site_of {
            let mut n = node;
            let mut hit = false;
            // Up the dominator tree; chains are as deep as the heap's longest
            // exclusive structure, so cap the walk.
            for _ in 0..1_000_000 {
                match r.doms.idom(n) {
                    Some(p) if p != 0 => {
                        if site_of.get(&p) == Some(&site) {
                            hit = true;
                            break;
                        }
                        n = p;
                    }
                    _ => break,
                }
            }
            if let crate::analysis::graph::Node::Object(o) = r.graph.node(node) {
                covered.insert(o, hit);
            }
        }
        covered
    }

    fn site_doc(
        &self,
        s: &SiteAcc,
        covered: &HashMap<ObjectId, bool>,
        options: &SiteOptions,
    ) -> SiteDoc {
        let model = self.model();
        let r = self.reporter.retention;
        let rate = self.index.sampling.rate.unwrap_or(0);
        let (mut live_objects, mut live_bytes, mut unreachable) = (0u64, 0u64, 0u64);
        let (mut retained_bytes, mut retained_objects) = (0u64, 0u64);
        let (mut est_objects, mut est_bytes) = (0f64, 0f64);
        let mut live = Vec::with_capacity(s.objects.len());
        for &o in &s.objects {
            let node = r.graph.object_node(o);
            if !r.doms.is_reachable(node) {
                unreachable += 1;
                continue;
            }
            live.push(o);
            let size = model.objects.size(o);
            live_objects += 1;
            live_bytes += size;
            if rate > 1 {
                let w = sample_weight(size as f64, rate);
                est_objects += w;
                est_bytes += w * size as f64;
            }
            if !covered.get(&o).copied().unwrap_or(false) {
                retained_bytes += r.doms.retained_bytes(node);
                retained_objects += r.doms.retained_objects(node);
            }
        }
        // Alike goroutines hold together, as in `top`.
        let holder = |root: usize| match r.shared_group(root) {
            Some(g) => Holder::Group(g),
            None => Holder::Root(root),
        };
        let name = |h: Holder| match h {
            Holder::Root(root) => root_ref(&model.roots.roots[root]),
            Holder::Group(g) => group_ref(&r.groups[g]),
        };
        let (merged, more_retainers) = merge_roots(
            model,
            self.reporter.memory,
            &self.reporter.plain,
            self.reporter.tree(),
            live,
            options.raw,
            holder,
            name,
            options.retainers,
        );
        let leaf = s.frames.first();
        // Ties go to the first stack in source order: the answer must not
        // depend on the map's order.
        let heaviest = s
            .stacks
            .iter()
            .max_by(|(ka, a), (kb, b)| {
                a.0.cmp(&b.0)
                    .then(b.1.len().cmp(&a.1.len()))
                    .then(kb.cmp(ka))
            })
            .map_or(&s.frames, |(_, (_, f))| f);
        let mut sizes = s.sizes.clone();
        sizes.sort_unstable();
        SiteDoc {
            site: leaf.map_or_else(|| "?".into(), |f| f.function.clone()),
            file: leaf.and_then(|f| f.file.clone()),
            line: leaf.and_then(|f| f.line),
            stack: heaviest.iter().map(SourceFrame::display).collect(),
            stacks: s.stacks.len(),
            sizes,
            profile: s.profile,
            recorded: s.recorded,
            live_objects,
            live_bytes,
            unreachable_objects: unreachable,
            estimated: (rate > 1).then(|| Estimate {
                live_objects: est_objects.round() as u64,
                live_bytes: est_bytes.round() as u64,
            }),
            retained_bytes,
            retained_objects,
            retainers: merged.roots,
            more_retainers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_frames_are_hidden_unless_all_are_runtime() {
        let f = |name: &str| SourceFrame {
            function: name.into(),
            file: None,
            line: None,
        };
        let stack = [
            f("runtime.newobject"),
            f("internal/runtime/maps.newarray"),
            f("main.f"),
        ];
        assert_eq!(first_visible(&stack), 2);
        assert_eq!(first_visible(&stack[..2]), 0);
        assert_eq!(first_visible(&[f("reflect.New"), f("runtime.x")]), 0);
    }
}
