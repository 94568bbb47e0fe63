//! Fixture access for integration tests: the committed, zstd-compressed
//! fixtures under testdata/fixtures/goX.Y/ are decompressed once into
//! target/fixture-cache/ and handed out as paths, with the program's truth.json.
#![allow(dead_code)]

pub mod go_pprof;
pub mod growth;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rootpath::input::goruntime::GoVersion;

/// The Go versions the corpus must cover.
pub const MATRIX: &[&str] = &[
    "go1.19", "go1.21", "go1.22", "go1.23", "go1.24", "go1.25", "go1.26", "go1.27",
];

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures_dir() -> PathBuf {
    repo_root().join("testdata").join("fixtures")
}

fn cache_dir() -> PathBuf {
    // CARGO_TARGET_DIR may move target/; tests only need a stable scratch place.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("fixture-cache")
}

pub struct Fixture {
    pub version: &'static str,
    pub dir: PathBuf,
    pub truth: serde_json::Value,
}

impl Fixture {
    pub fn load(version: &'static str) -> Fixture {
        let src = fixtures_dir().join(version);
        let truth_path = src.join("truth.json");
        let truth_text = fs::read_to_string(&truth_path)
            .unwrap_or_else(|e| panic!("{}: {e}", truth_path.display()));
        let truth = serde_json::from_str(&truth_text)
            .unwrap_or_else(|e| panic!("{}: {e}", truth_path.display()));
        Fixture {
            version,
            dir: src,
            truth,
        }
    }

    /// Path to a fixture file, decompressing `NAME.zst` into the cache on first use.
    pub fn file(&self, name: &str) -> PathBuf {
        let plain = self.dir.join(name);
        if plain.exists() {
            return plain;
        }
        let compressed = self.dir.join(format!("{name}.zst"));
        let out_dir = cache_dir().join(self.version);
        let out = out_dir.join(name);
        if is_fresh(&out, &compressed) {
            return out;
        }
        fs::create_dir_all(&out_dir).expect("create fixture cache");
        decompress_atomically(&compressed, &out)
            .unwrap_or_else(|e| panic!("decompress {}: {e}", compressed.display()));
        out
    }

    pub fn core(&self) -> PathBuf {
        self.file("core")
    }
    pub fn exe(&self) -> PathBuf {
        self.file("scenarios")
    }
    pub fn heap_dump(&self) -> PathBuf {
        self.file("heap.dump")
    }
    pub fn compressed(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.zst"))
    }

