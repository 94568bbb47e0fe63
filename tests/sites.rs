//! Allocation sites against the program's truth, on cores and heap dumps of
//! every build: each site the program recorded is found at its function and
//! line with its live objects and the root that holds them; its profiles
//! (proto and legacy text) join without complaint; profiles of another
//! process or build are flagged.

mod common;

use common::Fixture;
use rootpath::analysis::report::Reporter;
use rootpath::analysis::retention::Retention;
use rootpath::analysis::sites::{SiteGrouping, SiteIndex, SiteOptions, SiteReporter, SitesDoc};
use rootpath::dump::{Dump, OpenOptions};
use rootpath::input::goruntime::GoVersion;
use rootpath::input::pprof::read_alloc_profile;
use rootpath::model::{AllocProfile, HeapModel};
use serde_json::Value;

/// What the replica run (`scenarios -replica`, testdata/scenarios/sites.go)
/// allocates at main.allocSiteSmall on top of the fixture's objects.
const REPLICA_EXTRA_SMALL: i64 = 500;

#[derive(Clone, Copy, Debug)]
enum Input {
    Core,
    HeapDump,
}

fn model(f: &Fixture, input: Input) -> HeapModel {
    let options = OpenOptions::with_exe(f.exe());
    let path = match input {
        Input::Core => f.core(),
        Input::HeapDump => f.heap_dump(),
    };
    Dump::open(&path, &options)
        .and_then(|d| d.load_model())
        .unwrap_or_else(|e| panic!("{} {input:?}: {e}", f.version))
}

