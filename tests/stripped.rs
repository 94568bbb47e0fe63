//! Executables without DWARF or symbols (#7): the same core read through the
//! runtime's own records must give the DWARF read's heap; the `-s -w`
//! fixtures must match their program's truth; the runtime layout tables
//! must agree with each version's DWARF; a separate debug file is found.

mod common;

use std::collections::BTreeSet;

use rootpath::dump::{Dump, OpenOptions};
use rootpath::input::dwarf::{DwarfIndex, DwarfSections};
use rootpath::input::goruntime::tables::Table;
use rootpath::input::goruntime::without_dwarf::index_without_dwarf;
use rootpath::model::{HeapModel, NameSource, RootKind};

const STRIPPED: &[&str] = &[
    "go1.19-stripped",
    "go1.22-stripped",
    "go1.25-stripped",
    "go1.27-stripped",
];

fn load(core: &std::path::Path, options: &OpenOptions) -> HeapModel {
    let Dump::Core(dump) = Dump::open(core, options).expect("open core") else {
        panic!("{}: not a core", core.display())
    };
    rootpath::input::core_loader::load(&dump).expect("load model")
}

fn hex(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16).expect("hex")
}

/// A type name as both sources can say it: DWARF qualifies names with the
/// full import path ("text/tabwriter.cell") and calls map groups
/// "noalg.map.group[…]", the runtime says "tabwriter.cell" and
/// "map.group[…]"; an array's count may come from the slot size on one side
/// and from a slice's capacity on the other.
fn normalize(name: &str) -> String {
    let mut s = name.replace("noalg.", "");
    // The runtime calls a classic map's bucket "map.bucket[K]V", DWARF "bucket<K,V>".
    if let Some(i) = s.find("map.bucket[") {
        let rest = &s[i + "map.bucket[".len()..];
        if let Some((k, v)) = rest.split_once(']') {
            s = format!("{}bucket<{k},{v}>", &s[..i]);
        }
    }
    while let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((n, tail)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
                s = tail.to_string()
            }
            _ => break,
        }
    }
    if let Some(i) = s.find("struct {") {
        s.truncate(i);
    }
    // Drop import-path directories: "a/b/c.T" → "c.T", inside composites too.
    let mut out = String::new();
    let mut word = String::new();
    for c in s.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-') {
            word.push(c);
        } else {
            // A major-version directory is not the package name:
            // "encoding/json/v2.T" is "json.T".
            let mut parts = word.rsplit('/');
            let last = parts.next().unwrap_or(&word);
            match (last.split_once('.'), parts.next()) {
                (Some((v, rest)), Some(pkg))
                    if v.len() > 1
                        && v.starts_with('v')
                        && v[1..].bytes().all(|b| b.is_ascii_digit()) =>
                {
                    out.push_str(&format!("{pkg}.{rest}"))
                }
                _ => out.push_str(last),
            }
            word.clear();
            out.push(c);
        }
    }
    out.trim_end().to_string()
}

/// The pointer words of all global roots, with what each points at.
fn global_words(model: &HeapModel) -> BTreeSet<(u64, u32)> {
    model
        .roots
        .iter()
        .filter(|r| r.kind == RootKind::Global)
        .flat_map(|r| {
            let base = r.addr.unwrap_or(0);
            r.targets.iter().map(move |&(t, off)| (base + off, t.0))
        })
        .collect()
}

