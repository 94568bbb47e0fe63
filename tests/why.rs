//! `why` against the program's truth: for every object it recorded, some
//! shortest path starts at the root the program says holds it and follows
//! the fields it names; garbage is reported as garbage.

mod common;

use common::Fixture;
use rootpath::analysis::graph::Graph;
use rootpath::analysis::owners::Ranking;
use rootpath::analysis::paths::{Exclusions, ShortestTree};
use rootpath::analysis::why::{explain_object, root_ref};
use rootpath::dump::{Dump, OpenOptions};
use rootpath::input::goruntime::GoVersion;

fn why(f: &Fixture, target: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["why", target];
    args.extend_from_slice(extra);
    common::core_json(f, &args)
}

/// Does a path's root match the truth's root description?
fn root_matches(root: &serde_json::Value, want: &serde_json::Value) -> bool {
    let kind = want["kind"].as_str().unwrap_or_default();
    match kind {
        "global" => root["kind"] == "global" && root["name"] == want["name"],
        "stack" => {
            root["kind"] == "stack"
                && root["goroutine"] == want["goroutine"]
                && root["function"] == want["function"]
                && root["variable"] == want["variable"]
        }
        "defer" | "panic" => {
            root["kind"] == kind
                && root["goroutine"] == want["goroutine"]
                && root["function"] == want["function"]
        }
        "finalizer" | "cleanup" | "queued_finalizer" => root["kind"] == kind,
        _ => false,
    }
}

/// Paths whose labels no core can give: closure captures without DWARF
/// (Go ≤1.22, or a capture the closure's DWARF omits), objects whose type is
/// unknowable (reached only through interior or untyped pointers), and tiny
/// allocations (several values share one 16-byte block).
fn labels_knowable(o: &serde_json::Value, path: &[String], version: GoVersion) -> bool {
    let id = o["id"].as_str().unwrap_or_default();
    let tiny = o["size"].as_u64().unwrap_or(0) < 16 && o["has_pointers"] == false;
    let closure_dwarf = version.at_least(23) || !path.iter().any(|s| s.contains("<closure>"));
    // A cleanup's argument sits behind the runtime's own closure and box.
    closure_dwarf
        && !tiny
        && !matches!(
            id,
            "interior_struct_p" | "closure_s_array" | "closure_s_elem1" | "cleanup_arg"
        )
}

