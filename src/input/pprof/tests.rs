//! Tests against the real profiles of the fixture corpus (written by the Go
//! toolchains with `runtime.MemProfileRate = 1`, so proto values are not
//! scaled and equal the text's raw counts) and against hand-made bad input.

use std::io::Write;
use std::path::{Path, PathBuf};

use prost::Message;
use serde::Deserialize;

use super::proto::{Function, Label, Line, Location, Profile, Sample, ValueType};
use super::*;

/// Every fixture directory with heap profiles.
const VERSIONS: &[&str] = &[
    "go1.19",
    "go1.21",
    "go1.22",
    "go1.23",
    "go1.24",
    "go1.25",
    "go1.25-pie",
    "go1.26",
    "go1.27",
];

#[derive(Deserialize)]
struct Truth {
    go_version: String,
    mem_profile_rate: i64,
    sites: Vec<Site>,
}

#[derive(Deserialize)]
struct Site {
    function: String,
    file: String,
    line: u32,
    count: i64,
    size: i64,
    has_pointers: bool,
    /// The function `function` is inlined into, if it is.
    #[serde(default)]
    inlined_into: Option<String>,
}

fn fixture(version: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fixtures")
        .join(version)
}

fn truth(version: &str) -> Truth {
    let bytes = std::fs::read(fixture(version).join("truth.json")).expect("truth.json");
    serde_json::from_slice(&bytes).expect("truth.json parses")
}

fn go_minor(go_version: &str) -> u32 {
    go_version
        .strip_prefix("go1.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|minor| minor.parse().ok())
        .expect("go version like go1.NN.P")
}

/// The heap slot an object of `size` bytes gets (runtime/sizeclasses.go,
/// the same table in Go 1.19–1.27): small objects round up to a size class,
/// after an 8-byte allocation header for objects with pointers larger than
/// 512 bytes (Go ≥ 1.22); large objects round up to whole 8 KiB pages.
fn slot_size(size: i64, has_pointers: bool, minor: u32) -> i64 {
    const CLASS_TO_SIZE: [i64; 68] = [
        0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
        320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536,
        1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192,
        9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576,
        27264, 28672, 32768,
    ];
    if size > 32768 {
        return (size + 8191) / 8192 * 8192;
    }
    let header = if minor >= 22 && has_pointers && size > 512 {
        8
    } else {
        0
    };
    let want = size + header;
    *CLASS_TO_SIZE
        .iter()
        .find(|&&class| class >= want)
        .expect("fixture sites are small or large, not in between")
}

/// The samples whose innermost frame is `site`.
fn site_samples<'a>(profile: &'a HeapProfile, site: &Site) -> Vec<&'a ProfileSample> {
    profile
        .samples
        .iter()
        .filter(|s| {
            s.frames.first().is_some_and(|f| {
                f.function == site.function
                    && f.line == site.line
                    && (f.file == site.file || f.file.ends_with(&format!("/{}", site.file)))
            })
        })
        .collect()
}

/// (function, file, line) of each frame: what both formats must agree on.
fn source_frames(sample: &ProfileSample) -> Vec<(&str, &str, u32)> {
    sample
        .frames
        .iter()
        .map(|f| (f.function.as_str(), f.file.as_str(), f.line))
        .collect()
}

#[test]
fn fixture_profiles_hold_every_site_in_both_formats() {
    for version in VERSIONS {
        let dir = fixture(version);
        let truth = truth(version);
        let minor = go_minor(&truth.go_version);
        let proto = read_heap_profile(&dir.join("heap.pprof")).expect("heap.pprof reads");
        let text = read_heap_profile(&dir.join("heap.txt.zst")).expect("heap.txt.zst reads");

        assert_eq!(proto.format, ProfileFormat::Proto, "{version}");
        assert_eq!(text.format, ProfileFormat::LegacyText, "{version}");
        assert!(proto.scaled && !text.scaled, "{version}");
        // Both formats carry MemProfileRate (the text as twice it).
        assert_eq!(proto.period, truth.mem_profile_rate, "{version}");
        assert_eq!(text.period, truth.mem_profile_rate, "{version}");
        // WriteHeapProfile is the "heap" profile: no default sample type.
        assert_eq!(proto.default_sample_type, None, "{version}");
        assert!(proto.time_nanos.is_some(), "{version}");
        assert!(!proto.mappings.is_empty(), "{version}");

        assert!(!truth.sites.is_empty(), "{version}");
        for site in &truth.sites {
            let slot = slot_size(site.size, site.has_pointers, minor);
            let what = format!("{version} {} line {}", site.function, site.line);
            for profile in [&proto, &text] {
                let samples = site_samples(profile, site);
                assert!(
                    !samples.is_empty(),
                    "{what}: no {:?} sample",
                    profile.format
                );
                let objects: i64 = samples.iter().map(|s| s.inuse_objects).sum();
                assert_eq!(objects, site.count, "{what} {:?}", profile.format);
                for s in &samples {
                    assert_eq!(s.object_size, Some(slot), "{what} {:?}", profile.format);
                    assert_eq!(s.inuse_bytes, s.inuse_objects * slot, "{what}");
                    // Everything allocated is still referenced by its global.
                    assert_eq!(s.alloc_objects, s.inuse_objects, "{what}");
                    assert_eq!(s.alloc_bytes, s.inuse_bytes, "{what}");
                }
                if let Some(caller) = &site.inlined_into {
                    assert!(
                        samples
                            .iter()
                            .all(|s| s.frames.get(1).is_some_and(|f| &f.function == caller)),
                        "{what}: not inlined into {caller} in {:?}",
                        profile.format
                    );
                }
            }
        }
    }
}

