//! The persistent index answers exactly as the dump does: every command, in
//! text and JSON, on every fixture (core and heap dump), with and without
//! the index, byte for byte; and an index that is stale, truncated, damaged
//! or foreign is said to be so in one line and rebuilt, never trusted.

mod common;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::Fixture;

/// Every Go fixture (the matrix, the PIE build, stripped and sampled runs).
const FIXTURES: &[&str] = &[
    "go1.19",
    "go1.21",
    "go1.22",
    "go1.23",
    "go1.24",
    "go1.25",
    "go1.26",
    "go1.27",
    "go1.25-pie",
    "go1.19-stripped",
    "go1.22-stripped",
    "go1.25-stripped",
    "go1.27-stripped",
    "go1.22-sampled",
    "go1.27-sampled",
];

fn run(args: &[OsString]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rootpath"))
        .args(args)
        .output()
        .expect("run rootpath")
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// `DUMP --exe EXE ARGS… --no-index` or `… --index-dir DIR`.
fn with_index(input: &[OsString], args: &[OsString], dir: Option<&Path>) -> Output {
    let mut all = input.to_vec();
    all.extend_from_slice(args);
    match dir {
        Some(d) => all.extend([OsString::from("--index-dir"), d.as_os_str().into()]),
        None => all.push("--no-index".into()),
    }
    run(&all)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The commands of the equivalence check, with targets from the truth:
/// live objects (near and deep), a garbage object, a type (`main.T`, or
/// its untyped name where the input has no types), a site; in text and
/// JSON, or JSON alone.
fn commands(f: &Fixture, untyped: bool, text_too: bool) -> Vec<Vec<OsString>> {
    let objects = f.truth["objects"].as_array().expect("truth objects");
    let deep = objects
        .iter()
        .max_by_key(|o| o["depth"].as_u64().unwrap_or(0))
        .expect("an object");
    let addr = |o: &serde_json::Value| o["addr"].as_str().expect("addr").to_string();
    let garbage = addr(&f.truth["garbage"][0]);
    let site = f.truth["sites"][0]["function"].as_str().expect("site");
    let pprof = f.dir.join("heap.pprof");
    let pprof = pprof.to_str().expect("utf-8 path");
    let list: Vec<Vec<String>> = vec![
        vec!["report".into()],
        vec!["report".into(), "--heap".into(), pprof.into()],
        vec!["top".into()],
        vec!["top".into(), "--group".into(), "type".into()],
        vec!["why".into(), addr(&objects[0])],
        vec!["why".into(), addr(deep)],
        vec!["why".into(), garbage],
        vec![
            "why".into(),
            if untyped {
                "type:unknown (32 bytes)"
            } else {
                "type:main.T"
            }
            .into(),
        ],
        vec![
            "why".into(),
            format!("site:{site}"),
            "--heap".into(),
            pprof.into(),
        ],
        vec!["histogram".into()],
        vec!["objects".into(), "-n".into(), "40".into()],
        vec!["roots".into()],
        vec!["goroutines".into()],
        vec!["sites".into()],
        vec!["sites".into(), "--heap".into(), pprof.into()],
        vec!["overview".into()],
    ];
    let mut all = Vec::new();
    for c in list {
        let c: Vec<OsString> = c.into_iter().map(OsString::from).collect();
        let mut json = c.clone();
        json.push("--json".into());
        if text_too {
            all.push(c);
        }
        all.push(json);
    }
    all
}

/// Runs every command both ways on one input and compares; the first
/// command builds the index, the others reopen it.
fn check_equivalent(name: &str, input: &[OsString], commands: &[Vec<OsString>]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (i, args) in commands.iter().enumerate() {
        let plain = with_index(input, args, None);
        let indexed = with_index(input, args, Some(dir.path()));
        let shown = format!("{name} {args:?}");
        if !plain.status.success() {
            failures.push(format!(
                "{shown}: fails without the index: {}",
                text(&plain.stderr)
            ));
            continue;
        }
        let built = text(&indexed.stderr).contains("indexed this dump");
        if built != (i == 0) {
            failures.push(format!(
                "{shown}: built the index: {built}, expected only on the first command"
            ));
        }
        if plain.status.code() != indexed.status.code() || plain.stdout != indexed.stdout {
            failures.push(format!(
                "{shown}: answers differ with the index (status {:?} vs {:?}; stderr {})",
                plain.status.code(),
                indexed.status.code(),
                text(&indexed.stderr)
            ));
        }
        if plain.stdout.is_empty() {
            failures.push(format!("{shown}: printed nothing"));
        }
    }
    failures
}

fn core_input(f: &Fixture) -> Vec<OsString> {
    vec![f.core().into(), "--exe".into(), f.exe().into()]
}

fn dump_input(f: &Fixture) -> Vec<OsString> {
    vec![f.heap_dump().into(), "--exe".into(), f.exe().into()]
}

#[test]
fn every_command_answers_the_same_from_the_index_on_cores() {
    let mut failures = Vec::new();
    for v in FIXTURES {
        let f = Fixture::load(v);
        let commands = commands(&f, false, true);
        failures.extend(check_equivalent(
            &format!("{v} core"),
            &core_input(&f),
            &commands,
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Heap dumps in JSON (text renders the same documents, checked on cores
/// and on one heap dump), to keep the test cheap.
#[test]
fn every_command_answers_the_same_from_the_index_on_heap_dumps() {
    let mut failures = Vec::new();
    for v in FIXTURES {
        let f = Fixture::load(v);
        // A heap dump read with a stripped executable has no types.
        let commands = commands(&f, v.ends_with("stripped"), *v == "go1.25");
        let name = format!("{v} heap dump");
        failures.extend(check_equivalent(&name, &dump_input(&f), &commands));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A copy of go1.25's core and executable in a scratch directory, which
/// the checks below change.
struct Scratch {
    _dir: tempfile::TempDir,
    core: PathBuf,
    exe: PathBuf,
    index_dir: PathBuf,
}

fn scratch() -> Scratch {
    let f = Fixture::load("go1.25");
    let dir = tempfile::tempdir().expect("tempdir");
    let core = dir.path().join("core");
    let exe = dir.path().join("scenarios");
    fs::copy(f.core(), &core).expect("copy core");
    fs::copy(f.exe(), &exe).expect("copy exe");
    let index_dir = dir.path().join("index");
    Scratch {
        _dir: dir,
        core,
        exe,
        index_dir,
    }
}

impl Scratch {
    fn input(&self) -> Vec<OsString> {
        vec![
            self.core.clone().into(),
            "--exe".into(),
            self.exe.clone().into(),
        ]
    }

    fn top(&self, dir: Option<&Path>) -> Output {
        with_index(&self.input(), &os(&["top", "--json"]), dir)
    }

    fn index_file(&self) -> PathBuf {
        let files: Vec<PathBuf> = fs::read_dir(&self.index_dir)
            .expect("index dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1, "one index file, no temporaries: {files:?}");
        files[0].clone()
    }

    /// After `damage`, the next command says in one line why the index is
    /// not used and answers as without it; the one after reopens the new index.
    fn check_rebuilt(&self, what: &str, damage: impl FnOnce(&Path)) {
        let first = self.top(Some(&self.index_dir));
        assert!(first.status.success(), "{}", text(&first.stderr));
        damage(&self.index_file());
        let again = self.top(Some(&self.index_dir));
        let stderr = text(&again.stderr);
        let said: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("rebuilding"))
            .collect();
        assert_eq!(said.len(), 1, "{what}: one line saying so: {stderr}");
        assert!(said[0].contains(what), "{what}: {}", said[0]);
        assert_eq!(again.stdout, self.top(None).stdout, "{what}: same answer");
        let third = self.top(Some(&self.index_dir));
        let stderr = text(&third.stderr);
        assert!(
            !stderr.contains("rebuilding") && !stderr.contains("indexed"),
            "{what}: {stderr}"
        );
        assert_eq!(third.stdout, again.stdout);
    }
}

fn fingerprint(p: &Path) -> (Vec<u8>, std::time::SystemTime) {
    let meta = fs::metadata(p).expect("metadata");
    (fs::read(p).expect("read"), meta.modified().expect("mtime"))
}

#[test]
fn stale_truncated_damaged_and_foreign_indexes_are_rebuilt() {
    let s = scratch();
    let before = (fingerprint(&s.core), fingerprint(&s.exe));
    s.check_rebuilt("is truncated", |p| {
        let len = fs::metadata(p).expect("index").len();
        fs::OpenOptions::new()
            .write(true)
            .open(p)
            .expect("open")
            .set_len(len / 2)
            .expect("truncate");
    });
    s.check_rebuilt("is damaged", |p| {
        let mut b = fs::read(p).expect("index");
        // A byte of the section table.
        b[100] ^= 0x40;
        fs::write(p, b).expect("write");
    });
    s.check_rebuilt("is not an index", |p| {
        fs::write(p, b"not an index at all").expect("write");
    });
    s.check_rebuilt("format version", |p| {
        let mut b = fs::read(p).expect("index");
        b[8] = b[8].wrapping_add(1);
        fs::write(p, b).expect("write");
    });
    // Writing indexes changed neither input.
    assert!(
        before == (fingerprint(&s.core), fingerprint(&s.exe)),
        "inputs modified"
    );
    // The dump touched (a new modification time), then changed in content.
    s.check_rebuilt("is stale", |_| {
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        let f = fs::OpenOptions::new()
            .write(true)
            .open(&s.core)
            .expect("core");
        f.set_modified(later).expect("touch");
    });
    s.check_rebuilt("is stale", |_| {
        let mut b = fs::read(&s.exe).expect("exe");
        // Past the executable's headers: only the content hash differs if
        // the size did not; append so that both do.
        b.extend_from_slice(&[0; 16]);
        fs::write(&s.exe, b).expect("write");
    });
}

#[test]
fn an_unwritable_index_directory_means_no_index_not_an_error() {
    let s = scratch();
    // A directory path under a regular file cannot be created, even by root
    // (a directory without write permission would be, by root).
    let blocked = s.core.join("index");
    let out = s.top(Some(&blocked));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no index written"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.stdout, s.top(None).stdout);
    // `index` itself, asked to write there, is an error naming the place.
    let mut args = s.input();
    args.extend(os(&["index", "--index-dir"]));
    args.push(blocked.clone().into());
    let out = run(&args);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(&blocked.display().to_string()),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_index_command_reports_the_file_it_wrote() {
    let s = scratch();
    let mut args = s.input();
    args.extend(os(&["index", "--json", "--index-dir"]));
    args.push(s.index_dir.clone().into());
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let file = s.index_file();
    assert_eq!(doc["path"], file.display().to_string());
    assert_eq!(doc["bytes"], fs::metadata(&file).expect("index").len());
    // Its object count is the heap's (overview counts the dump itself).
    let ov = with_index(&s.input(), &os(&["overview", "--json"]), None);
    let ov: serde_json::Value = serde_json::from_slice(&ov.stdout).expect("json");
    assert_eq!(doc["objects"], ov["heap"]["objects"], "{ov}");
}
