//! Why is it alive? Shortest paths from GC roots to an object, through
//! different roots, optionally ignoring chosen edges; and the same for every
//! object of a type, merged by root.

use super::graph::{Graph, Node, Reverse};
use super::labels::{EdgeLabel, edge_label, field_at, layout_of};
use super::owners::{HolderClass, OwnerKey, Ranking, class_of, owner_key, rank};
use crate::model::id_order::sort_ids;
use crate::model::{HeapModel, Memory, ObjectId, TypeRole};
use rustc_hash::{FxHashMap, FxHashSet};

const NONE: u32 = u32::MAX;

/// One real hop: into `object`, through the pointer at `offset` of the
/// previous object (or of the root, for the first hop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    pub object: ObjectId,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPath {
    /// Index into `model.roots`.
    pub root: usize,
    /// From the root's first target to the target object.
    pub hops: Vec<Hop>,
}

/// Edges to leave out: every pointer out of objects of a type, or out of
/// one field of a type ("main.Cache" or "main.Cache.entries").
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    rules: Vec<(u32, Option<String>)>,
}

impl Exclusions {
    /// Resolves each spec against the model's type names; unknown specs are returned.
    pub fn parse(model: &HeapModel, specs: &[String]) -> (Exclusions, Vec<String>) {
        let mut rules = Vec::new();
        let mut unknown = Vec::new();
        // A type's values may live only inside arrays of it ([5000]main.Pair):
        // T names those arrays too.
        let arrays_of = |name: &str| -> Vec<u32> {
            (0..model.types.len() as u32)
                .filter(|&i| {
                    model.types.name(i).is_some_and(|n| {
                        n.strip_prefix('[')
                            .and_then(|r| r.split_once(']'))
                            .is_some_and(|(len, elem)| {
                                elem == name && len.bytes().all(|b| b.is_ascii_digit())
                            })
                    })
                })
                .collect()
        };
        let with_arrays = |name: &str| -> Vec<u32> {
            let mut all = arrays_of(name);
            all.extend(model.types.get(name));
            all
        };
        for spec in specs {
            let whole = with_arrays(spec);
            if !whole.is_empty() {
                rules.extend(whole.into_iter().map(|t| (t, None)));
                continue;
            }
            // Try "type.field" at every dot, longest type first.
            let found = spec.rmatch_indices('.').find_map(|(i, _)| {
                let types = with_arrays(&spec[..i]);
                (!types.is_empty()).then(|| (types, format!(".{}", &spec[i + 1..])))
            });
            match found {
                Some((types, field)) => {
                    rules.extend(types.into_iter().map(|t| (t, Some(field.clone()))))
                }
                None => unknown.push(spec.clone()),
            }
        }
        (Exclusions { rules }, unknown)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn excludes(&self, model: &HeapModel, from: ObjectId, offset: u64) -> bool {
        let t = model.object_types[from.index()];
        self.rules.iter().any(|(rt, field)| {
            *rt == t
                && match field {
                    None => true,
                    Some(f) => match edge_label(model, None, from, offset) {
                        EdgeLabel::Field(label) => {
                            // "[3].next" matches ".next" for arrays of structs.
                            let label = label.trim_start_matches(|c: char| {
                                c == '[' || c.is_ascii_digit() || c == ']'
                            });
                            label == f
                                || label.starts_with(&format!("{f}."))
                                || label.starts_with(&format!("{f}["))
                        }
                        _ => false,
                    },
                }
        })
    }
}

/// Up to `max` paths from distinct roots to `target`: with
/// `Ranking::Shortest` the shortest, shortest first; with
/// `Ranking::OwnerFirst` one per owner, ranked as `owners::rank` does.
pub fn paths_to(
    graph: &Graph<'_>,
    reverse: &Reverse,
    target: ObjectId,
    max: usize,
    exclude: &Exclusions,
    ranking: Ranking,
) -> Vec<RetentionPath> {
    // One thread would only scan each large level twice.
    let parallel_from = match rayon::current_num_threads() {
        0 | 1 => usize::MAX,
        _ => PARALLEL_LEVEL,
    };
    let found = paths_to_expanding(graph, reverse, target, max, exclude, ranking, parallel_from);
    match ranking {
        Ranking::Shortest => found,
        Ranking::OwnerFirst => rank(graph.model, found, max),
    }
}

/// When the search for owners may stop: once `max` distinct owners are
/// found nothing later outranks them; short of that, it goes on past the
/// point a shortest-paths search stops, for up to twice the nodes it had
/// visited then (and a minimum), so a large heap costs at most about twice.
struct OwnerSearch<'m> {
    model: &'m HeapModel,
    owners: FxHashSet<OwnerKey<'m>>,
    budget: Option<usize>,
}

