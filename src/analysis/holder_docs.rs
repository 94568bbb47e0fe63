//! The holders listing as plain data: the largest holders of any kind (a
//! root, a group of alike goroutines, an object several roots reach), named,
//! with what each retains alone, keeps reachable and holds jointly, and one
//! line for the rest, so that the rows and the rest are the live heap.

use rayon::prelude::*;
use serde::Serialize;

use super::graph::Node;
use super::holders::{self, HolderGraph};
use super::report::{Accumulation, Reporter, group_ref};
use super::retention::{GoroutineGroup, Retention, TopBy, TypeShare};
use super::why::{ObjectRef, RootRef, StepDoc, object_ref, path_doc, root_ref};
use crate::analysis::paths::ShortestTree;
use crate::model::ObjectId;

/// One holder: a root, a goroutine group (or one goroutine), or an object
/// that no single root keeps alive.
#[derive(Debug, Serialize)]
pub struct HolderDoc {
    /// "root", "goroutines" (a group of alike goroutines, or one goroutine
    /// with several stack roots) or "object".
    pub kind: &'static str,
    /// The root or goroutine group (kind "root", "goroutines").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<RootRef>,
    /// The shared object (kind "object").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// What it alone keeps alive: freed if it let go (dominator tree).
    pub retained_bytes: u64,
    pub retained_objects: u64,
    /// What it keeps reachable, shared memory included (not additive:
    /// holders reaching the same objects all count them).
    pub reachable_bytes: u64,
    pub reachable_objects: u64,
    /// Reachable but not retained alone: held jointly with other holders.
    pub joint_bytes: u64,
    pub joint_objects: u64,
    /// The other holders that reach some of its joint memory (the nearest
    /// few), each with the part of it they reach too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joint_with: Vec<JointShare>,
    /// For an object: the roots and goroutine groups that reach it, nearest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reached_from: Vec<RootRef>,
    #[serde(skip_serializing_if = "is_zero")]
    pub more_reached_from: usize,
    /// For an object: what the holders in `reached_from` (all of them)
    /// keep alive together that no other holder reaches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_only_by_them: Option<Figures>,
    /// For an object: its shortest path from a root.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<StepDoc>,
    pub top_types: Vec<TypeShare>,
    /// What the holder itself occupies: an object's size, or the sizes of the objects a
    /// root's (or a group's roots') words point at (what `--by shallow` ranks).
    pub shallow_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accumulation: Option<Accumulation>,
    /// Set when a search over the holder graph stopped at its limit: the
    /// reachable, joint and co-holder figures are then lower bounds.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    pub bytes: u64,
    pub objects: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct JointShare {
    pub holder: RootRef,
    /// Joint bytes and objects that this other holder reaches too.
    pub bytes: u64,
    pub objects: u64,
}

/// A goroutine group's memory beyond what it retains alone.
#[derive(Debug, Clone, Serialize)]
pub struct GroupJoint {
    /// What its stacks keep reachable, shared memory included.
    pub reachable_bytes: u64,
    /// Reachable but not retained alone: held jointly with other holders.
    pub joint_bytes: u64,
    /// The other holders reaching some of it (the nearest few), with how much.
    pub joint_with: Vec<JointShare>,
}

/// The holders not listed.
#[derive(Debug, Serialize)]
pub struct RestDoc {
    pub retained_bytes: u64,
    pub retained_objects: u64,
    pub holders: u64,
    /// The largest types among the shared objects in the rest: how many
    /// holders of that type, and what they retain together.
    pub object_types: Vec<RestType>,
}

#[derive(Debug, Serialize)]
pub struct RestType {
    #[serde(rename = "type")]
    pub type_name: String,
    pub holders: u64,
    pub retained_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct HoldersDoc {
    /// What the rows are ranked by: "retained", "count" or "shallow".
    pub order: &'static str,
    pub holders: Vec<HolderDoc>,
    pub rest: RestDoc,
    /// Share of the live heap the listed holders retain.
    pub named_share: f64,
}

/// Type slot of a holder that is an object (unknown types share the last
/// slot, `model.types.len()`).
fn type_slot(r: &Retention<'_>, node: u32) -> Option<usize> {
    let model = r.graph.model;
    match r.graph.node(node) {
        Node::Object(o) => {
            let t = model.object_types.get(o.index()).copied();
            Some((t.unwrap_or(u32::MAX) as usize).min(model.types.len()))
        }
        _ => None,
    }
}

/// The largest `limit` types among shared objects holding memory, from
/// (holders, retained bytes) per type slot, less the `listed` tops.
fn rest_types(
    r: &Retention<'_>,
    hg: &HolderGraph,
    mut by_type: Vec<(u64, u64)>,
    listed: &[u32],
    limit: usize,
) -> Vec<RestType> {
    let model = r.graph.model;
    let unknown = model.types.len();
    for &i in listed {
        let node = hg.tops[i as usize];
        if let Some(slot) = type_slot(r, node) {
            by_type[slot].0 -= 1;
            by_type[slot].1 -= hg.retained(i).0;
        }
    }
    let mut out: Vec<RestType> = by_type
        .into_iter()
        .enumerate()
        .filter(|(_, (n, _))| *n > 0)
        .map(|(slot, (holders, retained_bytes))| RestType {
            type_name: if slot == unknown {
                "unknown".into()
            } else {
                super::retention::type_label(model, slot as u32)
            },
            holders,
            retained_bytes,
        })
        .collect();
    out.sort_by(|a, b| {
        b.retained_bytes
            .cmp(&a.retained_bytes)
            .then(a.type_name.cmp(&b.type_name))
    });
    out.truncate(limit);
    out
}

/// Names a source of the holder graph: a root, a group of alike
/// goroutines, or the one goroutine of a group of one.
pub fn source_ref(r: &Retention<'_>, node: u32) -> Option<RootRef> {
    match r.graph.node(node) {
        Node::Root(i) => Some(root_ref(&r.graph.model.roots.roots[i])),
        Node::Group(g) => Some(goroutine_ref(&r.groups[g])),
        _ => None,
    }
}

/// A group named as a root; a group of one as its goroutine.
fn goroutine_ref(g: &GoroutineGroup) -> RootRef {
    let mut doc = group_ref(g);
    if let (1, Some(&id)) = (g.count, g.goroutines.first()) {
        doc.name = doc
            .name
            .replacen("1 goroutines", &format!("goroutine {id}"), 1);
        doc.goroutine = Some(id);
    }
    doc
}

/// Objects a search for an owner path from one root may visit.
const OWNER_SEARCH_LIMIT: usize = 1 << 16;
/// Heaps up to this many objects get an owner path from the shortest-path
/// tree of the whole heap when the searches from the nearest roots fail.
const TREE_FALLBACK_OBJECTS: usize = 1 << 22;
/// Owner paths are looked for from this many of an object's nearest holders.
const PATH_SOURCES: usize = 3;
/// Reached-from holders named per object.
const NAMED_SOURCES: usize = 5;
/// Object rows whose holders' exclusive memory is computed (a search of the
/// whole holder graph each).
const EXCLUSIVE_ROWS: usize = 5;
/// Holder-graph nodes the searches for one row (a holder, or a goroutine
/// group) may visit together: on a heap of millions of shared objects its
/// figures are then lower bounds, said as `partial`, at a bounded cost.
const ROW_BUDGET: usize = 1 << 17;
/// The part of it the search for the holders reaching an object may use.
const REACHED_FROM_BUDGET: usize = 1 << 15;

impl<'a, 'm> Reporter<'a, 'm> {
    /// The `n` largest holders (by `by`) and the rest.
    pub fn holders(&self, n: usize, by: TopBy) -> HoldersDoc {
        let r = self.retention;
        let model = self.model();
        let hg = self.holder_graph();
        let mut phases = crate::timing::Phases::new();
        let shallow = |node: u32| -> u64 {
            let roots: Vec<usize> = match r.graph.node(node) {
                Node::Root(i) => vec![i],
                Node::Group(g) => (0..model.roots.len())
                    .filter(|&i| r.group_of(i) == Some(g))
                    .collect(),
                Node::Object(o) => return model.objects.size(o),
                Node::PseudoRoot => Vec::new(),
            };
            roots
                .iter()
                .flat_map(|&i| model.roots.roots[i].targets.iter())
                .map(|&(t, _)| model.objects.size(t))
                .sum()
        };
        // Millions of shared objects may hang from the pseudo-root: each
        // stretch of them keeps its best `n` (no list of them all), and only
        // those are sorted.
        let key = |node: u32| -> u64 {
            match by {
                TopBy::Retained => r.doms.retained_bytes(node),
                TopBy::Count => r.doms.retained_objects(node),
                TopBy::Shallow => match r.graph.node(node) {
                    Node::Object(o) => model.objects.size(o),
                    _ => shallow(node),
                },
            }
        };
        let tops = &hg.tops;
        let slots = model.types.len() + 1;
        let all_retained = hg.all_retained_bytes();
        let (mut best, holding, by_type) = tops
            .par_chunks(1 << 16)
            .enumerate()
            .map(|(c, chunk)| {
                let mut heap = std::collections::BinaryHeap::new();
                let mut holding = 0u64;
                let mut by_type = vec![(0u64, 0u64); slots];
                let chunk_retained = &all_retained[c << 16..(c << 16) + chunk.len()];
                for (k, &node) in chunk.iter().enumerate() {
                    // One look-up per holder: millions of them, at random
                    // places of the dominator tree's arrays.
                    let retained = chunk_retained[k];
                    if retained == 0 {
                        continue;
                    }
                    holding += 1;
                    if let Some(slot) = type_slot(r, node) {
                        by_type[slot].0 += 1;
                        by_type[slot].1 += retained;
                    }
                    let i = (c << 16) as u32 + k as u32;
                    let key = match by {
                        TopBy::Retained => retained,
                        _ => key(node),
                    };
                    // The heap's top is the worst kept: least key, then
                    // latest index.
                    heap.push(std::cmp::Reverse((key, std::cmp::Reverse(i))));
                    if heap.len() > n {
                        heap.pop();
                    }
                }
                (heap.into_vec(), holding, by_type)
            })
            .reduce(
                || (Vec::new(), 0, vec![(0u64, 0u64); slots]),
                |(mut a, x, mut ta), (b, y, tb)| {
                    a.extend(b);
                    for (p, q) in ta.iter_mut().zip(tb) {
                        p.0 += q.0;
                        p.1 += q.1;
                    }
                    (a, x + y, ta)
                },
            );
        best.sort_unstable();
        let listed: Vec<u32> = best
            .into_iter()
            .take(n)
            .map(|std::cmp::Reverse((_, std::cmp::Reverse(i)))| i)
            .collect();
        let rest_holders = holding - listed.len() as u64;
        // The holders' retained sizes add up to the pseudo-root's.
        let (listed_bytes, listed_objects) = holders::retained_sum(hg, &listed);
        let (rest_bytes, rest_objects) =
            (r.live_bytes - listed_bytes, r.live_objects - listed_objects);
        phases.done("holders: ranking");
        let mut object_rows = 0;
        let docs: Vec<HolderDoc> = listed
            .iter()
            .map(|&i| {
                let is_object = !holders::is_source(r, hg.tops[i as usize]);
                object_rows += usize::from(is_object);
                let mut doc = self.holder_doc(hg, i, is_object && object_rows <= EXCLUSIVE_ROWS);
                doc.shallow_bytes = shallow(hg.tops[i as usize]);
                doc
            })
            .collect();
        phases.done("holders: rows");
        let object_types = rest_types(r, hg, by_type, &listed, 3);
        phases.done("holders: the rest's types");
        let named: u64 = docs.iter().map(|d| d.retained_bytes).sum();
        HoldersDoc {
            order: match by {
                TopBy::Retained => "retained",
                TopBy::Count => "count",
                TopBy::Shallow => "shallow",
            },
            holders: docs,
            rest: RestDoc {
                retained_bytes: rest_bytes,
                retained_objects: rest_objects,
                holders: rest_holders,
                object_types,
            },
            named_share: if r.live_bytes > 0 {
                named as f64 / r.live_bytes as f64
            } else {
                0.0
            },
        }
    }

