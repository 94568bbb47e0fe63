//! The heap model built from heap dumps, against the program's truth and
//! against the model of the core the same process wrote a little later:
//! without the executable (sizes and pointers), and with it (roots named by
//! DWARF variable, types, goroutines with source lines, allocation sites).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use common::Fixture;
use rootpath::analysis::reach::reachable;
use rootpath::dump::{Dump, OpenOptions};
use rootpath::error::Error;
use rootpath::input::Source;
use rootpath::input::goruntime::GoVersion;
use rootpath::input::heapdump::{HeapDumpFile, Record};
use rootpath::model::{HeapModel, Root, RootKind, StackRootKind};

fn hex(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16).expect("hex")
}

fn open_dump(f: &Fixture) -> HeapDumpFile {
    let source = Source::open(&f.heap_dump()).expect("open heap dump");
    HeapDumpFile::parse(source).expect("parse heap dump")
}

/// The dump's model without the executable: its only warning says so.
fn load_dump(f: &Fixture) -> (HeapDumpFile, HeapModel) {
    let dump = open_dump(f);
    let model = rootpath::input::heapdump_loader::load(&dump, None).expect("load dump model");
    assert!(
        model.warnings.len() == 1 && model.warnings[0].contains("types are unavailable"),
        "{}: {:?}",
        f.version,
        model.warnings
    );
    (dump, model)
}

/// The dump's model with its executable, as `rootpath DUMP --exe EXE` loads it.
fn load_dump_exe(f: &Fixture) -> HeapModel {
    let options = OpenOptions::with_exe(f.exe());
    let dump = Dump::open(&f.heap_dump(), &options).expect("open heap dump");
    assert!(matches!(dump, Dump::HeapDump(_)), "{}", f.version);
    let model = dump.load_model().expect("load dump model with exe");
    assert!(
        model.warnings.is_empty(),
        "{}: {:?}",
        f.version,
        model.warnings
    );
    model
}

fn load_core(f: &Fixture) -> HeapModel {
    let options = OpenOptions::with_exe(f.exe());
    let Dump::Core(core) = Dump::open(&f.core(), &options).expect("open core") else {
        panic!("{}: not a core", f.version)
    };
    rootpath::input::core_loader::load(&core).expect("load core model")
}

fn version_at_least(dump: &HeapDumpFile, minor: u32) -> bool {
    GoVersion::parse(&dump.params.go_version)
        .expect("go version")
        .at_least(minor)
}

fn recorded<'t>(f: &'t Fixture, list: &str) -> &'t [serde_json::Value] {
    f.truth[list]
        .as_array()
        .unwrap_or_else(|| panic!("{}: truth.json has no {list}", f.version))
}

fn after_dump(o: &serde_json::Value) -> bool {
    o["after_dump"] == true
}

#[test]
fn every_recorded_object_is_found() {
    for f in common::all_builds() {
        let (dump, model) = load_dump(&f);
        let version = GoVersion::parse(&dump.params.go_version).expect("go version");
        let objects = &model.objects;
        let mut checked = 0;
        for o in recorded(&f, "objects") {
            let addr = hex(&o["addr"]);
            if after_dump(o) {
                // Allocated after the dump: no record may claim its address.
                if let Some(id) = objects.find(addr) {
                    assert!(
                        o["has_pointers"] == false || objects.addr(id) != addr,
                        "{}: after-dump {} is in the dump",
                        f.version,
                        o["id"]
                    );
                }
                continue;
            }
            let size = o["size"].as_u64().expect("size");
            let ptrs = o["has_pointers"].as_bool().expect("has_pointers");
            let id = objects
                .find(addr)
                .unwrap_or_else(|| panic!("{}: {} at {addr:#x} not found", f.version, o["id"]));
            if size < 16 && !ptrs {
                // Tiny allocations share a 16-byte block: the object is the block.
                assert_eq!(objects.size(id), 16, "{}: {}", f.version, o["id"]);
                assert_eq!(objects.addr(id) % 16, 0, "{}: {}", f.version, o["id"]);
            } else {
                assert_eq!(
                    objects.addr(id),
                    addr,
                    "{}: {} starts elsewhere",
                    f.version,
                    o["id"]
                );
                assert_eq!(
                    objects.size(id),
                    common::expected_size(version, size, ptrs),
                    "{}: {} ({} of {} bytes)",
                    f.version,
                    o["id"],
                    o["type"],
                    size
                );
            }
            checked += 1;
        }
        assert!(
            checked > 100,
            "{}: only {checked} live objects recorded",
            f.version
        );
        // Dead objects are still allocated: the dump has them too.
        for g in recorded(&f, "garbage")
            .iter()
            .chain(recorded(&f, "weak_only"))
        {
            let addr = hex(&g["addr"]);
            let id = objects.find(addr).unwrap_or_else(|| {
                panic!("{}: dead {} at {addr:#x} not found", f.version, g["id"])
            });
            assert_eq!(objects.addr(id), addr, "{}: {}", f.version, g["id"]);
        }
    }
}