    pub fn truth_str(&self, key: &str) -> &str {
        self.truth[key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: truth.json has no string {key}", self.version))
    }
}

fn is_fresh(out: &Path, compressed: &Path) -> bool {
    match (fs::metadata(out), fs::metadata(compressed)) {
        (Ok(o), Ok(c)) => match (o.modified(), c.modified()) {
            (Ok(om), Ok(cm)) => om >= cm,
            _ => false,
        },
        _ => false,
    }
}

/// Parallel tests may race for the same file: each writes its own temporary
/// and renames it into place, so readers never see a half-written file.
fn decompress_atomically(compressed: &Path, out: &Path) -> io::Result<()> {
    let input = fs::File::open(compressed)?;
    let tmp = out.with_extension(format!(
        "tmp.{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    {
        let mut writer = io::BufWriter::new(fs::File::create(&tmp)?);
        let mut decoder = zstd::stream::read::Decoder::new(input)?;
        decoder.window_log_max(31)?;
        io::copy(&mut decoder, &mut writer)?;
        io::Write::flush(&mut writer)?;
    }
    let perms = fs::metadata(compressed)?.permissions();
    fs::set_permissions(&tmp, perms)?;
    fs::rename(&tmp, out)
}

/// Every fixture of the matrix; a missing version fails the calling test.
pub fn all() -> Vec<Fixture> {
    MATRIX.iter().map(|v| Fixture::load(v)).collect()
}

/// Builds beyond the version matrix: a position-independent executable.
pub const VARIANTS: &[&str] = &["go1.25-pie"];

/// The matrix and the variant builds.
pub fn all_builds() -> Vec<Fixture> {
    MATRIX
        .iter()
        .chain(VARIANTS)
        .map(|v| Fixture::load(v))
        .collect()
}

pub fn rootpath(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootpath"))
        // Indexes the commands write go under target/, not the user's cache.
        .env("XDG_CACHE_HOME", test_cache_dir())
        .args(args)
        .output()
        .expect("run rootpath")
}

/// Where the tests' rootpath runs keep their indexes (the default location is the
/// user's cache directory, which a test run should not fill).
pub fn test_cache_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache")
}

/// Runs rootpath and parses its stdout as JSON, failing with stderr shown.
pub fn rootpath_json(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = rootpath(args);
    assert!(
        out.status.success(),
        "rootpath {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "rootpath {:?}: stdout is not JSON ({e}): {}",
            args,
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Go's size classes (runtime/sizeclasses.go, identical in 1.19–1.27).
pub const SIZE_CLASSES: [u64; 68] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
    352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
    2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
    10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672,
    32768,
];
pub const PAGE: u64 = 8192;

/// Bytes a truth.json structure's objects take, from the sizes the program recorded.
pub fn structure_bytes(f: &Fixture, structure: &serde_json::Value) -> u64 {
    let version = GoVersion::parse(f.truth_str("go_version")).expect("version");
    structure["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            o["count"].as_u64().expect("count")
                * expected_size(
                    version,
                    o["size"].as_u64().expect("size"),
                    o["has_pointers"] == true,
                )
        })
        .sum()
}

/// The size Go reports for an object of `requested` bytes: its slot less the
/// allocation header that Go ≥1.22 puts before pointerful objects over 512 bytes.
pub fn expected_size(version: GoVersion, requested: u64, has_pointers: bool) -> u64 {
    const MAX_SMALL: u64 = 32768;
    let header = if version.at_least(22) && has_pointers && requested > 512 {
        8
    } else {
        0
    };
    if requested > MAX_SMALL - header {
        // Large objects have a span of their own and no header (mallocgc).
        return requested.div_ceil(PAGE) * PAGE;
    }
    let need = requested.max(1) + header;
    *SIZE_CLASSES
        .iter()
        .find(|&&c| c >= need)
        .unwrap_or(&MAX_SMALL)
        - header
}

/// Objects whose type no core can reveal: nothing typed refers to them, and
/// the runtime keeps no type for small objects. rootpath must leave them
/// untyped rather than guess.
pub fn untypeable(id: &str, version: GoVersion) -> Option<&'static str> {
    match id {
        "unsafe_pointer" | "interior_struct" | "interior_struct_p" | "interior_bytes" => {
            Some("reached only through unsafe.Pointer or interior pointers")
        }
        // The closure reads only len(s): its DWARF does not describe s.
        "closure_s_array" | "closure_s_elem1" => Some("captured variable absent from DWARF"),
        "cleanup_arg" => Some("captured by the runtime's generic AddCleanup closure"),
        "global_func_captured"
        | "closure_p"
        | "any_closure_q"
        | "defer_p"
        | "finalizer_captured"
            if !version.at_least(23) =>
        {
            Some("closure captures have DWARF offsets only from Go 1.23")
        }
        _ => None,
    }
}

/// `untypeable` for a core: its allocation call sites (every allocation
/// is sampled in the fixtures) type what no reference describes.
pub fn untypeable_in_core(id: &str, version: GoVersion) -> Option<&'static str> {
    match id {
        "closure_p" if !version.at_least(23) => Some(
            "closure captures have DWARF offsets only from Go 1.23; no sampled call site names it",
        ),
        _ => None,
    }
}

/// `rootpath CORE --exe EXE --json ARGS…` on a fixture, parsed.
pub fn core_json(f: &Fixture, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    with_core_args(f, &all, |a| rootpath_json(a))
}

/// Runs rootpath on the fixture's core and executable with `args`, whatever
/// its exit status.
pub fn core_output(f: &Fixture, args: &[&str]) -> Output {
    with_core_args(f, args, |a| rootpath(a))
}

fn with_core_args<T>(f: &Fixture, args: &[&str], run: impl Fn(&[&std::ffi::OsStr]) -> T) -> T {
    let core = f.core();
    let exe = f.exe();
    let mut all: Vec<&std::ffi::OsStr> = vec![core.as_os_str(), "--exe".as_ref(), exe.as_os_str()];
    all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
    run(&all)
}

/// The object the program recorded as `o` (a truth.json object), checked to
/// start at its address with its slot size; tiny allocations share a 16-byte
/// block, which is the object.
pub fn find_recorded(
    objects: &rootpath::model::Objects,
    o: &serde_json::Value,
    version: GoVersion,
    label: &str,
) -> rootpath::model::ObjectId {
    let addr = u64::from_str_radix(
        o["addr"].as_str().expect("addr").trim_start_matches("0x"),
        16,
    )
    .expect("hex addr");
    let size = o["size"].as_u64().expect("size");
    let ptrs = o["has_pointers"].as_bool().expect("has_pointers");
    let id = objects
        .find(addr)
        .unwrap_or_else(|| panic!("{label}: {} at {addr:#x} not found", o["id"]));
    if size < 16 && !ptrs {
        assert_eq!(objects.size(id), 16, "{label}: {}", o["id"]);
    } else {
        assert_eq!(
            objects.addr(id),
            addr,
            "{label}: {} starts elsewhere",
            o["id"]
        );
        assert_eq!(
            objects.size(id),
            expected_size(version, size, ptrs),
            "{label}: {} ({} of {size} bytes)",
            o["id"],
            o["type"]
        );
    }
    id
}