    /// What goroutine group `g` holds jointly, and with whom.
    pub fn group_joint(&self, g: usize) -> Option<GroupJoint> {
        let r = self.retention;
        let hg = self.holder_graph();
        hg.set_budget(ROW_BUDGET);
        let i = hg.index_of(r.graph.group_node(g))? as u32;
        let reach = hg.forward(&[i]);
        let (reachable, _) = holders::retained_sum(hg, &reach.tops);
        let (sharing, _) = holders::co_holders(r, hg, i, &reach);
        Some(GroupJoint {
            reachable_bytes: reachable,
            joint_bytes: reachable - r.doms.retained_bytes(hg.tops[i as usize]),
            joint_with: sharing
                .into_iter()
                .filter_map(|s| {
                    Some(JointShare {
                        holder: source_ref(r, hg.tops[s.with as usize])?,
                        bytes: s.bytes,
                        objects: s.objects,
                    })
                })
                .collect(),
        })
    }

    fn holder_doc(&self, hg: &HolderGraph, i: u32, exclusive: bool) -> HolderDoc {
        let r = self.retention;
        let model = self.model();
        let node = hg.tops[i as usize];
        let retained = (r.doms.retained_bytes(node), r.doms.retained_objects(node));
        // Who reaches an object names it: searched first, with a share of
        // the row's budget kept for it.
        let reached = (!holders::is_source(r, node)).then(|| {
            hg.set_budget(REACHED_FROM_BUDGET);
            holders::reached_from(r, hg, i)
        });
        hg.set_budget(ROW_BUDGET - REACHED_FROM_BUDGET);
        let reach = hg.forward(&[i]);
        let reachable = holders::retained_sum(hg, &reach.tops);
        let mut partial = reach.partial;
        let (joint_with, sharing_partial) = holders::co_holders(r, hg, i, &reach);
        partial |= sharing_partial;
        let joint_with = joint_with
            .into_iter()
            .filter_map(|s| {
                Some(JointShare {
                    holder: source_ref(r, hg.tops[s.with as usize])?,
                    bytes: s.bytes,
                    objects: s.objects,
                })
            })
            .collect();
        let mut doc = HolderDoc {
            kind: "root",
            root: None,
            object: None,
            retained_bytes: retained.0,
            retained_objects: retained.1,
            reachable_bytes: reachable.0,
            reachable_objects: reachable.1,
            joint_bytes: reachable.0 - retained.0,
            joint_objects: reachable.1 - retained.1,
            joint_with,
            reached_from: Vec::new(),
            more_reached_from: 0,
            held_only_by_them: None,
            path: Vec::new(),
            top_types: self.subtree_types(node),
            shallow_bytes: 0,
            accumulation: None,
            partial,
        };
        match r.graph.node(node) {
            Node::Root(_) | Node::Group(_) => {
                if let Node::Group(_) = r.graph.node(node) {
                    doc.kind = "goroutines";
                }
                doc.root = source_ref(r, node);
                doc.accumulation = self.accumulation(node);
            }
            Node::Object(obj) => {
                doc.kind = "object";
                doc.object = Some(object_ref(model, obj));
                let (sources, back_partial) = reached.unwrap_or_default();
                doc.partial |= back_partial;
                let source_nodes: Vec<u32> = sources.iter().map(|&s| hg.tops[s as usize]).collect();
                doc.path = self.owner_path(&source_nodes, obj);
                doc.accumulation =
                    self.accumulation_with(node, |obj| self.owner_path(&source_nodes, obj));
                if exclusive && !back_partial && hg.can_search_all() {
                    let ((bytes, objects), p) = holders::held_only_by(r, hg, &sources);
                    doc.partial |= p;
                    doc.held_only_by_them = Some(Figures { bytes, objects });
                }
                doc.more_reached_from = sources.len().saturating_sub(NAMED_SOURCES);
                doc.reached_from = source_nodes
                    .iter()
                    .take(NAMED_SOURCES)
                    .filter_map(|&s| source_ref(r, s))
                    .collect();
            }
            Node::PseudoRoot => {}
        }
        doc
    }

