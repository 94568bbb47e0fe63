//! Tests of the dominator tree against a fixed-point reference, on hand-built
//! graphs with leaves, wide sizes and random shapes.

use super::*;
use crate::analysis::graph::{Graph, PSEUDO_ROOT};
use crate::model::{EdgesBuilder, HeapModel, ObjectId, ObjectsBuilder, Root, RootKind, Roots};

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
