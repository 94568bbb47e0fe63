//! Where a node's data sit without a per-node array: its rank among the
//! reachable leaves or among the other nodes, from a bit per node.

/// Where a node's data sit without a per-node array: reachable leaves are
/// counted among themselves, all other nodes among the others, both in node
/// order, from a bit per node and the number of leaves before every 64.
pub(super) struct Places {
    pub(super) leaves: Vec<u64>,
    before: Vec<u32>,
    pub(super) nodes: usize,
}

#[derive(Clone, Copy)]
pub(super) enum Place {
    Leaf(usize),
    Other(usize),
}

impl Places {
    pub(super) fn new(leaves: Vec<u64>, nodes: usize) -> Places {
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
    pub(super) fn of(&self, v: u32) -> Option<Place> {
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
    pub(super) fn other(&self, v: u32) -> usize {
        let i = v as usize / 64;
        let below = self.leaves[i] & ((1 << (v % 64)) - 1);
        v as usize - self.before[i] as usize - below.count_ones() as usize
    }

    #[inline]
    pub(super) fn is_leaf(&self, v: usize) -> bool {
        self.leaves[v / 64] & (1 << (v % 64)) != 0
    }
}
