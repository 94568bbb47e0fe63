//! top, leak suspects, goroutine groups and the batch report against the
//! program's truth.

mod common;

use common::Fixture;

#[test]
fn top_lists_the_structures_with_their_retained_sizes() {
    for f in common::all_builds() {
        let top = common::core_json(&f, &["top", "-n", "60"]);
        let retainers = top["retainers"].as_array().expect("retainers");
        // Sorted by retained bytes.
        let sizes: Vec<u64> = retainers
            .iter()
            .map(|r| r["retained_bytes"].as_u64().expect("bytes"))
            .collect();
        assert!(
            sizes.windows(2).all(|w| w[0] >= w[1]),
            "{}: not sorted",
            f.version
        );
        for s in f.truth["structures"].as_array().expect("structures") {
            let name = s["root"]["name"].as_str().expect("name");
            if s["id"].as_str().is_some_and(|id| id.starts_with("map_")) {
                continue; // plus the map's tables: checked in tests/dominators.rs
            }
            let r = retainers
                .iter()
                .find(|r| r["root"]["name"] == name)
                .unwrap_or_else(|| panic!("{}: {name} not among the top retainers", f.version));
            assert_eq!(r["root"]["kind"], "global");
            assert_eq!(
                r["retained_bytes"].as_u64(),
                Some(common::structure_bytes(&f, s)),
                "{}: {name}",
                f.version
            );
            // The biggest type it retains is one the program put there.
            let types: Vec<&str> = s["objects"]
                .as_array()
                .expect("objects")
                .iter()
                .map(|o| o["type"].as_str().expect("type"))
                .collect();
            let first = r["top_types"][0]["type"].as_str().expect("top type");
            assert!(
                types.contains(&first),
                "{}: {name}: {first} not in {types:?}",
                f.version
            );
        }
    }
}

#[test]
fn leaked_workers_form_one_group_retaining_their_buffers() {
    for f in common::all_builds() {
        let g = common::core_json(&f, &["goroutines"]);
        let groups = g["groups"].as_array().expect("groups");
        let workers = groups
            .iter()
            .find(|g| {
                g["blocked_in"]
                    .as_str()
                    .is_some_and(|b| b.starts_with("main.leakWorker"))
            })
            .unwrap_or_else(|| panic!("{}: no leakWorker group", f.version));
        assert_eq!(workers["count"], 16, "{}", f.version);
        assert_eq!(workers["wait_reason"], "chan receive");
        // Each worker alone holds a 32 KiB buffer: the group retains all 16.
        assert_eq!(
            workers["retained_bytes"].as_u64(),
            Some(16 * 32768),
            "{}",
            f.version
        );
        assert_eq!(
            workers["retained_objects"].as_u64(),
            Some(16),
            "{}",
            f.version
        );
        let ids: Vec<u64> = workers["goroutines"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|i| i.as_u64().expect("id"))
            .collect();
        for w in f.truth["goroutines"]
            .as_array()
            .expect("truth")
            .iter()
            .filter(|g| g["function"] == "main.leakWorker")
        {
            assert!(
                ids.contains(&w["id"].as_u64().expect("id")),
                "{}: {}",
                f.version,
                w["id"]
            );
        }
    }
}

