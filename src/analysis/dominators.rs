//! Dominator tree of the retention graph and retained sizes: what would be
//! freed if a node's references went away. Semidominators as Lengauer–Tarjan
//! computes them (path compression, iterative so deep lists cannot overflow
//! the stack), then immediate dominators by the nearest-common-ancestor walk
//! of SEMI-NCA (Georgiadis): no buckets, and every array indexed by DFS
//! number, so the work walks memory in DFS order.
//!
//! Object nodes without successors ("leaves": strings, byte buffers,
//! pointer-free structs, often a third of a Go heap) get no DFS number. In
//! a depth-first order that visits a leaf first thing from its first
//! predecessor p, the leaf comes right after p; it precedes and dominates
//! nothing, so no other node's semidominator or idom changes. A leaf with
//! one predecessor is dominated by it; one with more gets its
//! semidominator from the same forest as every node, at the moment all
//! nodes after p are linked, and its idom by the same walk.
//!
//! On big heaps every array costs (the kernel zeroes each fresh page), so
//! buffers pass from phase to phase, and the result keeps one per-node
//! array (the idoms): sizes and children are found by a node's rank among
//! the leaves or among the other nodes, from a bit per node.

use std::sync::Arc;

use super::graph::{Graph, PSEUDO_ROOT};
use crate::model::{ObjectId, compact_size};
use rustc_hash::FxHashMap;

const NONE: u32 = u32::MAX;

/// Predecessor pairs are kept in buckets of this many DFS numbers (as a
/// power of two): a bucket's counting sort stays in cache.
const BUCKET_BITS: u32 = 16;
const BUCKET_MASK: u32 = (1 << BUCKET_BITS) - 1;

pub struct Dominators {
    tree: Arc<Tree>,
}

/// The dominator tree, shared with `DomChildren`.
struct Tree {
    /// Per node: immediate dominator (NONE for the pseudo-root and
    /// unreachable nodes).
    idom: Vec<u32>,
    /// Where the data of each node sit in the arrays below.
    places: Places,
    /// Per leaf: its size (u32::MAX: see `big_leaves`).
    leaf_sizes: Vec<u32>,
    /// (node, size) of the leaves of 4 GiB and more, by node.
    big_leaves: Vec<(u32, u64)>,
    /// Per other node: bytes and objects it keeps alive on its own (itself
    /// included).
    sizes: Sizes,
    /// Per other node: where its children start in `kids` (CSR), and the
    /// children; found from `idom` when first asked for (an index stores
    /// only the idoms).
    children: std::sync::OnceLock<(Vec<u32>, Vec<u32>)>,
}

impl Tree {
    fn child_lists(&self) -> &(Vec<u32>, Vec<u32>) {
        self.children.get_or_init(|| {
            let leaves: usize = self
                .places
                .leaves
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum();
            let others = self.places.nodes - leaves;
            children(&self.idom, &self.places, others, Vec::new(), Vec::new())
        })
    }
}

/// Where a node's data sit without a per-node array: reachable leaves are
/// counted among themselves, all other nodes among the others, both in node
/// order, from a bit per node and the number of leaves before every 64.
struct Places {
    leaves: Vec<u64>,
    before: Vec<u32>,
    nodes: usize,
}

#[derive(Clone, Copy)]
enum Place {
    Leaf(usize),
    Other(usize),
}

impl Places {
    fn new(leaves: Vec<u64>, nodes: usize) -> Places {
        let mut sum = 0;
        let before = leaves
            .iter()
            .map(|w| {
                let here = sum;
                sum += w.count_ones();
                here
            })
            .collect();
        Places {
            leaves,
            before,
            nodes,
        }
    }

    #[inline]
    fn of(&self, v: u32) -> Option<Place> {
        if v as usize >= self.nodes {
            return None;
        }
        let i = v as usize / 64;
        let (word, before) = (*self.leaves.get(i)?, *self.before.get(i)?);
        let bit = 1 << (v % 64);
        let before = before as usize + (word & (bit - 1)).count_ones() as usize;
        Some(if word & bit != 0 {
            Place::Leaf(before)
        } else {
            Place::Other(v as usize - before)
        })
    }