fn profile(f: &Fixture, name: &str) -> AllocProfile {
    let path = if f.dir.join(name).exists() {
        f.dir.join(name)
    } else {
        f.compressed(name)
    };
    read_alloc_profile(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sites(model: &HeapModel, profile: Option<&AllocProfile>) -> Value {
    let index = SiteIndex::build(model, profile, SiteGrouping::Line);
    let retention = Retention::compute(model);
    let reporter = Reporter::new(&retention, None);
    let doc: SitesDoc =
        SiteReporter::new(&index, &reporter).sites(&SiteOptions::default(), usize::MAX);
    serde_json::to_value(&doc).expect("serialize")
}

fn version(f: &Fixture) -> GoVersion {
    GoVersion::parse(f.truth_str("go_version")).expect("go version")
}

/// The site doc for a truth site: at its file and line, named after its
/// function (a heap dump without a profile names an inlined call after the
/// function it is inlined into).
fn find_site<'d>(doc: &'d Value, want: &Value, names: &[&str]) -> &'d Value {
    let file = want["file"].as_str().expect("file");
    doc["sites"]
        .as_array()
        .expect("sites")
        .iter()
        .find(|s| {
            s["line"] == want["line"]
                && s["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with(file) || file.ends_with(f))
                && names.iter().any(|n| s["site"] == *n)
        })
        .unwrap_or_else(|| panic!("no site {names:?} at {file}:{}", want["line"]))
}

/// Every truth site, with its counts, sizes, retention and root.
fn check_truth_sites(f: &Fixture, doc: &Value, input: Input, joined: bool, what: &str) {
    let v = version(f);
    for want in f.truth["sites"].as_array().expect("truth sites") {
        let count = want["count"].as_u64().expect("count");
        let requested = want["size"].as_u64().expect("size");
        let has_pointers = want["has_pointers"].as_bool().unwrap_or(true);
        let slot = common::expected_size(v, requested, has_pointers);
        // Profiles count the whole slot, allocation header included (Go ≥1.22,
        // pointerful small objects over 512 bytes).
        let header = if v.at_least(22) && has_pointers && requested > 512 && requested <= 32768 - 8
        {
            8
        } else {
            0
        };
        let function = want["function"].as_str().expect("function");
        let mut names = vec![function];
        if matches!(input, Input::HeapDump) && !joined {
            names.extend(want["inlined_into"].as_str());
        }
        let s = find_site(doc, want, &names);
        let ctx = format!("{} {input:?} {what} {function}", f.version);
        assert_eq!(s["live_objects"], count, "{ctx}: live objects");
        assert_eq!(s["live_bytes"], count * slot, "{ctx}: live bytes");
        assert_eq!(s["unreachable_objects"], 0, "{ctx}: unreachable");
        // The objects hold nothing else: each retains its own slot.
        assert_eq!(s["retained_bytes"], count * slot, "{ctx}: retained bytes");
        let top = &s["retainers"][0];
        assert_eq!(
            top["root"]["name"], want["root"]["name"],
            "{ctx}: retaining root"
        );
        assert_eq!(top["objects"], count, "{ctx}: objects held by the root");
        assert!(
            top["example"].as_array().is_some_and(|p| !p.is_empty()),
            "{ctx}: no path"
        );
        // Every allocation was sampled: the profile's (or the dump's own)
        // in-use figures are the live ones.
        let inuse = if joined {
            &s["profile"]
        } else {
            &s["recorded"]
        };
        assert_eq!(inuse["inuse_objects"], count, "{ctx}: in-use objects");
        assert_eq!(
            inuse["inuse_bytes"],
            count * (slot + header),
            "{ctx}: in-use bytes"
        );
        assert!(
            s["estimated"].is_null(),
            "{ctx}: exact counts need no estimate"
        );
    }
    assert_eq!(
        doc["sampling"]["coverage"], "exact",
        "{}: coverage",
        f.version
    );
}

#[test]
fn truth_sites_from_cores_and_heap_dumps_alone_and_joined() {
    for f in common::all_builds() {
        let heap_pprof = profile(&f, "heap.pprof");
        let heap_text = profile(&f, "heap.txt");
        for input in [Input::Core, Input::HeapDump] {
            let m = model(&f, input);
            check_truth_sites(&f, &sites(&m, None), input, false, "alone");
            for (what, p) in [("proto", &heap_pprof), ("text", &heap_text)] {
                let doc = sites(&m, Some(p));
                let check = &doc["profile_check"];
                assert_eq!(
                    check["verdict"], "consistent",
                    "{} {input:?} {what}: {check}",
                    f.version
                );
                assert_eq!(check["unmatched_samples"], 0);
                assert_eq!(check["disagreeing_sites"], 0);
                check_truth_sites(&f, &doc, input, true, what);
            }
        }
    }
}

#[test]
fn core_sites_name_inlined_allocators() {
    // Cores expand inlined calls as pprof does, with or without a profile.
    for f in common::all_builds() {
        let m = model(&f, Input::Core);
        let doc = sites(&m, None);
        for want in f.truth["sites"].as_array().expect("sites") {
            let Some(caller) = want["inlined_into"].as_str() else {
                continue;
            };
            let s = find_site(&doc, want, &[want["function"].as_str().unwrap_or_default()]);
            let stack: Vec<&str> = s["stack"]
                .as_array()
                .expect("stack")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert!(
                stack.get(1).is_some_and(|f| f.starts_with(caller)),
                "{}: {} should be called from {caller}: {stack:?}",
                f.version,
                want["function"]
            );
        }
    }
}

#[test]
fn another_process_or_build_is_flagged() {
    for f in common::all_builds() {
        let pie = f.version.ends_with("-pie");
        for input in [Input::Core, Input::HeapDump] {
            let m = model(&f, input);
            for name in ["replica.pprof", "replica.txt"] {
                let p = profile(&f, name);
                let doc = sites(&m, Some(&p));
                let ctx = format!("{} {input:?} {name}", f.version);
                let check = &doc["profile_check"];
                assert_eq!(check["verdict"], "mismatch", "{ctx}: {check}");
                assert!(check["disagreeing_sites"].as_u64() > Some(0), "{ctx}");
                // The legacy text names its GC cycle: another process's differs.
                if name.ends_with(".txt") {
                    assert_eq!(check["same_gc_cycle"], false, "{ctx}");
                }
                // Only cores have code addresses; a PIE replica was loaded elsewhere.
                match input {
                    Input::Core => assert_eq!(check["same_code_addresses"], !pie, "{ctx}"),
                    Input::HeapDump => assert!(check["same_code_addresses"].is_null(), "{ctx}"),
                }
                // The profile's figures are the replica's, the live ones the dump's.
                let small = f.truth["sites"]
                    .as_array()
                    .and_then(|s| s.iter().find(|s| s["function"] == "main.allocSiteSmall"))
                    .expect("allocSiteSmall in truth");
                let s = find_site(&doc, small, &["main.allocSiteSmall"]);
                let count = small["count"].as_i64().expect("count");
                assert_eq!(
                    s["profile"]["inuse_objects"],
                    count + REPLICA_EXTRA_SMALL,
                    "{ctx}"
                );
                assert_eq!(s["live_objects"], count, "{ctx}");
            }
        }
    }
    // Another build of the same program: go1.24's profile against go1.25's core.
    let (older, newer) = (Fixture::load("go1.24"), Fixture::load("go1.25"));
    let doc = sites(
        &model(&newer, Input::Core),
        Some(&profile(&older, "heap.pprof")),
    );
    assert_eq!(doc["profile_check"]["same_code_addresses"], false);
    assert_eq!(doc["profile_check"]["verdict"], "mismatch");
}

#[test]
fn why_site_and_report_on_the_command_line() {
    let f = Fixture::load("go1.25");
    let heap = f.dir.join("heap.pprof");
    for want in f.truth["sites"].as_array().expect("sites") {
        let function = want["function"].as_str().expect("function");
        let file = want["file"].as_str().expect("file");
        let line = want["line"].as_u64().expect("line");
        let short = file.rsplit('/').next().unwrap_or(file);
        for target in [format!("site:{function}"), format!("site:{short}:{line}")] {
            let doc = common::core_json(
                &f,
                &["why", &target, "--heap", heap.to_str().expect("utf-8 path")],
            );
            assert_eq!(doc["site"], function, "{target}");
            assert_eq!(doc["objects"], want["count"], "{target}");
            assert_eq!(doc["unreachable_objects"], 0, "{target}");
            assert_eq!(
                doc["roots"][0]["root"]["name"], want["root"]["name"],
                "{target}"
            );
        }
    }
    // The batch report leads with the profile's sites.
    let report = common::core_json(&f, &["--heap", heap.to_str().expect("utf-8 path")]);
    let listed = report["sites"]["sites"].as_array().expect("report sites");
    assert!(!listed.is_empty() && listed.len() <= 5, "{listed:?}");
    assert_eq!(report["sites"]["profile_check"]["verdict"], "consistent");
    let live: Vec<u64> = listed
        .iter()
        .filter_map(|s| s["live_bytes"].as_u64())
        .collect();
    assert!(
        live.windows(2).all(|w| w[0] >= w[1]),
        "sorted by live bytes: {live:?}"
    );
    // Without --heap the report has no sites section.
    let plain = common::core_json(&f, &[]);
    assert!(plain.get("sites").is_none());
}

#[test]
fn unknown_sites_and_wrong_profiles_are_errors() {
    let f = Fixture::load("go1.25");
    let core = f.core();
    let exe = f.exe();
    let run = |args: &[&str]| {
        let mut all: Vec<&std::ffi::OsStr> =
            vec![core.as_os_str(), "--exe".as_ref(), exe.as_os_str()];
        all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
        common::rootpath(&all)
    };
    let out = run(&["why", "site:main.noSuchFunction"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no allocation site"));
    // A core is not a heap profile: refused before the core is loaded.
    let out = run(&["sites", "--heap", core.to_str().expect("utf-8 path")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("heap profile"), "{err}");
}

/// Runs of the scenario program that sampled one allocation per
/// `mem_profile_rate` bytes, as services do.
const SAMPLED: &[&str] = &["go1.22-sampled", "go1.27-sampled"];

#[test]
fn sampled_profiles_join_and_estimate() {
    for v in SAMPLED {
        let f = Fixture::load(v);
        let rate = f.truth["mem_profile_rate"].as_u64().expect("rate");
        assert!(rate > 1, "{v}: a sampled fixture");
        for input in [Input::Core, Input::HeapDump] {
            let m = model(&f, input);
            for (name, scaled) in [("heap.pprof", true), ("heap.txt", false)] {
                let p = profile(&f, name);
                let doc = sites(&m, Some(&p));
                let ctx = format!("{v} {input:?} {name}");
                // Scaled figures are recomputed bit for bit from the dump's records.
                assert_eq!(
                    doc["profile_check"]["verdict"], "consistent",
                    "{ctx}: {}",
                    doc["profile_check"]
                );
                assert_eq!(doc["sampling"]["coverage"], "sampled", "{ctx}");
                assert_eq!(doc["sampling"]["rate"], rate, "{ctx}");
                for want in f.truth["sites"].as_array().expect("sites") {
                    let count = want["count"].as_u64().expect("count");
                    let function = want["function"].as_str().expect("function");
                    let s = find_site(&doc, want, &[function]);
                    let live = s["live_objects"].as_u64().expect("live");
                    assert!(live <= count, "{ctx} {function}: {live} sampled of {count}");
                    if !scaled {
                        // The text counts samples: those are the live sampled objects.
                        assert_eq!(s["profile"]["inuse_objects"], live, "{ctx} {function}");
                    }
                    // With enough samples the estimate is near the truth (the
                    // band is wide: these are random samples).
                    if live >= 20 {
                        let mut estimates = vec![&s["estimated"]["live_objects"]];
                        if scaled {
                            estimates.push(&s["profile"]["inuse_objects"]);
                        }
                        for estimate in estimates {
                            let e = estimate.as_u64().expect("estimate");
                            assert!(
                                e * 10 >= count * 6 && e * 10 <= count * 16,
                                "{ctx} {function}: estimated {e}, truly {count}"
                            );
                        }
                    }
                    if live > 0 {
                        assert_eq!(
                            s["retainers"][0]["root"]["name"], want["root"]["name"],
                            "{ctx} {function}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn cores_and_heap_dumps_agree_on_every_site() {
    // Both were written at the same GC cycle of one process: every site
    // with objects in use has the same profiling records, joined with the
    // same profile. (Sites of what was allocated after the dump, garbage or
    // not yet counted, are in the core alone.)
    for f in common::all_builds() {
        let p = profile(&f, "heap.pprof");
        let by_site = |input: Input| -> std::collections::BTreeMap<String, (Value, Value)> {
            let doc = sites(&model(&f, input), Some(&p));
            doc["sites"]
                .as_array()
                .expect("sites")
                .iter()
                .filter(|s| s["recorded"]["inuse_objects"].as_i64() > Some(0))
                .map(|s| {
                    (
                        format!("{} {}:{}", s["site"], s["file"], s["line"]),
                        (s["recorded"].clone(), s["profile"].clone()),
                    )
                })
                .collect()
        };
        let (core, dump) = (by_site(Input::Core), by_site(Input::HeapDump));
        assert!(core.len() > 50, "{}: {} sites", f.version, core.len());
        let differ: Vec<_> = core
            .iter()
            .filter(|(k, v)| dump.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: core {v:?}, dump {:?}", dump.get(k)))
            .collect();
        assert!(differ.is_empty(), "{}: {differ:#?}", f.version);
        assert_eq!(core.len(), dump.len(), "{}", f.version);
    }
}

#[test]
fn sites_command_orders_groups_and_limits() {
    let f = Fixture::load("go1.25");
    let all = common::core_json(&f, &["sites", "-n", "100000"]);
    let total = all["sites"].as_array().expect("sites").len();
    assert!(total > 20);
    // -n keeps the first N and counts the rest.
    let some = common::core_json(&f, &["sites", "-n", "5"]);
    assert_eq!(some["sites"].as_array().map(Vec::len), Some(5));
    assert_eq!(some["more_sites"], (total - 5) as u64);
    // Each order is what it says.
    for (by, field) in [("live", "live_bytes"), ("retained", "retained_bytes")] {
        let doc = common::core_json(&f, &["sites", "--by", by, "-n", "100000"]);
        let v: Vec<u64> = doc["sites"]
            .as_array()
            .expect("sites")
            .iter()
            .map(|s| s[field].as_u64().expect(field))
            .collect();
        assert!(v.windows(2).all(|w| w[0] >= w[1]), "--by {by}");
    }
    // Per stack: at least as many sites, and each truth site (one stack
    // each) still found with its count.
    let stacks = common::core_json(&f, &["sites", "--group", "stack", "-n", "100000"]);
    assert!(stacks["sites"].as_array().expect("sites").len() >= total);
    for want in f.truth["sites"].as_array().expect("truth sites") {
        let function = want["function"].as_str().expect("function");
        let s = find_site(&stacks, want, &[function]);
        assert_eq!(s["live_objects"], want["count"], "{function}");
        assert_eq!(s["stacks"], 1, "{function}");
    }
    // --retainers bounds the roots listed and counts the others.
    let one = common::core_json(&f, &["sites", "--retainers", "1", "-n", "100000"]);
    for s in one["sites"].as_array().expect("sites") {
        assert!(s["retainers"].as_array().is_some_and(|r| r.len() <= 1));
    }
    let newt = one["sites"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["site"] == "main.newT"))
        .expect("main.newT allocates for many roots");
    assert!(
        newt["more_retainers"].as_u64() > Some(10),
        "{}",
        newt["more_retainers"]
    );
}
