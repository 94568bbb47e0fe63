//! Who holds the most: retained sizes per root, per type, per goroutine
//! group, and leak suspects (Eclipse MAT's definition: something retaining
//! more than a threshold of the live heap, followed down the dominator tree
//! to where the memory accumulates).

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;

use super::dominators::{DomChildren, Dominators};
use super::graph::{Graph, Node};
use crate::model::{Goroutine, HeapModel, RootKind, UNKNOWN_TYPE};
use rustc_hash::FxHashMap;

/// The retention analysis of one heap: dominators over the graph in which
/// alike goroutines' stacks are grouped.
pub struct Retention<'m> {
    pub graph: Graph<'m>,
    /// The goroutine group each stack root belongs to.
    root_group: Vec<Option<usize>>,
    pub doms: Dominators,
    pub children: DomChildren,
    pub groups: Vec<GoroutineGroup>,
    pub live_bytes: u64,
    pub live_objects: u64,
}

/// Goroutines that wait in the same place, created at the same place.
#[derive(Debug, Clone, Serialize)]
pub struct GoroutineGroup {
    pub count: u64,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_reason: Option<String>,
    /// The innermost frame outside the runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_in: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub goroutines: Vec<u64>,
    pub retained_bytes: u64,
    pub retained_objects: u64,
    /// What the group holds together with other holders (listings that
    /// compute it: the report, `goroutines`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub joint: Option<super::holder_docs::GroupJoint>,
}

impl GoroutineGroup {
    /// What the group's goroutines share, as a name says it: "[waiting: chan
    /// receive] in main.worker (worker.go:37), created by main.main".
    pub fn shared_description(&self) -> String {
        let mut name = format!("[{}", self.state);
        if let Some(w) = &self.wait_reason {
            name.push_str(&format!(": {w}"));
        }
        name.push(']');
        if let Some(b) = &self.blocked_in {
            name.push_str(&format!(" in {b}"));
        }
        if let Some(c) = &self.created_by {
            name.push_str(&format!(", created by {c}"));
        }
        name
    }
}

/// State, wait reason, blocking frame and creation site: what alike goroutines share.
type GroupKey = (String, Option<String>, Option<String>, Option<String>);

fn group_key(g: &Goroutine) -> GroupKey {
    let blocked_in = g
        .frames
        .iter()
        .find(|f| !f.function.starts_with("runtime.") && !f.function.starts_with("internal/"))
        .map(|f| f.display());
    (
        g.state.clone(),
        g.wait_reason.clone(),
        blocked_in,
        g.created_by.as_ref().map(|c| c.display()),
    )
}

/// Alike goroutines grouped, with the stack roots of each group.
pub(crate) struct Grouping {
    pub(crate) groups: Vec<GoroutineGroup>,
    /// The group of each root (stack roots of grouped goroutines).
    pub(crate) root_group: Vec<Option<usize>>,
    /// The roots of each group.
    root_groups: Vec<Vec<usize>>,
}

pub(crate) fn group_goroutines(model: &HeapModel) -> Grouping {
    let mut keys: BTreeMap<GroupKey, Vec<u64>> = BTreeMap::new();
    for g in &model.goroutines {
        keys.entry(group_key(g)).or_default().push(g.id);
    }
    let mut group_of: HashMap<u64, usize> = HashMap::new();
    let mut groups = Vec::new();
    for (i, ((state, wait_reason, blocked_in, created_by), ids)) in keys.into_iter().enumerate() {
        for &id in &ids {
            group_of.insert(id, i);
        }
        groups.push(GoroutineGroup {
            count: ids.len() as u64,
            state,
            wait_reason,
            blocked_in,
            created_by,
            goroutines: ids,
            retained_bytes: 0,
            retained_objects: 0,
            joint: None,
        });
    }
    let mut root_groups: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    let mut root_group = vec![None; model.roots.len()];
    for (r, root) in model.roots.iter().enumerate() {
        if root.kind == RootKind::Stack {
            if let Some(&gi) = root.frame.as_ref().and_then(|f| group_of.get(&f.goroutine)) {
                root_groups[gi].push(r);
                root_group[r] = Some(gi);
            }
        }
    }
    Grouping {
        groups,
        root_group,
        root_groups,
    }
}

/// Nodes of the graph `Retention::dominators` works on (to check a stored tree).
pub fn node_count(model: &HeapModel) -> usize {
    Graph::grouped(model, group_goroutines(model).root_groups).node_count()
}

