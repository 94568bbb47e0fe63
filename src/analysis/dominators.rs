//! Dominator tree of the retention graph and retained sizes: what would be
//! freed if a node's references went away. Semidominators as Lengauer–Tarjan
//! computes them (path compression, iterative so deep lists cannot overflow
//! the stack), then immediate dominators by the nearest-common-ancestor walk
//! of SEMI-NCA (Georgiadis): no buckets, and every array indexed by DFS
//! number, so the work walks memory in DFS order.

use super::graph::{Graph, PSEUDO_ROOT};

const NONE: u32 = u32::MAX;

pub struct Dominators {
    /// Per node, in one record so a lookup touches one cache line.
    nodes: Vec<NodeDom>,
}

#[derive(Clone, Copy)]
struct NodeDom {
    /// Bytes and objects the node keeps alive on its own (itself included).
    bytes: u64,
    objects: u32,
    /// Immediate dominator (NONE for the pseudo-root and unreachable nodes).
    idom: u32,
}

/// Depth-first numbering from the pseudo-root: `vertex[df]` is the node with
/// DFS number `df`, `parent[df]` its tree parent's number.
fn depth_first(graph: &Graph<'_>, dfnum: &mut [u32]) -> (Vec<u32>, Vec<u32>) {
    let first_object = graph.first_object_node();
    let edges = &graph.model.edges;
    let targets = edges.all_targets();
    // The few nodes above the objects (pseudo-root, roots, groups) get
    // their successor lists up front; objects walk their CSR row.
    let special: Vec<Vec<u32>> = (0..first_object)
        .map(|v| {
            let mut out = Vec::new();
            graph.for_each_successor(v, |w| out.push(w));
            out
        })
        .collect();
    let row = |v: u32| -> (usize, usize) {
        if v < first_object {
            (0, special[v as usize].len())
        } else {
            let r = edges.row(crate::model::ObjectId(v - first_object));
            (r.start, r.end)
        }
    };
    let mut vertex: Vec<u32> = Vec::with_capacity(dfnum.len());
    let mut parent: Vec<u32> = Vec::with_capacity(dfnum.len());
    // (node, next position, end of its successors) of the nodes with
    // successors still to look at.
    let mut stack: Vec<(u32, usize, usize)> = Vec::new();
    dfnum[PSEUDO_ROOT as usize] = 0;
    vertex.push(PSEUDO_ROOT);
    parent.push(NONE);
    let (b, e) = row(PSEUDO_ROOT);
    stack.push((PSEUDO_ROOT, b, e));
    while let Some(top) = stack.last_mut() {
        let (v, next, end) = *top;
        if next == end {
            stack.pop();
            continue;
        }
        top.1 += 1;
        if next + 1 == end {
            // Its last successor: the frame is done (a long list then needs
            // no stack at all).
            stack.pop();
        }
        let w = if v < first_object {
            special[v as usize][next]
        } else {
            targets[next].0 + first_object
        };
        if dfnum[w as usize] == NONE {
            dfnum[w as usize] = vertex.len() as u32;
            parent.push(dfnum[v as usize]);
            vertex.push(w);
            let (b, e) = row(w);
            stack.push((w, b, e));
        }
    }
    (vertex, parent)
}

/// Predecessors of every reachable node, in DFS numbers (CSR). Nodes are
/// visited in node order, so the edge rows are read front to back.
fn predecessors_df(graph: &Graph<'_>, count: usize, dfnum: &[u32]) -> (Vec<u32>, Vec<u32>) {
    // Every edge between reachable nodes, as (DFS number of the target,
    // DFS number of the source).
    let each_edge = |f: &mut dyn FnMut(u32, u32)| {
        for (v, &dv) in dfnum.iter().enumerate() {
            if dv == NONE {
                continue;
            }
            graph.for_each_successor(v as u32, |w| {
                let d = dfnum[w as usize];
                if d != NONE {
                    f(d, dv);
                }
            });
        }
    };
    let mut starts = vec![0u32; count + 1];
    each_edge(&mut |d, _| starts[d as usize + 1] += 1);
    for i in 0..count {
        starts[i + 1] += starts[i];
    }
    // Fill with `starts[d]` as the cursor of row d, then shift back.
    let mut preds = vec![0u32; starts[count] as usize];
    each_edge(&mut |d, dv| {
        preds[starts[d as usize] as usize] = dv;
        starts[d as usize] += 1;
    });
    // Each cursor now holds its row's end, the next row's start.
    for i in (1..=count).rev() {
        starts[i] = starts[i - 1];
    }
    starts[0] = 0;
    (starts, preds)
}

