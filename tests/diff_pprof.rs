//! `rootpath diff … -o FILE` against the growth fixtures: the growth profile read back (with
//! rootpath's pprof reader and with `go tool pprof`) checked against what the program recorded
//! and against live heaps computed here from the loaded models.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::go_pprof::{go_pprof_web, go_tool_or_skip};
use common::growth::{growth, truth};
use common::{Fixture, MATRIX, rootpath};
use rootpath::dump::{Dump, OpenOptions};
use rootpath::input::pprof::{SampleProfile, read_sample_profile};
use serde_json::Value;

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Runs `diff DUMPS… -o OUT --json`; returns the written profile and the document.
fn diff_profile(f: &Fixture, dumps: &[&str], out: &Path) -> (SampleProfile, Value) {
    let mut args: Vec<PathBuf> = vec!["diff".into()];
    args.extend(dumps.iter().map(|d| f.file(d)));
    args.extend(["--exe".into(), f.file("growth"), "-o".into(), out.into()]);
    args.push("--json".into());
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let run = rootpath(&args);
    assert!(
        run.status.success(),
        "{}: {}",
        f.version,
        String::from_utf8_lossy(&run.stderr)
    );
    let doc: Value = serde_json::from_slice(&run.stdout).expect("json");
    let profile = read_sample_profile(out).unwrap_or_else(|e| panic!("{}: {e}", f.version));
    (profile, doc)
}

/// Live (objects, bytes) of a dump, by a search from the roots over the
/// loaded model's edges (not rootpath's analyses).
fn live_heap(f: &Fixture, dump: &str) -> (i64, i64) {
    let options = OpenOptions::with_exe(f.file("growth"));
    let model = Dump::open(&f.file(dump), &options)
        .expect("open")
        .load_model()
        .expect("model");
    let mut seen = vec![false; model.objects.len()];
    let mut stack: Vec<rootpath::model::ObjectId> = model
        .roots
        .iter()
        .flat_map(|r| r.targets.iter().map(|&(t, _)| t))
        .collect();
    let (mut objects, mut bytes) = (0, 0);
    while let Some(o) = stack.pop() {
        if std::mem::replace(&mut seen[o.index()], true) {
            continue;
        }
        objects += 1;
        bytes += model.objects.size(o) as i64;
        stack.extend(model.edges.targets(o).iter().copied());
    }
    (objects, bytes)
}

/// (objects, bytes) summed over the samples whose outermost frame is the
/// global `name` (all samples when `None`).
fn under(p: &SampleProfile, name: Option<&str>) -> (i64, i64) {
    let (oi, bi) = (
        p.value_index("growth_objects").expect("growth_objects"),
        p.value_index("growth_space").expect("growth_space"),
    );
    let frame = name.map(|n| format!("global {n}"));
    p.samples
        .iter()
        .filter(|s| match &frame {
            None => true,
            Some(frame) => s
                .frames
                .last()
                .is_some_and(|f| f == frame || f.starts_with(&format!("{frame} ("))),
        })
        .fold((0, 0), |(o, b), s| (o + s.values[oi], b + s.values[bi]))
}

/// Checks the profile of OLD → NEW (recorded in truths `t_old`, `t_new`).
fn check(f: &Fixture, p: &SampleProfile, (old, new): (&str, &str), t_old: &Value, t_new: &Value) {
    let ctx = format!("{} {old} → {new}", f.version);
    let (o1, b1) = live_heap(f, old);
    let (o2, b2) = live_heap(f, new);
    assert_eq!(under(p, None), (o2 - o1, b2 - b1), "{ctx}: total");
    let leak = t_new["leak"]["holder"].as_str().expect("leak holder");
    let grew = (
        i(&t_new["leak"]["objects"]) - i(&t_old["leak"]["objects"]),
        i(&t_new["leak"]["bytes"]) - i(&t_old["leak"]["bytes"]),
    );
    assert!(grew.1 > 0, "{ctx}: the fixture's leak grew");
    assert_eq!(under(p, Some(leak)), grew, "{ctx}: {leak}");
    // The cache holds as much in both: replaced entries net to nothing.
    assert_eq!(t_old["cache"]["bytes"], t_new["cache"]["bytes"], "{ctx}");
    let cache = t_new["cache"]["holder"].as_str().expect("cache holder");
    assert_eq!(under(p, Some(cache)), (0, 0), "{ctx}: {cache}");
    // Something is negative: freed objects (or the older heap) count so.
    let bi = p.value_index("growth_space").expect("bytes");
    assert!(p.samples.iter().any(|s| s.values[bi] < 0), "{ctx}");
}

