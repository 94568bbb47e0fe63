//! `top`'s holders against the program's truth and against reachability
//! computed here, object by object, over the loaded heap graph.

mod common;

use std::collections::BTreeSet;

use common::Fixture;
use rootpath::input::goruntime::GoVersion;

/// Every Go fixture directory: the matrix, the variant builds, the sampled
/// runs and the stripped builds.
fn every_fixture() -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(common::fixtures_dir())
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("go1."))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "{names:?}");
    names
        .into_iter()
        .map(|n| Fixture::load(Box::leak(n.into_boxed_str())))
        .collect()
}

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The listed holders plus the rest are the live heap, in bytes and objects.
fn assert_adds_up(doc: &serde_json::Value, live: (u64, u64), what: &str) {
    let holders = doc["holders"].as_array().expect("holders");
    let bytes: u64 = holders.iter().map(|h| u(&h["retained_bytes"])).sum();
    let objects: u64 = holders.iter().map(|h| u(&h["retained_objects"])).sum();
    let rest = &doc["rest"];
    assert_eq!(
        (
            bytes + u(&rest["retained_bytes"]),
            objects + u(&rest["retained_objects"])
        ),
        live,
        "{what}"
    );
    let named = doc["named_share"].as_f64().expect("share");
    assert!(
        (named - bytes as f64 / live.0 as f64).abs() < 1e-9,
        "{what}: {named}"
    );
    for h in holders {
        // What a holder keeps reachable includes what it retains alone.
        assert_eq!(
            u(&h["reachable_bytes"]),
            u(&h["retained_bytes"]) + u(&h["joint_bytes"]),
            "{what}"
        );
        assert!(u(&h["retained_bytes"]) > 0, "{what}: {h}");
    }
}

#[test]
fn holders_and_the_rest_are_the_live_heap_on_every_fixture() {
    for f in every_fixture() {
        let exe = f.exe();
        for n in ["3", "20"] {
            for by in ["retained", "count", "shallow"] {
                let top = common::core_json(&f, &["top", "-n", n, "--by", by]);
                let live = (u(&top["live_bytes"]), u(&top["live_objects"]));
                assert_adds_up(&top, live, &format!("{} top -n {n} --by {by}", f.version));
                assert!(
                    top["holders"]
                        .as_array()
                        .is_some_and(|h| h.len() == n.parse::<usize>().unwrap())
                );
            }
        }
        // The report's holders are its overview's live heap (the histogram's
        // count of reachable objects).
        let report = common::core_json(&f, &[]);
        let heap = &report["overview"]["heap"];
        let live = (u(&heap["live_bytes"]), u(&heap["live_objects"]));
        assert_adds_up(&report, live, &format!("{} report", f.version));
        // The same from the heap dump.
        let dump = f.heap_dump();
        let top = common::rootpath_json(&[
            dump.as_os_str(),
            "--exe".as_ref(),
            exe.as_os_str(),
            "--json".as_ref(),
            "top".as_ref(),
        ]);
        let live = (u(&top["live_bytes"]), u(&top["live_objects"]));
        assert_adds_up(&top, live, &format!("{} heap dump top", f.version));
        // The text names the share the rows cover and accounts for the rest.
        let text = common::core_output(&f, &["top", "-n", "5"]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("% of the live heap alone; with the rest, all of it"),
            "{}: {text}",
            f.version
        );
        assert!(text.contains("rest: "), "{}: {text}", f.version);
    }
}

fn expected_bytes(f: &Fixture, structure: &serde_json::Value) -> (u64, u64) {
    let version = GoVersion::parse(f.truth_str("go_version")).expect("version");
    structure["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .fold((0, 0), |(b, n), o| {
            let count = u(&o["count"]);
            let size = common::expected_size(version, u(&o["size"]), o["has_pointers"] == true);
            (b + count * size, n + count)
        })
}

