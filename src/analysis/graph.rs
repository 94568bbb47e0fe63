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

    /// Predecessor lists of every node, as CSR, each in node order.
    pub fn reverse(&self) -> Reverse {
        let special: usize = (0..self.first_object())
            .map(|v| {
                let mut k = 0;
                self.for_each_successor(v, |_| k += 1);
                k
            })
            .sum();
        let total = special + self.model.edges.len();
        // 32-bit row starts unless the rows could not fit (the model's
        // edges always do; the roots' come on top).
        let (starts, preds) = match u32::try_from(total) {
            Ok(_) => {
                let (s, p) = self.predecessors(total);
                (Starts::Narrow(s), p)
            }
            Err(_) => {
                let (s, p) = self.predecessors(total);
                (Starts::Wide(s), p)
            }
        };
        Reverse { starts, preds }
    }

    fn predecessors<S: Start>(&self, total: usize) -> (Vec<S>, Vec<u32>) {
        let n = self.node_count();
        let first_object = self.first_object();
        let edges = &self.model.edges;
        // In-degrees at their node's index, summed up to the row ends.
        // Filling from the last source back moves each row's end to its
        // start, and leaves every row in source order.
        let mut starts = vec![S::default(); n + 1];
        for v in 0..first_object {
            self.for_each_successor(v, |w| starts[w as usize] += S::ONE);
        }
        for &t in edges.all_targets() {
            starts[self.object_node(t) as usize] += S::ONE;
        }
        let mut sum = S::default();
        for s in &mut starts {
            sum += *s;
            *s = sum;
        }
        let mut preds = vec![0u32; total];
        let mut add = |v: u32, w: u32| {
            let s = &mut starts[w as usize];
            *s -= S::ONE;
            preds[s.index()] = v;
        };
        for id in (0..self.model.objects.len() as u32).rev() {
            let v = self.object_node(ObjectId(id));
            for &t in edges.targets(ObjectId(id)) {
                add(v, self.object_node(t));
            }
        }
        for v in (0..first_object).rev() {
            self.for_each_successor(v, |w| add(v, w));
        }
        (starts, preds)
    }
}

/// A CSR row start: 32 bits, or 64 for rows that do not fit.
trait Start: Copy + Default + std::ops::AddAssign + std::ops::SubAssign {
    const ONE: Self;
    fn index(self) -> usize;
}

impl Start for u32 {
    const ONE: u32 = 1;
    fn index(self) -> usize {
        self as usize
    }
}

impl Start for u64 {
    const ONE: u64 = 1;
    fn index(self) -> usize {
        self as usize
    }
}

enum Starts {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

pub struct Reverse {
    starts: Starts,
    preds: Vec<u32>,
}

impl Reverse {
    pub fn predecessors(&self, n: u32) -> &[u32] {
        let i = n as usize;
        let row = match &self.starts {
            Starts::Narrow(s) => s
                .get(i)
                .zip(s.get(i + 1))
                .map(|(&b, &e)| b.index()..e.index()),
            Starts::Wide(s) => s
                .get(i)
                .zip(s.get(i + 1))
                .map(|(&b, &e)| b.index()..e.index()),
        };
        row.and_then(|r| self.preds.get(r)).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EdgesBuilder, ObjectsBuilder, Root, RootKind, Roots};

    #[test]
    fn predecessors_are_the_edges_reversed_in_node_order() {
        let mut objects = ObjectsBuilder::with_capacity(5);
        for i in 0..5 {
            objects.push(0x1000 + i * 0x100, 16);
        }
        let rows: [&[u32]; 5] = [&[1, 2, 1], &[2], &[0, 2], &[], &[1]];
        let mut b = EdgesBuilder::with_capacity(5, 7);
        for row in rows {
            b.push_row(row.iter().map(|&t| (ObjectId(t), 0)));
        }
        let roots = Roots {
            roots: vec![
                Root::new(RootKind::Global, "a".into(), None, vec![(ObjectId(2), 0)]),
                Root::new(RootKind::Global, "b".into(), None, vec![(ObjectId(1), 0)]),
                Root::new(RootKind::Global, "c".into(), None, vec![(ObjectId(2), 0)]),
            ],
        };
        let model = HeapModel::new(
            objects.finish(),
            b.finish().expect("edges"),
            roots,
            Vec::new(),
        );
        let graph = Graph::grouped(&model, vec![vec![0, 2]]);
        let n = graph.node_count() as u32;
        let mut expected = vec![Vec::new(); n as usize];
        for v in 0..n {
            graph.for_each_successor(v, |w| expected[w as usize].push(v));
        }
        let o = |i: u32| graph.object_node(ObjectId(i));
        assert_eq!(expected[o(2) as usize], [1, 3, o(0), o(1), o(2)]);
        let total = expected.iter().map(Vec::len).sum();
        let reverse = graph.reverse();
        let (wide, preds) = graph.predecessors::<u64>(total);
        let wide = Reverse {
            starts: Starts::Wide(wide),
            preds,
        };
        for v in 0..n {
            assert_eq!(reverse.predecessors(v), &expected[v as usize][..], "{v}");
            assert_eq!(wide.predecessors(v), &expected[v as usize][..], "{v}");
        }
        assert_eq!(reverse.predecessors(n), &[] as &[u32]);
    }
}
