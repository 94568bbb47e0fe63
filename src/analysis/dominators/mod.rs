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

mod children;
mod compute;
mod places;
mod sizes;
mod stored;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use super::graph::PSEUDO_ROOT;
use children::children;
use places::{Place, Places};
use sizes::Sizes;

pub use children::DomChildren;
pub use stored::StoredDominators;

/// Marks no node: the idom of the pseudo-root and of unreachable nodes.
const NONE: u32 = u32::MAX;

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

impl Dominators {
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