impl<'m> Retention<'m> {
    pub fn compute(model: &'m HeapModel) -> Retention<'m> {
        Self::with_dominators(model, None)
    }

    /// The dominators `compute` finds. They need no types, so they can be
    /// computed from a model still being typed (see `Typing::AllAlongside`).
    pub fn dominators(model: &HeapModel) -> Dominators {
        let grouping = group_goroutines(model);
        Dominators::compute(&Graph::grouped(model, grouping.root_groups))
    }

    /// `compute`, with the dominators from `dominators` on the same objects,
    /// edges, roots and goroutines when given.
    pub fn with_dominators(model: &'m HeapModel, doms: Option<Dominators>) -> Retention<'m> {
        let Grouping {
            mut groups,
            root_group,
            root_groups,
        } = group_goroutines(model);
        let mut phases = crate::timing::Phases::new();
        let graph = Graph::grouped(model, root_groups);
        phases.done("retention graph");
        let doms = doms.unwrap_or_else(|| Dominators::compute(&graph));
        phases.done("dominators");
        let children = doms.children();
        phases.done("dominator tree children");
        for (i, g) in groups.iter_mut().enumerate() {
            let node = graph.group_node(i);
            g.retained_bytes = doms.retained_bytes(node);
            g.retained_objects = doms.retained_objects(node);
        }
        let live_bytes = doms.retained_bytes(0);
        let live_objects = doms.retained_objects(0);
        Retention {
            graph,
            root_group,
            doms,
            children,
            groups,
            live_bytes,
            live_objects,
        }
    }

    /// The group of alike goroutines (more than one) a stack root belongs to.
    pub fn shared_group(&self, root: usize) -> Option<usize> {
        self.root_group
            .get(root)
            .copied()
            .flatten()
            .filter(|&g| self.groups[g].count > 1)
    }

    /// The goroutine group a stack root belongs to (of any size).
    pub fn group_of(&self, root: usize) -> Option<usize> {
        self.root_group.get(root).copied().flatten()
    }

    /// The types in a node's dominator subtree, by bytes (largest first).
    pub fn subtree_types(&self, node: u32, limit: usize) -> Vec<TypeShare> {
        let model = self.graph.model;
        let mut by_type = TypeCounters::new(model);
        let mut stack = vec![node];
        while let Some(v) = stack.pop() {
            if let Node::Object(id) = self.graph.node(v) {
                by_type.add(model.object_types[id.index()], 1, model.objects.size(id));
            }
            stack.extend_from_slice(self.children.of(v));
        }
        let mut out: Vec<TypeShare> = by_type
            .into_iter()
            .map(|(t, (objects, bytes))| TypeShare {
                type_name: type_label(model, t),
                objects,
                bytes,
            })
            .collect();
        out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.type_name.cmp(&b.type_name)));
        out.truncate(limit);
        out
    }

    /// Bytes and objects each type retains, without counting an object twice
    /// when a same-typed object dominates it (exact, via one walk of the tree).
    pub fn retained_by_type(&self) -> HashMap<u32, (u64, u64)> {
        self.retained_by_type_and_size().0
    }

    /// `retained_by_type`, and beside it what the untyped objects of each size retain,
    /// counted the same way (the histogram's "unknown (N bytes)" rows), from one walk.
    pub fn retained_by_type_and_size(
        &self,
    ) -> (HashMap<u32, (u64, u64)>, FxHashMap<u64, (u64, u64)>) {
        let model = self.graph.model;
        let fresh = || {
            let active = Active {
                types: vec![0u32; model.types.len() + 1],
                unknown_sizes: FxHashMap::default(),
            };
            (TypeCounters::new(model), active)
        };
        // The pseudo-root is no object, and the subtrees below it are
        // independent walks: they go in parallel, each thread with its own
        // counters (and path counts, back at zero after each subtree).
        self.children
            .of(0)
            .par_iter()
            .fold(fresh, |(mut out, mut active), &top| {
                self.count_subtree_types(top, &mut out, &mut active);
                (out, active)
            })
            .map(|(out, _)| out)
            .reduce(|| TypeCounters::new(model), TypeCounters::merge)
            .split()
    }