/// The phantom slots are gone and headers are skipped: every object of the
/// dump is an object of the core, at the same address with the same size
/// (nothing is freed between the dump and the crash: the program turned the
/// collector off before dumping).
#[test]
fn dump_objects_are_core_objects() {
    for f in common::all_builds() {
        let (dump, model) = load_dump(&f);
        let core = load_core(&f);
        let missing: Vec<String> = model
            .objects
            .ids()
            .filter(|&id| {
                let addr = model.objects.addr(id);
                core.objects.find(addr).is_none_or(|c| {
                    core.objects.addr(c) != addr || core.objects.size(c) != model.objects.size(id)
                })
            })
            .map(|id| format!("{:#x}+{}", model.objects.addr(id), model.objects.size(id)))
            .collect();
        println!(
            "{}: {} object records, {} objects in the dump model, {} in the core model, {} not in the core",
            f.version,
            dump.summary.objects,
            model.objects.len(),
            core.objects.len(),
            missing.len()
        );
        assert!(
            missing.is_empty(),
            "{}: dump objects not in the core: {:?}",
            f.version,
            &missing[..missing.len().min(20)]
        );
        assert!(
            !version_at_least(&dump, 22) || model.objects.len() < dump.summary.objects as usize,
            "{}: no phantom slot was filtered",
            f.version
        );
        // The runtime counted its objects before dumping; the model is close.
        let counted = dump.memstats.as_ref().expect("memstats").heap_objects;
        let n = model.objects.len() as u64;
        assert!(
            n.abs_diff(counted) * 100 <= counted,
            "{}: {n} objects, the runtime counted {counted}",
            f.version
        );
    }
}

#[test]
fn dead_objects_are_unreachable() {
    for f in common::all_builds() {
        let (_, model) = load_dump(&f);
        let seen = reachable(&model, model.roots.iter());
        let mut checked = 0;
        for g in recorded(&f, "garbage")
            .iter()
            .chain(recorded(&f, "weak_only"))
        {
            let id = model.objects.find(hex(&g["addr"])).expect("dead object");
            assert!(
                !seen[id.index()],
                "{}: dead {} is reachable",
                f.version,
                g["id"]
            );
            checked += 1;
        }
        assert!(checked >= 4, "{}: only {checked} dead objects", f.version);
    }
}

/// The roots truth.json names for an object, as roots of the dump model.
fn truth_roots<'m>(model: &'m HeapModel, root: &serde_json::Value) -> Vec<&'m Root> {
    let kind = root["kind"].as_str().expect("root kind");
    let goroutine = root["goroutine"].as_u64();
    let function = root["function"].as_str();
    let owner = root["object"].as_str().map(|a| hex(&serde_json::json!(a)));
    model
        .roots
        .iter()
        .filter(|r| {
            let frame = r.frame.as_ref();
            let of_goroutine = frame.is_some_and(|fr| Some(fr.goroutine) == goroutine);
            match kind {
                "global" => r.kind == RootKind::Global,
                // Arguments may sit in the caller's frame (runtime.call16 for
                // a finalizer's argument): any frame of the goroutine.
                "stack" => {
                    r.kind == RootKind::Stack
                        && of_goroutine
                        && frame.is_some_and(|fr| fr.what == StackRootKind::Slot)
                }
                "finalizer" => r.kind == RootKind::Finalizer && r.addr == owner,
                "queued_finalizer" => r.kind == RootKind::QueuedFinalizer,
                "defer" => {
                    r.kind == RootKind::Stack
                        && of_goroutine
                        && frame.is_some_and(|fr| {
                            fr.what == StackRootKind::Defer
                                && Some(fr.function.as_str()) == function
                        })
                        && r.name
                            == format!(
                                "goroutine {} {} (defer)",
                                goroutine.unwrap(),
                                function.unwrap()
                            )
                }
                "panic" => {
                    r.kind == RootKind::Stack
                        && of_goroutine
                        && frame.is_some_and(|fr| fr.what == StackRootKind::Panic)
                        && frame.is_some_and(|fr| Some(fr.function.as_str()) == function)
                        && r.name
                            == format!(
                                "goroutine {} {} (panic value)",
                                goroutine.unwrap(),
                                function.unwrap()
                            )
                }
                other => panic!("unknown root kind {other}"),
            }
        })
        .collect()
}