/// Reading a DWARF build's core as if the binary were stripped gives the
/// same objects, edges and global pointer words; every object it types is
/// typed as DWARF types it.
#[test]
fn without_debug_info_the_heap_is_the_same() {
    for f in common::all_builds() {
        let version = f.version;
        let with = load(&f.core(), &OpenOptions::with_exe(f.exe()));
        let without = load(
            &f.core(),
            &OpenOptions {
                ignore_debug_info: true,
                ..OpenOptions::with_exe(f.exe())
            },
        );
        assert_eq!(with.names_from, NameSource::Dwarf, "{version}");
        assert_eq!(without.names_from, NameSource::RuntimeRecords, "{version}");
        assert!(
            without.warnings.is_empty(),
            "{version}: {:?}",
            without.warnings
        );
        assert_eq!(with.objects.len(), without.objects.len(), "{version}");
        for id in with.objects.ids() {
            assert_eq!(with.objects.addr(id), without.objects.addr(id), "{version}");
            assert_eq!(with.objects.size(id), without.objects.size(id), "{version}");
            assert_eq!(
                with.edges.targets(id),
                without.edges.targets(id),
                "{version}: edges of {:#x}",
                with.objects.addr(id)
            );
        }
        assert_eq!(global_words(&with), global_words(&without), "{version}");
        assert_eq!(with.goroutines.len(), without.goroutines.len(), "{version}");

        let (mut same, mut differ, mut missing) = (0usize, Vec::new(), 0usize);
        for id in with.objects.ids() {
            let Some(b) = without.type_name(id) else {
                continue;
            };
            if no_single_type(&without, id, b) {
                continue;
            }
            let Some(a) = with.type_name(id) else {
                missing += 1;
                continue;
            };
            if normalize(a) == normalize(b) || same_allocation(a, b) {
                same += 1;
            } else {
                differ.push((with.objects.addr(id), a.to_string(), b.to_string()));
            }
        }
        assert!(
            differ.is_empty(),
            "{version}: {} objects typed otherwise than DWARF types them: {:?}",
            differ.len(),
            &differ[..differ.len().min(10)]
        );
        let share = typed_share(&without);
        let floor = TYPED_FLOOR
            .iter()
            .find(|(v, _, _)| version.starts_with(v))
            .map(|&(_, b, o)| (b, o))
            .unwrap_or_else(|| panic!("{version}: no typed-share floor"));
        println!(
            "{version} without DWARF: {:.2} % of live bytes, {:.2} % of live objects typed; \
             {same} objects typed as DWARF types them, {missing} typed only without it",
            share.0 * 100.0,
            share.1 * 100.0
        );
        assert!(
            share.0 >= floor.0 && share.1 >= floor.1,
            "{version}: typed share {share:?} fell below {floor:?}"
        );
    }
}

/// Typed share of live bytes and live objects, per version, read without
/// DWARF: held at or above what the runtime's records give today.
const TYPED_FLOOR: &[(&str, f64, f64)] = &[
    ("go1.19", 0.875, 0.990),
    ("go1.21", 0.878, 0.993),
    ("go1.22", 0.931, 0.996),
    ("go1.23", 0.929, 0.994),
    ("go1.24", 0.927, 0.990),
    ("go1.25", 0.926, 0.990),
    ("go1.26", 0.925, 0.988),
    ("go1.27", 0.928, 0.989),
];

fn typed_share(model: &HeapModel) -> (f64, f64) {
    let live = rootpath::analysis::reach::reachable(&model, model.roots.iter());
    let (mut bytes, mut objects, mut typed_bytes, mut typed_objects) = (0u64, 0u64, 0u64, 0u64);
    for id in model.objects.ids() {
        if !live[id.index()] {
            continue;
        }
        let size = model.objects.size(id);
        bytes += size;
        objects += 1;
        if model.type_name(id).is_some() {
            typed_bytes += size;
            typed_objects += 1;
        }
    }
    (
        typed_bytes as f64 / bytes.max(1) as f64,
        typed_objects as f64 / objects.max(1) as f64,
    )
}

/// Objects no one type describes: a 16-byte pointer-free block (the tiny
/// allocator packs several small values into one), and bytes a string
/// points into, named by the whole object's size (a claim about bytes, not
/// a type).
fn no_single_type(model: &HeapModel, id: rootpath::model::ObjectId, name: &str) -> bool {
    let size = model.objects.size(id);
    let tiny = size == 16 && model.edges.targets(id).is_empty();
    tiny || name == format!("[{size}]uint8")
}

/// The allocation header names the padded type the runtime allocates;
/// DWARF's pointer names its first field.
fn same_allocation(dwarf: &str, runtime: &str) -> bool {
    matches!((dwarf, runtime), ("runtime.m", "runtime.mPadded"))
}