    /// `retained_by_type_and_size` over the dominator subtree of `top`; `active`
    /// counts the objects of each type (and of each untyped size) on the walk's current
    /// path, so an object below one of its own kind is not counted twice.
    fn count_subtree_types(&self, top: u32, out: &mut TypeCounters, active: &mut Active) {
        let model = self.graph.model;
        // (node, entering?) for an iterative depth-first walk.
        let mut stack = vec![(top, true)];
        while let Some((v, entering)) = stack.pop() {
            // An object's size is looked up only when it is untyped (rare with DWARF).
            let (t, id) = match self.graph.node(v) {
                Node::Object(id) => (Some(model.object_types[id.index()]), Some(id)),
                _ => (None, None),
            };
            let size = || id.map_or(0, |id| model.objects.size(id));
            if entering {
                if let Some(t) = t {
                    let retained = (self.doms.retained_bytes(v), self.doms.retained_objects(v));
                    let n = &mut active.types[out.slot(t)];
                    if *n == 0 {
                        out.add(t, retained.0, retained.1);
                    }
                    *n += 1;
                    if t == UNKNOWN_TYPE {
                        let size = size();
                        let n = active.unknown_sizes.entry(size).or_default();
                        if *n == 0 {
                            let e = out.unknown_sizes.entry(size).or_default();
                            e.0 += retained.0;
                            e.1 += retained.1;
                        }
                        *n += 1;
                    }
                }
                stack.push((v, false));
                stack.extend(self.children.of(v).iter().map(|&c| (c, true)));
            } else if let Some(t) = t {
                let n = &mut active.types[out.slot(t)];
                *n = n.saturating_sub(1);
                if t == UNKNOWN_TYPE
                    && let Some(n) = active.unknown_sizes.get_mut(&size())
                {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }

    /// The bytes the roots of goroutine group `g` point at directly (what
    /// `TopBy::Shallow` orders the group by).
    pub fn group_shallow_bytes(&self, g: usize) -> u64 {
        let model = self.graph.model;
        (0..model.roots.len())
            .filter(|&r| self.root_group[r] == Some(g))
            .flat_map(|r| model.roots.roots[r].targets.iter())
            .map(|&(t, _)| model.objects.size(t))
            .sum()
    }

    /// Retainers by retained bytes (or shallow bytes, or retained objects):
    /// roots, except that the stacks of alike goroutines (a group of more
    /// than one) retain together as one.
    pub fn top_retainers(&self, by: TopBy) -> Vec<Retainer> {
        let model = self.graph.model;
        let shallow = |roots: &mut dyn Iterator<Item = usize>| -> u64 {
            roots
                .flat_map(|r| model.roots.roots[r].targets.iter())
                .map(|&(t, _)| model.objects.size(t))
                .sum()
        };
        let mut out: Vec<(u64, Retainer)> = Vec::new();
        for r in 0..model.roots.len() {
            if self.root_group[r].is_some_and(|g| self.groups[g].count > 1) {
                continue;
            }
            let node = self.graph.root_node(r);
            let key = match by {
                TopBy::Retained => self.doms.retained_bytes(node),
                TopBy::Count => self.doms.retained_objects(node),
                TopBy::Shallow => shallow(&mut std::iter::once(r)),
            };
            out.push((key, Retainer::Root(r)));
        }
        for g in (0..self.groups.len()).filter(|&g| self.groups[g].count > 1) {
            let node = self.graph.group_node(g);
            let key = match by {
                TopBy::Retained => self.doms.retained_bytes(node),
                TopBy::Count => self.doms.retained_objects(node),
                TopBy::Shallow => self.group_shallow_bytes(g),
            };
            out.push((key, Retainer::Group(g)));
        }
        out.sort_by_key(|&(k, _)| std::cmp::Reverse(k));
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// Leak suspects: the pseudo-root's children retaining more than
    /// `threshold` of the live heap, each followed to its accumulation point.
    pub fn suspects(&self, threshold: f64) -> Vec<Suspect> {
        let limit = (self.live_bytes as f64 * threshold) as u64;
        let mut out = Vec::new();
        let mut candidates: Vec<u32> = Vec::new();
        for &c in self.children.of(0) {
            match self.graph.node(c) {
                // A group of alike goroutines holds together; a group of one
                // is just that goroutine's roots.
                Node::Group(g) if self.groups[g].count == 1 => {
                    candidates.extend_from_slice(self.children.of(c))
                }
                _ => candidates.push(c),
            }
        }
        // Objects that no one root dominates hang from the pseudo-root too,
        // millions of them in a large heap: keep the few above the limit
        // before sorting.
        let mut above: Vec<(u64, u32)> = candidates
            .into_iter()
            .map(|c| (self.doms.retained_bytes(c), c))
            .filter(|&(retained, _)| retained > limit && retained > 0)
            .collect();
        above.sort_by_key(|&(retained, _)| std::cmp::Reverse(retained));
        for (retained, c) in above {
            out.push(Suspect {
                node: c,
                retained_bytes: retained,
                retained_objects: self.doms.retained_objects(c),
                accumulation: self.accumulation_point(c),
            });
        }
        out
    }

    /// Descends while one child holds most of the memory; stops where it
    /// spreads over many children, or where a chain of one type begins (a
    /// linked list accumulates at its head, not its tail).
    pub fn accumulation_point(&self, start: u32) -> u32 {
        let model = self.graph.model;
        let type_of = |n: u32| match self.graph.node(n) {
            Node::Object(id) => Some(model.object_types[id.index()]),
            _ => None,
        };
        let mut v = start;
        loop {
            let total = self.doms.retained_bytes(v);
            let Some(&biggest) = self
                .children
                .of(v)
                .iter()
                .max_by_key(|&&c| self.doms.retained_bytes(c))
            else {
                return v;
            };
            if self.doms.retained_bytes(biggest) * 10 < total * 8 {
                return v;
            }
            if type_of(v).is_some() && type_of(v) == type_of(biggest) {
                return v;
            }
            v = biggest;
        }
    }
}

/// Something that retains memory: a root, or a group of alike goroutines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retainer {
    Root(usize),
    Group(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopBy {
    Retained,
    Shallow,
    Count,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeShare {
    #[serde(rename = "type")]
    pub type_name: String,
    pub objects: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Suspect {
    pub node: u32,
    pub retained_bytes: u64,
    pub retained_objects: u64,
    pub accumulation: u32,
}

pub fn type_label(model: &HeapModel, t: u32) -> String {
    if t == UNKNOWN_TYPE {
        "unknown".to_string()
    } else {
        model.types.name(t).unwrap_or("?").to_string()
    }
}

/// Two counters per type, in an array by type index (the heap's types are
/// interned densely; unknown ones share the last slot): walks over every
/// object add to them without hashing.
struct TypeCounters {
    counts: Vec<Option<(u64, u64)>>,
    /// Untyped objects by size (only `retained_by_type_and_size` fills it).
    unknown_sizes: FxHashMap<u64, (u64, u64)>,
}

/// Objects of each type, and untyped objects of each size, on a walk's current path.
struct Active {
    types: Vec<u32>,
    unknown_sizes: FxHashMap<u64, u32>,
}

impl TypeCounters {
    fn new(model: &HeapModel) -> Self {
        TypeCounters {
            counts: vec![None; model.types.len() + 1],
            unknown_sizes: FxHashMap::default(),
        }
    }

    fn slot(&self, t: u32) -> usize {
        let unknown = self.counts.len() - 1;
        (t as usize).min(unknown)
    }

    fn add(&mut self, t: u32, a: u64, b: u64) {
        self.add_at(self.slot(t), a, b);
    }

    fn add_at(&mut self, slot: usize, a: u64, b: u64) {
        let e = self.counts[slot].get_or_insert((0, 0));
        e.0 += a;
        e.1 += b;
    }

    /// Both counters' sums, per type (and per untyped size).
    fn merge(mut self, other: TypeCounters) -> TypeCounters {
        for (slot, counts) in other.counts.into_iter().enumerate() {
            if let Some((a, b)) = counts {
                self.add_at(slot, a, b);
            }
        }
        for (size, (a, b)) in other.unknown_sizes {
            let e = self.unknown_sizes.entry(size).or_default();
            e.0 += a;
            e.1 += b;
        }
        self
    }

    /// Per type, and per untyped size.
    fn split(mut self) -> (HashMap<u32, (u64, u64)>, FxHashMap<u64, (u64, u64)>) {
        let sizes = std::mem::take(&mut self.unknown_sizes);
        (self.into_iter().collect(), sizes)
    }

    fn into_iter(self) -> impl Iterator<Item = (u32, (u64, u64))> {
        let unknown = self.counts.len() - 1;
        self.counts
            .into_iter()
            .enumerate()
            .filter_map(move |(i, c)| {
                let t = if i == unknown { UNKNOWN_TYPE } else { i as u32 };
                c.map(|c| (t, c))
            })
    }
}