    /// The place of a node (in range) known not to be a leaf.
    #[inline]
    fn other(&self, v: u32) -> usize {
        let i = v as usize / 64;
        let below = self.leaves[i] & ((1 << (v % 64)) - 1);
        v as usize - self.before[i] as usize - below.count_ones() as usize
    }

    #[inline]
    fn is_leaf(&self, v: usize) -> bool {
        self.leaves[v / 64] & (1 << (v % 64)) != 0
    }
}

/// Retained bytes and objects by the place of a node that is no leaf,
/// packed in one word (bytes in the high 40 bits, objects in the low 24):
/// one array for both. Nodes
/// over either limit (keeping a terabyte or 16 million objects alive: the
/// top of the tree) are `WIDE` there and exact in `wide`.
struct Sizes {
    packed: Vec<u64>,
    wide: FxHashMap<u32, (u64, u64)>,
}

const OBJECT_BITS: u32 = 24;
const OBJECT_MASK: u64 = (1 << OBJECT_BITS) - 1;
const WIDE: u64 = u64::MAX;

impl Sizes {
    #[inline]
    fn get(&self, d: usize) -> (u64, u64) {
        match self.packed.get(d) {
            Some(&WIDE) => self.wide.get(&(d as u32)).copied().unwrap_or((0, 0)),
            Some(&p) => (p >> OBJECT_BITS, p & OBJECT_MASK),
            None => (0, 0),
        }
    }

    #[inline]
    fn add(&mut self, d: usize, bytes: u64, objects: u64) {
        let p = self.packed[d];
        if p != WIDE {
            let b = (p >> OBJECT_BITS).saturating_add(bytes);
            let o = (p & OBJECT_MASK).saturating_add(objects);
            // The low bits all set would read as WIDE.
            if b >> (64 - OBJECT_BITS) == 0 && o < OBJECT_MASK {
                self.packed[d] = b << OBJECT_BITS | o;
                return;
            }
        }
        self.add_wide(d, bytes, objects);
    }

    #[cold]
    fn add_wide(&mut self, d: usize, bytes: u64, objects: u64) {
        let (b, o) = self.get(d);
        self.wide.insert(
            d as u32,
            (b.saturating_add(bytes), o.saturating_add(objects)),
        );
        self.packed[d] = WIDE;
    }
}

#[inline]
fn has(bits: &[u64], v: u32) -> bool {
    bits.get(v as usize / 64)
        .is_some_and(|w| w & (1 << (v % 64)) != 0)
}

/// A u32 array of `len` times `fill`, in `buf`'s memory: its pages are
/// mapped already (while fresh ones cost a fault each), and a buffer made
/// with room for every node can take per-node data.
fn reuse(mut buf: Vec<u32>, len: usize, fill: u32) -> Vec<u32> {
    buf.clear();
    buf.resize(len, fill);
    buf
}

