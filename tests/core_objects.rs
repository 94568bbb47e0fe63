//! Objects read from cores against the program's truth: every live object the
//! program recorded is found at its exact address with its slot size.

mod common;

use rootpath::dump::{Dump, OpenOptions};
use rootpath::input::goruntime::GoVersion;

/// The core model of a fixture, with the Go version that wrote it.
fn load(f: &common::Fixture) -> (GoVersion, rootpath::model::HeapModel) {
    let options = OpenOptions::with_exe(f.exe());
    let Dump::Core(core) = Dump::open(&f.core(), &options).expect("open core") else {
        panic!("{}: not a core", f.version)
    };
    let version = core.go_version().expect("go version");
    (
        version,
        rootpath::input::core_loader::load(&core).expect("load model"),
    )
}

#[test]
fn every_recorded_live_object_is_found() {
    for f in common::all_builds() {
        let (version, model) = load(&f);
        assert!(
            model.warnings.is_empty(),
            "{}: {:?}",
            f.version,
            model.warnings
        );
        let objects = &model.objects;
        let recorded = f.truth["objects"].as_array().expect("objects");
        let mut checked = 0;
        for o in recorded.iter().filter(|o| o["live"] == true) {
            common::find_recorded(objects, o, version, f.version);
            checked += 1;
        }
        assert!(
            checked > 50,
            "{}: only {checked} live objects recorded",
            f.version
        );

        // Garbage made after the last GC is still allocated in the core.
        for g in f.truth["garbage"].as_array().expect("garbage") {
            let addr = u64::from_str_radix(
                g["addr"].as_str().expect("addr").trim_start_matches("0x"),
                16,
            )
            .expect("hex addr");
            let id = objects.find(addr).unwrap_or_else(|| {
                panic!("{}: garbage {} at {addr:#x} not found", f.version, g["id"])
            });
            assert_eq!(objects.addr(id), addr, "{}: {}", f.version, g["id"]);
        }
    }
}

/// Nothing any root reaches is garbage the program recorded.
fn assert_garbage_unreachable(f: &common::Fixture, model: &rootpath::model::HeapModel) {
    let reached = rootpath::analysis::reach::reachable(model, model.roots.iter());
    for g in f.truth["garbage"].as_array().expect("garbage") {
        let id = model.objects.find(hex(&g["addr"])).expect("garbage exists");
        assert!(
            !reached[id.index()],
            "{}: garbage {} reachable from a root",
            f.version,
            g["id"]
        );
    }
}

fn hex(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16).expect("hex")
}

/// Each object the program holds through a global is reachable from exactly
/// that global, following the pointer edges read from the core; recorded
/// garbage is reachable from no global.
#[test]
fn globals_reach_what_they_hold() {
    for f in common::all_builds() {
        let (_, model) = load(&f);
        assert!(
            model.warnings.is_empty(),
            "{}: {:?}",
            f.version,
            model.warnings
        );
        assert!(
            model.edges.len() > 20_000,
            "{}: only {} edges",
            f.version,
            model.edges.len()
        );
        let mut checked = 0;
        for o in f.truth["objects"].as_array().expect("objects") {
            let root = &o["root"];
            if root["kind"] != "global" || o["live"] != true {
                continue;
            }
            let name = root["name"].as_str().expect("root name");
            let roots: Vec<_> = model.roots.named(name).collect();
            assert!(!roots.is_empty(), "{}: no root named {name}", f.version);
            let seen = rootpath::analysis::reach::reachable(&model, roots);
            let id = model.objects.find(hex(&o["addr"])).expect("object exists");
            assert!(
                seen[id.index()],
                "{}: {} not reachable from {name}",
                f.version,
                o["id"]
            );
            checked += 1;
        }
        assert!(
            checked > 40,
            "{}: only {checked} global-held objects",
            f.version
        );

        assert_garbage_unreachable(&f, &model);
    }
}

