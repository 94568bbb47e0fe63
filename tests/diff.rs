//! `rootpath diff` against the growth fixtures (testdata/growth): heap dumps of one process
//! taken as its leak grew, checked against what the program recorded it held at each one.

mod common;

use std::ffi::OsStr;
use std::path::PathBuf;

use common::growth::{growth, truth};
use common::{Fixture, MATRIX, rootpath, rootpath_json};
use serde_json::Value;

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn diff_json(f: &Fixture, dumps: &[&str]) -> Value {
    let mut args: Vec<PathBuf> = vec!["diff".into()];
    args.extend(dumps.iter().map(|d| f.file(d)));
    args.extend([
        "--exe".into(),
        f.file("growth"),
        "-n".into(),
        "100000".into(),
        "--json".into(),
    ]);
    let args: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    rootpath_json(&args)
}

/// The row of a listing whose name is `name` (or, for sites, starts with it).
fn row<'a>(doc: &'a Value, listing: &str, name: &str) -> &'a Value {
    doc[listing]
        .as_array()
        .and_then(|rows| {
            rows.iter().find(|r| {
                r["name"]
                    .as_str()
                    .is_some_and(|n| n == name || n.starts_with(&format!("{name} (")))
                    || r["root"]["name"] == name
            })
        })
        .unwrap_or_else(|| panic!("no {listing} row {name} in {doc:#}"))
}

fn numbers(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().map(u).collect())
        .unwrap_or_default()
}

#[test]
fn the_leak_is_named_first_with_its_recorded_growth() {
    for version in MATRIX {
        let f = growth(version);
        let (t1, t2) = (truth(&f, "truth-1.json"), truth(&f, "truth-2.json"));
        let doc = diff_json(&f, &["heap-1.dump", "heap-2.dump"]);
        let ctx = format!("{version}: {doc:#}");
        assert_eq!(doc["objects_matched"], true, "{ctx}");
        let first = &doc["holders"][0];
        assert_eq!(first["root"]["name"], t2["leak"]["holder"], "{ctx}");
        assert_eq!(first["root"]["kind"], "global", "{ctx}");
        let (b1, b2) = (u(&t1["leak"]["bytes"]), u(&t2["leak"]["bytes"]));
        let (o1, o2) = (u(&t1["leak"]["objects"]), u(&t2["leak"]["objects"]));
        assert_eq!(numbers(&first["bytes"]), [b1, b2], "{ctx}");
        assert_eq!(numbers(&first["objects"]), [o1, o2], "{ctx}");
        assert_eq!(
            first["bytes_change"].as_i64(),
            Some(b2 as i64 - b1 as i64),
            "{ctx}"
        );

        // The new records attach to the slice's backing array: new itself
        // when append reallocated it (its capacity changed).
        let added = u(&t2["leak"]["items"]) - u(&t1["leak"]["items"]);
        let reallocated = t1["leak_array_bytes"] != t2["leak_array_bytes"];
        let point = &first["accumulation"];
        assert_eq!(
            u(&point["object"]["size"]),
            u(&t2["leak_array_bytes"]),
            "{ctx}"
        );
        let array_type = point["object"]["type"].as_str().unwrap_or("");
        assert!(
            array_type.starts_with('[') && array_type.ends_with("]*main.Record"),
            "{ctx}"
        );
        assert_eq!(point["object_is_new"], reallocated, "{ctx}");
        assert_eq!(u(&point["gained_children"]), added, "{ctx}");
        assert_eq!(
            u(&point["new_objects"]),
            2 * added + u64::from(reallocated),
            "{ctx}"
        );
        let array_bytes = if reallocated {
            u(&t2["leak_array_bytes"])
        } else {
            0
        };
        assert_eq!(
            u(&point["new_bytes"]),
            added * (48 + 128) + array_bytes,
            "{ctx}"
        );

        // Matched objects: at least the added records and payloads are new,
        // and the first snapshot's records (live in both) kept.
        let step = &doc["objects"][0];
        assert!(u(&step["new"]["objects"]) >= 2 * added, "{ctx}");
        assert!(u(&step["kept"]["objects"]) >= o1 - 1, "{ctx}");

        // The cache is refreshed in place: no net growth.
        let cache = row(
            &doc,
            "holders",
            t2["cache"]["holder"].as_str().unwrap_or("?"),
        );
        assert_eq!(cache["bytes_change"], 0, "{ctx}");
        assert_eq!(cache["objects_change"], 0, "{ctx}");
        assert!(u(&cache["bytes"][0]) >= u(&t1["cache"]["bytes"]), "{ctx}");

        let records = row(&doc, "types", "main.Record");
        assert_eq!(
            records["objects_change"].as_i64(),
            Some(added as i64),
            "{ctx}"
        );
        assert_eq!(
            records["bytes_change"].as_i64(),
            Some(48 * added as i64),
            "{ctx}"
        );
        // Every allocation is sampled: the site's growth is exact.
        let site = row(&doc, "sites", t2["leak_site"].as_str().unwrap_or("?"));
        assert_eq!(
            site["objects_change"].as_i64(),
            Some(2 * added as i64),
            "{ctx}"
        );
        assert_eq!(
            site["bytes_change"].as_i64(),
            Some(176 * added as i64),
            "{ctx}"
        );
    }
}