const OWNER_SEARCH_MIN: usize = 1 << 16;

impl<'m> OwnerSearch<'m> {
    /// After a root is found: is the answer complete?
    fn found(&mut self, root: usize, found: usize, max: usize, visited: usize) -> bool {
        let r = &self.model.roots.roots[root];
        if class_of(r) == HolderClass::Owner {
            self.owners.insert(owner_key(r, root));
        }
        if found >= max && self.budget.is_none() {
            self.budget = Some(2 * visited + OWNER_SEARCH_MIN);
        }
        self.owners.len() >= max
    }

    fn exhausted(&self, visited: usize) -> bool {
        self.budget.is_some_and(|b| visited > b)
    }
}

/// `paths_to`, expanding levels of at least `parallel_from` nodes on two
/// threads (the answer is the same either way). Unranked: in the order found.
fn paths_to_expanding(
    graph: &Graph<'_>,
    reverse: &Reverse,
    target: ObjectId,
    max: usize,
    exclude: &Exclusions,
    ranking: Ranking,
    parallel_from: usize,
) -> Vec<RetentionPath> {
    let model = graph.model;
    let n = graph.node_count();
    // Breadth-first from the target over reversed edges: `toward[v]` is the
    // next node from v on a shortest path to the target.
    let mut toward = vec![NONE; n];
    let start = graph.object_node(target);
    toward[start as usize] = start;
    let mut found = Vec::new();
    let mut owners = OwnerSearch {
        model,
        owners: FxHashSet::default(),
        budget: None,
    };
    let mut visited = 1;
    // Level by level, each level in node order: a level's predecessor rows
    // and marks are then read front to back rather than at random.
    let mut level = vec![start];
    let mut next = Vec::new();
    let mut bitmap = Vec::new();
    'search: while !level.is_empty() {
        // Roots have the smallest node numbers: a sorted level lists them
        // first, so its paths are taken before anything else is expanded.
        for &w in &level {
            if let Node::Root(r) = graph.node(w) {
                found.push(follow(graph, &toward, r, start));
                let done = match ranking {
                    Ranking::Shortest => found.len() >= max,
                    Ranking::OwnerFirst => owners.found(r, found.len(), max, visited),
                };
                if done {
                    break 'search;
                }
            }
        }
        if owners.exhausted(visited) {
            break;
        }
        visited += level.len();
        if exclude.is_empty() && level.len() >= parallel_from {
            // Each half of the nodes is claimed by its own thread; within a
            // half, as one thread would, by the first node of the level.
            let (low, high) = toward.split_at_mut(n / 2);
            let (a, b) = rayon::join(
                || claim_predecessors(graph, reverse, &level, low, 0),
                || claim_predecessors(graph, reverse, &level, high, n / 2),
            );
            next.extend(a);
            next.extend(b);
            sort_ids(&mut next, n, &mut bitmap);
            std::mem::swap(&mut level, &mut next);
            next.clear();
            continue;
        }
        for &w in &level {
            if matches!(graph.node(w), Node::Root(_)) {
                continue; // a path never passes through a root
            }
            for &v in reverse.predecessors(w) {
                if toward[v as usize] != NONE {
                    continue;
                }
                if let (Node::Object(from), Node::Object(to)) = (graph.node(v), graph.node(w)) {
                    if !exclude.is_empty()
                        && edge_offsets(model, from, to)
                            .all(|off| exclude.excludes(model, from, off))
                    {
                        continue;
                    }
                }
                if matches!(graph.node(v), Node::PseudoRoot) {
                    continue;
                }
                toward[v as usize] = w;
                next.push(v);
            }
        }
        sort_ids(&mut next, n, &mut bitmap);
        std::mem::swap(&mut level, &mut next);
        next.clear();
    }
    found
}

/// Levels of at least this many nodes are expanded on two threads.
const PARALLEL_LEVEL: usize = 1 << 14;

