//! The fixture corpus itself: every Go version of the matrix is present, every
//! file decompresses to what it claims to be, and each core is an ELF core of
//! the process the program recorded (its pid, its threads, its executable).

mod common;

use std::collections::BTreeSet;

use common::{Fixture, MATRIX};
use rootpath::input::elf::CoreFile;
use rootpath::input::{FileKind, Source};

#[test]
fn matrix_is_complete() {
    let present: BTreeSet<String> = std::fs::read_dir(common::fixtures_dir())
        .expect("testdata/fixtures exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("go1."))
        .collect();
    for v in MATRIX {
        assert!(
            present.contains(*v),
            "no fixtures for {v}; have {present:?}"
        );
    }
}

#[test]
fn every_fixture_decompresses_to_its_kind() {
    for f in common::all() {
        let expect = [
            ("scenarios", FileKind::ElfExecutable),
            ("core", FileKind::ElfCore),
            ("heap.dump", FileKind::HeapDump),
        ];
        for (name, kind) in expect {
            let path = f.file(name);
            let source = Source::open(&path).unwrap_or_else(|e| panic!("{}: {e}", f.version));
            assert_eq!(source.kind(), kind, "{} {name}", f.version);
            // Source sees through the compression too, without the cache.
            let direct = Source::open(&f.compressed(name)).expect("open .zst directly");
            assert_eq!(direct.kind(), kind);
            assert_eq!(
                direct.bytes(),
                source.bytes(),
                "{} {name}: zstd decoding differs",
                f.version
            );
        }
        let profile = std::fs::read(f.dir.join("heap.pprof")).expect("heap.pprof");
        assert_eq!(
            FileKind::of(&profile),
            FileKind::Gzip,
            "{}: heap.pprof is gzip'd protobuf",
            f.version
        );
        let text = std::fs::read(f.file("heap.txt")).expect("heap.txt");
        assert!(
            text.starts_with(b"heap profile: "),
            "{}: legacy text profile header",
            f.version
        );
    }
}

#[test]
fn cores_hold_the_recorded_process() {
    for f in common::all_builds() {
        let core =
            CoreFile::parse(Source::open(&f.core()).expect("open core")).expect("parse core");
        assert!(
            core.warnings.is_empty(),
            "{}: {:?}",
            f.version,
            core.warnings
        );
        let pid = f.truth["pid"].as_i64().expect("truth pid");
        let process = core.process.as_ref().expect("NT_PRPSINFO");
        assert_eq!(i64::from(process.pid), pid, "{}", f.version);

        let recorded: BTreeSet<i64> = f.truth["tids"]
            .as_array()
            .expect("truth tids")
            .iter()
            .map(|t| t.as_i64().expect("tid"))
            .collect();
        let found: BTreeSet<i64> = core.threads.iter().map(|t| i64::from(t.tid)).collect();
        assert_eq!(
            found, recorded,
            "{}: threads in the core vs /proc/self/task",
            f.version
        );

        // The thread that crashed took SIGABRT (GOTRACEBACK=crash).
        let signal = core.signal.as_ref().expect("NT_SIGINFO");
        assert_eq!(signal.signo, 6, "{}", f.version);

        let exe_path = f.truth_str("exe_path");
        assert!(
            core.files.iter().any(|m| m.path == exe_path),
            "{}: NT_FILE lacks {exe_path}: {:?}",
            f.version,
            core.files.iter().map(|m| &m.path).collect::<Vec<_>>()
        );
        assert_eq!(core.executable_path(), Some(exe_path), "{}", f.version);
    }
}

#[test]
fn overview_reports_each_go_version() {
    for f in common::all_builds() {
        let core = f.core();
        let exe = f.exe();
        let o = common::rootpath_json(&[
            core.as_os_str(),
            "--exe".as_ref(),
            exe.as_os_str(),
            "--json".as_ref(),
            "overview".as_ref(),
        ]);
        assert_eq!(o["go"]["version"], f.truth["go_version"], "{}", f.version);
        assert_eq!(o["go"]["support"], "tested", "{}", f.version);
        assert_eq!(o["go"]["goarch"], f.truth["goarch"], "{}", f.version);
        assert_eq!(
            o["executable"]["build_match"]["status"], "matches",
            "{}: {}",
            f.version, o["executable"]
        );
        assert_eq!(o["executable"]["has_dwarf"], true);
        let threads = o["threads"].as_array().expect("threads");
        assert_eq!(
            threads.len(),
            f.truth["tids"].as_array().map_or(0, |t| t.len())
        );
        assert_eq!(o["process"]["pid"], f.truth["pid"]);
        assert_eq!(o["process"]["signal"]["name"], "SIGABRT");
        assert!(
            o["warnings"].as_array().is_some_and(|w| w.is_empty()),
            "{}: {}",
            f.version,
            o["warnings"]
        );

        let dump = f.heap_dump();
        let d = common::rootpath_json(&[dump.as_os_str(), "overview".as_ref(), "--json".as_ref()]);
        assert_eq!(
            d["go"]["version"], f.truth["go_version"],
            "{} heap dump",
            f.version
        );
        assert_eq!(d["file"]["kind"], "heap dump");
    }
}

#[test]
fn overview_reads_compressed_cores_directly() {
    let f = Fixture::load("go1.25");
    let core = f.compressed("core");
    let exe = f.exe();
    let o = common::rootpath_json(&[
        core.as_os_str(),
        "--exe".as_ref(),
        exe.as_os_str(),
        "overview".as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(o["file"]["compression"], serde_json::json!(["zstd"]));
    assert_eq!(o["go"]["version"], f.truth["go_version"]);
    assert_eq!(o["executable"]["build_match"]["status"], "matches");
}