/// Counts to exclusive prefix sums, in place; returns the total.
fn prefix_sums(counts: &mut [u32]) -> u32 {
    let mut sum = 0u32;
    for c in counts {
        let here = *c;
        *c = sum;
        sum += here;
    }
    sum
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

/// Children by their dominator's place (CSR), each list in node order (a
/// dominator has successors: it is no leaf).
fn children(
    idom: &[u32],
    places: &Places,
    others: usize,
    starts_buf: Vec<u32>,
    kids_buf: Vec<u32>,
) -> (Vec<u32>, Vec<u32>) {
    let mut starts = reuse(starts_buf, others + 1, 0);
    for &d in idom {
        if d != NONE {
            starts[places.other(d)] += 1;
        }
    }
    let total = prefix_sums(&mut starts);
    // Fill with `starts[d]` as the cursor of row d, then shift back.
    let mut kids = reuse(kids_buf, total as usize, 0);
    for (v, &d) in idom.iter().enumerate() {
        if d != NONE {
            let c = &mut starts[places.other(d)];
            kids[*c as usize] = v as u32;
            *c += 1;
        }
    }
    starts.copy_within(0..others, 1);
    starts[0] = 0;
    (starts, kids)
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

    pub fn idom(&self, n: u32) -> Option<u32> {
        match self.tree.idom.get(n as usize) {
            Some(&NONE) | None => None,
            Some(&d) => Some(d),
        }
    }

    pub fn is_reachable(&self, n: u32) -> bool {
        n == PSEUDO_ROOT || self.idom(n).is_some()
    }

    pub fn retained_bytes(&self, n: u32) -> u64 {
        let t = &*self.tree;
        match t.places.of(n) {
            None => 0,
            Some(Place::Leaf(i)) => match t.leaf_sizes.get(i) {
                Some(&u32::MAX) => t
                    .big_leaves
                    .binary_search_by_key(&n, |&(v, _)| v)
                    .map_or(u64::from(u32::MAX), |i| t.big_leaves[i].1),
                Some(&size) => u64::from(size),
                None => 0,
            },
            Some(Place::Other(i)) => t.sizes.get(i).0,
        }
    }

    pub fn retained_objects(&self, n: u32) -> u64 {
        let t = &*self.tree;
        match t.places.of(n) {
            None => 0,
            Some(Place::Leaf(i)) => t.leaf_sizes.get(i).map_or(0, |&s| u64::from(s > 0)),
            Some(Place::Other(i)) => t.sizes.get(i).1,
        }
    }

    /// Children of every node in the dominator tree (built with the tree,
    /// shared).
    pub fn children(&self) -> DomChildren {
        DomChildren {
            tree: Arc::clone(&self.tree),
        }
    }
}

/// The arrays of the dominator tree as a persistent index stores them.
pub struct StoredDominators {
    pub idom: Vec<u32>,
    /// One bit per node: a leaf (see `Places`).
    pub leaves: Vec<u64>,
    pub leaf_sizes: Vec<u32>,
    pub big_leaves: Vec<(u32, u64)>,
    pub packed_sizes: Vec<u64>,
    /// (place, bytes, objects) of the sizes too wide to pack, by place.
    pub wide_sizes: Vec<(u32, u64, u64)>,
}

impl Dominators {
    /// A copy of the tree's arrays, for writing an index.
    pub fn stored(&self) -> StoredDominators {
        let t = &*self.tree;
        let mut wide: Vec<(u32, u64, u64)> =
            t.sizes.wide.iter().map(|(&d, &(b, o))| (d, b, o)).collect();
        wide.sort_unstable();
        StoredDominators {
            idom: t.idom.clone(),
            leaves: t.places.leaves.clone(),
            leaf_sizes: t.leaf_sizes.clone(),
            big_leaves: t.big_leaves.clone(),
            packed_sizes: t.sizes.packed.clone(),
            wide_sizes: wide,
        }
    }

    /// The tree from stored arrays for a graph of `nodes` nodes, after
    /// checking that every node it names is one (lookups use `get`, so
    /// short arrays only give zeros; node numbers index other arrays).
    pub fn from_stored(s: StoredDominators, nodes: usize) -> Result<Dominators, String> {
        if s.idom.len() != nodes || s.leaves.len() != nodes.div_ceil(64) {
            return Err("dominator arrays of the wrong length for this heap".into());
        }
        let in_range = |v: &u32| (*v as usize) < nodes;
        if !s.idom.iter().all(|v| *v == NONE || in_range(v)) {
            return Err("dominator tree names no node".into());
        }
        let places = Places::new(s.leaves, nodes);
        // Children are listed by their dominator's place among non-leaves.
        if s.idom
            .iter()
            .any(|&d| d != NONE && places.is_leaf(d as usize))
        {
            return Err("a leaf dominates a node".into());
        }
        if !s.big_leaves.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err("large leaves out of order".into());
        }
        Ok(Dominators {
            tree: Arc::new(Tree {
                idom: s.idom,
                places,
                leaf_sizes: s.leaf_sizes,
                big_leaves: s.big_leaves,
                sizes: Sizes {
                    packed: s.packed_sizes,
                    wide: s
                        .wide_sizes
                        .into_iter()
                        .map(|(d, b, o)| (d, (b, o)))
                        .collect(),
                },
                children: std::sync::OnceLock::new(),
            }),
        })
    }
}