/// Structures the program holds from one global alone: that global is a
/// holder retaining exactly their slots, and holds nothing jointly.
#[test]
fn a_structure_held_by_one_root_is_retained_alone() {
    for f in common::all_builds() {
        let top = common::core_json(&f, &["top", "-n", "80"]);
        let holders = top["holders"].as_array().expect("holders");
        for s in f.truth["structures"].as_array().expect("structures") {
            let name = s["root"]["name"].as_str().expect("name");
            if s["id"].as_str().is_some_and(|id| id.starts_with("map_")) {
                continue; // plus the map's own tables, which truth does not size
            }
            let h = holders
                .iter()
                .find(|h| h["root"]["name"] == name)
                .unwrap_or_else(|| panic!("{}: {name} is no listed holder", f.version));
            assert_eq!(h["kind"], "root", "{}: {name}", f.version);
            let (bytes, objects) = expected_bytes(&f, s);
            assert_eq!(
                (u(&h["retained_bytes"]), u(&h["retained_objects"])),
                (bytes, objects),
                "{}: {name}",
                f.version
            );
            assert_eq!(u(&h["joint_bytes"]), 0, "{}: {name}: {h}", f.version);
            assert_eq!(u(&h["reachable_bytes"]), bytes, "{}: {name}", f.version);
        }
    }
}

/// The 16 leaked workers: one holder retaining their 32 KiB buffers alone
/// (truth's slots), holding jointly what they share with others, among
/// which the channel they all receive from, `main.leakCh` (the program
/// starts each as `go leakWorker(leakCh, id)`).
#[test]
fn a_goroutine_group_retains_alone_and_holds_jointly() {
    for f in common::all_builds() {
        let top = common::core_json(&f, &["top", "-n", "80"]);
        let holders = top["holders"].as_array().expect("holders");
        let group = holders
            .iter()
            .find(|h| {
                h["kind"] == "goroutines"
                    && h["root"]["name"].as_str().is_some_and(|n| {
                        n.starts_with("16 goroutines") && n.contains("main.leakWorker")
                    })
            })
            .unwrap_or_else(|| panic!("{}: no leakWorker holder", f.version));
        let version = GoVersion::parse(f.truth_str("go_version")).expect("version");
        let bufs: Vec<&serde_json::Value> = f.truth["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .filter(|o| {
                o["id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("leak_buf_"))
            })
            .collect();
        assert_eq!(bufs.len(), 16);
        let alone: u64 = bufs
            .iter()
            .map(|o| common::expected_size(version, u(&o["size"]), false))
            .sum();
        assert_eq!(u(&group["retained_bytes"]), alone, "{}", f.version);
        assert_eq!(u(&group["retained_objects"]), 16, "{}", f.version);
        assert!(u(&group["joint_bytes"]) > 0, "{}", f.version);
        let with: Vec<&str> = group["joint_with"]
            .as_array()
            .expect("joint_with")
            .iter()
            .map(|j| j["holder"]["name"].as_str().expect("name"))
            .collect();
        // Stripped builds name globals by address: look for the channel's type.
        let leak_ch = group["joint_with"]
            .as_array()
            .expect("joint_with")
            .iter()
            .any(|j| j["holder"]["name"] == "main.leakCh" || j["holder"]["type"] == "chan int");
        if !f.version.ends_with("stripped") {
            assert!(leak_ch, "{}: {with:?}", f.version);
        }
        for j in group["joint_with"].as_array().expect("joint_with") {
            assert!(u(&j["bytes"]) <= u(&group["joint_bytes"]), "{}", f.version);
        }
    }
}