/// Each recorded live object is reachable from the roots of the kind truth
/// names (for globals: from global roots alone; for stacks: from the frames
/// of that goroutine; finalizers: from that finalizer's closure).
#[test]
fn live_objects_are_reachable_from_their_roots() {
    for f in common::all_builds() {
        let (_, model) = load_dump(&f);
        let all = reachable(&model, model.roots.iter());
        let mut checked = std::collections::BTreeMap::<String, usize>::new();
        let mut in_named_frame = 0;
        for o in recorded(&f, "objects") {
            let kind = o["root"]["kind"].as_str().expect("root kind");
            // Cleanups are not in heap dumps.
            if after_dump(o) || kind == "cleanup" {
                continue;
            }
            let id = model.objects.find(hex(&o["addr"])).expect("live object");
            assert!(all[id.index()], "{}: {} unreachable", f.version, o["id"]);
            let roots = truth_roots(&model, &o["root"]);
            assert!(
                !roots.is_empty(),
                "{}: no {} root for {}",
                f.version,
                o["root"],
                o["id"]
            );
            let seen = reachable(&model, roots);
            assert!(
                seen[id.index()],
                "{}: {} not reachable from its root {}",
                f.version,
                o["id"],
                o["root"]
            );
            *checked.entry(kind.to_string()).or_default() += 1;
            if kind == "stack" {
                // Most are held by the very frame truth names.
                let name = format!(
                    "goroutine {} {}",
                    o["root"]["goroutine"],
                    o["root"]["function"].as_str().expect("function")
                );
                if reachable(&model, model.roots.named(&name))[id.index()] {
                    in_named_frame += 1;
                } else {
                    println!("{}: {} not held by {name}", f.version, o["id"]);
                }
            }
        }
        println!(
            "{}: reachable from their roots: {checked:?}; {in_named_frame} from the named frame",
            f.version
        );
        assert!(
            in_named_frame + 1 >= checked["stack"],
            "{}: only {in_named_frame} of {} stack-held objects are held by the frame truth names",
            f.version,
            checked["stack"]
        );
        assert!(checked["global"] > 80, "{}: {checked:?}", f.version);
        assert!(checked["stack"] >= 20, "{}: {checked:?}", f.version);
        for kind in ["finalizer", "queued_finalizer", "defer", "panic"] {
            assert!(checked[kind] >= 1, "{}: {checked:?}", f.version);
        }
    }
}

/// How the objects one model reaches compare with those the other reaches.
#[derive(Debug)]
struct Agreement {
    /// Reachable in the dump model / in the core model / in both (by address).
    dump: usize,
    core: usize,
    both: usize,
    /// Reachable in the core, and an object of the dump, but unreachable there.
    core_only_dumped: usize,
}

fn agreement(
    model: &HeapModel,
    core: &HeapModel,
    dump_roots: impl Fn(&Root) -> bool,
    core_roots: impl Fn(&Root) -> bool,
) -> Agreement {
    let d = reachable(model, model.roots.iter().filter(|r| dump_roots(r)));
    let c = reachable(core, core.roots.iter().filter(|r| core_roots(r)));
    let in_dump: HashSet<u64> = model
        .objects
        .ids()
        .filter(|id| d[id.index()])
        .map(|id| model.objects.addr(id))
        .collect();
    let in_core: HashSet<u64> = core
        .objects
        .ids()
        .filter(|id| c[id.index()])
        .map(|id| core.objects.addr(id))
        .collect();
    let core_only_dumped = in_core
        .difference(&in_dump)
        .filter(|&&a| {
            model
                .objects
                .find(a)
                .is_some_and(|id| model.objects.addr(id) == a)
        })
        .count();
    Agreement {
        dump: in_dump.len(),
        core: in_core.len(),
        both: in_dump.intersection(&in_core).count(),
        core_only_dumped,
    }
}

