//! How roots read in text, against the program's truth: `roots` lists the
//! recorded globals in address order, every root line ends with what it
//! holds, a panic value's root names the function that panicked, and the
//! paths of one `why` answer (distinct roots) never print alike.

mod common;

use common::Fixture;
use rootpath::analysis::owners::Ranking;
use rootpath::analysis::paths::Exclusions;
use rootpath::analysis::why::explain_object;
use rootpath::dump::{Dump, OpenOptions};

fn text(f: &Fixture, args: &[&str]) -> String {
    let out = common::core_output(f, args);
    assert!(
        out.status.success(),
        "{}: {args:?}: {}",
        f.version,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn hex(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex").trim_start_matches("0x"), 16).expect("hex")
}

#[test]
fn roots_lists_globals_by_address_and_every_line_ends_with_what_it_holds() {
    for v in ["go1.19", "go1.25", "go1.27"] {
        let f = Fixture::load(v);
        let listing = text(&f, &["roots"]);
        // Where each recorded global's line comes: the truth's addresses in
        // listing order must be ascending.
        let mut recorded: Vec<(String, u64)> = f.truth["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .filter(|o| o["root"]["kind"] == "global")
            .map(|o| {
                (
                    o["root"]["name"].as_str().expect("name").to_string(),
                    hex(&o["root"]["addr"]),
                )
            })
            .collect();
        recorded.sort();
        recorded.dedup();
        let mut at: Vec<(usize, u64)> = recorded
            .iter()
            .map(|(name, addr)| {
                let want = format!("global {name} ");
                let line = listing
                    .lines()
                    .position(|l| l.starts_with(&want) && l.contains(&format!("[{addr:#x}]")))
                    .unwrap_or_else(|| panic!("{v}: no line for {name} at {addr:#x}"));
                (line, *addr)
            })
            .collect();
        at.sort();
        assert!(
            at.windows(2).all(|w| w[0].1 < w[1].1),
            "{v}: recorded globals out of address order: {at:x?}"
        );
        assert!(at.len() > 20, "{v}: {} globals", at.len());
        for line in listing.lines() {
            assert!(!line.trim_end().ends_with('→'), "{v}: {line:?}");
        }
        // The finalizer the program set with a closure holds that closure.
        let closure = f.truth["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["id"] == "finalizer_closure")
            .expect("finalizer_closure");
        let owner = closure["root"]["object"].as_str().expect("object");
        let line = listing
            .lines()
            .find(|l| l.starts_with(&format!("finalizer of {owner} ")))
            .unwrap_or_else(|| panic!("{v}: no finalizer line for {owner}"));
        let held = closure["addr"].as_str().expect("addr");
        assert!(line.ends_with(held), "{v}: {line}");
    }
}

/// Every recorded object's `why` text, on every build: no two paths of an
/// answer have the same header (they start at different roots, so a reader
/// must be able to tell which is which), and the panic value's root names
/// the function the program says panicked.
#[test]
fn paths_of_one_answer_read_differently() {
    let mut failures = Vec::new();
    for f in common::all_builds() {
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let model = dump.load_model().expect("model");
        let memory = dump.memory();
        for o in f.truth["objects"].as_array().expect("objects") {
            if o["live"] != true {
                continue;
            }
            let Some(target) = model.objects.find(hex(&o["addr"])) else {
                continue;
            };
            let doc = explain_object(
                &model,
                memory.as_deref(),
                target,
                20,
                &Exclusions::default(),
                false,
                Ranking::OwnerFirst,
            );
            let mut out = Vec::new();
            rootpath::output::text::why(&mut out, &doc, false).expect("text");
            let out = String::from_utf8(out).expect("utf-8");
            let headers: Vec<&str> = out
                .lines()
                .filter(|l| l.starts_with("path "))
                .map(|l| l.split_once(" from ").map_or(l, |(_, r)| r))
                .collect();
            let mut distinct = headers.clone();
            distinct.sort_unstable();
            distinct.dedup();
            if distinct.len() != headers.len() {
                failures.push(format!("{}: {}: {out}", f.version, o["id"]));
            }
            if o["root"]["kind"] == "panic" {
                let want = format!(
                    "goroutine {} {} (panic value)",
                    o["root"]["goroutine"],
                    o["root"]["function"].as_str().expect("function")
                );
                if !headers.iter().any(|h| h.starts_with(&want)) {
                    failures.push(format!("{}: no path from {want}: {out}", f.version));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Heap dumps name the panicking function too, with and without the executable.
#[test]
fn heap_dump_panic_roots_name_their_function() {
    for v in ["go1.21", "go1.25"] {
        let f = Fixture::load(v);
        let o = f.truth["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["id"] == "panic_value")
            .expect("panic_value");
        let want = format!(
            "goroutine {} {} (panic value)",
            o["root"]["goroutine"],
            o["root"]["function"].as_str().expect("function")
        );
        let dump = f.heap_dump();
        let exe = f.exe();
        for with_exe in [true, false] {
            let os = std::ffi::OsStr::new;
            let mut args = vec![dump.as_os_str()];
            if with_exe {
                args.extend([os("--exe"), exe.as_os_str()]);
            }
            args.extend([os("--json"), os("roots")]);
            let roots = common::rootpath_json(&args);
            let found = roots["roots"]
                .as_array()
                .expect("roots")
                .iter()
                .any(|r| r["kind"] == "panic" && r["name"] == want.as_str());
            assert!(found, "{v} (exe: {with_exe}): no root {want}");
        }
    }
}
