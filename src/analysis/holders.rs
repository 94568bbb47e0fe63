//! Holders: the pseudo-root's children in the dominator tree — roots,
//! goroutine groups, and objects that no single root dominates — whose
//! retained sizes add up to the live heap; and, over the graph of those
//! holders (each one's dominator subtree collapsed into it), who reaches a
//! shared object, what a holder keeps reachable, and whom it shares it with.
//!
//! Every object lies in exactly one holder's subtree, and whoever reaches an
//! object reaches the holder above it (that holder dominates it): so the
//! holder graph answers reachability questions about the whole heap exactly,
//! at the size of the holders rather than of the objects.

use rayon::prelude::*;

use super::graph::{Node, PSEUDO_ROOT};
use super::retention::Retention;
use crate::model::ObjectId;
use rustc_hash::FxHashMap;

/// Top-level nodes visited by one holder-graph search before it stops and
/// calls its answer partial.
pub const SEARCH_LIMIT: usize = 1 << 20;

/// The holders of a heap and the graph between them.
pub struct HolderGraph {
    /// Children of the pseudo-root, in node order.
    pub tops: Vec<u32>,
    /// Per top: the tops it points at (CSR over top indexes).
    out_starts: Vec<u32>,
    out: Vec<u32>,
    /// Per top: the tops pointing at it.
    in_starts: Vec<u32>,
    ins: Vec<u32>,
    /// Per top: retained bytes and objects, read once in node order (the
    /// searches would read them at random places of the dominator tree).
    retained_bytes: Vec<u64>,
    retained_objects: Vec<u32>,
    /// Tops the searches may still visit (see `set_budget`).
    budget: std::cell::Cell<usize>,
}

/// What one search over the holder graph found.
pub struct Reach {
    /// Top indexes reached, the start included.
    pub tops: Vec<u32>,
    /// Whether the search stopped at `SEARCH_LIMIT` or at the budget.
    pub partial: bool,
}

impl HolderGraph {
    pub fn build(r: &Retention<'_>) -> HolderGraph {
        let mut phases = crate::timing::Phases::new();
        let graph = &r.graph;
        let doms = &r.doms;
        let tops: Vec<u32> = r.children.of(PSEUDO_ROOT).to_vec();
        let first_object = graph.first_object_node();
        let model = graph.model;
        let index = TopIndex::new(graph.node_count(), &tops);
        // The holder (index) above node `u`, when a short walk up the
        // dominator tree finds it (most sources sit a few levels below
        // their holder); None for unreachable nodes; Err for the rest.
        let walk = |u: u32| -> Result<Option<u32>, ()> {
            let mut x = u;
            for _ in 0..WALK {
                if let Some(i) = index.of(x) {
                    return Ok(Some(i));
                }
                match doms.idom(x) {
                    Some(p) if p != PSEUDO_ROOT => x = p,
                    _ => return Ok(None),
                }
            }
            Err(())
        };
        // Edges into holders that are objects, from anything but their own
        // holder, as (holder index, holder index). Only these cross between
        // holders (an edge into an object some holder dominates comes from
        // inside that holder's subtree). Sources far below their holder
        // are left for a walk that remembers what it passed.
        let objects = model.objects.len() as u32;
        let targets = model.edges.all_targets();
        let (mut pairs, far): (Vec<(u32, u32)>, Vec<(u32, u32)>) = (0..objects
            .div_ceil(SCAN_CHUNK))
            .into_par_iter()
            .map(|c| {
                let (mut pairs, mut far) = (Vec::new(), Vec::new());
                let end = ((c + 1) * SCAN_CHUNK).min(objects);
                for id in c * SCAN_CHUNK..end {
                    let u = id + first_object;
                    for &t in &targets[model.edges.row(ObjectId(id))] {
                        let v = t.0 + first_object;
                        let Some(b) = index.of(v) else { continue };
                        match walk(u) {
                            Ok(Some(a)) if a != b => pairs.push((a, b)),
                            Ok(_) => {}
                            Err(()) => far.push((u, b)),
                        }
                    }
                }
                (pairs, far)
            })
            .reduce(
                || (Vec::new(), Vec::new()),
                |(mut a, mut fa), (mut b, mut fb)| {
                    a.append(&mut b);
                    fa.append(&mut fb);
                    (a, fa)
                },
            );
        for (i, root) in model.roots.roots.iter().enumerate() {
            let u = graph.root_node(i);
            for &(t, _) in &root.targets {
                let Some(b) = index.of(graph.object_node(t)) else {
                    continue;
                };
                // A root is a holder, or sits right below its group.
                if let Ok(Some(a)) = walk(u) {
                    if a != b {
                        pairs.push((a, b));
                    }
                }
            }
        }
        let mut known: FxHashMap<u32, u32> = FxHashMap::default();
        let mut path = Vec::new();
        for (u, b) in far {
            if let Some(a) = holder(doms, &index, &mut known, &mut path, u) {
                if a != b {
                    pairs.push((a, b));
                }
            }
        }
        phases.done("holders: crossing edges");
        // Repeated pairs only repeat a row entry: searches mark what they saw.
        let (out_starts, out) = csr(tops.len(), &pairs, false);
        let (in_starts, ins) = csr(tops.len(), &pairs, true);
        phases.done("holders: holder graph");
        let retained_bytes = tops.par_iter().map(|&t| doms.retained_bytes(t)).collect();
        // A holder of 4 billion objects or more is counted at the limit.
        let retained_objects = tops
            .par_iter()
            .map(|&t| u32::try_from(doms.retained_objects(t)).unwrap_or(u32::MAX))
            .collect();
        HolderGraph {
            tops,
            retained_bytes,
            retained_objects,
            out_starts,
            out,
            in_starts,
            ins,
            budget: std::cell::Cell::new(usize::MAX),
        }
    }