#[test]
fn paths_lead_from_the_recorded_root_through_the_recorded_fields() {
    let mut failures = Vec::new();
    for f in common::all_builds() {
        let version = GoVersion::parse(f.truth_str("go_version")).expect("version");
        // One model per build; `why` itself is what is under test.
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let model = dump.load_model().expect("model");
        let memory = dump.memory();
        let mut checked = 0;
        for o in f.truth["objects"].as_array().expect("objects") {
            if o["live"] != true || o["root"].is_null() {
                continue;
            }
            let id = o["id"].as_str().expect("id");
            let addr = o["addr"].as_str().expect("addr");
            let target = model
                .objects
                .find(u64::from_str_radix(addr.trim_start_matches("0x"), 16).expect("hex"))
                .expect("object exists");
            let doc = serde_json::to_value(explain_object(
                &model,
                memory.as_deref(),
                target,
                20,
                &Exclusions::default(),
                false,
                Ranking::OwnerFirst,
            ))
            .expect("json");
            if doc["reachable"] != true {
                failures.push(format!("{}: {id} reported garbage", f.version));
                continue;
            }
            let want_path: Option<Vec<String>> = o["path"].as_array().map(|p| {
                p.iter()
                    .map(|s| s.as_str().unwrap_or_default().to_string())
                    .collect()
            });
            let ok = doc["paths"].as_array().expect("paths").iter().any(|p| {
                if !root_matches(&p["root"], &o["root"]) {
                    return false;
                }
                let steps = p["steps"].as_array().expect("steps");
                // The last step is the target itself.
                if steps.last().map(|s| &s["address"]) != Some(&serde_json::json!(addr))
                    && o["size"].as_u64().unwrap_or(0) >= 16
                {
                    return false;
                }
                match &want_path {
                    Some(want) if labels_knowable(o, want, version) => {
                        let got: String = steps
                            .iter()
                            .map(|s| s["edge"].as_str().unwrap_or_default())
                            .collect();
                        got == want.concat()
                    }
                    _ => true,
                }
            });
            if !ok {
                failures.push(format!(
                    "{}: {id}: want root {} path {:?}; got {}",
                    f.version,
                    o["root"],
                    want_path,
                    serde_json::to_string(&doc["paths"]).unwrap_or_default()
                ));
            }
            checked += 1;
        }
        assert!(checked > 100, "{}: {checked}", f.version);
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn garbage_is_reported_as_garbage() {
    for f in common::all_builds() {
        for g in f.truth["garbage"].as_array().expect("garbage") {
            let doc = why(&f, g["addr"].as_str().expect("addr"), &[]);
            assert_eq!(doc["reachable"], false, "{}: {}", f.version, g["id"]);
            assert_eq!(doc["target"]["address"], g["addr"]);
            assert!(doc["paths"].as_array().is_some_and(|p| p.is_empty()));
        }
    }
}

/// `--exclude` answers "would it still be alive without this reference?".
#[test]
fn excluding_the_only_reference_makes_it_unreachable() {
    let f = Fixture::load("go1.25");
    let tail = f.truth["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == "list_tail")
        .expect("list_tail");
    let addr = tail["addr"].as_str().expect("addr");
    // Held only through the list's .next pointers.
    assert_eq!(why(&f, addr, &[])["reachable"], true);
    for exclude in ["main.Node.next", "main.Node"] {
        let doc = why(&f, addr, &["--exclude", exclude]);
        assert_eq!(doc["reachable"], false, "--exclude {exclude}");
    }
    // Excluding something unrelated changes nothing.
    assert_eq!(
        why(&f, addr, &["--exclude", "main.DNode"])["reachable"],
        true
    );
    // An exclusion naming nothing in the heap is an error, not a silent no-op.
    let out = common::core_output(&f, &["why", addr, "--exclude", "main.NoSuchType"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--exclude takes a type name"));
}

#[test]
fn addresses_outside_objects_are_errors() {
    let f = Fixture::load("go1.22");
    let out = common::core_output(&f, &["why", "0x10"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no allocated heap object contains that address")
    );
}

/// Heap dumps (with the executable) name map entries by key too: keys are
/// read from the dump's records and the executable's string literals.
#[test]
fn heap_dump_paths_name_map_keys() {
    for v in ["go1.21", "go1.25"] {
        let f = Fixture::load(v);
        let dump = f.heap_dump();
        let exe = f.exe();
        for id in [
            "map_str_k7",
            "global_map_alpha",
            "map_int_2500",
            "map_struct_7_b2",
        ] {
            let o = f.truth["objects"]
                .as_array()
                .expect("objects")
                .iter()
                .find(|o| o["id"] == id)
                .expect(id);
            let addr = o["addr"].as_str().expect("addr");
            let doc = common::rootpath_json(&[
                dump.as_os_str(),
                "--exe".as_ref(),
                exe.as_os_str(),
                "--json".as_ref(),
                "why".as_ref(),
                addr.as_ref(),
            ]);
            let want: String = o["path"]
                .as_array()
                .expect("path")
                .iter()
                .map(|s| s.as_str().unwrap_or_default())
                .collect();
            let path = &doc["paths"][0];
            assert_eq!(path["root"]["name"], o["root"]["name"], "{v}: {id}");
            let got: String = path["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|s| s["edge"].as_str().unwrap_or_default())
                .collect();
            assert_eq!(got, want, "{v}: {id}");
        }
    }
}

/// `why ADDRESS` types only the objects its answer shows (found before
/// typing); its answers must be the ones a fully typed heap gives, for
/// every recorded object, live and garbage, on every build.
#[test]
fn answers_typed_along_the_paths_equal_fully_typed_answers() {
    use rootpath::analysis::why::{explain_paths, objects_shown, retention_paths};
    use rootpath::model::{HeapModel, Typing};
    let (mut loads, mut partial_loads) = (0, 0);
    for f in common::all_builds() {
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let full = dump.load_model().expect("model");
        let memory = dump.memory();
        let recorded: Vec<&serde_json::Value> = f.truth["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .chain(f.truth["garbage"].as_array().expect("garbage"))
            .collect();
        // A load per target, as `why` does it.
        for o in recorded.iter() {
            let a = o["addr"].as_str().expect("addr");
            let addr = u64::from_str_radix(a.trim_start_matches("0x"), 16).expect("hex");
            let mut found = None;
            let mut choose = |model: &HeapModel, _release: &dyn Fn()| -> Typing<'_> {
                let Some(t) = model.objects.find(addr) else {
                    return Typing::All;
                };
                let paths =
                    retention_paths(model, t, 3, &Exclusions::default(), Ranking::OwnerFirst);
                let ids = objects_shown(model, t, &paths);
                found = Some((t, paths));
                Typing::Only(ids)
            };
            let lazy = dump.load_model_choosing_types(&mut choose).expect("model");
            let (target, paths) = found.expect("recorded object exists");
            loads += 1;
            partial_loads += usize::from(lazy.types_partial);
            let got = explain_paths(&lazy, memory.as_deref(), target, &paths, false);
            let want = explain_object(
                &full,
                memory.as_deref(),
                target,
                3,
                &Exclusions::default(),
                false,
                Ranking::OwnerFirst,
            );
            let mut got = serde_json::to_value(&got).expect("json");
            let mut want = serde_json::to_value(&want).expect("json");
            generic_runtime_types_as_declared(&mut got);
            generic_runtime_types_as_declared(&mut want);
            assert_eq!(got, want, "{}: {}", f.version, o["id"]);
        }
    }
    // The restricted typing is what is under test, not its fallback.
    eprintln!("{partial_loads} of {loads} loads typed only the chosen objects");
    assert!(
        partial_loads * 2 > loads,
        "only {partial_loads} of {loads} loads typed only the chosen objects"
    );
}

/// Go's DWARF instantiates the channel internals per element type
/// (`sudog<int>`, `hchan<int>`, `waitq<int>`). A fully typed heap may name a
/// sudog that way when its channel was typed first; typed along a path, the
/// same sudog is what the stack variable declares (`runtime.sudog`). Both
/// are right; the comparison treats them as one.
fn generic_runtime_types_as_declared(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if let (true, Some(name)) = (k == "type", x.as_str()) {
                    if let Some((base, _)) = name.split_once('<') {
                        if matches!(base, "sudog" | "hchan" | "waitq") {
                            *x = serde_json::Value::String(format!("runtime.{base}"));
                        }
                    }
                } else {
                    generic_runtime_types_as_declared(x);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(generic_runtime_types_as_declared),
        _ => {}
    }
}

/// The first path starts where a Go programmer would say the object is
/// held: for every recorded object the program holds through a named
/// variable of its own code (a package variable, a goroutine's variable, its
/// deferred call or panic), path 1 starts at that root, on every build, even
/// where runtime holders (`sync.Pool`s, the panic chain, finalizer queues)
/// or unnamed slots reach it in as few steps. `--shortest` ranks by length
/// alone: its first path is never longer.
#[test]
fn first_paths_start_at_the_recorded_owner() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in common::all_builds() {
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let model = dump.load_model().expect("model");
        let memory = dump.memory();
        let graph = Graph::new(&model);
        let tree = ShortestTree::compute(&graph);
        for o in f.truth["objects"].as_array().expect("objects") {
            let root = &o["root"];
            let own_code = |k: &str| root[k].as_str().is_some_and(|n| n.starts_with("main."));
            let owner = match root["kind"].as_str() {
                Some("global") => own_code("name"),
                Some("stack") => own_code("function") && root["variable"].is_string(),
                Some("defer" | "panic") => own_code("function"),
                _ => false,
            };
            if o["live"] != true || !owner {
                continue;
            }
            let addr = o["addr"].as_str().expect("addr");
            let target = model
                .objects
                .find(u64::from_str_radix(addr.trim_start_matches("0x"), 16).expect("hex"))
                .expect("object exists");
            let explain = |ranking| {
                serde_json::to_value(explain_object(
                    &model,
                    memory.as_deref(),
                    target,
                    3,
                    &Exclusions::default(),
                    false,
                    ranking,
                ))
                .expect("json")
            };
            let ranked = explain(Ranking::OwnerFirst);
            let shortest = explain(Ranking::Shortest);
            let steps = |doc: &serde_json::Value| doc["paths"][0]["steps"].as_array().map(Vec::len);
            if !root_matches(&ranked["paths"][0]["root"], root) {
                failures.push(format!(
                    "{}: {}: want root {root}; first path from {}",
                    f.version, o["id"], ranked["paths"][0]["root"]
                ));
            }
            if steps(&shortest) > steps(&ranked) {
                failures.push(format!("{}: {}: --shortest is longer", f.version, o["id"]));
            }
            // The example paths of `why type:`, `why site:`, `top` and the
            // report come from the heap's tree of paths, ranked alike.
            let from_tree = tree
                .path(&graph, target)
                .map(|p| serde_json::to_value(root_ref(&model.roots.roots[p.root])).expect("json"));
            if !from_tree.as_ref().is_some_and(|r| root_matches(r, root)) {
                failures.push(format!(
                    "{}: {}: want root {root}; tree path from {from_tree:?}",
                    f.version, o["id"]
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} objects checked");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `why ADDR` and `why ADDR --shortest` on the command line answer as the
/// library's rankings do (the command finds its paths before typing).
#[test]
fn the_command_line_ranks_as_asked() {
    let f = Fixture::load("go1.25");
    let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
    let model = dump.load_model().expect("model");
    let memory = dump.memory();
    let mut differ = 0;
    for id in [
        "panic_value",
        "fin_a_running",
        "goroutine_map_val3",
        "list_third",
    ] {
        let o = f.truth["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["id"] == id)
            .expect(id);
        let addr = o["addr"].as_str().expect("addr");
        let target = model
            .objects
            .find(u64::from_str_radix(addr.trim_start_matches("0x"), 16).expect("hex"))
            .expect("object");
        let mut answers = Vec::new();
        for (ranking, extra) in [
            (Ranking::OwnerFirst, None),
            (Ranking::Shortest, Some("--shortest")),
        ] {
            let want = serde_json::to_value(explain_object(
                &model,
                memory.as_deref(),
                target,
                3,
                &Exclusions::default(),
                false,
                ranking,
            ))
            .expect("json");
            let got = why(&f, addr, extra.as_slice());
            assert_eq!(got, want, "{id} {extra:?}");
            answers.push(got);
        }
        differ += usize::from(answers[0] != answers[1]);
        assert!(
            root_matches(&answers[0]["paths"][0]["root"], &o["root"]),
            "{id}"
        );
    }
    // The panic value and the running finalizer's argument have runtime
    // holders as near as their owners.
    assert!(differ >= 2, "{differ}");
}
