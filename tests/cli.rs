//! The heap commands through the binary, checked against the program's truth.

mod common;

use common::Fixture;

#[test]
fn histogram_counts_the_structures() {
    for v in ["go1.19", "go1.22", "go1.27"] {
        let f = Fixture::load(v);
        let h = common::core_json(&f, &["histogram"]);
        let row = |t: &str| {
            h["types"]
                .as_array()
                .expect("types")
                .iter()
                .find(|r| r["type"] == t)
                .cloned()
                .unwrap_or_else(|| panic!("{v}: no histogram row for {t}"))
        };
        // Each structure the program built alone of its type is counted whole, and live.
        for (t, n) in [
            ("main.Node", 20000),
            ("main.DNode", 1000),
            ("main.Small", 1000),
            ("main.Medium", 100),
            ("main.Big", 4),
        ] {
            let r = row(t);
            assert_eq!(r["live_objects"], n, "{v}: {t}: {r}");
            assert_eq!(r["objects"], n, "{v}: {t}: {r}");
        }
        let totals = &h["totals"];
        assert!(
            totals["live_objects"].as_u64() < totals["objects"].as_u64(),
            "{v}: {totals}"
        );
        assert_eq!(
            totals["roots"]["finalizer"].as_u64().map(|n| n >= 2),
            Some(true),
            "{v}"
        );
    }
}

#[test]
fn objects_lists_a_type_with_addresses() {
    let f = Fixture::load("go1.25");
    let o = common::core_json(&f, &["objects", "--type", "main.Medium", "-n", "1000"]);
    assert_eq!(o["matched"], 100);
    let listed: Vec<&str> = o["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|r| r["address"].as_str().expect("address"))
        .collect();
    for want in f.truth["objects"]
        .as_array()
        .expect("truth")
        .iter()
        .filter(|t| t["type"] == "main.Medium")
    {
        assert!(
            listed.contains(&want["addr"].as_str().expect("addr")),
            "{} not listed",
            want["id"]
        );
    }
    let limited = common::core_json(&f, &["objects", "--type", "main.Medium", "-n", "3"]);
    assert_eq!(limited["shown"], 3);
    assert_eq!(limited["matched"], 100);
}

#[test]
fn roots_name_globals_and_stack_variables() {
    let f = Fixture::load("go1.24");
    let r = common::core_json(&f, &["roots"]);
    let roots = r["roots"].as_array().expect("roots");
    let g = roots
        .iter()
        .find(|r| r["name"] == "main.gPtr")
        .expect("main.gPtr root");
    assert_eq!(g["kind"], "global");
    assert_eq!(g["type"], "*main.T");
    let want = f.truth["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == "global_ptr")
        .expect("global_ptr");
    assert_eq!(g["points_to"][0], want["addr"]);
    let leak = f.truth["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == "leak_buf_0")
        .expect("leak_buf_0");
    let s = roots
        .iter()
        .find(|r| r["goroutine"] == leak["root"]["goroutine"] && r["variable"] == "buf")
        .expect("stack root buf");
    assert_eq!(s["kind"], "stack");
    assert_eq!(s["function"], "main.leakWorker");
    assert!(
        s["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("goroutines.go")),
        "{s}"
    );
    assert!(
        s["points_to"]
            .as_array()
            .expect("points_to")
            .contains(&leak["addr"]),
        "{s}"
    );
}

#[test]
fn goroutines_report_waits_and_creators() {
    let f = Fixture::load("go1.21");
    let g = common::core_json(&f, &["goroutines"]);
    let gs = g["goroutines"].as_array().expect("goroutines");
    let workers: Vec<_> = gs
        .iter()
        .filter(|g| {
            g["frames"]
                .as_array()
                .is_some_and(|fr| fr.iter().any(|x| x["function"] == "main.leakWorker"))
        })
        .collect();
    assert_eq!(workers.len(), 16);
    for w in workers {
        assert_eq!(w["state"], "waiting");
        assert_eq!(w["wait_reason"], "chan receive");
        assert_eq!(w["created_by"]["function"], "main.startLeaks");
    }
}

#[test]
fn text_output_reads_well() {
    let f = Fixture::load("go1.26");
    let out = common::rootpath(&[
        f.core().as_os_str(),
        "--exe".as_ref(),
        f.exe().as_os_str(),
        "goroutines".as_ref(),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[waiting: chan receive]") && text.contains("created by main.startLeaks"),
        "{text}"
    );
    let out = common::rootpath(&[
        f.core().as_os_str(),
        "--exe".as_ref(),
        f.exe().as_os_str(),
        "overview".as_ref(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Heap:") && text.contains("garbage since the last GC"),
        "{text}"
    );
}

#[test]
fn heap_dumps_answer_the_same_commands() {
    let f = Fixture::load("go1.23");
    let dump = f.heap_dump();
    let h = common::rootpath_json(&[dump.as_os_str(), "--json".as_ref(), "histogram".as_ref()]);
    // Without types, objects group by size; the 20 000 list nodes are still there.
    assert!(
        h["totals"]["live_objects"]
            .as_u64()
            .is_some_and(|n| n > 40_000),
        "{}",
        h["totals"]
    );
    let g = common::rootpath_json(&[dump.as_os_str(), "--json".as_ref(), "roots".as_ref()]);
    assert!(g["roots"].as_array().is_some_and(|r| r.len() > 50));
}
