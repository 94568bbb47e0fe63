//! The heap model built from heap dumps, against the program's truth and
//! against the model of the core the same process wrote a little later.

mod common;

use std::collections::HashSet;

use common::Fixture;
use rootpath::analysis::reach::reachable;
use rootpath::dump::{Dump, OpenOptions};
use rootpath::input::Source;
use rootpath::input::goruntime::GoVersion;
use rootpath::input::heapdump::HeapDumpFile;
use rootpath::model::{HeapModel, Root, RootKind, StackRootKind};

/// Go's size classes (runtime/sizeclasses.go, identical in 1.19–1.27).
const SIZE_CLASSES: [u64; 68] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
    352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
    2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
    10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672,
    32768,
];
const PAGE: u64 = 8192;

/// The size Go reports for an object of `requested` bytes: its slot less the
/// allocation header that Go ≥1.22 puts before pointerful objects over 512
/// bytes (the same rule as tests/core_objects.rs).
fn expected_size(version: GoVersion, requested: u64, has_pointers: bool) -> u64 {
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

fn hex(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16).expect("hex")
}

fn open_dump(f: &Fixture) -> HeapDumpFile {
    let source = Source::open(&f.heap_dump()).expect("open heap dump");
    HeapDumpFile::parse(source).expect("parse heap dump")
}

fn load_dump(f: &Fixture) -> (HeapDumpFile, HeapModel) {
    let dump = open_dump(f);
    let model = rootpath::input::heapdump_loader::load(&dump).expect("load dump model");
    assert!(
        model.warnings.is_empty(),
        "{}: {:?}",
        f.version,
        model.warnings
    );
    (dump, model)
}

fn load_core(f: &Fixture) -> HeapModel {
    let options = OpenOptions { exe: Some(f.exe()) };
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
    for f in common::all() {
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
                    expected_size(version, size, ptrs),
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
    for f in common::all() {
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
    for f in common::all() {
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
                        && r.name == format!("goroutine {} (panic value)", goroutine.unwrap())
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
    for f in common::all() {
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
    for f in common::all() {
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
