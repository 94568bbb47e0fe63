//! `pprof -o FILE`: the retention profile read back (by rootpath's reader
//! and by a real `go tool pprof`) adds up to the live heap found here by a
//! search of the heap graph, and the chains of the structures the scenario
//! program recorded retain what truth.json says they hold.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Fixture;
use common::go_pprof::{go_pprof_web, go_tool_or_skip};
use rootpath::dump::{Dump, OpenOptions};
use rootpath::input::goruntime::GoVersion;
use rootpath::input::pprof::{SampleProfile, read_sample_profile};

/// One input of the profile: a fixture's core or heap dump with its executable.
struct Case {
    fixture: Fixture,
    heap_dump: bool,
}

impl Case {
    fn core(version: &'static str) -> Case {
        Case {
            fixture: Fixture::load(version),
            heap_dump: false,
        }
    }
    fn dump(version: &'static str) -> Case {
        Case {
            fixture: Fixture::load(version),
            heap_dump: true,
        }
    }
    fn input(&self) -> PathBuf {
        if self.heap_dump {
            self.fixture.heap_dump()
        } else {
            self.fixture.core()
        }
    }
    fn name(&self) -> String {
        format!(
            "{} {}",
            self.fixture.version,
            if self.heap_dump { "heap dump" } else { "core" }
        )
    }

