//! The dominator tree's children: per-node lists in CSR form, built from the
//! idoms when the tree is computed or first asked after a restore.

use std::sync::Arc;

use super::places::{Place, Places};
use super::{NONE, Tree};

/// A u32 array of `len` times `fill`, in `buf`'s memory: its pages are
/// mapped already (while fresh ones cost a fault each), and a buffer made
/// with room for every node can take per-node data.
pub(super) fn reuse(mut buf: Vec<u32>, len: usize, fill: u32) -> Vec<u32> {
    buf.clear();
    buf.resize(len, fill);
    buf
}

/// Counts to exclusive prefix sums, in place; returns the total.
pub(super) fn prefix_sums(counts: &mut [u32]) -> u32 {
    let mut sum = 0u32;
    for c in counts {
        let here = *c;
        *c = sum;
        sum += here;
    }
    sum
}

/// Children by their dominator's place (CSR), each list in node order (a
/// dominator has successors: it is no leaf).
pub(super) fn children(
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

/// Children of every node in the dominator tree.
pub struct DomChildren {
    pub(super) tree: Arc<Tree>,
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
