//! The dominator algorithm: depth-first numbering, semidominators
//! (Lengauer–Tarjan), idoms by SEMI-NCA, then retained sizes accumulated upwards.

use std::sync::Arc;

use super::children::{children, prefix_sums, reuse};
use super::places::Places;
use super::sizes::Sizes;
use super::{Dominators, NONE, Tree};
use crate::analysis::graph::{Graph, PSEUDO_ROOT};
use crate::model::{ObjectId, compact_size};
use rustc_hash::FxHashMap;

/// Predecessor pairs are kept in buckets of this many DFS numbers (as a
/// power of two): a bucket's counting sort stays in cache.
const BUCKET_BITS: u32 = 16;
const BUCKET_MASK: u32 = (1 << BUCKET_BITS) - 1;

#[inline]
fn has(bits: &[u64], v: u32) -> bool {
    bits.get(v as usize / 64)
        .is_some_and(|w| w & (1 << (v % 64)) != 0)
}

/// The depth-first search's results, in DFS numbers.
struct Dfs {
    /// `parent[df]`: the tree parent's number.
    parent: Vec<u32>,
    /// The edges between numbered nodes other than tree edges, as (target
    /// number's low bits << 32 | source number), in buckets by the target
    /// number's high bits. (A tree edge's source is the parent.)
    pairs: Vec<Vec<u64>>,
    /// (leaf, DFS number of a predecessor) for each predecessor of a leaf
    /// after the first (the first is in the leaf's `dfnum` slot).
    extra: Vec<(u32, u32)>,
}

impl Dfs {
    /// The edge from the node numbered `dv` to `w`: numbers w if it is new
    /// and no leaf (returning its number), or records the edge.
    #[inline(always)]
    fn cross(
        &mut self,
        dfnum: &mut [u32],
        leaves: &mut [u64],
        dv: u32,
        w: u32,
        leaf: bool,
    ) -> Option<u32> {
        let d = dfnum[w as usize];
        if d == NONE {
            if leaf {
                leaves[w as usize / 64] |= 1 << (w % 64);
                dfnum[w as usize] = dv;
                return None;
            }
            let d = self.parent.len() as u32;
            dfnum[w as usize] = d;
            self.parent.push(dv);
            if d & BUCKET_MASK == 0 {
                self.pairs.push(Vec::new());
            }
            return Some(d);
        }
        if has(leaves, w) {
            self.extra.push((w, dv));
        } else {
            self.pairs[(d >> BUCKET_BITS) as usize]
                .push(u64::from(d & BUCKET_MASK) << 32 | u64::from(dv));
        }
        None
    }
}

/// Depth-first numbering from the pseudo-root. A leaf gets no number: its
/// `dfnum` slot holds its first predecessor's, and its bit in `leaves` is
/// set. Predecessors are recorded while each edge's target number is at
/// hand, so no pass over the edges has to look them up again. (Any
/// depth-first order gives the same dominators: the few nodes above the
/// objects go first, each object reached from them starts a search of
/// objects alone.)
fn depth_first(
    graph: &Graph<'_>,
    special: &[Vec<u32>],
    dfnum: &mut [u32],
    leaves: &mut [u64],
) -> Dfs {
    let first_object = graph.first_object_node();
    let edges = &graph.model.edges;
    let targets = edges.all_targets();
    // Room for every node (pages never written are never mapped), so the
    // buffer can take per-node data later.
    let mut s = Dfs {
        parent: Vec::with_capacity(dfnum.len()),
        pairs: Vec::new(),
        extra: Vec::new(),
    };
    let row = |w: u32| {
        let r = edges.row(ObjectId(w - first_object));
        (r.start as u32, r.end as u32)
    };
    // (DFS number, next position, end of the row) of the objects with
    // successors still to look at; the frame goes with the last one.
    let mut objects: Vec<(u32, u32, u32)> = Vec::new();
    // (node, DFS number, next successor) of the nodes above the objects.
    let mut above: Vec<(u32, u32, usize)> = Vec::new();
    s.cross(dfnum, leaves, NONE, PSEUDO_ROOT, false);
    above.push((PSEUDO_ROOT, 0, 0));
    while let Some(top) = above.last_mut() {
        let (v, dv, next) = *top;
        let Some(&w) = special[v as usize].get(next) else {
            above.pop();
            continue;
        };
        top.2 += 1;
        if w < first_object {
            if let Some(d) = s.cross(dfnum, leaves, dv, w, false) {
                above.push((w, d, 0));
            }
            continue;
        }
        let (b, e) = row(w);
        let Some(d) = s.cross(dfnum, leaves, dv, w, b == e) else {
            continue;
        };
        objects.push((d, b, e));
        while let Some(top) = objects.last_mut() {
            let (dv, next, end) = *top;
            top.1 += 1;
            if next + 1 == end {
                objects.pop();
            }
            let w = targets[next as usize].0 + first_object;
            let (b, e) = if dfnum[w as usize] == NONE {
                row(w)
            } else {
                (0, 0)
            };
            if let Some(d) = s.cross(dfnum, leaves, dv, w, b == e) {
                objects.push((d, b, e));
            }
        }
    }
    s
}