/// The dump and the core of one process agree on what the roots keep alive.
/// The core was written after the dump: objects allocated in between are
/// only in the core, and the program dropped a few references in between;
/// nothing was collected (the collector was off).
#[test]
fn dump_and_core_agree_on_live_objects() {
    for f in common::all_builds() {
        let (_, model) = load_dump(&f);
        let core = load_core(&f);
        let global = |r: &Root| r.kind == RootKind::Global;
        let g = agreement(&model, &core, global, global);
        let all = agreement(&model, &core, |_| true, |_| true);
        println!(
            "{}: dump model {} objects, {} edges, {} roots ({} global); core model {} objects",
            f.version,
            model.objects.len(),
            model.edges.len(),
            model.roots.len(),
            model.roots.iter().filter(|r| global(r)).count(),
            core.objects.len(),
        );
        for (what, a) in [("globals", &g), ("all roots", &all)] {
            println!(
                "    from {what}: dump reaches {}, core {}, both {}; dump only {}, core only {} ({} of them in the dump but unreachable there)",
                a.dump,
                a.core,
                a.both,
                a.dump - a.both,
                a.core - a.both,
                a.core_only_dumped
            );
        }
        assert!(
            g.dump > 40_000,
            "{}: only {} objects reachable from globals",
            f.version,
            g.dump
        );
        for (what, a) in [("globals", &g), ("all roots", &all)] {
            assert!(
                a.both * 1000 >= a.dump * 995,
                "{}: of {} objects the dump reaches from {what}, only {} are reached in the core",
                f.version,
                a.dump,
                a.both
            );
            // What the core reaches and the dump has, the dump reaches too:
            // the rest of the core's extra was allocated after the dump.
            assert!(
                a.core_only_dumped * 1000 <= a.core,
                "{}: the core reaches {} objects from {what} that the dump holds unreachable",
                f.version,
                a.core_only_dumped
            );
        }
    }
}

/// Goroutines whose stacks changed between the dump and the crash: the one
/// that wrote the dump (it went on to write the profiles and crash) and the
/// one that crashed.
fn changed_goroutines(f: &Fixture, model: &HeapModel) -> BTreeSet<u64> {
    let mut ids: BTreeSet<u64> = model
        .goroutines
        .iter()
        .filter(|g| {
            g.frames
                .iter()
                .any(|fr| fr.function == "runtime/debug.WriteHeapDump")
        })
        .map(|g| g.id)
        .collect();
    ids.extend(f.truth["crash"]["goroutine"].as_u64());
    ids
}

/// The dump's data and bss segments: (address, contents).
fn segments(dump: &HeapDumpFile) -> Vec<(u64, Vec<u8>)> {
    dump.records()
        .filter_map(|r| match r.expect("record").1 {
            Record::Data(s) | Record::Bss(s) => Some((s.addr, s.contents.to_vec())),
            _ => None,
        })
        .collect()
}

fn word_at(segments: &[(u64, Vec<u8>)], addr: u64) -> Option<u64> {
    segments.iter().find_map(|(start, bytes)| {
        let off = usize::try_from(addr.checked_sub(*start)?).ok()?;
        let w = bytes.get(off..off + 8)?;
        Some(u64::from_le_bytes(w.try_into().ok()?))
    })
}

/// A wrong executable is refused before anything is read through it: another
/// Go version, a PIE for a fixed-address build's dump and the reverse.
#[test]
fn the_executable_must_be_the_build_that_wrote_the_dump() {
    let go125 = Fixture::load("go1.25");
    let go122 = Fixture::load("go1.22");
    let pie = Fixture::load("go1.25-pie");
    for (dump, exe, says) in [
        (&go125, &go122, "built by go1.22"),
        (&go122, &go125, "built by go1.25"),
        (&pie, &go125, "data segment"),
        (&go125, &pie, "data segment"),
    ] {
        let options = OpenOptions::with_exe(exe.exe());
        let opened = Dump::open(&dump.heap_dump(), &options).expect("open");
        match opened.load_model() {
            Err(e @ Error::ExeMismatch { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(says),
                    "{} with {}: {msg}",
                    dump.version,
                    exe.version
                );
            }
            Err(e) => panic!("{} with {}: {e}", dump.version, exe.version),
            Ok(_) => panic!(
                "{} with the executable of {} was accepted",
                dump.version, exe.version
            ),
        }
    }
}

/// Global roots carry the names the core gives them (DWARF variables, or
/// their place in the segment), with the same types; names only the core
/// has belong to variables that held no heap pointer at dump time.
#[test]
fn globals_are_named_as_in_the_core() {
    for f in common::all_builds() {
        let model = load_dump_exe(&f);
        let core = load_core(&f);
        let dump = open_dump(&f);
        let segs = segments(&dump);
        let globals = |m: &HeapModel| -> BTreeMap<String, Root> {
            m.roots
                .iter()
                .filter(|r| r.kind == RootKind::Global)
                .map(|r| (r.name.clone(), r.clone()))
                .collect()
        };
        let (d, c) = (globals(&model), globals(&core));
        let dump_only: Vec<&String> = d.keys().filter(|n| !c.contains_key(*n)).collect();
        assert!(
            dump_only.is_empty(),
            "{}: globals the core does not have: {dump_only:?}",
            f.version
        );
        let mut changed = Vec::new();
        for (name, r) in c.iter().filter(|(n, _)| !d.contains_key(*n)) {
            for &(t, off) in &r.targets {
                let at = r.addr.expect("global address") + off;
                let word = word_at(&segs, at).expect("global in the dump's segments");
                let then = model.objects.find(word).map(|o| model.objects.addr(o));
                assert_ne!(
                    then,
                    Some(core.objects.addr(t)),
                    "{}: {name} held the same object at dump time but has no root",
                    f.version
                );
            }
            changed.push(name.as_str());
        }
        for (name, r) in &d {
            if let Some(cr) = c.get(name) {
                assert_eq!(r.type_name, cr.type_name, "{}: {name}", f.version);
                assert_eq!(r.addr, cr.addr, "{}: {name}", f.version);
            }
        }
        let named = d.keys().filter(|n| !n.contains('+')).count();
        println!(
            "{}: {} global roots ({named} named by DWARF), as in the core; {} only in the core \
             (changed after the dump): {changed:?}",
            f.version,
            d.len(),
            changed.len()
        );
        assert!(named > 80, "{}: only {named} named globals", f.version);
        assert!(changed.contains(&"main.gAfterDump"), "{}", f.version);
    }
}