/// The proto and text samples of each site describe the same stack: the
/// same source frames, and the proto's locations are the text's PCs minus
/// one, once the text's hidden runtime PCs are skipped, each location taking
/// as many PCs as it has frames (an inlined run is one location).
///
/// A site can have several samples: buckets whose stacks differ only in
/// leading runtime PCs (Go 1.27 records some small allocations with
/// `runtime.mallocgcSmallScanNoHeaderSC6` on top, others without) are
/// separate records in both formats, although the proto's hide those PCs.
/// Samples of the two formats are paired by their counts.
#[test]
fn proto_locations_are_the_texts_pcs() {
    for version in VERSIONS {
        let dir = fixture(version);
        let truth = truth(version);
        let proto = read_heap_profile(&dir.join("heap.pprof")).expect("heap.pprof reads");
        let text = read_heap_profile(&dir.join("heap.txt.zst")).expect("heap.txt.zst reads");
        for site in &truth.sites {
            let what = format!("{version} {}", site.function);
            let proto_samples = site_samples(&proto, site);
            let text_samples = site_samples(&text, site);
            assert_eq!(proto_samples.len(), text_samples.len(), "{what}");
            for t in text_samples {
                let counts = |s: &ProfileSample| (s.inuse_objects, s.inuse_bytes);
                let [p] = proto_samples
                    .iter()
                    .filter(|p| counts(p) == counts(t))
                    .collect::<Vec<_>>()[..]
                else {
                    panic!(
                        "{what}: no single proto sample with the counts {:?}",
                        counts(t)
                    );
                };
                check_same_stack(&what, p, t, site);
            }
        }
    }
}

fn check_same_stack(what: &str, p: &ProfileSample, t: &ProfileSample, site: &Site) {
    assert_eq!(source_frames(p), source_frames(t), "{what}");
    assert!(p.raw_pcs.is_empty(), "{what}");
    assert_eq!(t.raw_pcs.len(), t.location_addresses.len(), "{what}");

    // The text shows frames from the first non-runtime PC on.
    let first = t.frames[0].address;
    let hidden = t
        .location_addresses
        .iter()
        .position(|&a| a == first)
        .unwrap_or_else(|| panic!("{what}: first frame's PC is not in the @ list"));
    assert_eq!(t.raw_pcs[hidden] - 1, first, "{what}");
    assert_eq!(p.location_addresses[0], first, "{what}");

    // Frames of one location share its address: group them.
    let mut per_location: Vec<usize> = Vec::new();
    for (i, frame) in p.frames.iter().enumerate() {
        if i > 0 && frame.address == p.frames[i - 1].address {
            *per_location.last_mut().unwrap() += 1;
        } else {
            per_location.push(1);
        }
    }
    assert_eq!(per_location.len(), p.location_addresses.len(), "{what}");
    let mut pc = hidden;
    for (location, &frames) in p.location_addresses.iter().zip(&per_location) {
        assert_eq!(
            t.raw_pcs[pc] - 1,
            *location,
            "{what}: location {location:#x}"
        );
        // Each text frame is its own PC minus 1, inlined or not.
        for k in 0..frames {
            assert_eq!(
                t.frames[pc - hidden + k].address,
                t.raw_pcs[pc + k] - 1,
                "{what}"
            );
        }
        pc += frames;
    }
    // What is left is runtime.goexit, which the proto drops.
    assert_eq!(t.raw_pcs.len(), pc + 1, "{what}");

    if site.inlined_into.is_some() {
        // The inlined site and its caller are one location, and so the
        // proto's addresses and the text's PCs no longer line up index by
        // index after it.
        assert_eq!(per_location[0], 2, "{what}");
        assert_ne!(p.location_addresses[1], t.raw_pcs[hidden + 1] - 1, "{what}");
    } else {
        assert_eq!(per_location[0], 1, "{what}");
    }
}