#[test]
fn over_three_dumps_the_monotone_grower_comes_first() {
    for version in MATRIX {
        let f = growth(version);
        let truths: Vec<Value> = (1..=3)
            .map(|n| truth(&f, &format!("truth-{n}.json")))
            .collect();
        let doc = diff_json(&f, &["heap-1.dump", "heap-2.dump", "heap-3.dump"]);
        let ctx = format!("{version}: {doc:#}");
        let first = &doc["holders"][0];
        assert_eq!(first["root"]["name"], "main.leaked", "{ctx}");
        assert_eq!(first["grows_every_step"], true, "{ctx}");
        let recorded: Vec<u64> = truths.iter().map(|t| u(&t["leak"]["bytes"])).collect();
        assert_eq!(numbers(&first["bytes"]), recorded, "{ctx}");
        assert_eq!(doc["objects"].as_array().map(Vec::len), Some(2), "{ctx}");
        let cache = row(&doc, "holders", "main.cache");
        assert_eq!(cache["grows_every_step"], false, "{ctx}");
        assert_eq!(cache["bytes_change"], 0, "{ctx}");
    }
}

#[test]
fn dumps_of_two_processes_are_compared_without_matching_objects() {
    for version in MATRIX {
        let f = growth(version);
        let (t1, other) = (truth(&f, "truth-1.json"), truth(&f, "other-truth-1.json"));
        assert_ne!(t1["pid"], other["pid"]);
        let doc = diff_json(&f, &["heap-1.dump", "other-heap-1.dump"]);
        let ctx = format!("{version}: {doc:#}");
        assert_eq!(doc["objects_matched"], false, "{ctx}");
        assert!(doc.get("objects").is_none(), "{ctx}");
        let warned = doc["warnings"].as_array().is_some_and(|w| {
            w.iter().any(|w| {
                w.as_str()
                    .is_some_and(|w| w.contains("objects cannot be matched"))
            })
        });
        assert!(warned, "{ctx}");
        assert_eq!(
            numbers(
                &doc["snapshots"]
                    .as_array()
                    .map(|s| s.iter().map(|s| s["pid"].clone()).collect())
                    .map(Value::Array)
                    .unwrap_or_default()
            ),
            [u(&t1["pid"]), u(&other["pid"])],
            "{ctx}"
        );
        // Holders still compare by name: the leak held what each run recorded.
        let leak = row(&doc, "holders", "main.leaked");
        assert_eq!(
            numbers(&leak["bytes"]),
            [u(&t1["leak"]["bytes"]), u(&other["leak"]["bytes"])],
            "{ctx}"
        );
        assert!(leak.get("accumulation").is_none(), "{ctx}");
    }
}