    /// Bounds the tops all further searches visit together: a listing's
    /// searches then cost a bounded amount however large the graph (those
    /// cut short say so). Unbounded until set.
    pub fn set_budget(&self, tops: usize) {
        self.budget.set(tops);
    }

    /// Whether two searches of the whole graph fit in what is left.
    pub fn can_search_all(&self) -> bool {
        self.tops.len().saturating_mul(2) <= self.budget.get().min(SEARCH_LIMIT)
    }

    /// Retained bytes of every top.
    pub fn all_retained_bytes(&self) -> &[u64] {
        &self.retained_bytes
    }

    /// Retained bytes and objects of top `i`.
    pub fn retained(&self, i: u32) -> (u64, u64) {
        (
            self.retained_bytes[i as usize],
            u64::from(self.retained_objects[i as usize]),
        )
    }

    pub fn index_of(&self, node: u32) -> Option<usize> {
        self.tops.binary_search(&node).ok()
    }

    fn row<'a>(starts: &[u32], items: &'a [u32], i: u32) -> &'a [u32] {
        let (b, e) = (starts[i as usize], starts[i as usize + 1]);
        &items[b as usize..e as usize]
    }

    /// Tops reachable from `from` (top indexes), `from` included.
    pub fn forward(&self, from: &[u32]) -> Reach {
        self.search(from, &self.out_starts, &self.out)
    }

    /// Tops that reach any of `to` (top indexes), `to` included.
    pub fn backward(&self, to: &[u32]) -> Reach {
        self.search(to, &self.in_starts, &self.ins)
    }

    /// Breadth-first, so nearer tops come first.
    fn search(&self, start: &[u32], starts: &[u32], items: &[u32]) -> Reach {
        let mut seen = vec![0u64; self.tops.len().div_ceil(64)];
        let mut found: Vec<u32> = Vec::new();
        for &s in start {
            if seen[s as usize / 64] & (1 << (s % 64)) == 0 {
                seen[s as usize / 64] |= 1 << (s % 64);
                found.push(s);
            }
        }
        let limit = SEARCH_LIMIT.min(self.budget.get());
        let mut next = 0;
        while next < found.len() {
            if found.len() >= limit {
                self.budget
                    .set(self.budget.get().saturating_sub(found.len()));
                return Reach {
                    tops: found,
                    partial: true,
                };
            }
            let v = found[next];
            next += 1;
            for &w in Self::row(starts, items, v) {
                let (word, bit) = (w as usize / 64, 1u64 << (w % 64));
                if seen[word] & bit == 0 {
                    seen[word] |= bit;
                    found.push(w);
                }
            }
        }
        self.budget
            .set(self.budget.get().saturating_sub(found.len()));
        Reach {
            tops: found,
            partial: false,
        }
    }
}

/// Objects per task of the edge scan.
const SCAN_CHUNK: u32 = 1 << 16;

/// Steps up the dominator tree the edge scan takes to find a source's holder.
const WALK: usize = 64;

/// The holders' indexes by node: a bit per node and the number of holders
/// before every 64 nodes (no per-node array).
struct TopIndex {
    bits: Vec<u64>,
    before: Vec<u32>,
}