/// Stack roots of every goroutine that did not run between the dump and
/// the crash are the core's: same (goroutine, function, variable), the same
/// unnamed slots, defers and panics, each variable with its source line.
#[test]
fn stack_roots_are_named_as_in_the_core() {
    for f in common::all_builds() {
        let model = load_dump_exe(&f);
        let core = load_core(&f);
        let changed = changed_goroutines(&f, &model);
        let stack = |m: &HeapModel| -> BTreeSet<(u64, String, String)> {
            m.roots
                .iter()
                .filter(|r| r.kind == RootKind::Stack)
                .filter_map(|r| {
                    let fr = r.frame.as_ref()?;
                    (!changed.contains(&fr.goroutine)).then(|| {
                        let var = fr.variable.clone().unwrap_or_else(|| r.name.clone());
                        (fr.goroutine, fr.function.clone(), var)
                    })
                })
                .collect()
        };
        let (d, c) = (stack(&model), stack(&core));
        assert_eq!(
            d,
            c,
            "{}: dump only {:?}, core only {:?}",
            f.version,
            d.difference(&c).collect::<Vec<_>>(),
            c.difference(&d).collect::<Vec<_>>()
        );
        // Each variable's source line is the core's.
        type Lines = BTreeMap<(u64, String, String), (Option<String>, Option<u32>)>;
        let lines = |m: &HeapModel| -> Lines {
            m.roots
                .iter()
                .filter_map(|r| {
                    let fr = r.frame.as_ref()?;
                    let var = fr.variable.clone()?;
                    (!changed.contains(&fr.goroutine)).then(|| {
                        (
                            (fr.goroutine, fr.function.clone(), var),
                            (fr.file.clone(), fr.line),
                        )
                    })
                })
                .collect()
        };
        let (dl, cl) = (lines(&model), lines(&core));
        assert_eq!(dl, cl, "{}", f.version);
        let variables = dl
            .values()
            .filter(|(file, line)| {
                file.as_deref().is_some_and(|f| f.ends_with(".go")) && line.is_some_and(|l| l > 0)
            })
            .count();
        println!(
            "{}: {} stack roots as in the core ({variables} variables with source lines); goroutines {changed:?} changed after the dump",
            f.version,
            d.len()
        );
        assert!(variables >= 20, "{}: {variables} variables", f.version);
    }
}

/// With the executable, each recorded live object is reachable from the
/// very root truth names: the global by name, the goroutine's variable in
/// that function, the finalizer, defer or panic.
#[test]
fn live_objects_are_reachable_from_their_named_roots() {
    for f in common::all_builds() {
        let model = load_dump_exe(&f);
        let changed = changed_goroutines(&f, &model);
        let mut checked = BTreeMap::<String, usize>::new();
        for o in recorded(&f, "objects") {
            let root = &o["root"];
            let kind = root["kind"].as_str().expect("root kind");
            if after_dump(o) || kind == "cleanup" {
                continue;
            }
            let goroutine = root["goroutine"].as_u64();
            if kind == "stack" && goroutine.is_some_and(|g| changed.contains(&g)) {
                continue;
            }
            let roots: Vec<&Root> = match kind {
                "global" => model
                    .roots
                    .named(root["name"].as_str().expect("name"))
                    .collect(),
                "stack" => model
                    .roots
                    .iter()
                    .filter(|r| {
                        r.frame.as_ref().is_some_and(|fr| {
                            Some(fr.goroutine) == goroutine
                                && Some(fr.function.as_str()) == root["function"].as_str()
                                && fr.variable.as_deref() == root["variable"].as_str()
                        })
                    })
                    .collect(),
                _ => truth_roots(&model, root),
            };
            assert!(
                !roots.is_empty(),
                "{}: no root {root} for {}",
                f.version,
                o["id"]
            );
            let id = model.objects.find(hex(&o["addr"])).expect("live object");
            assert!(
                reachable(&model, roots)[id.index()],
                "{}: {} not reachable from {root}",
                f.version,
                o["id"]
            );
            *checked.entry(kind.to_string()).or_default() += 1;
        }
        println!(
            "{}: reachable from their named roots: {checked:?}",
            f.version
        );
        assert!(checked["global"] > 80, "{}: {checked:?}", f.version);
        assert!(checked["stack"] >= 17, "{}: {checked:?}", f.version);
        for kind in ["finalizer", "queued_finalizer", "defer", "panic"] {
            assert!(
                checked.get(kind).is_some_and(|&n| n >= 1),
                "{}: {checked:?}",
                f.version
            );
        }
    }
}