#[test]
fn heap_profile_from_memory_matches_the_file() {
    let path = fixture("go1.25").join("heap.pprof");
    let bytes = std::fs::read(&path).unwrap();
    let from_memory = parse_heap_profile(&path, &bytes).unwrap();
    assert_eq!(from_memory, read_heap_profile(&path).unwrap());

    // The same profile not gzip'd reads the same.
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut raw).unwrap();
    assert_eq!(parse_heap_profile(&path, &raw).unwrap(), from_memory);
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file() {
    let path = fixture("go1.25").join("heap.pprof");
    let bytes = std::fs::read(&path).unwrap();
    let cut = &bytes[..bytes.len() / 2];
    let err = parse_heap_profile(Path::new("cut.pprof"), cut).unwrap_err();
    assert!(matches!(err, Error::Decompress { .. }), "{err}");
    assert!(err.to_string().contains("cut.pprof"), "{err}");

    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(cut).unwrap();
    let err = read_heap_profile(file.path()).unwrap_err();
    assert!(
        err.to_string().contains(&file.path().display().to_string()),
        "{err}"
    );
}

/// Any truncation or corruption of a real profile is read or rejected,
/// never a panic.
#[test]
fn damaged_profiles_never_panic() {
    let path = fixture("go1.25").join("heap.pprof");
    let gz = std::fs::read(&path).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
    let text = {
        let compressed = std::fs::read(fixture("go1.25").join("heap.txt.zst")).unwrap();
        zstd::decode_all(&compressed[..]).unwrap()
    };
    for input in [&raw, &text] {
        for i in 0..300 {
            let at = input.len() * i / 300;
            let _ = parse_heap_profile(&path, &input[..at]);
            let mut flipped = input.clone();
            flipped[at] ^= 0x5a;
            let _ = parse_heap_profile(&path, &flipped);
        }
    }
}

#[test]
fn garbage_is_not_a_profile() {
    let inputs: [&[u8]; 5] = [
        b"",
        b"hello, world\n",
        &[0xff; 64],
        b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x04\0",
        b"go1.7 heap dump\n",
    ];
    for input in inputs {
        let err = parse_heap_profile(Path::new("junk"), input).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("junk: "), "{msg}");
        assert!(msg.contains("heap profile"), "{msg}");
    }
}

/// A string table and a builder for hand-made profiles.
#[derive(Default)]
struct Strings(Vec<String>);

impl Strings {
    fn new() -> Self {
        Strings(vec![String::new()])
    }
    fn id(&mut self, s: &str) -> i64 {
        let at = self.0.iter().position(|t| t == s).unwrap_or_else(|| {
            self.0.push(s.to_string());
            self.0.len() - 1
        });
        at as i64
    }
    fn table(self) -> Vec<Vec<u8>> {
        self.0.into_iter().map(String::into_bytes).collect()
    }
}

/// A profile with one sample at `main.leaf` (inlined into `main.caller`)
/// called from `main.main`, with the given sample types and values.
fn hand_made(types: &[(&str, &str)], values: Vec<i64>) -> Profile {
    let mut s = Strings::new();
    let sample_type = types
        .iter()
        .map(|(t, u)| ValueType {
            r#type: s.id(t),
            unit: s.id(u),
        })
        .collect();
    let function = |id, name: &str, s: &mut Strings| Function {
        id,
        name: s.id(name),
        system_name: s.id(name),
        filename: s.id("app/x.go"),
        start_line: 1,
    };
    let functions = vec![
        function(1, "main.leaf", &mut s),
        function(2, "main.caller", &mut s),
        function(3, "main.main", &mut s),
    ];
    let line = |function_id, line| Line {
        function_id,
        line,
        column: 0,
    };
    let bytes_key = s.id("bytes");
    Profile {
        sample_type,
        sample: vec![Sample {
            location_id: vec![10, 20],
            value: values,
            label: vec![Label {
                key: bytes_key,
                str: 0,
                num: 48,
                num_unit: 0,
            }],
        }],
        location: vec![
            Location {
                id: 10,
                mapping_id: 0,
                address: 0x1000,
                line: vec![line(1, 5), line(2, 9)],
                is_folded: false,
            },
            Location {
                id: 20,
                mapping_id: 0,
                address: 0x2000,
                line: vec![line(3, 30)],
                is_folded: false,
            },
        ],
        function: functions,
        period: 512 * 1024,
        string_table: s.table(),
        ..Profile::default()
    }
}