/// Objects held by goroutine stacks are reachable from that goroutine's frame
/// in the named function, found by unwinding the stack and reading its stack
/// maps; with all roots (globals and stacks), recorded garbage stays unreachable.
#[test]
fn stacks_reach_what_they_hold() {
    for f in common::all_builds() {
        let (_, model) = load(&f);
        assert!(
            model.warnings.is_empty(),
            "{}: {:?}",
            f.version,
            model.warnings
        );
        let mut checked = 0;
        for o in f.truth["objects"].as_array().expect("objects") {
            let root = &o["root"];
            if root["kind"] != "stack" || o["live"] != true {
                continue;
            }
            let goroutine = root["goroutine"].as_u64().expect("goroutine id");
            let function = root["function"].as_str().expect("function");
            let variable = root["variable"].as_str().expect("variable");
            // The root is the named variable of that goroutine's frame of that function.
            let roots: Vec<_> = model
                .roots
                .iter()
                .filter(|r| {
                    r.frame.as_ref().is_some_and(|fr| {
                        fr.goroutine == goroutine
                            && fr.function == function
                            && fr.variable.as_deref() == Some(variable)
                    })
                })
                .collect();
            assert!(
                !roots.is_empty(),
                "{}: no stack root for {} ({function} {variable} in goroutine {goroutine}); that goroutine has: {:?}",
                f.version,
                o["id"],
                model
                    .roots
                    .iter()
                    .filter(|r| r.frame.as_ref().is_some_and(|fr| fr.goroutine == goroutine))
                    .map(|r| &r.name)
                    .collect::<Vec<_>>()
            );
            let frame = roots[0].frame.as_ref().expect("frame");
            assert!(
                frame.file.as_deref().is_some_and(|f| f.ends_with(".go"))
                    && frame.line.is_some_and(|l| l > 0),
                "{}: {} has no source position: {frame:?}",
                f.version,
                o["id"]
            );
            let seen = rootpath::analysis::reach::reachable(&model, roots);
            let id = model.objects.find(hex(&o["addr"])).expect("object exists");
            assert!(
                seen[id.index()],
                "{}: {} not reachable from {function} {variable}",
                f.version,
                o["id"]
            );
            checked += 1;
        }
        assert!(
            checked >= 16,
            "{}: only {checked} stack-held objects",
            f.version
        );

        assert_garbage_unreachable(&f, &model);
    }
}

/// Finalizer, cleanup, queued-finalizer, defer and panic roots reach what the
/// program says they hold; weakly held objects stay unreachable.
#[test]
fn runtime_roots_reach_what_they_hold() {
    use rootpath::model::RootKind;
    for f in common::all_builds() {
        let (_, model) = load(&f);
        assert!(
            model.warnings.is_empty(),
            "{}: {:?}",
            f.version,
            model.warnings
        );
        let mut kinds_checked = std::collections::BTreeSet::new();
        for o in f.truth["objects"].as_array().expect("objects") {
            let root = &o["root"];
            let kind = root["kind"].as_str().unwrap_or_default();
            let owner = root["object"].as_str().map(|a| hex(&serde_json::json!(a)));
            let goroutine = root["goroutine"].as_u64();
            let candidates: Vec<_> = model
                .roots
                .iter()
                .filter(|r| match kind {
                    "finalizer" => r.kind == RootKind::Finalizer && r.addr == owner,
                    "cleanup" => r.kind == RootKind::Cleanup && r.addr == owner,
                    "queued_finalizer" => r.kind == RootKind::QueuedFinalizer,
                    "defer" => {
                        r.name
                            == format!(
                                "goroutine {} {} (defer)",
                                goroutine.expect("goroutine"),
                                root["function"].as_str().expect("function")
                            )
                    }
                    "panic" => {
                        r.name
                            == format!(
                                "goroutine {} {} (panic value)",
                                goroutine.expect("goroutine"),
                                root["function"].as_str().expect("function")
                            )
                    }
                    _ => false,
                })
                .collect();
            if !["finalizer", "cleanup", "queued_finalizer", "defer", "panic"].contains(&kind) {
                continue;
            }
            assert!(
                !candidates.is_empty(),
                "{}: no {kind} root for {}",
                f.version,
                o["id"]
            );
            let seen = rootpath::analysis::reach::reachable(&model, candidates);
            let id = model.objects.find(hex(&o["addr"])).expect("object exists");
            assert!(
                seen[id.index()],
                "{}: {} not reachable from its {kind} root",
                f.version,
                o["id"]
            );
            kinds_checked.insert(kind.to_string());
        }
        let expected = if f.truth["go_version"].as_str().is_some_and(|v| {
            rootpath::input::goruntime::GoVersion::parse(v).is_some_and(|v| v.at_least(24))
        }) {
            5
        } else {
            4
        };
        assert_eq!(
            kinds_checked.len(),
            expected,
            "{}: {kinds_checked:?}",
            f.version
        );

        let all = rootpath::analysis::reach::reachable(&model, model.roots.iter());
        for w in f.truth["weak_only"].as_array().expect("weak_only") {
            let id = model
                .objects
                .find(hex(&w["addr"]))
                .expect("weakly held object exists");
            assert!(
                !all[id.index()],
                "{}: weakly held {} is reachable",
                f.version,
                w["id"]
            );
        }
    }
}

