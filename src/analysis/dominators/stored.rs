//! What a persistent index stores of the dominator tree, and the tree
//! restored from it after checking every node it names.

use std::sync::Arc;

use super::places::Places;
use super::sizes::Sizes;
use super::{Dominators, NONE, Tree};

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