const HEAP_TYPES: [(&str, &str); 4] = [
    ("alloc_objects", "count"),
    ("alloc_space", "bytes"),
    ("inuse_objects", "count"),
    ("inuse_space", "bytes"),
];

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn hand_made_heap_profile_resolves_inlined_frames() {
    let profile = hand_made(&HEAP_TYPES, vec![7, 336, 3, 144]);
    let got = parse_heap_profile(Path::new("h"), &gzip(&profile.encode_to_vec())).unwrap();
    assert_eq!(got.period, 512 * 1024);
    let [sample] = &got.samples[..] else {
        panic!("one sample")
    };
    let frames: Vec<_> = sample
        .frames
        .iter()
        .map(|f| (f.function.as_str(), f.line, f.address))
        .collect();
    assert_eq!(
        frames,
        [
            ("main.leaf", 5, 0x1000),
            ("main.caller", 9, 0x1000),
            ("main.main", 30, 0x2000)
        ]
    );
    assert_eq!(sample.location_addresses, [0x1000, 0x2000]);
    assert_eq!(
        (
            sample.alloc_objects,
            sample.alloc_bytes,
            sample.inuse_objects,
            sample.inuse_bytes
        ),
        (7, 336, 3, 144)
    );
    assert_eq!(sample.object_size, Some(48));

    // An allocs profile is the same data with another default.
    let mut allocs = profile.clone();
    let mut s = Strings(
        allocs
            .string_table
            .iter()
            .map(|b| String::from_utf8(b.clone()).unwrap())
            .collect(),
    );
    allocs.default_sample_type = s.id("alloc_space");
    allocs.string_table = s.table();
    let got = parse_heap_profile(Path::new("a"), &allocs.encode_to_vec()).unwrap();
    assert_eq!(got.default_sample_type.as_deref(), Some("alloc_space"));
}

#[test]
fn cpu_profile_is_not_a_heap_profile() {
    let cpu = hand_made(
        &[("samples", "count"), ("cpu", "nanoseconds")],
        vec![3, 30_000_000],
    );
    let err = parse_heap_profile(Path::new("cpu.pprof"), &gzip(&cpu.encode_to_vec())).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cpu.pprof"), "{msg}");
    assert!(msg.contains("not a heap profile"), "{msg}");
    assert!(msg.contains("samples/count, cpu/nanoseconds"), "{msg}");
    assert!(msg.contains("CPU profile"), "{msg}");
    assert!(msg.contains("/debug/pprof/heap"), "{msg}");

    let goroutine = hand_made(&[("goroutine", "count")], vec![1]);
    let msg = parse_heap_profile(Path::new("g"), &goroutine.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("goroutine profile"), "{msg}");
}

#[test]
fn dangling_ids_and_indices_are_errors() {
    let mut p = hand_made(&HEAP_TYPES, vec![1, 48, 1, 48]);
    p.sample[0].location_id.push(99);
    let msg = parse_heap_profile(Path::new("h"), &p.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("location id 99"), "{msg}");

    let mut p = hand_made(&HEAP_TYPES, vec![1, 48, 1, 48]);
    p.location[1].line[0].function_id = 42;
    let msg = parse_heap_profile(Path::new("h"), &p.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("function id 42"), "{msg}");

    let mut p = hand_made(&HEAP_TYPES, vec![1, 48, 1, 48]);
    p.function[0].name = 1000;
    let msg = parse_heap_profile(Path::new("h"), &p.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("string 1000"), "{msg}");

    let mut p = hand_made(&HEAP_TYPES, vec![1, 48, 1, 48]);
    p.sample_type[0].unit = -1;
    assert!(parse_heap_profile(Path::new("h"), &p.encode_to_vec()).is_err());

    let mut p = hand_made(&HEAP_TYPES, vec![1, 48, 1, 48]);
    p.sample[0].value.pop();
    let msg = parse_heap_profile(Path::new("h"), &p.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("3 values for 4 sample types"), "{msg}");

    let mut p = hand_made(&HEAP_TYPES, vec![1, 48, 1, 48]);
    p.location[0].line[0].line = -4;
    assert!(parse_heap_profile(Path::new("h"), &p.encode_to_vec()).is_err());
}