/// Marks the unvisited predecessors of `level`'s nodes (roots excepted)
/// that fall in `part`, the slice of `toward` from node `first`: each is
/// claimed by the first node of the level that reaches it. Returns them.
fn claim_predecessors(
    graph: &Graph<'_>,
    reverse: &Reverse,
    level: &[u32],
    part: &mut [u32],
    first: usize,
) -> Vec<u32> {
    let mut claimed = Vec::new();
    for &w in level {
        if matches!(graph.node(w), Node::Root(_)) {
            continue;
        }
        for &v in reverse.predecessors(w) {
            let Some(slot) = (v as usize)
                .checked_sub(first)
                .and_then(|i| part.get_mut(i))
            else {
                continue;
            };
            if *slot != NONE || matches!(graph.node(v), Node::PseudoRoot) {
                continue;
            }
            *slot = w;
            claimed.push(v);
        }
    }
    claimed
}

/// The hops of a path from `root` through `chain` (objects in order).
fn path_of_chain(model: &HeapModel, root: usize, chain: &[ObjectId]) -> RetentionPath {
    let mut hops = Vec::with_capacity(chain.len());
    for (i, &o) in chain.iter().enumerate() {
        let offset = if i == 0 {
            model.roots.roots[root]
                .targets
                .iter()
                .find(|&&(t, _)| t == o)
                .map_or(0, |&(_, off)| off)
        } else {
            edge_offsets(model, chain[i - 1], o).next().unwrap_or(0)
        };
        hops.push(Hop { object: o, offset });
    }
    RetentionPath { root, hops }
}

fn edge_offsets<'m>(
    model: &'m HeapModel,
    from: ObjectId,
    to: ObjectId,
) -> impl Iterator<Item = u64> + 'm {
    model
        .edges
        .out(from)
        .filter(move |&(t, _)| t == to)
        .map(|(_, o)| u64::from(o))
}

fn follow(graph: &Graph<'_>, toward: &[u32], root: usize, target: u32) -> RetentionPath {
    let model = graph.model;
    let mut hops = Vec::new();
    let mut node = toward[graph.root_node(root) as usize];
    let mut prev: Option<ObjectId> = None;
    loop {
        let Node::Object(obj) = graph.node(node) else {
            break;
        };
        let offset = match prev {
            None => model.roots.roots[root]
                .targets
                .iter()
                .find(|&&(t, _)| t == obj)
                .map_or(0, |&(_, o)| o),
            Some(p) => edge_offsets(model, p, obj).next().unwrap_or(0),
        };
        hops.push(Hop {
            object: obj,
            offset,
        });
        if node == target {
            break;
        }
        prev = Some(obj);
        node = toward[node as usize];
    }
    RetentionPath { root, hops }
}

/// A step as users read it: runtime containers (map tables and buckets,
/// channel internals) folded into the step that crosses them.
#[derive(Debug, Clone)]
pub struct Step {
    pub object: ObjectId,
    /// How the previous step (or the root) reaches this object.
    pub edge: String,
}

/// Names the hops of a path; with `raw`, every real object is a step.
pub fn steps(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    path: &RetentionPath,
    raw: bool,
) -> Vec<Step> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let last = path.hops.len().saturating_sub(1);
    for (i, hop) in path.hops.iter().enumerate() {
        let label = if i == 0 {
            root_label(model, path.root, hop.offset)
        } else {
            let from = path.hops[i - 1].object;
            edge_label(model, memory, from, hop.offset)
        };
        let text = match &label {
            EdgeLabel::Field(f) => f.clone(),
            other => other.render(),
        };
        let internal = !raw && i != last && is_internal(model, hop.object, &label);
        if internal {
            match (&label, layout_of(model, hop.object).map(|l| &l.role)) {
                // The way into a map or channel names it; its insides do not.
                (EdgeLabel::ChanBuffer, _) => pending.push_str("<chan buffer>"),
                (_, Some(TypeRole::MapHeader | TypeRole::Chan)) => pending = text,
                _ => {}
            }
            continue;
        }
        let edge = if raw {
            text
        } else {
            format!("{}{text}", std::mem::take(&mut pending))
        };
        out.push(Step {
            object: hop.object,
            edge,
        });
    }
    out
}