/// The `-s -w` builds: every recorded live object at its address and slot
/// size, each global-held object reachable from the global's words, which
/// are labelled by section offset and the program functions using them;
/// no object given a type other than the program's.
#[test]
fn stripped_builds_match_their_truth() {
    for version in STRIPPED {
        let f = common::Fixture::load(version);
        let go = rootpath::input::goruntime::GoVersion::parse(
            f.truth["go_version"].as_str().expect("go_version"),
        )
        .expect("version");
        let exe = rootpath::input::elf::Executable::open(&f.exe()).expect("exe");
        assert!(
            !exe.has_dwarf() && !exe.has_symbols(),
            "{version}: not stripped"
        );
        let model = load(&f.core(), &OpenOptions::with_exe(f.exe()));
        assert_eq!(model.names_from, NameSource::RuntimeRecords, "{version}");
        assert!(model.warnings.is_empty(), "{version}: {:?}", model.warnings);

        let section_of = |addr: u64| {
            exe.sections
                .iter()
                .find(|s| s.addr <= addr && addr < s.addr + s.size)
                .map(|s| (s.name.trim_start_matches('.').to_string(), s.addr))
        };
        let (mut live, mut via_globals, mut typed) = (0, 0, 0);
        for o in f.truth["objects"].as_array().expect("objects") {
            if o["live"] != true {
                continue;
            }
            let id = common::find_recorded(&model.objects, o, go, version);
            live += 1;
            // A tiny allocation shares its block: the block's type is another's.
            let tiny = o["size"].as_u64() < Some(16) && o["has_pointers"] == false;
            if let (Some(found), Some(want), false) =
                (model.type_name(id), o["type"].as_str(), tiny)
            {
                // The program records closures as just "closure".
                let found = match want {
                    "closure" if found.starts_with("closure ") => "closure",
                    _ => found,
                };
                assert_eq!(
                    normalize(found),
                    normalize(want),
                    "{version}: {} typed {found}, the program says {want}",
                    o["id"]
                );
                typed += 1;
            }
            let root = &o["root"];
            if root["kind"] != "global" {
                continue;
            }
            let var = hex(&root["addr"]);
            // The variable's pointer words: roots at or just after its start.
            let words: Vec<_> = model
                .roots
                .iter()
                .filter(|r| r.kind == RootKind::Global)
                .filter(|r| r.name.starts_with("bss+") || r.name.starts_with("data+"))
                .filter(|r| r.addr.is_some_and(|a| var <= a && a < var + 0x100))
                .collect();
            assert!(!words.is_empty(), "{version}: no root in {}", root["name"]);
            for r in &words {
                let a = r.addr.expect("addr");
                let (section, start) = section_of(a).expect("global in a section");
                let label = format!("{section}+{:#x}", a - start);
                assert!(
                    r.name.starts_with(&label),
                    "{version}: {} labelled {}, expected {label}",
                    root["name"],
                    r.name
                );
            }
            assert!(
                words.iter().any(|r| r.name.contains("used by main.")),
                "{version}: {} has no program function among its users: {:?}",
                root["name"],
                words.iter().map(|r| &r.name).collect::<Vec<_>>()
            );
            let seen = rootpath::analysis::reach::reachable(&model, words);
            assert!(
                seen[id.index()],
                "{version}: {} unreachable from its global",
                o["id"]
            );
            via_globals += 1;
        }
        assert!(
            live > 100 && via_globals > 40,
            "{version}: {live} live, {via_globals} via globals"
        );
        assert!(typed > 20, "{version}: only {typed} recorded objects typed");
        let share = typed_share(&model);
        let floor = STRIPPED_FLOOR
            .iter()
            .find(|(v, _, _)| v == version)
            .map(|&(_, b, o)| (b, o))
            .unwrap_or_else(|| panic!("{version}: no typed-share floor"));
        println!(
            "{version}: {:.2} % of live bytes, {:.2} % of live objects typed",
            share.0 * 100.0,
            share.1 * 100.0
        );
        assert!(
            share.0 >= floor.0 && share.1 >= floor.1,
            "{version}: typed share {share:?} fell below {floor:?}"
        );
    }
}

/// Typed share of live bytes and objects of the `-s -w` builds.
const STRIPPED_FLOOR: &[(&str, f64, f64)] = &[
    ("go1.19-stripped", 0.874, 0.990),
    ("go1.22-stripped", 0.931, 0.996),
    ("go1.25-stripped", 0.927, 0.990),
    ("go1.27-stripped", 0.928, 0.989),
];

