//! Bad input gets a clear error (non-zero exit, a message naming the problem)
//! or a clearly marked partial answer; never a panic.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::Fixture;

fn run(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = common::rootpath(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "rootpath panicked on {args:?}: {stderr}"
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = common::repo_root().join("target").join("bad-input");
    fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

fn write_prefix(from: &Path, to: &Path, len: usize) {
    let bytes = fs::read(from).expect("read fixture");
    fs::write(to, &bytes[..len.min(bytes.len())]).expect("write cut file");
}

#[test]
fn empty_and_foreign_files_are_refused() {
    let empty = scratch("empty");
    fs::write(&empty, b"").expect("write");
    let (ok, _, err) = run(&[empty.as_os_str(), "overview".as_ref()]);
    assert!(!ok);
    assert!(err.contains("empty file"), "{err}");

    let text = scratch("text");
    fs::write(&text, b"hello, this is not a core\n").expect("write");
    let (ok, _, err) = run(&[text.as_os_str(), "overview".as_ref()]);
    assert!(!ok);
    assert!(err.contains("not a Go core file or heap dump"), "{err}");

    let missing = scratch("does-not-exist");
    let (ok, _, err) = run(&[missing.as_os_str(), "overview".as_ref()]);
    assert!(!ok);
    assert!(
        err.contains("cannot read") && err.contains("does-not-exist"),
        "{err}"
    );
}

#[test]
fn executable_as_dump_and_core_as_exe_are_explained() {
    let f = Fixture::load("go1.22");
    let (ok, _, err) = run(&[f.exe().as_os_str(), "overview".as_ref()]);
    assert!(!ok);
    assert!(
        err.contains("not a core file") && err.contains("--exe"),
        "{err}"
    );

    let (ok, _, err) = run(&[
        f.core().as_os_str(),
        "--exe".as_ref(),
        f.core().as_os_str(),
        "overview".as_ref(),
    ]);
    assert!(!ok);
    assert!(err.contains("is not an executable"), "{err}");
}

#[test]
fn truncated_cores_are_partial_or_refused() {
    let f = Fixture::load("go1.23");
    let core = f.core();
    // Cut inside the ELF header: refused.
    let cut = scratch("core-cut-40");
    write_prefix(&core, &cut, 40);
    let (ok, _, err) = run(&[cut.as_os_str(), "overview".as_ref()]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("ELF header") || err.contains("truncated"),
        "{err}"
    );

    // Cut inside the program headers: refused, naming them.
    let cut = scratch("core-cut-200");
    write_prefix(&core, &cut, 200);
    let (ok, _, err) = run(&[cut.as_os_str(), "overview".as_ref()]);
    assert!(!ok);
    assert!(
        err.contains("truncated") && err.contains("program headers"),
        "{err}"
    );

    // Cut after the notes, inside the memory: overview still answers, and says what is missing.
    let size = fs::metadata(&core).expect("core").len() as usize;
    let cut = scratch("core-cut-half");
    write_prefix(&core, &cut, size / 2);
    let exe = f.exe();
    let (ok, out, err) = run(&[
        cut.as_os_str(),
        "--exe".as_ref(),
        exe.as_os_str(),
        "overview".as_ref(),
        "--json".as_ref(),
    ]);
    assert!(ok, "{err}");
    let o: serde_json::Value = serde_json::from_str(&out).expect("json");
    let warnings = o["warnings"].to_string();
    assert!(warnings.contains("truncated"), "{warnings}");
    assert_eq!(o["go"]["version"], f.truth["go_version"]);
}

#[test]
fn wrong_executable_is_flagged() {
    let core_of = Fixture::load("go1.25");
    let other = Fixture::load("go1.27");
    let o = common::rootpath_json(&[
        core_of.core().as_os_str(),
        "--exe".as_ref(),
        other.exe().as_os_str(),
        "--json".as_ref(),
        "overview".as_ref(),
    ]);
    assert_eq!(
        o["executable"]["build_match"]["status"], "differs",
        "{}",
        o["executable"]
    );
    assert!(
        o["warnings"].to_string().contains("wrong executable"),
        "{}",
        o["warnings"]
    );
}

#[test]
fn missing_executable_named_by_the_core() {
    // The fixtures were made elsewhere: the path in NT_FILE does not exist here.
    let f = Fixture::load("go1.24");
    let named = f.truth_str("exe_path");
    assert!(
        !Path::new(named).exists(),
        "fixture exe path unexpectedly exists: {named}"
    );
    let o = common::rootpath_json(&[f.core().as_os_str(), "overview".as_ref(), "--json".as_ref()]);
    assert!(o["executable"].is_null());
    assert!(
        o["warnings"].to_string().contains(named),
        "{}",
        o["warnings"]
    );
    // Commands that need the program say how to give it.
    let (ok, _, err) = run(&[f.core().as_os_str(), "why".as_ref(), "0x1".as_ref()]);
    assert!(!ok);
    assert!(!err.is_empty());
}

#[test]
fn gzip_compressed_core_is_read() {
    let f = Fixture::load("go1.21");
    let gz = scratch("core.gz");
    {
        let out = fs::File::create(&gz).expect("create");
        let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        enc.write_all(&fs::read(f.core()).expect("core"))
            .expect("gzip");
        enc.finish().expect("finish");
    }
    let o = common::rootpath_json(&[
        gz.as_os_str(),
        "--exe".as_ref(),
        f.exe().as_os_str(),
        "overview".as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(o["file"]["compression"], serde_json::json!(["gzip"]));
    assert_eq!(o["go"]["version"], f.truth["go_version"]);
    assert_eq!(o["executable"]["build_match"]["status"], "matches");
}

/// Cores cut anywhere: every command answers (clearly partial) or refuses
/// clearly; nothing panics.
#[test]
fn cores_cut_anywhere_never_panic() {
    let f = Fixture::load("go1.22");
    let core = f.core();
    let exe = f.exe();
    let size = fs::metadata(&core).expect("core").len() as usize;
    for percent in [1, 5, 10, 25, 50, 75, 90, 99] {
        let cut = scratch(&format!("core-cut-{percent}"));
        write_prefix(&core, &cut, size * percent / 100);
        for command in ["overview", "histogram", "roots", "goroutines"] {
            let (ok, out, err) = run(&[
                cut.as_os_str(),
                "--exe".as_ref(),
                exe.as_os_str(),
                command.as_ref(),
            ]);
            if ok {
                assert!(!out.is_empty(), "{percent}% {command}: no output");
            } else {
                assert!(err.starts_with("rootpath: "), "{percent}% {command}: {err}");
            }
        }
    }
}

/// A core with corrupted heap memory (bytes flipped across every dumped
/// segment) never panics.
#[test]
fn corrupted_memory_never_panics() {
    let f = Fixture::load("go1.25");
    let mut bytes = fs::read(f.core()).expect("core");
    let start = bytes.len() / 20;
    let mut i = start;
    while i < bytes.len() {
        bytes[i] ^= 0xa5;
        i += 4093;
    }
    let bad = scratch("core-flipped");
    fs::write(&bad, &bytes).expect("write");
    for command in ["overview", "histogram", "roots", "goroutines"] {
        let (ok, _, err) = run(&[
            bad.as_os_str(),
            "--exe".as_ref(),
            f.exe().as_os_str(),
            command.as_ref(),
        ]);
        assert!(ok || err.starts_with("rootpath: "), "{command}: {err}");
    }
}

#[test]
fn non_go_core_is_refused_clearly() {
    let dir = common::fixtures_dir().join("nongo");
    let cache = common::repo_root().join("target").join("bad-input");
    fs::create_dir_all(&cache).expect("dir");
    let core = cache.join("nongo-core");
    let exe = cache.join("nongo-crash");
    for (src, dst) in [("core.zst", &core), ("crash.zst", &exe)] {
        let data = zstd::decode_all(fs::File::open(dir.join(src)).expect("fixture")).expect("zstd");
        fs::write(dst, data).expect("write");
    }
    let (ok, out, err) = run(&[
        core.as_os_str(),
        "--exe".as_ref(),
        exe.as_os_str(),
        "overview".as_ref(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("no Go build information"), "{out}");
    let (ok, _, err) = run(&[
        core.as_os_str(),
        "--exe".as_ref(),
        exe.as_os_str(),
        "histogram".as_ref(),
    ]);
    assert!(!ok);
    assert!(err.contains("is not a Go program"), "{err}");
    // Without the executable the core alone says so (issue #19), for every
    // command that needs the program.
    for command in ["top", "histogram", "why", "overview"] {
        let mut args: Vec<&std::ffi::OsStr> = vec![core.as_os_str(), command.as_ref()];
        if command == "why" {
            args.push("0xc000000000".as_ref());
        }
        let (ok, out, err) = run(&args);
        assert_eq!(ok, command == "overview", "{command}: {err}");
        let said = if ok { out } else { err };
        assert!(said.contains("not a Go program"), "{command}: {said}");
    }
}

/// An executable without DWARF is named as such; its core is still read
/// (objcopy rewrites only headers: the same build), naming how.
#[test]
fn executable_without_dwarf_is_explained() {
    let f = Fixture::load("go1.23");
    let stripped = scratch("scenarios-nodwarf");
    let status = std::process::Command::new("objcopy")
        .arg("--strip-debug")
        .arg(f.exe())
        .arg(&stripped)
        .status()
        .expect("objcopy (binutils) runs");
    assert!(status.success());
    let exe = rootpath::input::elf::Executable::open(&stripped).expect("stripped executable opens");
    assert!(!exe.has_dwarf());
    assert!(exe.build_info.is_some(), "Go build info survives stripping");
    let err = rootpath::input::dwarf::DwarfSections::load(&exe)
        .err()
        .expect("no DWARF is an error");
    assert!(err.to_string().contains("has no DWARF"), "{err}");
    let (ok, out, err) = run(&[
        f.core().as_os_str(),
        "--exe".as_ref(),
        stripped.as_os_str(),
        "histogram".as_ref(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("Names:     no DWARF"), "{out}");
}

#[test]
fn wrong_executable_is_refused_for_heap_commands() {
    let core_of = Fixture::load("go1.26");
    let other = Fixture::load("go1.25");
    let (ok, _, err) = run(&[
        core_of.core().as_os_str(),
        "--exe".as_ref(),
        other.exe().as_os_str(),
        "histogram".as_ref(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("is not the build that wrote this dump"),
        "{err}"
    );
}

/// The file offset of `addr` in a core's dumped memory (its PT_LOAD segments).
fn core_offset(core: &[u8], addr: u64) -> Option<usize> {
    let elf = goblin::elf::Elf::parse(core).expect("fixture core parses");
    elf.program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .find(|p| p.p_vaddr <= addr && addr < p.p_vaddr + p.p_filesz)
        .map(|p| (p.p_offset + addr - p.p_vaddr) as usize)
}

/// A copy of a fixture core with words of its memory replaced.
fn patched_core(f: &Fixture, name: &str, words: &[(u64, u64)]) -> std::path::PathBuf {
    let mut bytes = fs::read(f.core()).expect("core");
    for &(addr, value) in words {
        let at = core_offset(&bytes, addr).unwrap_or_else(|| panic!("{addr:#x} not dumped"));
        bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    let out = scratch(&format!("{}-{name}", f.version));
    fs::write(&out, &bytes).expect("write");
    out
}

fn truth_object<'a>(f: &'a Fixture, id: &str) -> &'a serde_json::Value {
    f.truth["objects"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["id"] == id))
        .unwrap_or_else(|| panic!("{}: truth has no object {id}", f.version))
}

fn truth_addr(o: &serde_json::Value) -> u64 {
    let s = o["addr"].as_str().expect("addr");
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex addr")
}

/// Issue #19: an allocation header (Go ≥1.22) pointing at a "type
/// descriptor" whose PtrBytes is huge once aborted every command on a
/// 2^52-byte allocation. The object's pointers are now unknown, with a
/// warning; everything else still answers.
#[test]
fn corrupt_type_descriptor_does_not_abort() {
    for version in ["go1.22", "go1.25", "go1.27"] {
        let f = Fixture::load(version);
        let array = truth_addr(truth_object(&f, "ptrs100_array"));
        // The header (the word before the object) points at the object
        // itself, read as an abi.Type: Size_ 16, PtrBytes 2^58.
        let bad = patched_core(
            &f,
            "huge-ptrbytes",
            &[(array - 8, array), (array, 16), (array + 8, 1 << 58)],
        );
        let global = truth_object(&f, "global_ptr");
        let root = global["root"]["name"].as_str().expect("root name");
        for command in ["overview", "top", "histogram", "roots", "goroutines"] {
            let (ok, _, err) = run(&[
                bad.as_os_str(),
                "--exe".as_ref(),
                f.exe().as_os_str(),
                command.as_ref(),
            ]);
            assert!(ok, "{version} {command}: {err}");
        }
        let (ok, out, err) = run(&[
            bad.as_os_str(),
            "--exe".as_ref(),
            f.exe().as_os_str(),
            "why".as_ref(),
            global["addr"].as_str().expect("addr").as_ref(),
        ]);
        assert!(ok, "{version}: {err}");
        assert!(out.contains(root), "{version}: {out}");
        assert!(err.contains("corrupt type descriptor"), "{version}: {err}");
    }
}

/// Dumped bytes the core's program headers declare past `len`.
fn missing_after_cut(core: &[u8], len: u64) -> u64 {
    let elf = goblin::elf::Elf::parse(core).expect("fixture core parses");
    elf.program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD)
        .map(|p| {
            let filesz = p.p_filesz.min(p.p_memsz);
            (p.p_offset + filesz).saturating_sub(len.max(p.p_offset))
        })
        .sum()
}

/// Issue #19: a supported core cut at 10, 50 or 90 % (ulimit -c, a full
/// disk) is refused as truncated, naming the mapping, never as a Go runtime
/// "laid out differently"; one missing only its last pages answers `top`
/// and `why` with one stderr warning that says how much is missing.
#[test]
fn truncated_core_names_the_truncation() {
    let f = Fixture::load("go1.25");
    let bytes = fs::read(f.core()).expect("core");
    let exe = f.exe();
    for percent in [10, 50, 90] {
        let len = bytes.len() * percent / 100;
        let cut = scratch(&format!("go1.25-cut-{percent}"));
        fs::write(&cut, &bytes[..len]).expect("write");
        for command in ["top", "histogram", "goroutines"] {
            let (ok, _, err) = run(&[
                cut.as_os_str(),
                "--exe".as_ref(),
                exe.as_os_str(),
                command.as_ref(),
            ]);
            assert!(!ok, "{percent}% {command}");
            assert!(
                err.contains("the core is truncated") && err.contains("mapping"),
                "{percent}% {command}: {err}"
            );
            assert!(!err.contains("laid out differently"), "{err}");
        }
    }
    // Only the last 1 % missing: the heap is read, and what is missing said once.
    let len = bytes.len() - bytes.len() / 100;
    let missing = missing_after_cut(&bytes, len as u64);
    assert!(missing > 0);
    let cut = scratch("go1.25-cut-tail");
    fs::write(&cut, &bytes[..len]).expect("write");
    let global = truth_object(&f, "global_ptr");
    let root = global["root"]["name"].as_str().expect("root name");
    let addr = global["addr"].as_str().expect("addr");
    for args in [vec!["top"], vec!["why", addr]] {
        let mut argv: Vec<&std::ffi::OsStr> = vec![cut.as_os_str(), "--exe".as_ref()];
        argv.push(exe.as_os_str());
        argv.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
        let (ok, out, err) = run(&argv);
        // The span records of the target may be among the bytes cut off.
        assert!(ok || args[0] == "why", "{args:?}: {err}");
        let notes: Vec<&str> = err.lines().filter(|l| l.contains("truncated")).collect();
        assert_eq!(notes.len(), 1, "{args:?}: {err}");
        assert!(
            notes[0].contains(&format!("{missing} dumped bytes")),
            "{args:?}: {missing} missing: {err}"
        );
        if ok && args[0] == "why" {
            assert!(out.contains(root), "{out}");
        } else if args[0] == "why" {
            assert!(err.contains("the dump is damaged"), "{err}");
        }
    }
    // overview: one truncation warning, none for mappings with nothing dumped.
    let o = common::rootpath_json(&[
        cut.as_os_str(),
        "--exe".as_ref(),
        exe.as_os_str(),
        "overview".as_ref(),
        "--json".as_ref(),
    ]);
    let warnings: Vec<String> = o["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.to_string())
        .collect();
    assert_eq!(
        warnings.iter().filter(|w| w.contains("truncated")).count(),
        1,
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("0 of 0")),
        "{warnings:?}"
    );
}

/// Issue #19: a profile of another process, sampled at another rate, once
/// replaced the dump's MemProfileRate=1 and turned exact counts into
/// estimates. The dump's rate and counts stay its own; the profile's rate
/// is reported as a mismatch and its figures stay under `profile`.
#[test]
fn profile_of_another_rate_does_not_change_the_dumps_figures() {
    let f = Fixture::load("go1.22");
    let other = Fixture::load("go1.22-sampled");
    let (own_rate, other_rate) = (
        &f.truth["mem_profile_rate"],
        &other.truth["mem_profile_rate"],
    );
    assert_ne!(own_rate, other_rate);
    let o = common::rootpath_json(&[
        f.core().as_os_str(),
        "--exe".as_ref(),
        f.exe().as_os_str(),
        "--heap".as_ref(),
        other.dir.join("heap.pprof").as_os_str(),
        "sites".as_ref(),
        "-n".as_ref(),
        "1000".as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(&o["sampling"]["rate"], own_rate, "{}", o["sampling"]);
    let check = &o["profile_check"];
    assert_eq!(check["verdict"], "mismatch");
    assert!(
        check["problems"]
            .to_string()
            .contains(&format!("one allocation per {other_rate} bytes")),
        "{check}"
    );
    for want in f.truth["sites"].as_array().expect("sites") {
        let function = want["function"].as_str().expect("function");
        let count = want["count"].as_u64().expect("count");
        let site = o["sites"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["site"] == function))
            .unwrap_or_else(|| panic!("{function} missing"));
        assert_eq!(site["live_objects"].as_u64(), Some(count), "{site}");
        assert_eq!(
            site["recorded"]["inuse_objects"].as_u64(),
            Some(count),
            "{site}"
        );
        assert!(site["estimated"].is_null(), "{site}");
    }
}

/// Issue #19: an input that is not what its flag expects is named by its flag.
#[test]
fn wrong_inputs_are_named_by_their_flag() {
    let f = Fixture::load("go1.25");
    let (core, exe) = (f.core(), f.exe());
    let text = scratch("flag-text");
    fs::write(&text, b"hello, this is text\n").expect("write");
    let dir = scratch("flag-dir");
    fs::create_dir_all(&dir).expect("dir");
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    // A text file as --exe: the executable is refused, not the dump.
    let (ok, _, err) = run(&[core.as_os_str(), os("--exe"), text.as_os_str(), os("top")]);
    assert!(!ok);
    assert!(
        err.contains("is not an executable") && err.contains("--exe") && !err.contains("core"),
        "{err}"
    );
    // A directory in each place.
    let cases: [(&str, Vec<&std::ffi::OsStr>); 3] = [
        ("DUMP", vec![dir.as_os_str(), os("top")]),
        (
            "--exe",
            vec![core.as_os_str(), os("--exe"), dir.as_os_str(), os("top")],
        ),
        (
            "--heap",
            vec![
                core.as_os_str(),
                os("--exe"),
                exe.as_os_str(),
                os("--heap"),
                dir.as_os_str(),
                os("sites"),
            ],
        ),
    ];
    for (flag, args) in cases {
        let (ok, _, err) = run(&args);
        assert!(!ok);
        assert!(
            err.contains(&format!("{flag} {}: is a directory", dir.display())),
            "{flag}: {err}"
        );
        assert!(!err.contains("os error 19"), "{err}");
    }
    // An unwritable TMPDIR while decompressing names TMPDIR, not the input.
    let (ok, _, err) = {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rootpath"))
            .env("TMPDIR", "/nonexistent")
            .env("XDG_CACHE_HOME", common::test_cache_dir())
            .args([
                f.compressed("core").as_os_str(),
                os("--exe"),
                exe.as_os_str(),
                os("overview"),
            ])
            .output()
            .expect("run");
        (
            out.status.success(),
            (),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(!ok);
    assert!(
        err.contains("TMPDIR") && err.contains("/nonexistent") && !err.contains("cannot read"),
        "{err}"
    );
}

/// Issue #19: every flag does what its help says or is refused with a
/// message naming it.
#[test]
fn flags_do_what_their_help_says_or_are_refused() {
    let f = Fixture::load("go1.25");
    let (core, exe) = (f.core(), f.exe());
    let os = |s: &str| std::ffi::OsString::from(s);
    let with = |args: &[&str]| -> Vec<std::ffi::OsString> {
        let mut v = vec![
            core.clone().into_os_string(),
            os("--exe"),
            exe.clone().into_os_string(),
        ];
        v.extend(args.iter().map(|a| os(a)));
        v
    };
    let go = |args: &[&str]| {
        let v = with(args);
        let refs: Vec<&std::ffi::OsStr> = v.iter().map(|a| a.as_os_str()).collect();
        run(&refs)
    };
    let json = |args: &[&str]| {
        let v = with(args);
        let refs: Vec<&std::ffi::OsStr> = v.iter().map(|a| a.as_os_str()).collect();
        common::rootpath_json(&refs)
    };
    let non_increasing = |v: &[u64]| v.windows(2).all(|w| w[0] >= w[1]);

    // top --group type --by count orders by retained objects.
    let o = json(&[
        "top", "--group", "type", "--by", "count", "-n", "30", "--json",
    ]);
    let counts: Vec<u64> = o["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["retained_objects"].as_u64().expect("count"))
        .collect();
    assert!(counts.len() > 2 && non_increasing(&counts), "{counts:?}");
    // top --by shallow orders by, and shows, shallow bytes.
    let o = json(&["top", "--by", "shallow", "-n", "30", "--json"]);
    let shallow: Vec<u64> = o["retainers"]
        .as_array()
        .expect("retainers")
        .iter()
        .map(|r| r["shallow_bytes"].as_u64().expect("shallow"))
        .collect();
    assert!(shallow.len() > 2 && non_increasing(&shallow), "{shallow:?}");
    let holders: Vec<u64> = o["holders"]
        .as_array()
        .expect("holders")
        .iter()
        .map(|h| h["shallow_bytes"].as_u64().expect("shallow"))
        .collect();
    assert!(holders.len() > 2 && non_increasing(&holders), "{holders:?}");
    assert_eq!(o["order"], "shallow");
    let (ok, out, err) = go(&["top", "--by", "shallow", "-n", "3"]);
    assert!(ok, "{err}");
    assert!(out.contains("shallow"), "{out}");
    let (ok, _, err) = go(&["top", "--group", "type", "--by", "shallow"]);
    assert!(!ok && err.contains("--by shallow"), "{err}");

    // --exclude applies to addresses; a type's values inside arrays of it count.
    let (ok, _, err) = go(&["why", "type:main.T", "--exclude", "X"]);
    assert!(!ok && err.contains("--exclude"), "{err}");
    let first = truth_object(&f, "pairs5000_first");
    assert_eq!(first["root"]["name"], "main.gPairs5k");
    let addr = first["addr"].as_str().expect("addr");
    for exclude in ["main.Pair", "main.Pair.p"] {
        // The truth: only gPairs5k's [5000]main.Pair holds it, through .p.
        let o = json(&["why", addr, "--exclude", exclude, "--json"]);
        assert_eq!(o["reachable"], false, "{exclude}: {o}");
    }
    let o = json(&["why", addr, "--json"]);
    assert_eq!(o["reachable"], true);

    // --paths 0 is refused, not read as 1.
    let (ok, _, err) = go(&["why", addr, "--paths", "0"]);
    assert!(!ok && err.contains("--paths"), "{err}");
    // --debug-dir must be a directory.
    let (ok, _, err) = go(&["--debug-dir", "/nonexistent", "top"]);
    assert!(!ok && err.contains("--debug-dir /nonexistent"), "{err}");
    // objects --type with no such type is an error, as why type: is.
    let (ok, _, err) = go(&["objects", "--type", "zzz-no-such-type"]);
    assert!(!ok && err.contains("--type"), "{err}");
    let (ok, out, err) = go(&["objects", "--type", "main.T", "-n", "5"]);
    assert!(ok && out.contains("main.T"), "{err}");
    // why --help offers only targets that work.
    let (ok, out, _) = go(&["why", "--help"]);
    assert!(ok && !out.contains("root name"), "{out}");
    // The command before the dump gets a hint.
    let (ok, _, err) = run(&["why".as_ref(), core.as_os_str(), addr.as_ref()]);
    assert!(
        !ok && err.contains("the dump comes before the command"),
        "{err}"
    );
}

/// Issue #19: every flag and argument has help text.
#[test]
fn every_flag_has_help() {
    use clap::CommandFactory;
    let cli = rootpath::cli::Cli::command();
    let mut missing = Vec::new();
    let mut check = |cmd: &clap::Command, path: &str| {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                missing.push(format!("{path} {id}"));
            }
        }
    };
    check(&cli, "rootpath");
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        check(sub, sub.get_name());
    }
    assert!(missing.is_empty(), "flags without help: {missing:?}");
}

/// Issue #19: a heap dump records no cleanups: `why` on an object held only
/// by one (the truth says which) is not declared plain garbage; the core,
/// which shows cleanups, finds the path. The dump's record counts are not
/// printed as a second, disagreeing `Heap:` / `Roots:` line.
#[test]
fn heap_dump_hedges_what_it_cannot_see() {
    let f = Fixture::load("go1.25");
    let held = f.truth["objects"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|o| o["root"]["kind"] == "cleanup" && o["path"] == serde_json::json!([]))
        })
        .expect("truth has an object held only by a cleanup");
    let addr = held["addr"].as_str().expect("addr");
    let (ok, out, err) = run(&[
        f.heap_dump().as_os_str(),
        "--exe".as_ref(),
        f.exe().as_os_str(),
        "why".as_ref(),
        addr.as_ref(),
    ]);
    assert!(ok, "{err}");
    assert!(!out.contains("the next GC frees it"), "{out}");
    assert!(out.contains("cleanups"), "{out}");
    let o = common::rootpath_json(&[
        f.heap_dump().as_os_str(),
        "--exe".as_ref(),
        f.exe().as_os_str(),
        "why".as_ref(),
        addr.as_ref(),
        "--json".as_ref(),
    ]);
    assert!(o["caveat"].to_string().contains("cleanups"), "{o}");
    let o = common::rootpath_json(&[
        f.core().as_os_str(),
        "--exe".as_ref(),
        f.exe().as_os_str(),
        "why".as_ref(),
        addr.as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(o["reachable"], true);
    assert_eq!(o["paths"][0]["root"]["kind"], "cleanup");
    assert!(o["caveat"].is_null());

    let (ok, out, err) = run(&[
        f.heap_dump().as_os_str(),
        "--exe".as_ref(),
        f.exe().as_os_str(),
        "overview".as_ref(),
    ]);
    assert!(ok, "{err}");
    for label in ["Heap:", "Roots:"] {
        assert_eq!(out.matches(label).count(), 1, "{label}: {out}");
    }
}

#[path = "../fuzz/core_mutations.rs"]
mod core_mutations;

/// Each input the `core` fuzz target found a problem with (fuzz/README.md),
/// applied to the fixture core it was found on, through every command:
/// answered or refused, never a panic or an abort.
#[test]
fn core_fuzz_regressions_never_panic() {
    let f = Fixture::load("go1.25");
    let base = fs::read(f.core()).expect("core");
    let layout = core_mutations::CoreLayout::of(&base).expect("layout");
    let dir = common::repo_root().join("fuzz/regressions/core");
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    inputs.sort();
    for input in inputs {
        let mut core = base.clone();
        let changed = layout.apply(&mut core, &fs::read(&input).expect("input"));
        assert!(!changed.is_empty(), "{}: changes nothing", input.display());
        let name = input
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let bad = scratch(&format!("fuzz-{name}"));
        fs::write(&bad, &core).expect("write");
        let addr = truth_object(&f, "global_ptr")["addr"]
            .as_str()
            .expect("addr");
        let exe = f.exe();
        for command in [
            vec!["overview"],
            vec!["top"],
            vec!["histogram"],
            vec!["roots"],
            vec!["goroutines"],
            vec!["sites"],
            vec!["why", addr],
            vec!["report"],
        ] {
            let mut args: Vec<&std::ffi::OsStr> =
                vec![bad.as_os_str(), "--exe".as_ref(), exe.as_os_str()];
            args.extend(command.iter().map(std::ffi::OsStr::new));
            let out = common::rootpath(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.code().is_some() && !err.contains("panicked"),
                "{name} {command:?}: {err}"
            );
            assert!(
                out.status.success() || err.contains("rootpath: "),
                "{name} {command:?}: {err}"
            );
        }
    }
}