    /// Writes the profile into `dir`, returns its path.
    fn write_profile(&self, dir: &Path) -> PathBuf {
        let out = dir.join(format!(
            "{}-{}.pb.gz",
            self.fixture.version,
            if self.heap_dump { "dump" } else { "core" }
        ));
        let input = self.input();
        let exe = self.fixture.exe();
        let run = common::rootpath(&[
            input.as_os_str(),
            "--exe".as_ref(),
            exe.as_os_str(),
            "pprof".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        assert!(
            run.status.success(),
            "{}: {}",
            self.name(),
            String::from_utf8_lossy(&run.stderr)
        );
        out
    }

    /// Live objects and bytes, by a search from the roots over the loaded
    /// model's edges (not rootpath's analyses).
    fn live_heap(&self) -> (u64, u64) {
        let options = OpenOptions::with_exe(self.fixture.exe());
        let model = Dump::open(&self.input(), &options)
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
            bytes += model.objects.size(o);
            stack.extend(model.edges.targets(o).iter().copied());
        }
        (objects, bytes)
    }
}

fn totals(p: &SampleProfile) -> (u64, u64) {
    let get = |t: &str| {
        let v = p.total(t).unwrap_or_else(|| panic!("no sample type {t}"));
        u64::try_from(v).expect("non-negative")
    };
    (get("retained_objects"), get("retained_space"))
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Samples whose outermost frame is the global `name`: what it retains.
fn held_by_global(p: &SampleProfile, name: &str) -> (u64, u64) {
    let (oi, bi) = (
        p.value_index("retained_objects").expect("objects"),
        p.value_index("retained_space").expect("bytes"),
    );
    let frame = format!("global {name}");
    p.samples
        .iter()
        .filter(|s| {
            s.frames
                .last()
                .is_some_and(|f| *f == frame || f.starts_with(&format!("{frame} (")))
        })
        .fold((0, 0), |(o, b), s| {
            (o + s.values[oi] as u64, b + s.values[bi] as u64)
        })
}

/// The slots of a truth.json structure's objects: what its global retains.
fn expected(f: &Fixture, structure: &serde_json::Value) -> (u64, u64) {
    let version = GoVersion::parse(f.truth_str("go_version")).expect("version");
    structure["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .fold((0, 0), |(n, b), o| {
            let count = o["count"].as_u64().expect("count");
            let size = common::expected_size(
                version,
                o["size"].as_u64().expect("size"),
                o["has_pointers"] == true,
            );
            (n + count, b + count * size)
        })
}

#[test]
fn totals_read_back_are_the_live_heap() {
    let dir = scratch();
    for case in [
        Case::core("go1.25"),
        Case::core("go1.19"),
        Case::core("go1.25-stripped"),
        Case::core("go1.22-sampled"),
        Case::dump("go1.27"),
    ] {
        let path = case.write_profile(dir.path());
        let p = read_sample_profile(&path).expect("read back");
        assert_eq!(totals(&p), case.live_heap(), "{}", case.name());
        assert_eq!(p.default_sample_type.as_deref(), Some("retained_space"));
        // Every sample has a chain and a type; none is empty.
        for s in &p.samples {
            assert!(!s.frames.is_empty(), "{}: {s:?}", case.name());
            assert!(SampleProfile::label(s, "type").is_some(), "{}", case.name());
            assert!(s.values.iter().all(|&v| v > 0), "{}: {s:?}", case.name());
            // Chains are bounded: a 20000-node list is one frame.
            assert!(s.frames.len() <= 50, "{}: {}", case.name(), s.frames.len());
        }
    }
}

/// A structure one global alone holds appears below that global with
/// exactly its objects' slots (maps: plus their own tables).
#[test]
fn recorded_structures_sit_below_their_global() {
    let dir = scratch();
    for case in [
        Case::core("go1.25"),
        Case::core("go1.22-sampled"),
        Case::dump("go1.25"),
    ] {
        let f = &case.fixture;
        let p = read_sample_profile(&case.write_profile(dir.path())).expect("read back");
        for s in f.truth["structures"].as_array().expect("structures") {
            let name = s["root"]["name"].as_str().expect("name");
            let got = held_by_global(&p, name);
            let want = expected(f, s);
            let what = format!("{}: {name}", case.name());
            if s["id"].as_str().is_some_and(|id| id.starts_with("map_")) {
                assert!(got.0 > want.0 && got.1 > want.1, "{what}: {got:?} {want:?}");
            } else {
                assert_eq!(got, want, "{what}");
            }
        }
    }
}

/// The 20000-node list folds into one `.next main.Node` frame below its
/// global, and each allocation site's objects carry its label (every
/// allocation is sampled in this fixture).
#[test]
fn lists_fold_and_sites_label_their_objects() {
    let dir = scratch();
    let case = Case::core("go1.25");
    let f = &case.fixture;
    let p = read_sample_profile(&case.write_profile(dir.path())).expect("read back");
    let oi = p.value_index("retained_objects").expect("objects");
    let list: Vec<_> = p
        .samples
        .iter()
        .filter(|s| {
            s.frames
                .last()
                .is_some_and(|l| l.starts_with("global main.gList20000"))
        })
        .collect();
    let nodes: i64 = list
        .iter()
        .filter(|s| s.frames.first().is_some_and(|l| l == ".next main.Node"))
        .map(|s| s.values[oi])
        .sum();
    assert_eq!(nodes, 19_999, "{list:?}");
    assert!(list.iter().all(|s| s.frames.len() <= 3), "{list:?}");

    for site in f.truth["sites"].as_array().expect("sites") {
        let function = site["function"].as_str().expect("function");
        let type_name = site["type"].as_str().expect("type");
        let labelled: i64 = p
            .samples
            .iter()
            .filter(|s| {
                SampleProfile::label(s, "alloc_site")
                    .is_some_and(|l| l.starts_with(&format!("{function} (")))
                    && SampleProfile::label(s, "type") == Some(type_name)
            })
            .map(|s| s.values[oi])
            .sum();
        assert_eq!(
            labelled,
            site["count"].as_i64().expect("count"),
            "{function} {type_name}"
        );
    }
}

fn go_pprof(go: &Path, args: &[&str], profile: &Path) -> String {
    let out = Command::new(go)
        .args(["tool", "pprof"])
        .args(args)
        .arg(profile)
        .env("GOTOOLCHAIN", "local")
        .env_remove("GOROOT")
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// "Showing nodes accounting for …, …% of 4062840B total" → 4062840.
fn pprof_total(top: &str) -> u64 {
    let line = top
        .lines()
        .find(|l| l.starts_with("Showing nodes accounting for"))
        .unwrap_or_else(|| panic!("no total in: {top}"));
    let total = line
        .rsplit_once(" of ")
        .and_then(|(_, t)| t.strip_suffix(" total"))
        .unwrap_or_else(|| panic!("{line}"));
    total
        .trim_end_matches('B')
        .parse()
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[test]
fn go_tool_pprof_reads_it() {
    let Some(go) = go_tool_or_skip("go_tool_pprof_reads_it") else {
        return;
    };
    let dir = scratch();
    for case in [Case::core("go1.25"), Case::dump("go1.22")] {
        let path = case.write_profile(dir.path());
        let (objects, bytes) = case.live_heap();
        let top = go_pprof(&go, &["-top", "-unit=B"], &path);
        assert_eq!(pprof_total(&top), bytes, "{}: {top}", case.name());
        let top = go_pprof(&go, &["-top", "-sample_index=retained_objects"], &path);
        assert_eq!(pprof_total(&top), objects, "{}: {top}", case.name());
        let traces = go_pprof(&go, &["-traces"], &path);
        assert!(
            traces.contains("global main.gList20000") && traces.contains(".next main.Node"),
            "{}: {traces}",
            case.name()
        );
        let tree = go_pprof(&go, &["-tree", "-unit=B"], &path);
        assert!(tree.contains(".next main.Node"), "{}: {tree}", case.name());
    }
    let path = Case::core("go1.25").write_profile(dir.path());
    let flame = go_pprof_web(&go, &path, "/ui/flamegraph");
    assert!(
        flame.starts_with("HTTP/1.0 200") || flame.starts_with("HTTP/1.1 200"),
        "{flame}"
    );
    assert!(flame.contains("global main.gList20000"), "{flame}");
}

#[test]
fn an_unwritable_output_or_an_input_as_output_is_refused() {
    let f = Fixture::load("go1.25");
    let dir = scratch();
    // A copy of the input: it must come out unchanged.
    let input = dir.path().join("heap.dump");
    std::fs::copy(f.heap_dump(), &input).expect("copy");
    let before = std::fs::read(&input).expect("read");
    let exe = f.exe();
    let run = |out: &Path| {
        common::rootpath(&[
            input.as_os_str(),
            "--exe".as_ref(),
            exe.as_os_str(),
            "pprof".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
    };
    // Below a file, not a directory: no one can create it, root included.
    let unwritable = input.join("retention.pb.gz");
    let out = run(&unwritable);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("-o") && err.contains("cannot be written"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    for target in [input.clone(), exe.clone()] {
        let out = run(&target);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}", target.display());
        assert!(err.contains("is an input"), "{err}");
    }
    assert!(
        std::fs::read(&input).expect("read") == before,
        "the input changed"
    );
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}
