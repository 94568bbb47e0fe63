//! Heap dump → heap model: the object records become objects (as Go sees
//! them: after any allocation header, without the runtime's phantom slots),
//! their pointer fields become edges, and the data/bss segments, stack
//! frames, finalizers, defers and panics become roots. See
//! `formats/heapdump.md` for the format and its quirks.
//!
//! The records are a stream without length prefixes, so one sequential pass
//! collects the objects (as compact slots: address, size, record offset) and
//! the root records; edges are then read in parallel by decoding each
//! object's record again at its offset, in object id order.
//!
//! Loading reads top to bottom in `load_from`: the dump's layout rules
//! (`layout`), the first pass (`scan`), the executable check, the slots
//! settled into objects (`slots`), `edges`, allocation `sites`, then roots,
//! goroutines and types, with the executable (`exe`) or without (`roots`).

mod dump_memory;
mod edges;
mod exe;
mod exe_check;
mod layout;
mod roots;
mod scan;
mod sites;
mod slots;
#[cfg(test)]
mod tests;

use crate::error::Result;
use crate::input::elf::Executable;
use crate::input::heapdump::HeapDumpFile;
use crate::model::{Goroutine, HeapModel, Root, Roots};

use edges::{object_at, read_edges};
use layout::Layout;
use roots::{build_roots, describe_goroutine, plain_frame, runtime_roots};
use scan::{GoroutineRecord, RootRecords, Scanned, scan_records};
use sites::build_sites;
use slots::{HEADER, Slot, place_objects, settle_slots};

pub use exe::ExeInfo;

/// Bytes of one heap page; every size class up to 512 bytes uses one-page spans.
const PAGE: u64 = 8192;
/// Largest object size (and size class) of a small-object span.
const MAX_SMALL: u64 = 32768;
/// Bytes of an allocation header (`mallocHeaderSize`, on every architecture).
const HEADER_SIZE: u64 = 8;

/// Addresses from here up are not user memory on any 64-bit target (amd64
/// user space ends at 2^47, 2^56 with five-level paging).
const MAX_ADDR: u64 = 1 << 62;

/// The pointer size of the one architecture read with an executable (amd64).
const PTR: u64 = 8;

/// Builds the heap model of a validated heap dump. With the executable that
/// wrote it, roots are named by DWARF variable, objects typed, frames given
/// source lines; without it, objects have sizes and pointers only.
pub fn load(dump: &HeapDumpFile, exe: Option<&Executable>) -> Result<HeapModel> {
    load_from(dump, exe.map(ExeSource::Exe))
}

/// [`load`] with an executable whose DWARF was read before: for loading
/// several dumps of one program.
pub fn load_with(dump: &HeapDumpFile, exe: &mut ExeInfo<'_>) -> Result<HeapModel> {
    load_from(dump, Some(ExeSource::Info(exe)))
}

enum ExeSource<'x, 'e> {
    Exe(&'e Executable),
    Info(&'x mut ExeInfo<'e>),
}

impl<'e> ExeSource<'_, 'e> {
    fn executable(&self) -> &'e Executable {
        match self {
            ExeSource::Exe(e) => e,
            ExeSource::Info(i) => i.executable(),
        }
    }
}

/// What a heap dump cannot show (debug.WriteHeapDump writes no cleanup or
/// weak-handle records).
const UNSEEN: &str = "cleanups (runtime.AddCleanup)";