/// `why`, `top` and `sites` on a stripped build: paths start at labelled
/// globals, and the commands succeed.
#[test]
fn commands_work_on_stripped_builds() {
    for version in STRIPPED {
        let f = common::Fixture::load(version);
        let o = f.truth["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["id"] == "global_ptr")
            .expect("global_ptr");
        let why = common::core_json(&f, &["why", o["addr"].as_str().expect("addr")]);
        let text = why.to_string();
        assert!(
            text.contains("bss+") || text.contains("data+"),
            "{version}: why shows no section-labelled global: {text}"
        );
        for cmd in ["top", "sites"] {
            let out = common::core_json(&f, &[cmd]);
            assert!(!out.is_null(), "{version}: {cmd}");
        }
    }
}

/// Each embedded table carries its version's layouts exactly as DWARF has
/// them, and locates every runtime global at DWARF's address.
#[test]
fn runtime_tables_agree_with_dwarf() {
    for f in common::all() {
        let version = f.version;
        let Dump::Core(dump) =
            Dump::open(&f.core(), &OpenOptions::with_exe(f.exe())).expect("open")
        else {
            panic!("not a core")
        };
        let exe = dump.exe.as_ref().expect("exe");
        let go = dump.go_version().expect("version");
        let table = Table::embedded(go).expect("a table").expect("parses");
        let sections = DwarfSections::load(exe).expect("dwarf");
        let dwarf = DwarfIndex::build(exe, &sections.dwarf()).expect("index");
        let mut checked_fields = 0;
        for t in table.types.iter().filter(|t| !t.fields.is_empty()) {
            if t.name.is_empty() {
                continue;
            }
            let d = dwarf.ty(dwarf.underlying(
                dwarf
                    .type_named(&t.name)
                    .unwrap_or_else(|| panic!("{version}: DWARF has no {}", t.name)),
            ));
            assert_eq!(
                Some(d.size.unwrap_or(0)),
                t.size,
                "{version}: size of {}",
                t.name
            );
            for field in t.fields.iter().filter(|x| x.name != "_") {
                let df = d.fields.iter().find(|x| x.name == field.name);
                assert_eq!(
                    df.map(|x| x.offset),
                    Some(field.offset),
                    "{version}: {}.{}",
                    t.name,
                    field.name
                );
                checked_fields += 1;
            }
        }
        assert!(checked_fields > 300, "{version}: {checked_fields} fields");
        for (name, value) in &table.constants {
            assert_eq!(dwarf.constant(name), Some(*value), "{version}: {name}");
        }
        let space = dump.address_space();
        let (located, _) = index_without_dwarf(&space, exe, dump.exe_bias, go).expect("locate");
        assert!(
            table.globals.len() >= 8,
            "{version}: {} globals",
            table.globals.len()
        );
        for g in &table.globals {
            let want = dwarf.global(&g.name).expect("DWARF global").addr + dump.exe_bias;
            let got = located.global(&g.name).map(|x| x.addr);
            assert_eq!(got, Some(want), "{version}: {}", g.name);
        }
    }
}

/// A stripped executable with a `.gnu_debuglink` reads its DWARF from the
/// debug file beside it or in `--debug-dir`, only when the CRC matches.
#[test]
fn separate_debug_file_is_found() {
    let f = common::Fixture::load("go1.25");
    let dir = tempfile::tempdir().expect("tempdir");
    let exe_dir = dir.path().join("bin");
    let debug_dir = dir.path().join("debug");
    std::fs::create_dir_all(&exe_dir).expect("mkdir");
    std::fs::create_dir_all(&debug_dir).expect("mkdir");
    let exe = exe_dir.join("scenarios");
    std::fs::copy(f.file("scenarios.stripped"), &exe).expect("copy exe");
    let debug = f.file("scenarios.debug");

    let alone = load(&f.core(), &OpenOptions::with_exe(&exe));
    assert_eq!(alone.names_from, NameSource::RuntimeRecords);

    std::fs::copy(&debug, debug_dir.join("scenarios.debug")).expect("copy debug");
    let with_dir = load(
        &f.core(),
        &OpenOptions {
            debug_dirs: vec![debug_dir.clone()],
            ..OpenOptions::with_exe(&exe)
        },
    );
    assert!(matches!(with_dir.names_from, NameSource::DebugFile { .. }));
    let dwarf = load(&f.core(), &OpenOptions::with_exe(f.exe()));
    assert_eq!(global_words(&with_dir), global_words(&dwarf));
    assert!(with_dir.roots.named("main.gPtr").next().is_some());
    assert_eq!(
        with_dir.object_types.iter().filter(|&&t| t != 0).count(),
        dwarf.object_types.iter().filter(|&&t| t != 0).count()
    );

    // Beside the executable, found without --debug-dir.
    std::fs::copy(&debug, exe_dir.join("scenarios.debug")).expect("copy debug");
    let beside = load(&f.core(), &OpenOptions::with_exe(&exe));
    assert!(matches!(beside.names_from, NameSource::DebugFile { .. }));

    // Another file under the linked name fails the CRC check: not used.
    std::fs::copy(f.exe(), exe_dir.join("scenarios.debug")).expect("copy other");
    let wrong = load(&f.core(), &OpenOptions::with_exe(&exe));
    assert_eq!(wrong.names_from, NameSource::RuntimeRecords);
}

/// A heap dump read with a stripped executable says why it has no types.
#[test]
fn heap_dump_with_stripped_exe_is_explained() {
    let f = common::Fixture::load("go1.25-stripped");
    let opened = Dump::open(&f.heap_dump(), &OpenOptions::with_exe(f.exe())).expect("open");
    let model = opened.load_model().expect("load");
    assert!(model.objects.len() > 1000);
    assert!(
        model.warnings.iter().any(|w| w.contains("has no DWARF")),
        "{:?}",
        model.warnings
    );
    assert_eq!(model.names_from, NameSource::HeapDump);
}

/// Debug sections compressed with zstd (`objcopy --compress-debug-sections=zstd`, as
/// some distributions' linkers do by default) give the same DWARF as Go's zlib ones.
#[test]
fn zstd_compressed_debug_sections_are_read() {
    let f = common::Fixture::load("go1.25");
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("scenarios");
    let status = std::process::Command::new("objcopy")
        .arg("--compress-debug-sections=zstd")
        .arg(f.exe())
        .arg(&exe)
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("skipped: objcopy with zstd debug sections is not available ({status:?})");
        return;
    }
    // The copy's .debug_info really is zstd now (Elf64_Chdr.ch_type == ELFCOMPRESS_ZSTD).
    let bytes = std::fs::read(&exe).expect("read copy");
    let elf = goblin::elf::Elf::parse(&bytes).expect("parse copy");
    let info = elf
        .section_headers
        .iter()
        .find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".debug_info"))
        .expect(".debug_info");
    let at = info.sh_offset as usize;
    let ch_type = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    assert_eq!(ch_type, goblin::elf::compression_header::ELFCOMPRESS_ZSTD);

    let zstd = load(&f.core(), &OpenOptions::with_exe(&exe));
    let zlib = load(&f.core(), &OpenOptions::with_exe(f.exe()));
    assert_eq!(zstd.names_from, NameSource::Dwarf);
    assert_eq!(global_words(&zstd), global_words(&zlib));
    let names = |m: &HeapModel| -> Vec<Option<String>> {
        m.objects
            .ids()
            .map(|id| m.type_name(id).map(str::to_string))
            .collect()
    };
    assert_eq!(names(&zstd), names(&zlib));
    assert!(zstd.roots.named("main.gPtr").next().is_some());
}

/// The histogram's names for untyped objects ("unknown (N bytes)") are
/// accepted by `objects --type` and `why type:`, which find exactly the
/// row's objects.
#[test]
fn unknown_rows_are_names_the_commands_take() {
    let f = common::Fixture::load("go1.19-stripped");
    let hist = common::core_json(&f, &["histogram"]);
    let row = hist["types"]
        .as_array()
        .expect("types")
        .iter()
        .find(|r| {
            r["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("unknown ("))
        })
        .expect("an untyped row");
    let name = row["type"].as_str().expect("name");
    let objects = common::core_json(&f, &["objects", "--type", name, "-n", "1000000"]);
    assert_eq!(objects["matched"], row["objects"], "{name}");
    assert!(
        objects["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .all(|o| o["type"].is_null()
                && Some(o["size"].as_u64())
                    == Some(
                        row["bytes"]
                            .as_u64()
                            .map(|b| b / row["objects"].as_u64().unwrap_or(1))
                    )),
        "{name}: {objects}"
    );
    let why = common::core_json(&f, &["why", &format!("type:{name}")]);
    assert_eq!(why["type"], name);
    assert_eq!(why["objects"], row["live_objects"], "{name}: {why}");
}