#[test]
fn dumps_of_different_builds_are_refused() {
    let (a, b) = (growth("go1.24"), growth("go1.25"));
    let scenarios = Fixture::load("go1.25");
    for (old, old_exe, new, new_exe) in [
        // Another Go release of the same program.
        (
            a.file("heap-1.dump"),
            a.file("growth"),
            b.file("heap-2.dump"),
            b.file("growth"),
        ),
        // Another program built by the same release.
        (
            b.file("heap-1.dump"),
            b.file("growth"),
            scenarios.heap_dump(),
            scenarios.exe(),
        ),
    ] {
        let args: Vec<&OsStr> = vec![
            "diff".as_ref(),
            old.as_os_str(),
            new.as_os_str(),
            "--exe".as_ref(),
            old_exe.as_os_str(),
            "--exe".as_ref(),
            new_exe.as_os_str(),
        ];
        let out = rootpath(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains("different build"), "{stderr}");
        assert!(stderr.contains(&*new.to_string_lossy()), "{stderr}");
    }
}

#[test]
fn text_names_the_leak_and_where_it_attaches() {
    let f = growth("go1.25");
    let (dump1, dump2, exe) = (
        f.file("heap-1.dump"),
        f.file("heap-2.dump"),
        f.file("growth"),
    );
    let args: Vec<&OsStr> = vec![
        "diff".as_ref(),
        dump1.as_os_str(),
        dump2.as_os_str(),
        "--exe".as_ref(),
        exe.as_os_str(),
    ];
    let out = rootpath(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = text
        .lines()
        .skip_while(|l| !l.starts_with("growth by holder"))
        .nth(1)
        .unwrap_or("");
    assert!(first.contains("global main.leaked"), "{text}");
    assert!(text.contains("the new objects attach at"), "{text}");
}

/// A core compared with itself: one process, every live object kept, nothing grown.
/// And the heap dump the scenario program wrote just before it crashed is of the
/// same process and build as its core: accepted, with objects matched.
#[test]
fn a_core_and_its_process_heap_dump_are_one_process() {
    let f = Fixture::load("go1.25");
    let pid = u(&f.truth["pid"]);
    let (core, dump, exe) = (f.core(), f.heap_dump(), f.exe());
    let run = |old: &PathBuf, new: &PathBuf| {
        let args: Vec<&OsStr> = vec![
            "diff".as_ref(),
            old.as_os_str(),
            new.as_os_str(),
            "--exe".as_ref(),
            exe.as_os_str(),
            "--json".as_ref(),
        ];
        rootpath_json(&args)
    };
    let same = run(&core, &core);
    let ctx = format!("{same:#}");
    assert_eq!(same["objects_matched"], true, "{ctx}");
    let live = u(&same["snapshots"][0]["live_objects"]);
    assert!(live > 0, "{ctx}");
    assert_eq!(u(&same["objects"][0]["kept"]["objects"]), live, "{ctx}");
    assert_eq!(u(&same["objects"][0]["new"]["objects"]), 0, "{ctx}");
    assert_eq!(u(&same["objects"][0]["freed"]["objects"]), 0, "{ctx}");
    for listing in ["holders", "types", "sites"] {
        for row in same[listing].as_array().into_iter().flatten() {
            assert_eq!(row["bytes_change"], 0, "{listing}: {row:#}");
        }
    }

    let doc = run(&dump, &core);
    let ctx = format!("{doc:#}");
    assert_eq!(doc["objects_matched"], true, "{ctx}");
    assert_eq!(u(&doc["snapshots"][0]["pid"]), pid, "{ctx}");
    assert_eq!(u(&doc["snapshots"][1]["pid"]), pid, "{ctx}");
    // Most of the heap is the same objects: the program only wrote its
    // truth between the two.
    assert!(
        u(&doc["objects"][0]["kept"]["objects"]) * 10 > live * 9,
        "{ctx}"
    );
}