pub struct DomChildren {
    tree: Arc<Tree>,
}

impl DomChildren {
    pub fn of(&self, n: u32) -> &[u32] {
        let t = &*self.tree;
        let Some(Place::Other(i)) = t.places.of(n) else {
            return &[];
        };
        let (starts, kids) = t.child_lists();
        match (starts.get(i), starts.get(i + 1)) {
            (Some(&b), Some(&e)) => kids.get(b as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EdgesBuilder, HeapModel, ObjectsBuilder, Root, RootKind, Roots};

    /// A model with objects of `sizes`, each object's edges (object ids)
    /// from `edges`, and roots pointing at `roots`.
    fn model(sizes: &[u64], edges: &[Vec<u32>], roots: &[Vec<u32>]) -> HeapModel {
        let mut objects = ObjectsBuilder::with_capacity(sizes.len());
        for (i, &s) in sizes.iter().enumerate() {
            objects.push(0x10000 + i as u64 * 0x100, s);
        }
        let mut b = EdgesBuilder::with_capacity(sizes.len(), 0);
        for i in 0..sizes.len() {
            let row = edges.get(i).map_or(&[][..], |r| &r[..]);
            b.push_row(row.iter().map(|&t| (ObjectId(t), 0)));
        }
        let roots = Roots {
            roots: roots
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let targets = t.iter().map(|&o| (ObjectId(o), 0)).collect();
                    Root::new(RootKind::Global, format!("g{i}"), None, targets)
                })
                .collect(),
        };
        HeapModel::new(
            objects.finish(),
            b.finish().expect("edges"),
            roots,
            Vec::new(),
        )
    }

    /// Dominators by the textbook fixed point over dominator sets, and
    /// retained sizes and children from them.
    struct Reference {
        idom: Vec<Option<u32>>,
        bytes: Vec<u64>,
        objects: Vec<u64>,
        children: Vec<Vec<u32>>,
    }

    fn reference(graph: &Graph<'_>) -> Reference {
        let n = graph.node_count();
        let mut succ = vec![Vec::new(); n];
        let mut preds = vec![Vec::new(); n];
        for v in 0..n as u32 {
            graph.for_each_successor(v, |w| {
                succ[v as usize].push(w);
                preds[w as usize].push(v);
            });
        }
        let mut reach = vec![false; n];
        let mut stack = vec![0u32];
        reach[0] = true;
        while let Some(v) = stack.pop() {
            for &w in &succ[v as usize] {
                if !reach[w as usize] {
                    reach[w as usize] = true;
                    stack.push(w);
                }
            }
        }
        let all: Vec<bool> = reach.clone();
        let mut dom: Vec<Vec<bool>> = (0..n)
            .map(|v| {
                if v == 0 {
                    (0..n).map(|u| u == 0).collect()
                } else {
                    all.clone()
                }
            })
            .collect();
        let mut changed = true;
        while changed {
            changed = false;
            for v in 1..n {
                if !reach[v] {
                    continue;
                }
                let mut d = all.clone();
                for &p in &preds[v] {
                    if reach[p as usize] {
                        for u in 0..n {
                            d[u] &= dom[p as usize][u];
                        }
                    }
                }
                d[v] = true;
                if d != dom[v] {
                    dom[v] = d;
                    changed = true;
                }
            }
        }
        let depth = |v: usize| dom[v].iter().filter(|&&b| b).count();
        let idom: Vec<Option<u32>> = (0..n)
            .map(|v| {
                if v == 0 || !reach[v] {
                    return None;
                }
                (0..n)
                    .filter(|&u| u != v && dom[v][u])
                    .max_by_key(|&u| depth(u))
                    .map(|u| u as u32)
            })
            .collect();
        let mut bytes = vec![0; n];
        let mut objects = vec![0; n];
        for u in 0..n {
            if !reach[u] {
                continue;
            }
            let size = graph.size(u as u32);
            for v in 0..n {
                if dom[u][v] {
                    bytes[v] += size;
                    objects[v] += u64::from(size > 0);
                }
            }
        }
        let mut children = vec![Vec::new(); n];
        for (v, d) in idom.iter().enumerate() {
            if let Some(d) = d {
                children[*d as usize].push(v as u32);
            }
        }
        Reference {
            idom,
            bytes,
            objects,
            children,
        }
    }