#[test]
fn top_by_type_counts_each_object_once() {
    let f = Fixture::load("go1.24");
    let t = common::core_json(&f, &["top", "--group", "type", "-n", "1000"]);
    let live = t["live_bytes"].as_u64().expect("live");
    let types = t["types"].as_array().expect("types");
    let row = |name: &str| {
        types
            .iter()
            .find(|r| r["type"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    // The list's nodes retain exactly the list (each node dominated by the previous one).
    assert_eq!(row("main.Node")["retained_objects"], 20000);
    assert_eq!(row("main.DNode")["retained_objects"], 1000);
    assert!(
        types
            .iter()
            .all(|r| r["retained_bytes"].as_u64().is_some_and(|b| b <= live))
    );
}

#[test]
fn the_report_gathers_everything() {
    let f = Fixture::load("go1.27");
    let r = common::core_json(&f, &[]);
    assert_eq!(r["overview"]["go"]["version"], f.truth["go_version"]);
    assert!(
        r["overview"]["heap"]["live_objects"]
            .as_u64()
            .is_some_and(|n| n > 40_000)
    );
    // The 1 MiB array pinned by a 10-byte subslice is the biggest thing alive.
    let suspects = r["leak_suspects"].as_array().expect("suspects");
    assert_eq!(
        suspects[0]["holder"]["root"]["name"], "main.gSub",
        "{}",
        r["leak_suspects"]
    );
    assert!(suspects[0]["share"].as_f64().is_some_and(|s| s > 0.10));
    let sub = f.truth["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == "subslice_backing")
        .expect("truth");
    assert_eq!(
        suspects[0]["accumulation"]["object"]["address"],
        sub["addr"]
    );
    // The 20 000-node list is a suspect too, accumulating at its head.
    let list = suspects
        .iter()
        .find(|s| s["holder"]["root"]["name"] == "main.gList20000")
        .expect("list suspect");
    let head = f.truth["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == "list_head")
        .expect("truth");
    assert_eq!(list["accumulation"]["object"]["address"], head["addr"]);
    // The 16 leaked workers hold their buffers together: one suspect, 13% of the heap.
    let workers = suspects
        .iter()
        .find(|s| s["holder"]["kind"] == "goroutines")
        .expect("goroutine group suspect");
    assert!(
        workers["holder"]["group"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("16 goroutines") && n.contains("main.leakWorker"))
    );
    assert_eq!(workers["retained_bytes"].as_u64(), Some(16 * 32768));
    assert!(r["retainers"].as_array().is_some_and(|v| v.len() == 10));
    assert!(r["retainers"].as_array().is_some_and(|v| {
        v.iter().any(|x| {
            x["root"]["kind"] == "goroutines" && x["retained_bytes"].as_u64() == Some(16 * 32768)
        })
    }));
    assert!(r["histogram"].as_array().is_some_and(|v| {
        v.iter()
            .any(|t| t["type"] == "main.Node" && t["retained_bytes"].as_u64().is_some())
    }));
    assert!(
        r["goroutine_groups"]
            .as_array()
            .is_some_and(|g| !g.is_empty())
    );
}

/// `top` and the report find the path to an accumulation point by a search
/// from the root that dominates it; that path must be the one the whole
/// heap's shortest-path tree gives, for objects each root dominates.
#[test]
fn a_search_from_the_dominating_root_finds_the_trees_path() {
    use rootpath::analysis::graph::{Graph, Node};
    use rootpath::analysis::paths::ShortestTree;
    use rootpath::analysis::retention::Retention;
    use rootpath::dump::{Dump, OpenOptions};
    for f in common::all_builds() {
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let model = dump.load_model().expect("model");
        let retention = Retention::compute(&model);
        let plain = Graph::new(&model);
        let tree = ShortestTree::compute(&plain);
        let mut compared = 0;
        for root in 0..model.roots.len() {
            // Objects the root dominates: its dominator subtree (the first
            // 40 in depth-first order, deep ones included, keep it quick).
            let mut stack = vec![retention.graph.root_node(root)];
            let mut per_root = 0;
            while let Some(node) = stack.pop().filter(|_| per_root < 40) {
                per_root += 1;
                stack.extend_from_slice(retention.children.of(node));
                let Node::Object(obj) = retention.graph.node(node) else {
                    continue;
                };
                let searched =
                    ShortestTree::path_from_root(&plain, root, obj, usize::MAX).expect("no limit");
                let want = tree.path(&plain, obj);
                assert!(
                    want.is_some(),
                    "{}: {obj:?} dominated yet unreachable",
                    f.version
                );
                assert_eq!(searched, want, "{}: root {root}, {obj:?}", f.version);
                compared += 1;
            }
        }
        assert!(compared > 500, "{}: {compared} objects compared", f.version);
    }
}

/// The retention commands compute dominators on the untyped model while the
/// loader types it (`Typing::AllAlongside`): the dominators must be those of
/// the typed model, and the types those of a plain load.
#[test]
fn dominators_computed_alongside_typing_equal_those_computed_after() {
    use rootpath::analysis::retention::Retention;
    use rootpath::dump::{Dump, OpenOptions};
    use rootpath::model::{HeapModel, Typing};
    for f in common::all_builds() {
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let doms = std::sync::OnceLock::new();
        let mut choose = |_: &HeapModel, _: &dyn Fn()| -> Typing<'_> {
            Typing::AllAlongside(Box::new(|untyped: &HeapModel| {
                assert!(
                    untyped.object_types.is_empty(),
                    "the model is not typed yet"
                );
                let _ = doms.set(Retention::dominators(untyped));
            }))
        };
        let model = dump.load_model_choosing_types(&mut choose).expect("model");
        assert!(
            doms.get().is_some(),
            "{}: the alongside work ran",
            f.version
        );
        let plain = dump.load_model().expect("model");
        assert_eq!(model.object_types, plain.object_types, "{}", f.version);
        assert!(!model.types_partial);
        let after = Retention::compute(&model);
        let alongside = Retention::with_dominators(&model, doms.into_inner());
        let nodes = after.graph.node_count() as u32;
        let mut reachable = 0;
        for n in 0..nodes {
            assert_eq!(
                alongside.doms.idom(n),
                after.doms.idom(n),
                "{}: idom of node {n}",
                f.version
            );
            assert_eq!(
                (
                    alongside.doms.retained_bytes(n),
                    alongside.doms.retained_objects(n)
                ),
                (after.doms.retained_bytes(n), after.doms.retained_objects(n)),
                "{}: retained by node {n}",
                f.version
            );
            reachable += usize::from(after.doms.is_reachable(n));
        }
        assert!(
            reachable > 1000,
            "{}: {reachable} reachable nodes",
            f.version
        );
        assert_eq!(alongside.live_bytes, after.live_bytes);
    }
}

/// The histogram's untyped rows ("unknown (N bytes)") show what those objects retain:
/// per size, the retained bytes of each untyped object of that size that no other
/// untyped object of that size dominates (found here by walking up the dominators).
#[test]
fn untyped_rows_show_what_they_retain() {
    use rootpath::analysis::graph::Node;
    use rootpath::analysis::retention::Retention;
    use rootpath::dump::{Dump, OpenOptions};
    use rootpath::model::UNKNOWN_TYPE;
    let mut rows_seen = 0;
    for version in ["go1.19-stripped", "go1.22-stripped", "go1.27-stripped"] {
        let f = Fixture::load(version);
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let model = dump.load_model().expect("model");
        let r = Retention::compute(&model);
        let untyped_size = |n: u32| match r.graph.node(n) {
            Node::Object(id) if model.object_types[id.index()] == UNKNOWN_TYPE => {
                Some(model.objects.size(id))
            }
            _ => None,
        };
        let mut expected = std::collections::HashMap::<u64, u64>::new();
        for id in model.objects.ids() {
            let n = r.graph.object_node(id);
            let Some(size) = untyped_size(n).filter(|_| r.doms.is_reachable(n)) else {
                continue;
            };
            let mut up = r.doms.idom(n);
            let mut below_its_kind = false;
            while let Some(a) = up {
                if untyped_size(a) == Some(size) {
                    below_its_kind = true;
                    break;
                }
                up = r.doms.idom(a);
            }
            if !below_its_kind {
                *expected.entry(size).or_default() += r.doms.retained_bytes(n);
            }
        }
        let hist = common::core_json(&f, &["histogram"]);
        for row in hist["types"].as_array().expect("types") {
            let name = row["type"].as_str().expect("name");
            let Some(size) = rootpath::model::parse_unknown_type_name(name) else {
                continue;
            };
            let want = expected.get(&size).copied().unwrap_or(0);
            assert_eq!(row["retained_bytes"], want, "{version}: {name}");
            assert!(
                row["live_objects"] == 0 || want >= row["live_bytes"].as_u64().unwrap_or(0),
                "{version}: {name} retains less than its own live bytes"
            );
            rows_seen += usize::from(want > 0);
        }
    }
    assert!(
        rows_seen > 0,
        "no untyped row retains anything: nothing was checked"
    );
}