/// With the executable, objects get the types the core gives them (from
/// allocation headers, interface words and typed roots): every recorded
/// object its program type, none a type the core disagrees with. Only
/// cleanup closures (cleanups are not in heap dumps) stay untyped.
#[test]
fn types_match_the_core_and_the_program() {
    let mut failures = Vec::new();
    for f in common::all_builds() {
        let version = GoVersion::parse(f.truth_str("go_version")).expect("version");
        let model = load_dump_exe(&f);
        let core = load_core(&f);
        let mut typed = 0;
        for o in recorded(&f, "objects") {
            if after_dump(o) {
                continue;
            }
            let addr = hex(&o["addr"]);
            let id = model.objects.find(addr).expect("object");
            if model.objects.addr(id) != addr {
                continue; // a tiny block has no single type
            }
            let name = o["id"].as_str().expect("id");
            let want = o["type"].as_str().expect("type");
            let got = model.type_name(id);
            let right = match got {
                Some(g) if want == "closure" => g.starts_with("closure "),
                Some(g) => g == want,
                None => false,
            };
            match (common::untypeable(name, version), right, got) {
                (None, true, _) => typed += 1,
                (Some(_), _, None) => {}
                (why, _, got) => failures.push(format!(
                    "{}: {name} want {want} got {got:?} ({why:?})",
                    f.version
                )),
            }
        }
        assert!(typed >= 100, "{}: only {typed} objects typed", f.version);
        // The whole heap: where both are typed they agree.
        let (mut same, mut dump_only, mut core_only) = (0, 0, 0);
        for id in model.objects.ids() {
            let addr = model.objects.addr(id);
            let Some(c) = core
                .objects
                .find(addr)
                .filter(|&c| core.objects.addr(c) == addr)
            else {
                continue;
            };
            match (model.type_name(id), core.type_name(c)) {
                (Some(d), Some(c)) if d == c || alike(d, c) => same += 1,
                // A tiny block holds several values: no single type.
                (Some(_), Some(_)) if model.objects.size(id) == 16 => same += 1,
                (Some(d), Some(c)) => failures.push(format!(
                    "{}: {addr:#x} is {d} in the dump, {c} in the core",
                    f.version
                )),
                // A core also types from interface values and allocation
                // calls, which a dump's reader does not look for (yet).
                (None, Some(_)) => core_only += 1,
                (Some(_), None) => dump_only += 1,
                _ => {}
            }
        }
        println!(
            "{}: {typed} recorded objects typed; {same} objects typed as in the core, {dump_only} \
             typed only in the dump (dead by the crash), {core_only} only in the core",
            f.version
        );
        assert!(same > 30_000, "{}: {same}", f.version);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Goroutines: every recorded goroutine that did not run after the dump is
/// found with its state and wait reason, its frames in order with source
/// lines, and its creator; the dumping goroutine says it is dumping. Without
/// the executable the same goroutines and functions are there, without lines.
#[test]
fn goroutines_match_the_program() {
    for f in common::all_builds() {
        let model = load_dump_exe(&f);
        let (dump, bare) = load_dump(&f);
        let changed = changed_goroutines(&f, &model);
        assert_eq!(
            model.goroutines.len() as u64,
            dump.summary.goroutines,
            "{}",
            f.version
        );
        for want in recorded(&f, "goroutines") {
            let id = want["id"].as_u64().expect("id");
            if changed.contains(&id) {
                continue;
            }
            let g = model
                .goroutines
                .iter()
                .find(|g| g.id == id)
                .unwrap_or_else(|| panic!("{}: goroutine {id} missing", f.version));
            let wait = want["wait"].as_str().expect("wait");
            assert_eq!(g.state, "waiting", "{}: goroutine {id}", f.version);
            let reason = g.wait_reason.as_deref().unwrap_or_default();
            assert!(
                reason.starts_with(wait),
                "{}: goroutine {id} waits for {reason:?}, not {wait}",
                f.version
            );
            let functions: Vec<&str> = g.frames.iter().map(|fr| fr.function.as_str()).collect();
            let mut rest = functions.iter();
            for frame in want["frames"].as_array().expect("frames") {
                let name = frame.as_str().expect("frame");
                let name = if name == "panic" {
                    "runtime.gopanic"
                } else {
                    name
                };
                assert!(
                    rest.any(|f| *f == name),
                    "{}: goroutine {id} lacks frame {name} in order: {functions:?}",
                    f.version
                );
            }
            let created_by = want["created_by"].as_str().expect("created_by");
            if !created_by.is_empty() {
                assert_eq!(
                    g.created_by.as_ref().map(|c| c.function.as_str()),
                    Some(created_by),
                    "{}: goroutine {id}",
                    f.version
                );
            }
        }
        for g in &model.goroutines {
            assert!(
                g.frames.iter().all(|fr| fr.line.is_some_and(|l| l > 0)),
                "{}: goroutine {} has frames without lines: {:?}",
                f.version,
                g.id,
                g.frames
            );
        }
        if version_at_least(&dump, 21) {
            let dumping: Vec<_> = model
                .goroutines
                .iter()
                .filter(|g| g.wait_reason.as_deref() == Some("dumping heap"))
                .collect();
            assert_eq!(dumping.len(), 1, "{}", f.version);
            assert!(changed.contains(&dumping[0].id), "{}", f.version);
        }
        // Without the executable: the same goroutines, states and functions.
        let plain = |m: &HeapModel| -> Vec<(u64, String, Option<String>, Vec<String>)> {
            m.goroutines
                .iter()
                .map(|g| {
                    (
                        g.id,
                        g.state.clone(),
                        g.wait_reason.clone(),
                        g.frames.iter().map(|fr| fr.function.clone()).collect(),
                    )
                })
                .collect()
        };
        assert_eq!(plain(&bare), plain(&model), "{}", f.version);
        assert!(
            bare.goroutines
                .iter()
                .all(|g| g.frames.iter().all(|fr| fr.line.is_none())),
            "{}",
            f.version
        );
    }
}

/// Allocation sites: the memory profile's buckets are in the model with
/// their stacks, and every object of each recorded site (all are sampled:
/// MemProfileRate=1) is tied to a bucket of that site and held by the root
/// truth names.
#[test]
fn sites_hold_their_objects() {
    for f in common::all_builds() {
        let model = load_dump_exe(&f);
        let (dump, bare) = load_dump(&f);
        let sites = &model.sites;
        assert_eq!(
            sites.buckets.len() as u64,
            dump.summary.memprof_buckets,
            "{}",
            f.version
        );
        assert!(
            sites.object_bucket.is_sorted(),
            "{}: object_bucket unsorted",
            f.version
        );
        // Every sample names an object of the dump and a bucket of its size.
        assert!(
            sites.object_bucket.len() as u64 * 100 >= dump.summary.alloc_samples * 99,
            "{}: {} of {} samples tied to objects",
            f.version,
            sites.object_bucket.len(),
            dump.summary.alloc_samples
        );
        assert_eq!(
            bare.sites.object_bucket, sites.object_bucket,
            "{}",
            f.version
        );
        for site in recorded(&f, "sites") {
            let function = site["function"].as_str().expect("function");
            // Heap dumps name an inlined call after the function it is inlined into.
            let physical = site["inlined_into"].as_str().unwrap_or(function);
            let file = site["file"].as_str().expect("file");
            let line = site["line"].as_u64().expect("line") as u32;
            let count = site["count"].as_u64().expect("count") as usize;
            let size = site["size"].as_u64().expect("size");
            let of_site: BTreeSet<u32> = sites
                .buckets
                .iter()
                .enumerate()
                .filter(|(_, b)| {
                    b.stack.iter().any(|fr| {
                        (fr.function == function || fr.function == physical)
                            && fr.file.as_deref().is_some_and(|f| f.ends_with(file))
                            && fr.line.is_some_and(|l| l.abs_diff(line) <= 1)
                    })
                })
                .map(|(i, _)| i as u32)
                .collect();
            assert!(
                !of_site.is_empty(),
                "{}: no bucket for {function} {file}:{line}",
                f.version
            );
            for &b in &of_site {
                assert!(sites.buckets[b as usize].size >= size, "{}", f.version);
            }
            let objects: BTreeSet<_> = sites
                .object_bucket
                .iter()
                .filter(|(_, b)| of_site.contains(b))
                .map(|&(o, _)| o)
                .collect();
            let root = site["root"]["name"].as_str().expect("root name");
            let seen = reachable(&model, model.roots.named(root));
            let held = objects.iter().filter(|o| seen[o.index()]).count();
            println!(
                "{}: {function} {file}:{line}: {} buckets, {} objects, {held} held by {root}",
                f.version,
                of_site.len(),
                objects.len()
            );
            assert!(
                held >= count,
                "{}: {function}: {held} of {count} objects held by {root}",
                f.version
            );
        }
        // Objects recorded with their site are tied to a bucket of it.
        for o in recorded(&f, "objects")
            .iter()
            .filter(|o| o["site"].is_object())
        {
            let id = model.objects.find(hex(&o["addr"])).expect("object");
            let function = o["site"]["function"].as_str().expect("function");
            let line = o["site"]["line"].as_u64().expect("line") as u32;
            // An inlined site's frame carries its caller's name and its own line.
            assert!(
                sites.buckets_of(id).any(|b| b
                    .stack
                    .iter()
                    .any(|fr| fr.function == function || fr.line == Some(line))),
                "{}: {} is not tied to {function}",
                f.version,
                o["id"]
            );
        }
    }
}

/// The dump and the core agree on what roots keep alive with names too.
#[test]
fn dump_with_exe_and_core_agree_on_live_objects() {
    for f in common::all_builds() {
        let model = load_dump_exe(&f);
        let core = load_core(&f);
        let a = agreement(&model, &core, |_| true, |_| true);
        println!("{}: with the executable: {a:?}", f.version);
        assert!(a.both * 1000 >= a.dump * 995, "{}: {a:?}", f.version);
        assert!(a.core_only_dumped * 1000 <= a.core, "{}: {a:?}", f.version);
    }
}

/// Heap dumps cut short or corrupted are refused with the offset, never
/// with a panic; corrupted memory contents (pointers, frames, globals) load.
#[test]
fn bad_dumps_are_refused_or_read_never_panic() {
    let f = Fixture::load("go1.23");
    let bytes = std::fs::read(f.heap_dump()).expect("read dump");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("heap.dump");
    let options = OpenOptions::with_exe(f.exe());
    for i in 1..12u64 {
        let cut = (bytes.len() as u64 * i / 12) as usize;
        std::fs::write(&path, &bytes[..cut]).expect("write");
        let err = match Dump::open(&path, &options) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a dump cut at {cut} was accepted"),
        };
        assert!(
            err.contains("corrupt at offset 0x") && err.contains("truncated"),
            "cut at {cut}: {err}"
        );
    }
    // Memory contents: where they are in the file.
    let dump = open_dump(&f);
    let base = dump.bytes().as_ptr() as usize;
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for r in dump.records() {
        let contents = match r.expect("record").1 {
            Record::Object(o) => o.contents,
            Record::StackFrame(s) => s.contents,
            Record::Data(s) | Record::Bss(s) => s.contents,
            _ => continue,
        };
        if !contents.is_empty() {
            ranges.push((contents.as_ptr() as usize - base, contents.len()));
        }
    }
    let some_heap = dump
        .records()
        .find_map(|r| match r.expect("record").1 {
            Record::Object(o) => Some(o.addr),
            _ => None,
        })
        .expect("an object");
    let mut state = 0x2545f4914f6cdd1du64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..12 {
        let mut b = bytes.clone();
        for _ in 0..2000 {
            let (start, len) = ranges[(rand() as usize) % ranges.len()];
            let at = start + (rand() as usize % len) / 8 * 8;
            let value = match rand() % 4 {
                0 => rand(),
                1 => some_heap.wrapping_add(rand() % (1 << 20)),
                2 => u64::MAX,
                _ => 0,
            };
            let end = (at + 8).min(start + len);
            b[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
        }
        std::fs::write(&path, &b).expect("write");
        let without = Dump::open(&path, &OpenOptions::default()).expect("still parses");
        without.load_model().expect("loads without the executable");
        if round % 3 == 0 {
            let with = Dump::open(&path, &options).expect("still parses");
            with.load_model().expect("loads with the executable");
        }
    }
}

/// Two names for one object from two true sources: "[1]T" (a slice's
/// backing array of one) and "T" (a pointer to it); a defined type and the
/// type its value was allocated as (flag.String allocates a string and
/// converts the pointer: the interface names flag.stringValue).
fn alike(a: &str, b: &str) -> bool {
    let one = |x: &str| x.strip_prefix("[1]").unwrap_or(x).to_string();
    one(a) == one(b)
        || matches!(
            (a, b),
            ("flag.stringValue", "string")
                | ("string", "flag.stringValue")
                | ("flag.boolValue", "bool")
                | ("bool", "flag.boolValue")
        )
}