    /// Checks every node against the reference; returns the dominators.
    fn check(graph: &Graph<'_>) -> Dominators {
        let doms = Dominators::compute(graph);
        let kids = doms.children();
        let r = reference(graph);
        for v in 0..graph.node_count() as u32 {
            let i = v as usize;
            assert_eq!(doms.idom(v), r.idom[i], "idom of {v}");
            assert_eq!(doms.is_reachable(v), v == 0 || r.idom[i].is_some(), "{v}");
            assert_eq!(doms.retained_bytes(v), r.bytes[i], "bytes of {v}");
            assert_eq!(doms.retained_objects(v), r.objects[i], "objects of {v}");
            assert_eq!(kids.of(v), &r.children[i][..], "children of {v}");
        }
        doms
    }

    #[test]
    fn leaves_get_the_common_dominator_of_their_predecessors() {
        // Objects: 0 A, 1 X, 2 C, 3 D, 4 L1, 5 P1, 6 P2, 7 P3, 8 L2,
        // 9 L3, 10 U, 11 L4, 12 B, 13 L5, 14 L6; roots r0, r1.
        let sizes = [16, 32, 16, 16, 8, 48, 48, 48, 5 << 30, 8, 16, 0, 16, 24, 8];
        let edges = vec![
            vec![1],       // A -> X
            vec![2, 3],    // X -> C, D
            vec![4, 13],   // C -> L1, L5
            vec![4, 4, 5], // D -> L1 twice, P1
            vec![],        // L1
            vec![6, 13],   // P1 -> P2, L5
            vec![6, 7],    // P2 -> itself, P3
            vec![8, 13],   // P3 -> L2, L5
            vec![],        // L2 (5 GiB)
            vec![],        // L3: unreachable
            vec![9, 0],    // U: unreachable, into A
            vec![],        // L4: right under r0, no bytes
            vec![14],      // B -> L6
            vec![],        // L5: under C, P1 and P3
            vec![],        // L6: under r0 and B
        ];
        let roots = vec![vec![0, 11, 14], vec![12]];
        let m = model(&sizes, &edges, &roots);
        let g = Graph::new(&m);
        let doms = check(&g);
        let o = |i: u32| g.object_node(ObjectId(i));
        let (r0, r1) = (g.root_node(0), g.root_node(1));
        // Several predecessors: their nearest common dominator.
        assert_eq!(doms.idom(o(4)), Some(o(1)));
        assert_eq!(doms.idom(o(13)), Some(o(1)));
        assert_eq!(doms.idom(o(14)), Some(PSEUDO_ROOT));
        // At the end of a chain of non-leaves.
        assert_eq!(doms.idom(o(8)), Some(o(7)));
        assert_eq!(doms.retained_bytes(o(8)), 5 << 30);
        assert_eq!(doms.retained_bytes(o(5)), 48 * 3 + (5 << 30));
        // Unreachable, and right under a root.
        assert_eq!(doms.idom(o(9)), None);
        assert_eq!(doms.retained_bytes(o(9)), 0);
        assert!(!doms.is_reachable(o(10)));
        assert_eq!(doms.idom(o(11)), Some(r0));
        assert_eq!(doms.retained_objects(o(11)), 0);
        assert_eq!(doms.idom(o(12)), Some(r1));
        assert_eq!(doms.children().of(o(1)), &[o(2), o(3), o(4), o(13)]);
        assert_eq!(doms.children().of(o(4)), &[] as &[u32]);
        // Out of range: nothing, no panic.
        assert_eq!(doms.idom(u32::MAX), None);
        assert_eq!(doms.retained_bytes(u32::MAX), 0);
        assert_eq!(doms.children().of(u32::MAX), &[] as &[u32]);
    }