/// Reachability recomputed here by a search of the heap graph from each
/// root: what a listed holder keeps reachable, which holders reach a shared
/// object, and what those holders alone reach.
#[test]
fn reach_figures_agree_with_searches_of_the_heap() {
    use rootpath::analysis::graph::{Graph, Node};
    use rootpath::analysis::report::Reporter;
    use rootpath::analysis::retention::{Retention, TopBy};
    use rootpath::dump::{Dump, OpenOptions};
    for version in ["go1.19", "go1.25", "go1.27-stripped"] {
        let f = Fixture::load(version);
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let model = dump.load_model().expect("model");
        let retention = Retention::compute(&model);
        let reporter = Reporter::new(&retention, None);
        let doc = reporter.holders(60, TopBy::Retained);
        let plain = Graph::new(&model);
        let n = plain.node_count();
        // Objects each root reaches, as a bitmap per root.
        let reach_of = |root: usize| -> Vec<bool> {
            let mut seen = vec![false; n];
            let start = plain.root_node(root);
            let mut stack = vec![start];
            seen[start as usize] = true;
            while let Some(v) = stack.pop() {
                plain.for_each_successor(v, |w| {
                    if !seen[w as usize] {
                        seen[w as usize] = true;
                        stack.push(w);
                    }
                });
            }
            seen
        };
        let reaches: Vec<Vec<bool>> = (0..model.roots.len()).map(reach_of).collect();
        // A holder is a root, or a goroutine group; named as `top` names it.
        let holder_of = |root: usize| -> String {
            match retention.group_of(root) {
                Some(g) => format!("group {g}"),
                None => format!("root {root}"),
            }
        };
        let bytes_where = |keep: &dyn Fn(usize) -> bool| -> u64 {
            model
                .objects
                .ids()
                .filter(|id| keep(plain.object_node(*id) as usize))
                .map(|id| model.objects.size(id))
                .sum()
        };
        let mut shared_checked = 0;
        for (h, top) in doc.holders.iter().zip(holders_nodes(&reporter, &doc)) {
            // The roots behind the holder.
            let roots: Vec<usize> = match retention.graph.node(top) {
                Node::Root(i) => vec![i],
                Node::Group(g) => (0..model.roots.len())
                    .filter(|&r| retention.group_of(r) == Some(g))
                    .collect(),
                Node::Object(o) => {
                    // Reached from the holders whose roots reach it.
                    let v = plain.object_node(o) as usize;
                    let by: BTreeSet<String> = (0..model.roots.len())
                        .filter(|&r| reaches[r][v])
                        .map(holder_of)
                        .collect();
                    assert!(
                        by.len() > 1,
                        "{version}: a shared object reached from {by:?}"
                    );
                    assert_eq!(
                        h.reached_from.len() + h.more_reached_from,
                        by.len(),
                        "{version}: {:?}",
                        h.object
                    );
                    // What those holders reach that no other holder does.
                    let theirs: Vec<usize> = (0..model.roots.len())
                        .filter(|&r| by.contains(&holder_of(r)))
                        .collect();
                    let others: Vec<usize> = (0..model.roots.len())
                        .filter(|&r| !by.contains(&holder_of(r)))
                        .collect();
                    if let Some(only) = &h.held_only_by_them {
                        let expected = bytes_where(&|v| {
                            theirs.iter().any(|&r| reaches[r][v])
                                && !others.iter().any(|&r| reaches[r][v])
                        });
                        assert_eq!(only.bytes, expected, "{version}: {:?}", h.object);
                    }
                    // What the object itself keeps reachable.
                    let mut seen = vec![false; n];
                    let mut stack = vec![v as u32];
                    seen[v] = true;
                    while let Some(x) = stack.pop() {
                        plain.for_each_successor(x, |w| {
                            if !seen[w as usize] {
                                seen[w as usize] = true;
                                stack.push(w);
                            }
                        });
                    }
                    assert_eq!(h.reachable_bytes, bytes_where(&|v| seen[v]), "{version}");
                    shared_checked += 1;
                    continue;
                }
                Node::PseudoRoot => unreachable!(),
            };
            let reachable = bytes_where(&|v| roots.iter().any(|&r| reaches[r][v]));
            assert_eq!(h.reachable_bytes, reachable, "{version}: {:?}", h.root);
        }
        assert!(shared_checked > 0, "{version}: no shared object listed");
    }
}

/// The dominator-tree nodes of the listed holders, found again from their
/// names: roots by name and goroutine, groups by name, objects by address.
fn holders_nodes(
    reporter: &rootpath::analysis::report::Reporter<'_, '_>,
    doc: &rootpath::analysis::holder_docs::HoldersDoc,
) -> Vec<u32> {
    let r = reporter.retention;
    let tops = r.children.of(0);
    doc.holders
        .iter()
        .map(|h| {
            *tops
                .iter()
                .find(|&&t| {
                    r.doms.retained_bytes(t) == h.retained_bytes
                        && match (&h.object, r.graph.node(t)) {
                            (Some(o), rootpath::analysis::graph::Node::Object(id)) => {
                                format!("{:#x}", r.graph.model.objects.addr(id)) == o.address
                            }
                            (None, rootpath::analysis::graph::Node::Object(_)) => false,
                            (None, _) => {
                                rootpath::analysis::holder_docs::source_ref(r, t)
                                    .map(|s| (s.name, s.goroutine, s.variable))
                                    == h.root
                                        .as_ref()
                                        .map(|s| (s.name.clone(), s.goroutine, s.variable.clone()))
                            }
                            (Some(_), _) => false,
                        }
                })
                .expect("a listed holder is a top-level node")
        })
        .collect()
}