impl TopIndex {
    fn new(nodes: usize, tops: &[u32]) -> TopIndex {
        let mut bits = vec![0u64; nodes.div_ceil(64)];
        for &t in tops {
            bits[t as usize / 64] |= 1 << (t % 64);
        }
        let mut sum = 0;
        let before = bits
            .iter()
            .map(|w| {
                let here = sum;
                sum += w.count_ones();
                here
            })
            .collect();
        TopIndex { bits, before }
    }

    /// The index in `tops` (which is in node order) of node `v`, if a holder.
    #[inline]
    fn of(&self, v: u32) -> Option<u32> {
        let w = *self.bits.get(v as usize / 64)?;
        let bit = 1u64 << (v % 64);
        (w & bit != 0).then(|| self.before[v as usize / 64] + (w & (bit - 1)).count_ones())
    }
}

/// The index of the holder above node `u` (None: unreachable), remembering
/// it for every node passed.
fn holder(
    doms: &super::dominators::Dominators,
    index: &TopIndex,
    known: &mut FxHashMap<u32, u32>,
    path: &mut Vec<u32>,
    u: u32,
) -> Option<u32> {
    path.clear();
    let mut x = u;
    let found = loop {
        if let Some(i) = index.of(x).or_else(|| known.get(&x).copied()) {
            break i;
        }
        match doms.idom(x) {
            Some(p) if p != PSEUDO_ROOT => {
                path.push(x);
                x = p;
            }
            _ => return None,
        }
    };
    for &p in path.iter() {
        known.insert(p, found);
    }
    Some(found)
}

/// (row, item) pairs as CSR over `rows` rows (`flip`: by item instead),
/// by counting: no sort.
fn csr(rows: usize, pairs: &[(u32, u32)], flip: bool) -> (Vec<u32>, Vec<u32>) {
    let pick = |&(a, b): &(u32, u32)| if flip { (b, a) } else { (a, b) };
    let mut starts = vec![0u32; rows + 1];
    for p in pairs {
        starts[pick(p).0 as usize + 1] += 1;
    }
    for i in 0..rows {
        starts[i + 1] += starts[i];
    }
    let mut fill = starts.clone();
    let mut items = vec![0u32; pairs.len()];
    for p in pairs {
        let (a, b) = pick(p);
        items[fill[a as usize] as usize] = b;
        fill[a as usize] += 1;
    }
    (starts, items)
}

/// Whether a top is a root or goroutine group (a source of the holder
/// graph) rather than a shared object.
pub fn is_source(r: &Retention<'_>, node: u32) -> bool {
    matches!(r.graph.node(node), Node::Root(_) | Node::Group(_))
}

/// Sums of retained bytes and objects over tops.
pub fn retained_sum(hg: &HolderGraph, tops: &[u32]) -> (u64, u64) {
    tops.iter().fold((0, 0), |(b, o), &t| {
        let (rb, ro) = hg.retained(t);
        (b + rb, o + ro)
    })
}

/// What a holder shares with one other holder: the retained sizes of the
/// shared objects both reach.
pub struct Sharing {
    pub with: u32,
    pub bytes: u64,
    pub objects: u64,
}

/// Co-holders considered per holder: the nearest ones in the holder graph.
pub const CO_HOLDERS: usize = 4;

/// For a source `h` (top index) and the tops it reaches, the other sources
/// that reach some of the same shared objects (the `CO_HOLDERS` nearest),
/// each with the bytes of shared objects both reach, largest first; and
/// whether a search was cut short.
pub fn co_holders(
    r: &Retention<'_>,
    hg: &HolderGraph,
    h: u32,
    reach: &Reach,
) -> (Vec<Sharing>, bool) {
    let shared: Vec<u32> = reach.tops.iter().copied().filter(|&t| t != h).collect();
    if shared.is_empty() {
        return (Vec::new(), reach.partial);
    }
    let mut in_reach = vec![0u64; hg.tops.len().div_ceil(64)];
    for &t in &shared {
        in_reach[t as usize / 64] |= 1 << (t % 64);
    }
    let back = hg.backward(&shared);
    let mut partial = reach.partial || back.partial;
    let candidates: Vec<u32> = back
        .tops
        .iter()
        .copied()
        .filter(|&t| t != h && is_source(r, hg.tops[t as usize]))
        .take(CO_HOLDERS)
        .collect();
    let mut out: Vec<Sharing> = candidates
        .into_iter()
        .map(|c| {
            let theirs = hg.forward(&[c]);
            partial |= theirs.partial;
            let both: Vec<u32> = theirs
                .tops
                .into_iter()
                .filter(|&t| in_reach[t as usize / 64] & (1 << (t % 64)) != 0)
                .collect();
            let (bytes, objects) = retained_sum(hg, &both);
            Sharing {
                with: c,
                bytes,
                objects,
            }
        })
        .filter(|s| s.bytes > 0)
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.with.cmp(&b.with)));
    (out, partial)
}