    #[test]
    fn sizes_past_the_packed_limits_stay_exact() {
        let mut s = Sizes {
            packed: vec![0; 4],
            wide: FxHashMap::default(),
        };
        s.add(0, 100, 2);
        s.add(0, 28, 1);
        assert_eq!(s.get(0), (128, 3));
        // A terabyte and more, 16 million objects and more.
        s.add(1, (1 << 40) - 1, 1);
        assert_eq!(s.get(1), ((1 << 40) - 1, 1));
        s.add(1, 1, 0);
        assert_eq!(s.get(1), (1 << 40, 1));
        s.add(2, 8, OBJECT_MASK - 1);
        assert_eq!(s.get(2), (8, OBJECT_MASK - 1));
        s.add(2, 8, 1);
        assert_eq!(s.get(2), (16, OBJECT_MASK));
        // Wide into wide, wide into narrow.
        let (b, o) = s.get(1);
        s.add(2, b, o);
        assert_eq!(s.get(2), (16 + (1 << 40), OBJECT_MASK + 1));
        let (b, o) = s.get(2);
        s.add(3, b, o);
        s.add(3, u64::MAX, 0);
        assert_eq!(s.get(3), (u64::MAX, OBJECT_MASK + 1));
        assert_eq!(s.get(0), (128, 3));
        assert_eq!(s.get(4), (0, 0));
    }

    /// Small graphs from a fixed pseudo-random sequence, a third or more of
    /// their objects leaves, with and without goroutine-like groups.
    #[test]
    fn random_graphs_agree_with_the_fixed_point() {
        let mut next = crate::analysis::test_random();
        for round in 0..400 {
            let objects = 1 + next(40) as usize;
            let leaf_share = 2 + next(5);
            let sizes: Vec<u64> = (0..objects).map(|_| next(4) * 8).collect();
            let edges: Vec<Vec<u32>> = (0..objects)
                .map(|_| {
                    if next(10) < leaf_share {
                        return Vec::new();
                    }
                    let k = 1 + next(4);
                    (0..k).map(|_| next(objects as u64) as u32).collect()
                })
                .collect();
            let roots: Vec<Vec<u32>> = (0..1 + next(4))
                .map(|_| (0..next(3)).map(|_| next(objects as u64) as u32).collect())
                .collect();
            let m = model(&sizes, &edges, &roots);
            check(&Graph::new(&m));
            if roots.len() > 1 && round % 2 == 0 {
                check(&Graph::grouped(&m, vec![vec![0, roots.len() - 1]]));
            }
        }
    }

    /// A long list whose every node points at one leaf (a naive walk to
    /// the common dominator of the leaf's predecessors would be quadratic)
    /// and back at its predecessor (the search's stack grows with it).
    #[test]
    fn long_lists_stay_linear() {
        let len = 200_000u32;
        let leaf = len;
        let sizes = vec![16u64; len as usize + 1];
        let edges: Vec<Vec<u32>> = (0..len)
            .map(|i| {
                let mut row = vec![leaf];
                if i + 1 < len {
                    row.push(i + 1);
                }
                if i > 0 {
                    row.push(i - 1);
                }
                row
            })
            .collect();
        let m = model(&sizes, &edges, &[vec![len / 2], vec![0]]);
        let g = Graph::new(&m);
        let doms = Dominators::compute(&g);
        let o = |i: u32| g.object_node(ObjectId(i));
        assert_eq!(doms.idom(o(leaf)), Some(PSEUDO_ROOT));
        assert_eq!(doms.idom(o(len / 2 + 1)), Some(o(len / 2)));
        assert_eq!(doms.idom(o(len - 1)), Some(o(len - 2)));
        assert_eq!(doms.retained_bytes(o(len / 2)), 16 * u64::from(len / 2));
        assert_eq!(doms.retained_bytes(PSEUDO_ROOT), 16 * u64::from(len + 1));
    }
}
