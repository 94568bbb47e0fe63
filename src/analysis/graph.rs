//! The retention graph: the heap's objects plus one node per root and a
//! pseudo-root above all roots, with forward and (built on demand) reverse
//! adjacency in CSR form. Node numbering: 0 is the pseudo-root, 1..=R are the
//! roots in `model.roots` order, then optional group nodes (a group of roots
//! that retain together, e.g. the stacks of alike goroutines), then the
//! objects by id.

use crate::model::{HeapModel, ObjectId};

pub const PSEUDO_ROOT: u32 = 0;

/// A node of the retention graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    PseudoRoot,
    Root(usize),
    Group(usize),
    Object(ObjectId),
}

pub struct Graph<'m> {
    pub model: &'m HeapModel,
    roots: u32,
    /// Roots of each group; a grouped root hangs below its group node.
    groups: Vec<Vec<u32>>,
    /// Root nodes directly below the pseudo-root.
    ungrouped: Vec<u32>,
}

impl<'m> Graph<'m> {
    pub fn new(model: &'m HeapModel) -> Self {
        Self::grouped(model, Vec::new())
    }

    /// A graph where each group of roots (indexes into `model.roots`) shares a
    /// node between the pseudo-root and them, so what the group holds only
    /// together is retained by the group.
    pub fn grouped(model: &'m HeapModel, groups: Vec<Vec<usize>>) -> Self {
        let mut grouped = vec![false; model.roots.len()];
        let groups = groups
            .into_iter()
            .map(|g| {
                g.into_iter()
                    .map(|r| {
                        grouped[r] = true;
                        r as u32 + 1
                    })
                    .collect()
            })
            .collect();
        let ungrouped = (1..=model.roots.len() as u32)
            .filter(|&r| !grouped[(r - 1) as usize])
            .collect();
        Graph {
            model,
            roots: model.roots.len() as u32,
            groups,
            ungrouped,
        }
    }

    fn first_object(&self) -> u32 {
        1 + self.roots + self.groups.len() as u32
    }

    pub fn node_count(&self) -> usize {
        self.first_object() as usize + self.model.objects.len()
    }

    pub fn node(&self, n: u32) -> Node {
        if n == PSEUDO_ROOT {
            Node::PseudoRoot
        } else if n <= self.roots {
            Node::Root((n - 1) as usize)
        } else if n < self.first_object() {
            Node::Group((n - 1 - self.roots) as usize)
        } else {
            Node::Object(ObjectId(n - self.first_object()))
        }
    }

    /// Node number of the first object (objects follow in id order).
    pub fn first_object_node(&self) -> u32 {
        self.first_object()
    }

    pub fn object_node(&self, id: ObjectId) -> u32 {
        id.0 + self.first_object()
    }

    pub fn root_node(&self, index: usize) -> u32 {
        index as u32 + 1
    }

    pub fn group_node(&self, index: usize) -> u32 {
        1 + self.roots + index as u32
    }

    /// Calls `f` for each successor of `n`.
    #[inline]
    pub fn for_each_successor(&self, n: u32, mut f: impl FnMut(u32)) {
        match self.node(n) {
            Node::PseudoRoot => {
                self.ungrouped.iter().for_each(|&r| f(r));
                for g in 0..self.groups.len() {
                    f(self.group_node(g));
                }
            }
            Node::Group(g) => self.groups[g].iter().for_each(|&r| f(r)),
            Node::Root(r) => {
                for &(t, _) in &self.model.roots.roots[r].targets {
                    f(self.object_node(t));
                }
            }
            Node::Object(id) => {
                for &t in self.model.edges.targets(id) {
                    f(self.object_node(t));
                }
            }
        }
    }

    /// The `k`-th successor of `n` (in `for_each_successor` order).
    #[inline]
    pub fn successor(&self, n: u32, k: usize) -> Option<u32> {
        match self.node(n) {
            Node::PseudoRoot => {
                // Ungrouped roots first, then the groups.
                let ungrouped = self.ungrouped_roots();
                if k < ungrouped.len() {
                    Some(ungrouped[k])
                } else {
                    let g = k - ungrouped.len();
                    (g < self.groups.len()).then(|| self.group_node(g))
                }
            }
            Node::Group(g) => self.groups[g].get(k).copied(),
            Node::Root(r) => self.model.roots.roots[r]
                .targets
                .get(k)
                .map(|&(t, _)| self.object_node(t)),
            Node::Object(id) => self
                .model
                .edges
                .targets(id)
                .get(k)
                .map(|&t| self.object_node(t)),
        }
    }

    fn ungrouped_roots(&self) -> &[u32] {
        &self.ungrouped
    }

    /// Shallow size of a node (roots and the pseudo-root weigh nothing).
    pub fn size(&self, n: u32) -> u64 {
        match self.node(n) {
            Node::Object(id) => self.model.objects.size(id),
            _ => 0,
        }
    }

    /// Predecessor lists of every node, as CSR.
    pub fn reverse(&self) -> Reverse {
        let n = self.node_count();
        // Counts, then prefix sums; filling advances each start to the next
        // node's, and one shift puts them back (no second array).
        let mut starts = vec![0u64; n + 1];
        for v in 0..n as u32 {
            self.for_each_successor(v, |w| starts[w as usize + 1] += 1);
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut preds = vec![0u32; starts[n] as usize];
        for v in 0..n as u32 {
            self.for_each_successor(v, |w| {
                let slot = &mut starts[w as usize];
                preds[*slot as usize] = v;
                *slot += 1;
            });
        }
        for i in (1..=n).rev() {
            starts[i] = starts[i - 1];
        }
        starts[0] = 0;
        Reverse { starts, preds }
    }
}

pub struct Reverse {
    starts: Vec<u64>,
    preds: Vec<u32>,
}

impl Reverse {
    pub fn predecessors(&self, n: u32) -> &[u32] {
        let i = n as usize;
        &self.preds[self.starts[i] as usize..self.starts[i + 1] as usize]
    }
}