/// Every recorded live object carries the type the program gave it
/// (closures as "closure <function>"), except those no core can type, which
/// stay untyped: a wrong type is never acceptable.
#[test]
fn recorded_objects_have_their_types() {
    let mut failures = Vec::new();
    for f in common::all_builds() {
        let (version, model) = load(&f);
        let mut typed = 0;
        for o in f.truth["objects"].as_array().expect("objects") {
            if o["live"] != true {
                continue;
            }
            let addr = hex(&o["addr"]);
            let id = model.objects.find(addr).expect("object exists");
            if model.objects.addr(id) != addr {
                continue; // tiny allocations share a block; the block has no single type
            }
            let name = o["id"].as_str().expect("id");
            let want = o["type"].as_str().expect("type");
            let got = model.type_name(id);
            let right = match got {
                Some(g) if want == "closure" => g.starts_with("closure "),
                Some(g) => g == want,
                None => false,
            };
            match (common::untypeable_in_core(name, version), right, got) {
                (None, true, _) => typed += 1,
                (Some(_), _, None) => {}
                (why, _, got) => failures.push(format!(
                    "{}: {name} want {want} got {got:?} ({why:?})",
                    f.version
                )),
            }
        }
        assert!(typed >= 100, "{}: only {typed} objects typed", f.version);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Goroutines: each recorded goroutine is found with its state and wait
/// reason, its user frames in order, and the function of its `go` statement.
#[test]
fn goroutines_match_the_program() {
    for f in common::all_builds() {
        let (_, model) = load(&f);
        for want in f.truth["goroutines"].as_array().expect("goroutines") {
            let id = want["id"].as_u64().expect("id");
            let g = model
                .goroutines
                .iter()
                .find(|g| g.id == id)
                .unwrap_or_else(|| panic!("{}: goroutine {id} missing", f.version));
            assert!(
                g.problem.is_none(),
                "{}: goroutine {id}: {:?}",
                f.version,
                g.problem
            );
            let wait = want["wait"].as_str().expect("wait");
            if wait == "running" {
                assert_eq!(g.state, "running", "{}: goroutine {id}", f.version);
            } else {
                assert_eq!(g.state, "waiting", "{}: goroutine {id}", f.version);
                let reason = g.wait_reason.as_deref().unwrap_or_default();
                assert!(
                    reason.starts_with(wait),
                    "{}: goroutine {id} waits for {reason:?}, not {wait}",
                    f.version
                );
            }
            // The recorded user frames appear in this order among all frames.
            let functions: Vec<&str> = g.frames.iter().map(|fr| fr.function.as_str()).collect();
            let mut rest = functions.iter();
            for frame in want["frames"].as_array().expect("frames") {
                let name = frame.as_str().expect("frame");
                let name = if name == "panic" {
                    "runtime.gopanic"
                } else {
                    name
                };
                assert!(
                    rest.any(|f| *f == name),
                    "{}: goroutine {id} lacks frame {name} in order: {functions:?}",
                    f.version
                );
            }
            assert!(
                g.frames.iter().all(|fr| fr.line.is_some_and(|l| l > 0)),
                "{}: goroutine {id} has frames without lines",
                f.version
            );
            let created_by = want["created_by"].as_str().expect("created_by");
            if !created_by.is_empty() {
                assert_eq!(
                    g.created_by.as_ref().map(|c| c.function.as_str()),
                    Some(created_by),
                    "{}: goroutine {id}",
                    f.version
                );
            }
        }
    }
}