/// The least semidominator on the forest path from linked node `v` up to
/// (not including) its root, compressing the path (iteratively). `links[x]`
/// holds x's forest ancestor (high half) and the least semidominator from x
/// up to below that ancestor (low half); the nodes numbered above `linked`
/// are linked, the others are roots.
fn eval(links: &mut [u64], v: u32, linked: u32, path: &mut Vec<u32>) -> u32 {
    // Collect the path up to the node whose ancestor is a root.
    let mut x = v;
    loop {
        let a = (links[x as usize] >> 32) as u32;
        if a <= linked {
            break;
        }
        path.push(x);
        x = a;
    }
    // Compress from the top down.
    while let Some(y) = path.pop() {
        let ly = links[y as usize];
        let la = links[(ly >> 32) as usize];
        let least = (ly as u32).min(la as u32);
        links[y as usize] = (la & !0xffff_ffff) | u64::from(least);
    }
    links[v as usize] as u32
}

/// Semidominators, in reverse DFS order, of the numbered nodes and (as
/// (leaf, semidominator)) of the leaves with several predecessors, from
/// their extra predecessors as (first predecessor, leaf, predecessor)
/// sorted largest first. Also gives back the forest's memory. The
/// buffers get room for later use.
fn semidominators(
    parent: &[u32],
    pairs: &mut [Vec<u64>],
    queries: &[(u32, u32, u32)],
    (semi_room, links_room): (usize, usize),
) -> (Vec<u32>, Vec<(u32, u32)>, Vec<u64>) {
    let count = parent.len();
    // Nodes numbered above the one at hand are linked: links need no marks.
    let mut links = Vec::with_capacity(links_room);
    links.resize(count, 0u64);
    let mut semi = Vec::with_capacity(semi_room);
    semi.resize(count, 0u32);
    let mut leaf_semi = Vec::new();
    let mut queries = queries.iter().copied().peekable();
    let mut path: Vec<u32> = Vec::new();
    // One bucket's predecessor rows (CSR by the low bits of the number):
    // after the fill, `row_ends[i]` is where row i ends (and i + 1 starts).
    let mut row_ends = vec![0u32; 1 << BUCKET_BITS];
    let mut rows: Vec<u32> = Vec::new();
    for (b, bucket) in pairs.iter_mut().enumerate().rev() {
        let bucket = std::mem::take(bucket);
        row_ends.fill(0);
        for &p in &bucket {
            row_ends[(p >> 32) as usize] += 1;
        }
        prefix_sums(&mut row_ends);
        rows.clear();
        rows.resize(bucket.len(), 0);
        for &p in &bucket {
            let c = &mut row_ends[(p >> 32) as usize];
            rows[*c as usize] = p as u32;
            *c += 1;
        }
        drop(bucket);
        let first = (b << BUCKET_BITS) as u32;
        let last = count.min((b + 1) << BUCKET_BITS) as u32;
        for w in (first..last).rev() {
            // The leaves placed right after w: predecessors up to w come
            // before them, and every node after w is linked.
            while let Some(&(p, leaf, _)) = queries.peek() {
                if p != w {
                    break;
                }
                let mut s = p;
                while let Some((_, _, q)) = queries.next_if(|&(p2, l, _)| p2 == p && l == leaf) {
                    s = s.min(if q <= p {
                        q
                    } else {
                        eval(&mut links, q, p, &mut path)
                    });
                }
                leaf_semi.push((leaf, s));
            }
            if w == 0 {
                break;
            }
            let i = w as usize;
            let low = (w - first) as usize;
            let begin = if low == 0 { 0 } else { row_ends[low - 1] };
            // The tree parent is a predecessor too.
            let mut s = parent[i];
            for &v in &rows[begin as usize..row_ends[low] as usize] {
                s = s.min(if v <= w {
                    v
                } else {
                    eval(&mut links, v, w, &mut path)
                });
            }
            links[i] = u64::from(parent[i]) << 32 | u64::from(s);
            semi[i] = s;
        }
    }
    (semi, leaf_semi, links)
}