/// Runtime containers a user does not need to see.
fn is_internal(model: &HeapModel, obj: ObjectId, label: &EdgeLabel) -> bool {
    if matches!(label, EdgeLabel::ChanBuffer) {
        return true;
    }
    matches!(
        layout_of(model, obj).map(|l| &l.role),
        Some(
            TypeRole::MapHeader | TypeRole::MapEntries(_) | TypeRole::MapInternal | TypeRole::Chan
        )
    )
}

/// The pointer inside a root: a field path of the global or variable
/// (finalizer, cleanup and runtime roots have no fields to name).
fn root_label(model: &HeapModel, root: usize, offset: u64) -> EdgeLabel {
    let r = &model.roots.roots[root];
    match r.type_index.and_then(|t| model.types.layout(t)) {
        Some(l) => EdgeLabel::Field(field_at(l, offset)),
        None => EdgeLabel::Field(String::new()),
    }
}

/// Shortest-path tree from all roots at once (breadth-first from the
/// pseudo-root): for each object, the node it was first reached from.
pub struct ShortestTree {
    parent: Vec<u32>,
}

impl ShortestTree {
    /// The tree whose path to each object starts at its best holder:
    /// `compute_ranked` with owners first.
    pub fn compute(graph: &Graph<'_>) -> ShortestTree {
        Self::compute_ranked(graph, Ranking::OwnerFirst)
    }

    /// With `Ranking::Shortest`, each object's path is a shortest one from
    /// any root. With `Ranking::OwnerFirst`, the roots of each holder class
    /// search in turn, best class first, over what the better classes left:
    /// each object's path is the shortest from the best class of root that
    /// reaches it (`owners::rank`'s order), for the cost of one search.
    pub fn compute_ranked(graph: &Graph<'_>, ranking: Ranking) -> ShortestTree {
        match ranking {
            Ranking::Shortest => Self::compute_shortest(graph),
            Ranking::OwnerFirst => Self::compute_by_class(graph),
        }
    }

    fn compute_by_class(graph: &Graph<'_>) -> ShortestTree {
        let n = graph.node_count();
        let mut parent = vec![NONE; n];
        parent[0] = 0;
        // Every root hangs below the pseudo-root (or its group) from the
        // start, so no phase walks into another class's root.
        let mut by_class: [Vec<u32>; 4] = Default::default();
        let mut place = |v: u32, above: u32, parent: &mut Vec<u32>| {
            parent[v as usize] = above;
            if let Node::Root(r) = graph.node(v) {
                let class = class_of(&graph.model.roots.roots[r]);
                by_class[class as usize].push(v);
            }
        };
        let mut groups = Vec::new();
        graph.for_each_successor(0, |v| match graph.node(v) {
            Node::Group(_) => groups.push(v),
            _ => place(v, 0, &mut parent),
        });
        for g in groups {
            parent[g as usize] = 0;
            graph.for_each_successor(g, |v| place(v, g, &mut parent));
        }
        for mut level in by_class {
            level.sort_unstable();
            Self::search_from(graph, &mut parent, level);
        }
        ShortestTree { parent }
    }

    fn compute_shortest(graph: &Graph<'_>) -> ShortestTree {
        let mut parent = vec![NONE; graph.node_count()];
        parent[0] = 0;
        Self::search_from(graph, &mut parent, vec![0u32]);
        ShortestTree { parent }
    }

    /// Breadth-first from `level` (sorted), giving every node not yet placed in
    /// `parent` its first finder: level by level in node order, as `paths_to` does.
    fn search_from(graph: &Graph<'_>, parent: &mut [u32], mut level: Vec<u32>) {
        let n = graph.node_count();
        let mut next = Vec::new();
        let mut bitmap = Vec::new();
        while !level.is_empty() {
            for &v in &level {
                graph.for_each_successor(v, |w| {
                    if parent[w as usize] == NONE {
                        parent[w as usize] = v;
                        next.push(w);
                    }
                });
            }
            sort_ids(&mut next, n, &mut bitmap);
            std::mem::swap(&mut level, &mut next);
            next.clear();
        }
    }