#[test]
fn the_profile_of_one_process_nets_to_its_growth() {
    let dir = tempfile::tempdir().expect("temp dir");
    for version in MATRIX {
        let f = growth(version);
        let out = dir.path().join(format!("{version}.pb.gz"));
        let (p, doc) = diff_profile(&f, &["heap-1.dump", "heap-2.dump"], &out);
        assert_eq!(doc["profile"]["matched"], true, "{version}: {doc:#}");
        // Matched: the positive samples are the new objects, the negative the freed.
        let new = &doc["objects"][0]["new"];
        assert_eq!(doc["profile"]["added_bytes"], new["bytes"], "{version}");
        assert_eq!(
            doc["profile"]["removed_bytes"],
            doc["objects"][0]["freed"]["bytes"]
        );
        let (t1, t2) = (truth(&f, "truth-1.json"), truth(&f, "truth-2.json"));
        check(&f, &p, ("heap-1.dump", "heap-2.dump"), &t1, &t2);
    }
}

#[test]
fn over_three_dumps_the_profile_spans_the_oldest_to_the_newest() {
    let dir = tempfile::tempdir().expect("temp dir");
    for version in ["go1.19", "go1.23", "go1.27"] {
        let f = growth(version);
        let out = dir.path().join(format!("{version}.pb.gz"));
        let dumps = ["heap-1.dump", "heap-2.dump", "heap-3.dump"];
        let (p, _) = diff_profile(&f, &dumps, &out);
        let (t1, t3) = (truth(&f, "truth-1.json"), truth(&f, "truth-3.json"));
        check(&f, &p, ("heap-1.dump", "heap-3.dump"), &t1, &t3);
    }
}

#[test]
fn two_processes_subtract_the_older_heap_from_the_newer() {
    let dir = tempfile::tempdir().expect("temp dir");
    for version in ["go1.21", "go1.25"] {
        let f = growth(version);
        let out = dir.path().join(format!("{version}.pb.gz"));
        let (p, doc) = diff_profile(&f, &["other-heap-1.dump", "heap-2.dump"], &out);
        assert_eq!(doc["profile"]["matched"], false, "{version}: {doc:#}");
        let (t1, t2) = (truth(&f, "other-truth-1.json"), truth(&f, "truth-2.json"));
        assert_ne!(t1["pid"], t2["pid"]);
        check(&f, &p, ("other-heap-1.dump", "heap-2.dump"), &t1, &t2);
    }
}

#[test]
fn an_input_as_output_is_refused_and_left_alone() {
    let f = growth("go1.25");
    let old = f.file("heap-1.dump");
    let before = std::fs::read(&old).expect("read");
    let new = f.file("heap-2.dump");
    let exe = f.file("growth");
    let run = rootpath(&[
        "diff".as_ref(),
        old.as_os_str(),
        new.as_os_str(),
        "--exe".as_ref(),
        exe.as_os_str(),
        "-o".as_ref(),
        old.as_os_str(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("is an input"), "{err}");
    assert_eq!(std::fs::read(&old).expect("read"), before);
}

/// `go tool pprof -top`'s cumulative value of the row named `frame`.
fn top_cum(top: &str, frame: &str) -> i64 {
    let line = top
        .lines()
        .find(|l| l.contains(frame))
        .unwrap_or_else(|| panic!("no {frame} in: {top}"));
    let cum = line
        .split_whitespace()
        .nth(3)
        .unwrap_or_else(|| panic!("{line}"));
    cum.trim_end_matches('B')
        .parse()
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[test]
fn go_tool_pprof_reads_it() {
    let Some(go) = go_tool_or_skip("go_tool_pprof_reads_it") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let f = growth("go1.25");
    let out = dir.path().join("growth.pb.gz");
    diff_profile(&f, &["heap-1.dump", "heap-2.dump"], &out);
    let run = Command::new(&go)
        .args(["tool", "pprof", "-top", "-unit=B"])
        .arg(&out)
        .env("GOTOOLCHAIN", "local")
        .env_remove("GOROOT")
        .output()
        .expect("run go tool pprof");
    let top = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{top}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (t1, t2) = (truth(&f, "truth-1.json"), truth(&f, "truth-2.json"));
    assert_eq!(
        top_cum(&top, "global main.leaked"),
        i(&t2["leak"]["bytes"]) - i(&t1["leak"]["bytes"]),
        "{top}"
    );
    let flame = go_pprof_web(&go, &out, "/ui/flamegraph");
    assert!(
        flame.starts_with("HTTP/1.0 200") || flame.starts_with("HTTP/1.1 200"),
        "{flame}"
    );
    assert!(flame.contains("global main.leaked"), "{flame}");
}
