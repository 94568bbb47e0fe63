//! The holder search per site: live, unreachable, retained and estimated
//! figures of each site's objects, and the roots or goroutine groups holding them.

use std::collections::HashMap;

use super::index::{SiteAcc, SiteIndex};
use super::{Estimate, SiteDoc, SiteOptions, SiteOrder, SitesDoc};
use crate::analysis::report::{Reporter, group_ref};
use crate::analysis::why::{merge_roots, root_ref};
use crate::model::{HeapModel, ObjectId, SourceFrame, sample_weight};

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
