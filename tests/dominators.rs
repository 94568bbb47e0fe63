//! Dominators over real heaps agree with petgraph's (an independent
//! implementation), and retained sizes of structures one root alone holds are
//! exactly the slot sizes of their objects.

mod common;

use petgraph::algo::dominators::simple_fast;
use petgraph::graph::{DiGraph, NodeIndex};
use rootpath::analysis::dominators::Dominators;
use rootpath::analysis::graph::Graph;
use rootpath::dump::{Dump, OpenOptions};

fn model_of(f: &common::Fixture) -> rootpath::model::HeapModel {
    let options = OpenOptions::with_exe(f.exe());
    Dump::open(&f.core(), &options)
        .expect("open")
        .load_model()
        .expect("model")
}

#[test]
fn dominators_agree_with_petgraph() {
    for f in common::all_builds() {
        let model = model_of(&f);
        let graph = Graph::new(&model);
        let ours = Dominators::compute(&graph);
        let n = graph.node_count();
        let mut pg: DiGraph<(), ()> =
            DiGraph::with_capacity(n, model.edges.len() + model.roots.len() * 2);
        for _ in 0..n {
            pg.add_node(());
        }
        for v in 0..n as u32 {
            graph.for_each_successor(v, |w| {
                pg.add_edge(NodeIndex::new(v as usize), NodeIndex::new(w as usize), ());
            });
        }
        let theirs = simple_fast(&pg, NodeIndex::new(0));
        let mut reachable = 0;
        for v in 1..n {
            let t = theirs
                .immediate_dominator(NodeIndex::new(v))
                .map(|d| d.index() as u32);
            assert_eq!(ours.idom(v as u32), t, "{}: node {v}", f.version);
            reachable += usize::from(t.is_some());
        }
        assert!(
            reachable > 40_000,
            "{}: {reachable} reachable nodes",
            f.version
        );
    }
}

/// A structure the program built and gave to one global alone is retained by
/// that global, to the byte: the sum of its objects' slot sizes.
#[test]
fn exclusive_structures_are_retained_exactly() {
    for f in common::all_builds() {
        let version = rootpath::input::goruntime::GoVersion::parse(f.truth_str("go_version"))
            .expect("version");
        let model = model_of(&f);
        let graph = Graph::new(&model);
        let doms = Dominators::compute(&graph);
        let mut checked = 0;
        for s in f.truth["structures"].as_array().expect("structures") {
            assert_eq!(s["exclusive"], true);
            let name = s["root"]["name"].as_str().expect("root name");
            let index = model
                .roots
                .iter()
                .position(|r| r.name == name)
                .expect("root exists");
            let node = graph.root_node(index);
            let (mut bytes, mut objects) = (0, 0);
            for o in s["objects"].as_array().expect("objects") {
                let count = o["count"].as_u64().expect("count");
                let size = o["size"].as_u64().expect("size");
                let ptrs = o["has_pointers"].as_bool().expect("has_pointers");
                bytes += count * common::expected_size(version, size, ptrs);
                objects += count;
            }
            let id = s["id"].as_str().expect("id");
            if id.starts_with("map_") {
                // The map's own tables come on top of the recorded values.
                assert!(doms.retained_bytes(node) > bytes, "{}: {id}", f.version);
                assert!(doms.retained_objects(node) > objects, "{}: {id}", f.version);
            } else {
                assert_eq!(
                    doms.retained_bytes(node),
                    bytes,
                    "{}: {id} retained bytes",
                    f.version
                );
                assert_eq!(
                    doms.retained_objects(node),
                    objects,
                    "{}: {id} retained objects",
                    f.version
                );
            }
            checked += 1;
        }
        assert!(checked >= 9, "{}", f.version);
    }
}