/// The load, step by step; warnings are collected in the order the steps
/// find them.
fn load_from(dump: &HeapDumpFile, exe: Option<ExeSource<'_, '_>>) -> Result<HeapModel> {
    let mut warnings = Vec::new();
    let layout = Layout::new(dump, &mut warnings);
    let bytes = dump.bytes();
    let Scanned {
        mut slots,
        records: rr,
        ambiguous,
    } = scan_records(dump, &layout, &mut warnings)?;
    // Refuse another build's executable before any real work.
    let (exe, stripped_exe) = check_exe(exe, dump, &rr, &mut warnings)?;
    settle_slots(&mut slots, ambiguous, &rr.samples, &layout, &mut warnings);
    let objects = place_objects(&mut slots, &mut warnings);
    let edges = read_edges(bytes, &slots, &objects, &layout, &mut warnings)?;
    let mut sites = build_sites(&rr, &objects);
    sites.last_gc = dump.memstats.as_ref().map(|m| crate::model::GcStamp {
        num_gc: m.num_gc,
        unix_nanos: m.last_gc,
    });
    let heap = exe::Heap {
        bytes,
        slots: &slots,
        objects: &objects,
        edges: &edges,
        layout: &layout,
    };
    let (roots, goroutines, names) = match exe {
        Some((exe, checked)) => {
            let typed = typed_with_exe(exe, &checked, &rr, &heap, &mut warnings)?;
            sites.rate = typed.mem_profile_rate;
            (
                typed.roots,
                typed.goroutines,
                Some((typed.types, typed.object_types)),
            )
        }
        None => {
            let (roots, goroutines) = roots_without_exe(&rr, &heap, stripped_exe, &mut warnings);
            (roots, goroutines, None)
        }
    };
    let mut model = HeapModel::new(objects, edges, Roots { roots }, warnings);
    model.unseen_holders = Some(UNSEEN);
    model.goroutines = goroutines;
    match names {
        Some((types, object_types)) => {
            model.types = types;
            model.object_types = object_types;
        }
        None => model.names_from = crate::model::NameSource::HeapDump,
    }
    model.sites = sites;
    Ok(model)
}

/// The executable checked against the dump (an error when it is another
/// build), or none: also none, with a warning, for one without DWARF (the
/// `bool` says so).
fn check_exe<'x, 'e>(
    exe: Option<ExeSource<'x, 'e>>,
    dump: &HeapDumpFile,
    rr: &RootRecords<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Option<(ExeSource<'x, 'e>, exe_check::Checked)>, bool)> {
    let mut stripped_exe = false;
    let exe = match exe {
        Some(exe) => {
            let checked = exe_check::check(exe.executable(), dump, rr, warnings)?;
            // Only the section's presence: ExeInfo reads the DWARF itself.
            let has_dwarf = matches!(exe, ExeSource::Info(_)) || exe.executable().has_dwarf();
            if has_dwarf {
                Some((exe, checked))
            } else {
                stripped_exe = true;
                // A heap dump holds no runtime type descriptors to recover
                // names from (only its own type records): read it as if no
                // executable were given, and say why.
                warnings.push(format!(
                    "{} has no DWARF (stripped or built with -ldflags=-w): a heap dump is read \
                     without it; for names and types from a stripped binary, read a core",
                    exe.executable().path().display()
                ));
                None
            }
        }
        None => None,
    };

    Ok((exe, stripped_exe))
}

/// Roots and goroutines without the executable: named by the dump's own
/// records.
fn roots_without_exe(
    rr: &RootRecords<'_>,
    heap: &exe::Heap<'_>,
    stripped_exe: bool,
    warnings: &mut Vec<String>,
) -> (Vec<Root>, Vec<Goroutine>) {
    let (objects, edges, layout) = (heap.objects, heap.edges, heap.layout);
    if !stripped_exe {
        warnings.push(
            "no executable given (--exe): object types are unavailable (objects have \
             sizes and pointers only), globals are named by their place in data/bss and \
             stack slots by their frame's function, without source lines"
                .to_string(),
        );
    }
    let mut roots = build_roots(rr, objects, layout, warnings);
    roots.extend(runtime_roots(rr, objects, edges, layout));
    let goroutines = rr
        .goroutines
        .iter()
        .map(|g| describe_goroutine(rr, g, |f, _| plain_frame(f), |_| None))
        .collect();
    (roots, goroutines)
}

/// Roots, goroutines and types with the executable, whose DWARF is read now
/// unless the caller read it before.
fn typed_with_exe(
    exe: ExeSource<'_, '_>,
    checked: &exe_check::Checked,
    rr: &RootRecords<'_>,
    heap: &exe::Heap<'_>,
    warnings: &mut Vec<String>,
) -> Result<exe::Typed> {
    let mut read;
    let info = match exe {
        ExeSource::Info(info) => info,
        ExeSource::Exe(exe) => {
            read = ExeInfo::new(exe)?;
            &mut read
        }
    };
    exe::load(info, checked, rr, heap, warnings)
}