    /// The shortest path to `obj` from the roots of the nearest holders
    /// (a search from each, bounded), or else from any root.
    fn owner_path(&self, sources: &[u32], obj: ObjectId) -> Vec<StepDoc> {
        let r = self.retention;
        let model = self.model();
        let roots = sources.iter().take(PATH_SOURCES).flat_map(|&s| {
            let roots: Vec<usize> = match r.graph.node(s) {
                Node::Root(i) => vec![i],
                Node::Group(g) => (0..model.roots.len())
                    .filter(|&i| r.group_of(i) == Some(g))
                    .take(PATH_SOURCES)
                    .collect(),
                _ => Vec::new(),
            };
            roots
        });
        let mut best = None;
        for root in roots {
            if let Some(Some(p)) =
                ShortestTree::path_from_root(&self.plain, root, obj, OWNER_SEARCH_LIMIT)
            {
                let shorter =
                    best.as_ref()
                        .is_none_or(|b: &crate::analysis::paths::RetentionPath| {
                            p.hops.len() < b.hops.len()
                        });
                if shorter {
                    best = Some(p);
                }
            }
        }
        // The whole heap's shortest-path tree costs a search of the heap:
        // worth it on small heaps only.
        best.or_else(|| {
            (model.objects.len() <= TREE_FALLBACK_OBJECTS)
                .then(|| self.tree().path(&self.plain, obj))
                .flatten()
        })
        .map(|p| path_doc(model, self.memory, &p, false).steps)
        .unwrap_or_default()
    }
}