#[test]
fn legacy_text_records_and_frames() {
    let text = "heap profile: 3: 144 [7: 336] @ heap/1048576\n\
                3: 144 [7: 336] @ 0x4822e5 0x401001 0x402002 0x47f6e1\n\
                #\t0x401000\tmain.(*List[...]).Push+0x40\t/src/my app/x.go:12\n\
                #\t0x402001\n\
                \n\
                # runtime.MemStats\n\
                # Alloc = 1\n";
    let got = parse_heap_profile(Path::new("t"), text.as_bytes()).unwrap();
    assert_eq!(got.format, ProfileFormat::LegacyText);
    assert_eq!(got.period, 524288);
    let [s] = &got.samples[..] else {
        panic!("one sample")
    };
    assert_eq!(
        (
            s.inuse_objects,
            s.inuse_bytes,
            s.alloc_objects,
            s.alloc_bytes
        ),
        (3, 144, 7, 336)
    );
    assert_eq!(s.object_size, Some(48));
    assert_eq!(s.raw_pcs, [0x4822e5, 0x401001, 0x402002, 0x47f6e1]);
    assert_eq!(
        s.location_addresses,
        [0x4822e4, 0x401000, 0x402001, 0x47f6e0]
    );
    assert_eq!(
        s.frames,
        [
            ProfileFrame {
                function: "main.(*List[...]).Push".into(),
                file: "/src/my app/x.go".into(),
                line: 12,
                address: 0x401000
            },
            ProfileFrame {
                function: String::new(),
                file: String::new(),
                line: 0,
                address: 0x402001
            },
        ]
    );
}

#[test]
fn bad_legacy_text_is_an_error_with_its_line() {
    let cases = [
        (
            "heap profile: 1: 2 [3: 4] @ heap/2\nnot a record\n",
            "line 2",
        ),
        (
            "heap profile: 1: 2 [3: 4] @ heap/2\n#\t0x1\tf+0x1\tx.go:1\n",
            "line 2",
        ),
        (
            "heap profile: 1: 2 [3: 4] @ heap/2\n1: 2 [3: 4] @ 0x1 zz\n",
            "line 2",
        ),
        (
            "heap profile: 1: 2 [3: 4] @ heap/2\n1: 2 [3: 4] @ 0x1\n#\t0x0\tf+0x1\tx.go:many\n",
            "line 3",
        ),
        ("heap profile: garbage\n", "line 1"),
        ("\n\nheap profile: 1: 2 [3: 4] @ heap/2\n@\n", "line 4"),
        ("goroutine profile: total 4\n", "goroutine profile"),
        ("--- mutex:\ncycles/second=1\n", "mutex profile"),
    ];
    for (text, want) in cases {
        let msg = parse_heap_profile(Path::new("t"), text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(msg.contains(want), "{text:?}: {msg}");
    }
}

#[test]
fn scaling_follows_pprof() {
    // Every allocation sampled: nothing to estimate.
    assert_eq!(scale_heap_sample(3, 144, 1), (3, 144));
    assert_eq!(scale_heap_sample(0, 0, 524288), (0, 0));
    // 1/(1-exp(-1)) = 1.58197670686…
    assert_eq!(scale_heap_sample(1, 524288, 524288), (1, 829411));
    // 3 objects of 1000 bytes at the default rate: scale 524.788…
    assert_eq!(scale_heap_sample(3, 3000, 524288), (1574, 1574364));
}

/// The text's header holds the totals Go summed over the same records.
#[test]
fn legacy_text_records_add_up_to_its_header() {
    for version in VERSIONS {
        let compressed = std::fs::read(fixture(version).join("heap.txt.zst")).unwrap();
        let raw = String::from_utf8(zstd::decode_all(&compressed[..]).unwrap()).unwrap();
        let header: Vec<i64> = raw
            .lines()
            .next()
            .unwrap()
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        let text = parse_heap_profile(Path::new("t"), raw.as_bytes()).unwrap();
        let sum = |f: fn(&ProfileSample) -> i64| text.samples.iter().map(f).sum::<i64>();
        let (inuse_objects, inuse_bytes) = (sum(|s| s.inuse_objects), sum(|s| s.inuse_bytes));
        let (alloc_objects, mut alloc_bytes) = (sum(|s| s.alloc_objects), sum(|s| s.alloc_bytes));
        // Go adds 1 to the alloc bytes when they equal the in-use bytes.
        if alloc_bytes == inuse_bytes {
            alloc_bytes += 1;
        }
        // The last number is heap/2*MemProfileRate.
        assert_eq!(
            header,
            [
                inuse_objects,
                inuse_bytes,
                alloc_objects,
                alloc_bytes,
                2 * text.period
            ],
            "{version}"
        );
    }
}