/// The sources (top indexes) that reach top `s`, nearest first.
pub fn reached_from(r: &Retention<'_>, hg: &HolderGraph, s: u32) -> (Vec<u32>, bool) {
    let back = hg.backward(&[s]);
    let sources = back
        .tops
        .into_iter()
        .filter(|&t| is_source(r, hg.tops[t as usize]))
        .collect();
    (sources, back.partial)
}

/// What the sources `set` together keep alive that no source outside it
/// reaches (freed if all of them let go): retained sizes of the tops they
/// reach that no other source reaches.
pub fn held_only_by(r: &Retention<'_>, hg: &HolderGraph, set: &[u32]) -> ((u64, u64), bool) {
    let theirs = hg.forward(set);
    let others: Vec<u32> = (0..hg.tops.len() as u32)
        .filter(|t| !set.contains(t) && is_source(r, hg.tops[*t as usize]))
        .collect();
    let elsewhere = hg.forward(&others);
    let mut outside = vec![0u64; hg.tops.len().div_ceil(64)];
    for &t in &elsewhere.tops {
        outside[t as usize / 64] |= 1 << (t % 64);
    }
    let only: Vec<u32> = theirs
        .tops
        .into_iter()
        .filter(|&t| outside[t as usize / 64] & (1 << (t % 64)) == 0)
        .collect();
    (retained_sum(hg, &only), theirs.partial || elsewhere.partial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        EdgesBuilder, FrameRef, Goroutine, HeapModel, ObjectsBuilder, Root, RootKind, Roots,
        SourceFrame,
    };

    /// Objects of `sizes` with `edges` between them, global roots (their
    /// targets) and alike goroutines (id, targets of their one stack root).
    fn model(
        sizes: &[u64],
        edges: &[&[u32]],
        globals: &[&[u32]],
        goroutines: &[(u64, &[u32])],
    ) -> HeapModel {
        let mut objects = ObjectsBuilder::with_capacity(sizes.len());
        for (i, &s) in sizes.iter().enumerate() {
            objects.push(0x10000 + i as u64 * 0x1000, s);
        }
        let mut b = EdgesBuilder::with_capacity(sizes.len(), 0);
        for i in 0..sizes.len() {
            let row = edges.get(i).copied().unwrap_or(&[]);
            b.push_row(row.iter().map(|&t| (ObjectId(t), 0)));
        }
        let targets = |t: &[u32]| t.iter().map(|&o| (ObjectId(o), 0)).collect();
        let mut roots: Vec<Root> = globals
            .iter()
            .enumerate()
            .map(|(i, t)| Root::new(RootKind::Global, format!("g{i}"), None, targets(t)))
            .collect();
        let mut gs = Vec::new();
        for &(id, t) in goroutines {
            let mut root = Root::new(RootKind::Stack, format!("stack{id}"), None, targets(t));
            root.frame = Some(FrameRef {
                goroutine: id,
                function: "main.worker".into(),
                ..FrameRef::default()
            });
            roots.push(root);
            gs.push(Goroutine {
                id,
                state: "waiting".into(),
                wait_reason: Some("chan receive".into()),
                frames: vec![SourceFrame {
                    function: "main.worker".into(),
                    file: None,
                    line: None,
                }],
                created_by: None,
                problem: None,
            });
        }
        let mut m = HeapModel::new(
            objects.finish(),
            b.finish().expect("edges"),
            Roots { roots },
            Vec::new(),
        );
        m.goroutines = gs;
        m
    }

    fn top(hg: &HolderGraph, node: u32) -> u32 {
        hg.index_of(node).expect("a holder") as u32
    }

    #[test]
    fn shared_objects_are_reached_from_their_holders_alone() {
        // 0: a server (global g0 and the goroutines both point at it), 1: its
        // connection map, 2–3: buffers held by the map and by one goroutine
        // each, 4: a goroutine's own buffer, 5: g1's own list head, 6: its
        // tail, 7: garbage pointing at the server.
        let sizes = [64, 128, 4096, 4096, 512, 32, 32, 16];
        let edges: [&[u32]; 8] = [&[1], &[2, 3], &[], &[], &[], &[6], &[], &[0]];
        let m = model(
            &sizes,
            &edges,
            &[&[0], &[5]],
            &[(10, &[2, 4, 0]), (11, &[3])],
        );
        let r = Retention::compute(&m);
        let hg = HolderGraph::build(&r);
        let o = |i: u32| r.graph.object_node(ObjectId(i));
        let (g0, g1, group) = (
            r.graph.root_node(0),
            r.graph.root_node(1),
            r.graph.group_node(0),
        );
        // Holders: the globals, the group of two goroutines, and the
        // server and both buffers (each reached from two holders).
        let mut expected = vec![g0, g1, group, o(0), o(2), o(3)];
        expected.sort_unstable();
        assert_eq!(hg.tops, expected);
        let total: u64 = hg.tops.iter().map(|&t| r.doms.retained_bytes(t)).sum();
        assert_eq!(total, r.live_bytes);
        assert_eq!(r.live_bytes, 64 + 128 + 4096 * 2 + 512 + 64);
        // The group alone retains goroutine 10's own buffer; it reaches
        // everything but g1's list.
        let reach = hg.forward(&[top(&hg, group)]);
        assert_eq!(r.doms.retained_bytes(group), 512);
        assert_eq!(retained_sum(&hg, &reach.tops), (512 + 64 + 128 + 8192, 5));
        let (sharing, partial) = co_holders(&r, &hg, top(&hg, group), &reach);
        assert!(!partial);
        assert_eq!(sharing.len(), 1);
        assert_eq!(hg.tops[sharing[0].with as usize], g0);
        assert_eq!((sharing[0].bytes, sharing[0].objects), (64 + 128 + 8192, 4));
        // The buffers: reached from the global (through the map) and the group.
        let (from, _) = reached_from(&r, &hg, top(&hg, o(2)));
        let mut from: Vec<u32> = from.iter().map(|&t| hg.tops[t as usize]).collect();
        from.sort_unstable();
        assert_eq!(from, [g0, group]);
        // Together they hold all of it but g1's list; g0 alone nothing.
        let set = [top(&hg, g0), top(&hg, group)];
        assert_eq!(held_only_by(&r, &hg, &set).0, (64 + 128 + 8192 + 512, 5));
        assert_eq!(held_only_by(&r, &hg, &[top(&hg, g0)]).0, (0, 0));
        assert_eq!(held_only_by(&r, &hg, &[top(&hg, g1)]).0, (64, 2));
    }

    #[test]
    fn holders_add_up_to_the_live_heap_on_random_graphs() {
        let mut next = crate::analysis::test_random();
        for _ in 0..200 {
            let n = 1 + next(30) as usize;
            let sizes: Vec<u64> = (0..n).map(|_| 8 * (1 + next(8))).collect();
            let rows: Vec<Vec<u32>> = (0..n)
                .map(|_| (0..next(4)).map(|_| next(n as u64) as u32).collect())
                .collect();
            let edges: Vec<&[u32]> = rows.iter().map(|r| &r[..]).collect();
            let g: Vec<Vec<u32>> = (0..1 + next(3))
                .map(|_| (0..next(3)).map(|_| next(n as u64) as u32).collect())
                .collect();
            let globals: Vec<&[u32]> = g.iter().map(|r| &r[..]).collect();
            let w: Vec<Vec<u32>> = (0..next(4))
                .map(|_| (0..next(3)).map(|_| next(n as u64) as u32).collect())
                .collect();
            let workers: Vec<(u64, &[u32])> = w
                .iter()
                .enumerate()
                .map(|(i, r)| (100 + i as u64, &r[..]))
                .collect();
            let m = model(&sizes, &edges, &globals, &workers);
            let r = Retention::compute(&m);
            let hg = HolderGraph::build(&r);
            let all: Vec<u32> = (0..hg.tops.len() as u32).collect();
            assert_eq!(retained_sum(&hg, &all).0, r.live_bytes);
            // What a holder reaches through the holder graph is what it
            // reaches in the heap.
            for (i, &t) in hg.tops.iter().enumerate() {
                let mut seen = vec![false; r.graph.node_count()];
                let mut stack = vec![t];
                seen[t as usize] = true;
                let mut bytes = 0;
                while let Some(v) = stack.pop() {
                    bytes += r.graph.size(v);
                    r.graph.for_each_successor(v, |w| {
                        if !seen[w as usize] {
                            seen[w as usize] = true;
                            stack.push(w);
                        }
                    });
                }
                let reach = hg.forward(&[i as u32]);
                assert_eq!(retained_sum(&hg, &reach.tops).0, bytes);
            }
        }
    }
}
