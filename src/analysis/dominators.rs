//! Dominator tree of the retention graph (Lengauer–Tarjan with path
//! compression, iterative so deep lists cannot overflow the stack), and
//! retained sizes: what would be freed if a node's references went away.

use super::graph::{Graph, PSEUDO_ROOT};

const NONE: u32 = u32::MAX;

pub struct Dominators {
    /// Immediate dominator of each node (NONE for the pseudo-root and
    /// unreachable nodes).
    idom: Vec<u32>,
    /// Bytes and objects each node keeps alive on its own (itself included).
    retained_bytes: Vec<u64>,
    retained_objects: Vec<u64>,
}

impl Dominators {
    pub fn compute(graph: &Graph<'_>) -> Dominators {
        let n = graph.node_count();
        // Depth-first numbering from the pseudo-root.
        let mut dfnum = vec![NONE; n];
        let mut vertex: Vec<u32> = Vec::with_capacity(n);
        // DFS-number of each vertex's tree parent.
        let mut parent_df: Vec<u32> = Vec::with_capacity(n);
        // (node, next successor to look at): the stack stays as deep as the
        // tree, not as large as the edge count.
        let mut stack: Vec<(u32, usize)> = Vec::new();
        dfnum[PSEUDO_ROOT as usize] = 0;
        vertex.push(PSEUDO_ROOT);
        parent_df.push(NONE);
        stack.push((PSEUDO_ROOT, 0));
        while let Some(top) = stack.last_mut() {
            let (v, k) = *top;
            match graph.successor(v, k) {
                Some(w) => {
                    top.1 += 1;
                    if dfnum[w as usize] == NONE {
                        dfnum[w as usize] = vertex.len() as u32;
                        vertex.push(w);
                        parent_df.push(dfnum[v as usize]);
                        stack.push((w, 0));
                    }
                }
                None => {
                    stack.pop();
                }
            }
        }
        drop(stack);
        let reverse = graph.reverse();
        let count = vertex.len();

        // Work in DFS-number space.
        let mut semi: Vec<u32> = (0..count as u32).collect();
        let mut idom_df = vec![NONE; count];
        let mut ancestor = vec![NONE; count];
        let mut label: Vec<u32> = (0..count as u32).collect();
        let mut bucket_head = vec![NONE; count];
        let mut bucket_next = vec![NONE; count];
        let mut path: Vec<u32> = Vec::new();

        for w in (1..count).rev() {
            let wv = vertex[w];
            for &pv in reverse.predecessors(wv) {
                let v = dfnum[pv as usize];
                if v == NONE {
                    continue; // unreachable predecessor
                }
                let u = eval(v, &mut ancestor, &mut label, &semi, &mut path);
                if semi[u as usize] < semi[w] {
                    semi[w] = semi[u as usize];
                }
            }
            let s = semi[w] as usize;
            bucket_next[w] = bucket_head[s];
            bucket_head[s] = w as u32;
            let p = parent_df[w];
            ancestor[w] = p;
            let mut b = bucket_head[p as usize];
            bucket_head[p as usize] = NONE;
            while b != NONE {
                let u = eval(b, &mut ancestor, &mut label, &semi, &mut path);
                idom_df[b as usize] = if semi[u as usize] < semi[b as usize] {
                    u
                } else {
                    p
                };
                b = bucket_next[b as usize];
            }
        }
        drop((
            reverse,
            ancestor,
            label,
            bucket_head,
            bucket_next,
            parent_df,
            dfnum,
        ));
        for w in 1..count {
            if idom_df[w] != semi[w] {
                idom_df[w] = idom_df[idom_df[w] as usize];
            }
        }
        drop(semi);

        let mut idom = vec![NONE; n];
        for w in 1..count {
            idom[vertex[w] as usize] = vertex[idom_df[w] as usize];
        }
        // Children come after their dominators in DFS order: accumulate upwards.
        let mut retained_bytes = vec![0u64; n];
        let mut retained_objects = vec![0u64; n];
        for &v in vertex.iter().rev() {
            let size = graph.size(v);
            retained_bytes[v as usize] += size;
            if size > 0 {
                retained_objects[v as usize] += 1;
            }
            let d = idom[v as usize];
            if d != NONE {
                retained_bytes[d as usize] += retained_bytes[v as usize];
                retained_objects[d as usize] += retained_objects[v as usize];
            }
        }
        Dominators {
            idom,
            retained_bytes,
            retained_objects,
        }
    }

    pub fn idom(&self, n: u32) -> Option<u32> {
        match self.idom.get(n as usize) {
            Some(&NONE) | None => None,
            Some(&d) => Some(d),
        }
    }

    pub fn is_reachable(&self, n: u32) -> bool {
        n == PSEUDO_ROOT || self.idom(n).is_some()
    }

    pub fn retained_bytes(&self, n: u32) -> u64 {
        self.retained_bytes[n as usize]
    }

    pub fn retained_objects(&self, n: u32) -> u64 {
        self.retained_objects[n as usize]
    }

    /// Children of every node in the dominator tree, as CSR (built on demand).
    pub fn children(&self) -> DomChildren {
        let n = self.idom.len();
        let mut starts = vec![0u32; n + 1];
        for &d in &self.idom {
            if d != NONE {
                starts[d as usize + 1] += 1;
            }
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut kids = vec![0u32; starts[n] as usize];
        for (v, &d) in self.idom.iter().enumerate() {
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
