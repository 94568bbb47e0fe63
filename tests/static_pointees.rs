//! Static data named through the named pointer that refers to it. The
//! scenario program records its truth in `var truth = &Truth{…}`: the
//! compiler lays that Truth out in the data section under no DWARF name,
//! and `main.truth` points at it. Paths into it start at `main.truth`, typed
//! as its pointee, and read as Go: `.Objects[k]` is the record of the k-th
//! object truth.json lists.

mod common;

use common::Fixture;
use rootpath::analysis::owners::Ranking;
use rootpath::analysis::paths::Exclusions;
use rootpath::analysis::why::explain_object;
use rootpath::dump::{Dump, OpenOptions};
use rootpath::model::{Memory, RootKind};

fn word(memory: &dyn Memory, addr: u64) -> u64 {
    let b = memory.read(addr, 8).expect("readable");
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

#[test]
fn paths_into_a_pointers_static_value_start_at_the_pointer() {
    for f in common::all_builds() {
        let dump = Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open");
        let model = dump.load_model().expect("model");
        let memory = dump.memory().expect("memory");
        let root = model
            .roots
            .named("main.truth")
            .next()
            .unwrap_or_else(|| panic!("{}: no root main.truth", f.version));
        assert_eq!(root.kind, RootKind::Global);
        assert_eq!(
            root.type_name.as_deref(),
            Some("main.Truth"),
            "{}",
            f.version
        );
        let explain = |addr: u64| {
            let target = model.objects.find(addr).expect("object");
            let doc = explain_object(
                &model,
                Some(memory.as_ref()),
                target,
                3,
                &Exclusions::default(),
                false,
                Ranking::OwnerFirst,
            );
            serde_json::to_value(doc).expect("json")
        };
        let edges = |doc: &serde_json::Value| -> (String, String) {
            let path = &doc["paths"][0];
            let steps = path["steps"].as_array().expect("steps");
            let edges = steps
                .iter()
                .map(|s| s["edge"].as_str().unwrap_or(""))
                .collect();
            (
                path["root"]["name"].as_str().unwrap_or("").to_string(),
                edges,
            )
        };
        // The pointer word of the Objects slice, where the pointer says it is.
        let array = root
            .targets
            .iter()
            .map(|&(t, _)| model.objects.addr(t))
            .find(|&a| edges(&explain(a)) == ("main.truth".into(), ".Objects".into()))
            .unwrap_or_else(|| panic!("{}: no .Objects from main.truth", f.version));
        let recorded = f.truth["objects"].as_array().expect("objects");
        for k in [0, 1, recorded.len() / 2, recorded.len() - 1] {
            let record = word(memory.as_ref(), array + 8 * k as u64);
            let (root_name, path) = edges(&explain(record));
            assert_eq!(
                (root_name.as_str(), path.as_str()),
                ("main.truth", format!(".Objects[{k}]").as_str()),
                "{}: record {k}",
                f.version
            );
            // The record is the one truth.json lists k-th: its ID says so.
            let (ptr, len) = (
                word(memory.as_ref(), record),
                word(memory.as_ref(), record + 8),
            );
            let id = memory.read(ptr, len as usize).expect("id");
            assert_eq!(
                id,
                recorded[k]["id"].as_str().expect("id").as_bytes(),
                "{}: record {k}",
                f.version
            );
        }
    }
}

/// Heap dumps read with the executable name it alike.
#[test]
fn heap_dumps_name_it_alike() {
    for v in ["go1.21", "go1.25"] {
        let f = Fixture::load(v);
        let dump = f.heap_dump();
        let exe = f.exe();
        let os = std::ffi::OsStr::new;
        let roots = common::rootpath_json(&[
            dump.as_os_str(),
            os("--exe"),
            exe.as_os_str(),
            os("--json"),
            os("roots"),
        ]);
        let found = roots["roots"].as_array().expect("roots").iter().any(|r| {
            r["kind"] == "global" && r["name"] == "main.truth" && r["type"] == "main.Truth"
        });
        assert!(found, "{v}: no global main.truth of type main.Truth");
    }
}