impl Dominators {
    pub fn compute(graph: &Graph<'_>) -> Dominators {
        let mut phases = crate::timing::Phases::new();
        let n = graph.node_count();
        let mut dfnum = vec![NONE; n];
        let (vertex, parent) = depth_first(graph, &mut dfnum);
        let count = vertex.len();
        phases.done("dominators: depth-first numbering");
        let (starts, preds) = predecessors_df(graph, count, &dfnum);
        drop(dfnum);
        phases.done("dominators: predecessors");

        // Semidominators, in reverse DFS order.
        let mut semi: Vec<u32> = (0..count as u32).collect();
        let mut label: Vec<u32> = (0..count as u32).collect();
        let mut ancestor = vec![NONE; count];
        let mut path: Vec<u32> = Vec::new();
        for w in (1..count).rev() {
            let mut s = semi[w];
            for &v in &preds[starts[w] as usize..starts[w + 1] as usize] {
                let u = eval(v, &mut ancestor, &mut label, &semi, &mut path);
                s = s.min(semi[u as usize]);
            }
            semi[w] = s;
            ancestor[w] = parent[w];
        }
        drop((starts, preds, label));
        phases.done("dominators: semidominators");

        // Immediate dominators: the nearest ancestor of the tree parent whose
        // number is at most the semidominator (ancestors come first in DFS
        // order, so idoms are final when reached).
        let mut idom_df = ancestor;
        idom_df[0] = NONE;
        for w in 1..count {
            let mut d = parent[w];
            while d > semi[w] {
                d = idom_df[d as usize];
            }
            idom_df[w] = d;
        }
        drop((semi, parent));
        phases.done("dominators: immediate dominators");

        // Children come after their dominators in DFS order: accumulate upwards.
        let mut bytes_df = vec![0u64; count];
        let mut objects_df = vec![0u32; count];
        for w in (0..count).rev() {
            let size = graph.size(vertex[w]);
            bytes_df[w] += size;
            objects_df[w] += u32::from(size > 0);
            let d = idom_df[w];
            if d != NONE {
                bytes_df[d as usize] += bytes_df[w];
                objects_df[d as usize] += objects_df[w];
            }
        }
        let mut nodes = vec![
            NodeDom {
                bytes: 0,
                objects: 0,
                idom: NONE,
            };
            n
        ];
        for (w, &v) in vertex.iter().enumerate() {
            let d = idom_df[w];
            nodes[v as usize] = NodeDom {
                bytes: bytes_df[w],
                objects: objects_df[w],
                idom: if d == NONE { NONE } else { vertex[d as usize] },
            };
        }
        Dominators { nodes }
    }

    pub fn idom(&self, n: u32) -> Option<u32> {
        match self.nodes.get(n as usize).map(|d| d.idom) {
            Some(NONE) | None => None,
            Some(d) => Some(d),
        }
    }

    pub fn is_reachable(&self, n: u32) -> bool {
        n == PSEUDO_ROOT || self.idom(n).is_some()
    }

    pub fn retained_bytes(&self, n: u32) -> u64 {
        self.nodes[n as usize].bytes
    }

    pub fn retained_objects(&self, n: u32) -> u64 {
        u64::from(self.nodes[n as usize].objects)
    }

    /// Children of every node in the dominator tree, as CSR (built on demand).
    pub fn children(&self) -> DomChildren {
        let n = self.nodes.len();
        let mut starts = vec![0u32; n + 1];
        for d in self.nodes.iter().map(|d| d.idom) {
            if d != NONE {
                starts[d as usize + 1] += 1;
            }
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut kids = vec![0u32; starts[n] as usize];
        for (v, d) in self.nodes.iter().map(|d| d.idom).enumerate() {
            if d != NONE {
                kids[fill[d as usize] as usize] = v as u32;
                fill[d as usize] += 1;
            }
        }
        DomChildren { starts, kids }
    }
}

pub struct DomChildren {
    starts: Vec<u32>,
    kids: Vec<u32>,
}

impl DomChildren {
    pub fn of(&self, n: u32) -> &[u32] {
        &self.kids[self.starts[n as usize] as usize..self.starts[n as usize + 1] as usize]
    }
}

/// The vertex with the smallest semidominator on the path from `v` to its
/// forest root, compressing the path (iteratively).
fn eval(v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32], path: &mut Vec<u32>) -> u32 {
    if ancestor[v as usize] == NONE {
        return v;
    }
    // Collect the path up to the node whose ancestor is a forest root.
    path.clear();
    let mut x = v;
    while ancestor[ancestor[x as usize] as usize] != NONE {
        path.push(x);
        x = ancestor[x as usize];
    }
    // Compress from the top down.
    while let Some(y) = path.pop() {
        let a = ancestor[y as usize];
        if semi[label[a as usize] as usize] < semi[label[y as usize] as usize] {
            label[y as usize] = label[a as usize];
        }
        ancestor[y as usize] = ancestor[a as usize];
    }
    label[v as usize]
}