    /// The root whose shortest path reaches `obj`, and that path.
    pub fn path(&self, graph: &Graph<'_>, obj: ObjectId) -> Option<RetentionPath> {
        let mut chain = Vec::new();
        let mut node = graph.object_node(obj);
        if self.parent[node as usize] == NONE {
            return None;
        }
        loop {
            match graph.node(node) {
                Node::Object(o) => chain.push(o),
                Node::Root(r) => {
                    chain.reverse();
                    return Some(path_of_chain(graph.model, r, &chain));
                }
                Node::PseudoRoot | Node::Group(_) => return None,
            }
            node = self.parent[node as usize];
        }
    }

    /// The shortest path from root `root` to `obj`, found by a search from
    /// that root alone, which gives up (None) after `limit` nodes. When the
    /// root dominates `obj` every path to `obj` passes through it, and every
    /// node on such a path is first reached from it: the answer is then the
    /// path `path` gives (the same levels in the same order break ties alike),
    /// without a search of the whole heap.
    pub fn path_from_root(
        graph: &Graph<'_>,
        root: usize,
        obj: ObjectId,
        limit: usize,
    ) -> Option<Option<RetentionPath>> {
        let start = graph.root_node(root);
        let goal = graph.object_node(obj);
        let mut parent: FxHashMap<u32, u32> = FxHashMap::default();
        parent.insert(start, start);
        let mut level = vec![start];
        let mut next = Vec::new();
        while !level.is_empty() {
            for &v in &level {
                let mut reached = false;
                graph.for_each_successor(v, |w| {
                    if !reached && !parent.contains_key(&w) {
                        parent.insert(w, v);
                        next.push(w);
                        reached = w == goal;
                    }
                });
                if reached {
                    let mut chain = Vec::new();
                    let mut node = goal;
                    while node != start {
                        let Node::Object(o) = graph.node(node) else {
                            return Some(None);
                        };
                        chain.push(o);
                        node = parent[&node];
                    }
                    chain.reverse();
                    return Some(Some(path_of_chain(graph.model, root, &chain)));
                }
                if parent.len() > limit {
                    return None;
                }
            }
            next.sort_unstable();
            std::mem::swap(&mut level, &mut next);
            next.clear();
        }
        Some(None)
    }

    pub fn root_of(&self, graph: &Graph<'_>, obj: ObjectId) -> Option<usize> {
        let mut node = graph.object_node(obj);
        if self.parent[node as usize] == NONE {
            return None;
        }
        loop {
            match graph.node(node) {
                Node::Root(r) => return Some(r),
                Node::PseudoRoot | Node::Group(_) => return None,
                Node::Object(_) => node = self.parent[node as usize],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EdgesBuilder, ObjectsBuilder, Root, RootKind, Roots};

    #[test]
    fn levels_expanded_on_two_threads_give_the_same_paths() {
        // A random heap: 3,000 objects, 0–4 pointers each, 30 roots.
        let mut next = crate::analysis::test_random();
        let n = 3000u64;
        let mut objects = ObjectsBuilder::with_capacity(n as usize);
        for i in 0..n {
            objects.push(0x10000 + i * 0x40, 32);
        }
        let mut edges = EdgesBuilder::with_capacity(n as usize, 3 * n as usize);
        for _ in 0..n {
            let row: Vec<(ObjectId, u32)> = (0..next(5))
                .map(|k| (ObjectId(next(n) as u32), 8 * k as u32))
                .collect();
            edges.push_row(row);
        }
        let roots = Roots {
            roots: (0..30)
                .map(|r| {
                    let refs = (0..1 + next(3))
                        .map(|_| (ObjectId(next(n) as u32), 0))
                        .collect();
                    Root::new(RootKind::Global, format!("g{r}"), None, refs)
                })
                .collect(),
        };
        let model = HeapModel::new(
            objects.finish(),
            edges.finish().expect("edges"),
            roots,
            Vec::new(),
        );
        let graph = Graph::new(&model);
        let reverse = graph.reverse();
        let none = Exclusions::default();
        let mut found = 0;
        for t in (0..n as u32).step_by(37) {
            let target = ObjectId(t);
            for ranking in [Ranking::Shortest, Ranking::OwnerFirst] {
                let one =
                    paths_to_expanding(&graph, &reverse, target, 5, &none, ranking, usize::MAX);
                let two = paths_to_expanding(&graph, &reverse, target, 5, &none, ranking, 1);
                assert_eq!(one, two, "object {t}");
                found += one.len();
            }
        }
        assert!(found > 100, "{found} paths compared");
    }
}