impl Dominators {
    pub fn compute(graph: &Graph<'_>) -> Dominators {
        let mut phases = crate::timing::Phases::new();
        let n = graph.node_count();
        let first_object = graph.first_object_node() as usize;
        // The few nodes above the objects (pseudo-root, roots, groups) get
        // their successor lists up front; objects use their CSR row.
        let special: Vec<Vec<u32>> = (0..first_object as u32)
            .map(|v| {
                let mut out = Vec::new();
                graph.for_each_successor(v, |w| out.push(w));
                out
            })
            .collect();
        let mut dfnum = vec![NONE; n];
        let mut leaves = vec![0u64; n.div_ceil(64)];
        let Dfs {
            parent,
            mut pairs,
            extra,
        } = depth_first(graph, &special, &mut dfnum, &mut leaves);
        drop(special);
        let count = parent.len();
        phases.done("dominators: depth-first numbering");

        // Leaves' extra predecessors by the leaf's place (after its first
        // predecessor, the sweep's order: largest first) and leaf.
        let mut queries: Vec<(u32, u32, u32)> = extra
            .into_iter()
            .map(|(leaf, q)| (dfnum[leaf as usize], leaf, q))
            .collect();
        queries.sort_unstable_by(|a, b| b.cmp(a));
        // Room for one entry per node that is not a leaf: the forest's
        // buffer takes the sizes later.
        let others = n - leaves
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum::<usize>();
        let (semi, leaf_semi, links) = semidominators(&parent, &mut pairs, &queries, (n, others));
        drop((pairs, queries));
        phases.done("dominators: semidominators");

        // Immediate dominators, over the parents in place: the nearest
        // ancestor of the tree parent whose number is at most the
        // semidominator (ancestors come first in DFS order, so their idoms
        // are final when reached).
        let mut idom_df = parent;
        for w in 1..count {
            let s = semi[w];
            let mut d = idom_df[w];
            while d > s {
                d = idom_df[d as usize];
            }
            idom_df[w] = d;
        }
        // A leaf's tree parent is its first predecessor, in its `dfnum`
        // slot; the slot takes its idom.
        for (leaf, s) in leaf_semi {
            let mut d = dfnum[leaf as usize];
            while d > s {
                d = idom_df[d as usize];
            }
            dfnum[leaf as usize] = d;
        }
        phases.done("dominators: immediate dominators");

        // DFS number to node (not kept by the search: its memory would sit
        // idle until now).
        let places = Places::new(leaves, n);
        let mut vertex = reuse(semi, count, 0);
        for (v, &d) in dfnum.iter().enumerate() {
            if d != NONE && !places.is_leaf(v) {
                vertex[d as usize] = v as u32;
            }
        }
        // Own sizes at each node's place, a leaf's also into its
        // dominator's.
        let mut packed = links;
        packed.clear();
        packed.resize(others, 0);
        let mut sizes = Sizes {
            packed,
            wide: FxHashMap::default(),
        };
        let mut leaf_sizes = Vec::with_capacity(n - others);
        let mut big_leaves = Vec::new();
        let model_objects = &graph.model.objects;
        // Nodes before the objects are no leaves: their places are their
        // numbers.
        let mut place = first_object;
        for (v, &d) in dfnum.iter().enumerate().skip(first_object) {
            let leaf = places.is_leaf(v);
            if d != NONE {
                let size = model_objects.size(ObjectId((v - first_object) as u32));
                let one = u64::from(size > 0);
                if leaf {
                    sizes.add(places.other(vertex[d as usize]), size, one);
                    leaf_sizes.push(compact_size(size).unwrap_or_else(|| {
                        big_leaves.push((v as u32, size));
                        u32::MAX
                    }));
                } else {
                    sizes.add(place, size, one);
                }
            }
            place += usize::from(!leaf);
        }
        // Idoms per node, over the DFS numbers in place.
        let mut idom = dfnum;
        for (v, d) in idom.iter_mut().enumerate() {
            *d = match *d {
                NONE => NONE,
                d if places.is_leaf(v) => vertex[d as usize],
                0 => NONE,
                d => vertex[idom_df[d as usize] as usize],
            };
        }
        // Sizes accumulated upwards (children come after their dominators
        // in DFS order), the numbers turned to places first.
        for u in vertex.iter_mut() {
            *u = places.other(*u) as u32;
        }
        for w in (1..count).rev() {
            let (b, o) = sizes.get(vertex[w] as usize);
            sizes.add(vertex[idom_df[w] as usize] as usize, b, o);
        }
        phases.done("dominators: retained sizes");

        let lists = children(&idom, &places, others, idom_df, vertex);
        phases.done("dominators: children");
        Dominators {
            tree: Arc::new(Tree {
                idom,
                places,
                leaf_sizes,
                big_leaves,
                sizes,
                children: std::sync::OnceLock::from(lists),
            }),
        }
    }
}
