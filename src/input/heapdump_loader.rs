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

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::Result;
use crate::input::elf::Executable;
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::stack_roots::{panic_root, panicking_function};
use crate::input::goruntime::stacks::status_name;
use crate::input::heapdump::{
    Field, FieldKind, Fields, HeapDumpFile, MemProfBucket, Record, StackFrame, text,
};
use crate::model::{
    AllocBucket, Edges, EdgesBuilder, FrameRef, Goroutine, HeapModel, ObjectId, Objects,
    ObjectsBuilder, Root, RootKind, Roots, Sites, SourceFrame, StackRootKind,
};

mod exe;

pub use exe::ExeInfo;

/// Bytes of one heap page; every size class up to 512 bytes uses one-page spans.
const PAGE: u64 = 8192;
/// Largest object size (and size class) of a small-object span.
const MAX_SMALL: u64 = 32768;
/// Bytes of an allocation header (`mallocHeaderSize`, on every architecture).
const HEADER_SIZE: u64 = 8;
/// Bytes reserved at the end of a one-page span for its pointer bitmap, and
/// (Green Tea GC) for its inline mark bits.
const SPAN_RESERVE: u64 = 128;

/// Addresses from here up are not user memory on any 64-bit target (amd64
/// user space ends at 2^47, 2^56 with five-level paging).
const MAX_ADDR: u64 = 1 << 62;

/// Object ids per parallel work item when reading edges.
const EDGE_CHUNK: usize = 1 << 14;

/// The runtime's heap layout rules, from the dump's Go version.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Pointer size in bytes (4 or 8).
    ptr: u64,
    big_endian: bool,
    /// Small pointerful objects over `heap_bits_max` bytes start with an
    /// `*abi.Type` word (Go ≥1.22, `GOEXPERIMENT=allocheaders`).
    headers: bool,
    /// Objects of at most this many bytes keep their pointer bitmap at the
    /// end of their span (`minSizeForMallocHeader`: 512 on 64-bit).
    heap_bits_max: u64,
    /// Spans of sizes ≤512 reserve 128 bytes for inline mark bits (Go ≥1.26,
    /// Green Tea GC) when their size is at least 16.
    inline_mark_bits: bool,
}

impl Layout {
    fn new(dump: &HeapDumpFile, warnings: &mut Vec<String>) -> Layout {
        let p = &dump.params;
        let version = GoVersion::parse(&p.go_version);
        let (headers, inline_mark_bits) = match version {
            Some(v) => (
                experiment(&p.go_version, "allocheaders").unwrap_or(v.at_least(22)),
                experiment(&p.go_version, "greenteagc").unwrap_or(v.at_least(26)),
            ),
            None => {
                warnings.push(format!(
                    "unrecognised Go version {:?} in the dump: allocation headers and span \
                     metadata slots are assumed as in Go 1.22-1.25",
                    p.go_version
                ));
                (true, false)
            }
        };
        Layout {
            ptr: p.ptr_size,
            big_endian: p.big_endian,
            headers,
            heap_bits_max: p.ptr_size * p.ptr_size * 8,
            inline_mark_bits,
        }
    }

    /// The pointer-sized word at `off` of `bytes`, if it lies inside.
    #[inline]
    fn word(&self, bytes: &[u8], off: u64) -> Option<u64> {
        let start = usize::try_from(off).ok()?;
        let w = bytes.get(start..start.checked_add(self.ptr as usize)?)?;
        Some(match (self.ptr, self.big_endian) {
            (8, false) => u64::from_le_bytes(w.try_into().ok()?),
            (8, true) => u64::from_be_bytes(w.try_into().ok()?),
            (_, false) => u64::from(u32::from_le_bytes(w.try_into().ok()?)),
            (_, true) => u64::from(u32::from_be_bytes(w.try_into().ok()?)),
        })
    }

    /// Offsets of the pointer words a field describes: one for a pointer,
    /// the type/itab and data words of an interface (never written by the
    /// runtime, read for completeness).
    #[inline]
    fn words(&self, f: Field) -> impl Iterator<Item = u64> {
        let n = if f.kind == FieldKind::Ptr { 1 } else { 2 };
        (0..n).map(move |i| f.offset + i * self.ptr)
    }

    /// Bytes reserved at the end of a one-page span of `elem`-byte objects,
    /// for a span with pointers and for one without.
    fn reserve(&self, elem: u64) -> (u64, u64) {
        if elem > self.heap_bits_max {
            return (0, 0);
        }
        let inline = if self.inline_mark_bits && elem >= 16 {
            SPAN_RESERVE
        } else {
            0
        };
        let bitmap = if self.headers { PAGE / self.ptr / 8 } else { 0 };
        (inline + bitmap, inline)
    }
}

/// Whether `GOEXPERIMENT` (as `runtime.Version()` shows it: "go1.22.10
/// X:a,nob" or "go1.26.6-X:a") turns `name` on (`Some(true)`) or off.
fn experiment(version: &str, name: &str) -> Option<bool> {
    let list = &version[version.find("X:")? + 2..];
    let list = list.split_whitespace().next().unwrap_or("");
    list.split(',').find_map(|e| {
        if e == name {
            Some(true)
        } else if e.strip_prefix("no") == Some(name) {
            Some(false)
        } else {
            None
        }
    })
}

/// One object record, compactly (24 bytes): enough to place it and to
/// find it again.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The record's address: the start of the allocation slot.
    addr: u64,
    /// File offset of the record's tag.
    rec: u64,
    /// Its contents length (the slot size), see [`Slot::encode_len`].
    len: u32,
    flags: u8,
}

/// Marks a slot length stored in pages.
const LEN_IN_PAGES: u32 = 1 << 31;

/// The record lists pointer fields.
const HAS_FIELDS: u8 = 1;
/// Its first field is at offset 0 (so the first word is no header).
const FIELD_AT_ZERO: u8 = 2;
/// The slot starts with an allocation header.
const HEADER: u8 = 4;
/// A 32 KiB pointerful slot whose header-ness the size cannot tell (a small
/// object of the largest class has a header, a 4-page large object does not).
const AMBIGUOUS: u8 = 8;
/// Span metadata, not an object.
const PHANTOM: u8 = 16;

impl Slot {
    /// Slot sizes below 2 GiB as they are, larger ones (large objects: whole
    /// spans) in pages, up to 16 TiB; `None` for anything else.
    fn encode_len(len: u64) -> Option<u32> {
        match u32::try_from(len) {
            Ok(l) if l < LEN_IN_PAGES => Some(l),
            _ if len % PAGE == 0 => u32::try_from(len / PAGE)
                .ok()
                .filter(|&p| p < LEN_IN_PAGES)
                .map(|p| p | LEN_IN_PAGES),
            _ => None,
        }
    }

    /// The slot size.
    fn len(&self) -> u64 {
        if self.len & LEN_IN_PAGES != 0 {
            u64::from(self.len & !LEN_IN_PAGES) * PAGE
        } else {
            u64::from(self.len)
        }
    }

    /// Bytes of allocation header at the start of the slot.
    fn header(&self) -> u64 {
        if self.flags & HEADER != 0 {
            HEADER_SIZE
        } else {
            0
        }
    }
}

/// A goroutine record and where its frames are in [`RootRecords::frames`].
#[derive(Debug, Clone)]
struct GoroutineRecord<'a> {
    /// The `runtime.g`.
    addr: u64,
    goid: u64,
    gopc: u64,
    status: u64,
    wait_reason: &'a [u8],
    /// `g.sched.ctxt`.
    ctxt: u64,
    /// Head of the panic chain.
    panic: u64,
    frames: std::ops::Range<usize>,
}

/// Root, goroutine and profile records, borrowed from the dump until the
/// objects are known.
#[derive(Default)]
struct RootRecords<'a> {
    /// (is bss, segment address, contents, fields).
    segments: Vec<(bool, u64, &'a [u8], Fields<'a>)>,
    goroutines: Vec<GoroutineRecord<'a>>,
    /// Every goroutine's frames, innermost first, goroutine after goroutine.
    frames: Vec<StackFrame<'a>>,
    finalizers: Vec<crate::input::heapdump::Finalizer>,
    queued: Vec<crate::input::heapdump::Finalizer>,
    defers: Vec<crate::input::heapdump::Defer>,
    panics: Vec<crate::input::heapdump::Panic>,
    other: Vec<(&'a [u8], u64)>,
    /// `g` address → index in `goroutines`, for defers and panics.
    goids: HashMap<u64, usize>,
    /// Frames seen before any goroutine record.
    orphan_frames: usize,
    /// Memory profile buckets.
    buckets: Vec<MemProfBucket<'a>>,
    /// Alloc samples: (object, bucket address).
    samples: Vec<(u64, u64)>,
}

impl<'a> RootRecords<'a> {
    /// The goroutine id of a `g` address.
    fn goid(&self, g: u64) -> Option<u64> {
        self.goids.get(&g).map(|&i| self.goroutines[i].goid)
    }

    /// The frames of goroutine record `i`.
    fn frames_of(&self, g: &GoroutineRecord<'_>) -> &[StackFrame<'a>] {
        &self.frames[g.frames.clone()]
    }
}

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

fn load_from(dump: &HeapDumpFile, exe: Option<ExeSource<'_, '_>>) -> Result<HeapModel> {
    let mut warnings = Vec::new();
    let layout = Layout::new(dump, &mut warnings);
    let bytes = dump.bytes();

    // Pass 1: every record once, in file order.
    let mut slots: Vec<Slot> = Vec::with_capacity(dump.summary.objects as usize);
    let mut rr = RootRecords::default();
    let mut ambiguous = 0usize;
    let mut oversized = 0usize;
    for item in dump.records() {
        let (offset, rec) = item?;
        match rec {
            Record::Object(o) => {
                let mut flags = 0;
                let first = o.fields.offsets().next();
                if first.is_some() {
                    flags |= HAS_FIELDS;
                }
                if first == Some(0) {
                    flags |= FIELD_AT_ZERO;
                }
                let len = o.contents.len() as u64;
                if layout.headers
                    && flags == HAS_FIELDS
                    && len > layout.heap_bits_max
                    && len <= MAX_SMALL
                {
                    flags |= HEADER;
                    if len == MAX_SMALL {
                        // The largest small class and a 4-page large
                        // object (no header) look alike: guess from the
                        // first word (a type pointer is never zero and is
                        // aligned); alloc samples settle it below.
                        let w = layout.word(o.contents, 0).unwrap_or(0);
                        if w == 0 || w % layout.ptr != 0 {
                            flags &= !HEADER;
                        }
                        flags |= AMBIGUOUS;
                        ambiguous += 1;
                    }
                }
                match Slot::encode_len(len) {
                    Some(len) => slots.push(Slot {
                        addr: o.addr,
                        rec: offset,
                        len,
                        flags,
                    }),
                    None => oversized += 1,
                }
            }
            Record::Goroutine(g) => {
                rr.goids.insert(g.addr, rr.goroutines.len());
                rr.goroutines.push(GoroutineRecord {
                    addr: g.addr,
                    goid: g.goid,
                    gopc: g.gopc,
                    status: g.status,
                    wait_reason: g.wait_reason,
                    ctxt: g.ctxt,
                    panic: g.panic,
                    frames: rr.frames.len()..rr.frames.len(),
                });
            }
            Record::StackFrame(f) => match rr.goroutines.last_mut() {
                Some(g) => {
                    rr.frames.push(f);
                    g.frames.end = rr.frames.len();
                }
                None => rr.orphan_frames += 1,
            },
            Record::Data(s) => rr.segments.push((false, s.addr, s.contents, s.fields)),
            Record::Bss(s) => rr.segments.push((true, s.addr, s.contents, s.fields)),
            Record::Finalizer(f) => rr.finalizers.push(f),
            Record::QueuedFinalizer(f) => rr.queued.push(f),
            Record::Defer(d) => rr.defers.push(d),
            Record::Panic(p) => rr.panics.push(p),
            Record::OtherRoot(r) => rr.other.push((r.description, r.to)),
            Record::MemProf(b) => rr.buckets.push(b),
            Record::AllocSample(s) => rr.samples.push((s.obj, s.bucket)),
            _ => {}
        }
    }
    if oversized > 0 {
        warnings.push(format!(
            "{oversized} object records of 2 GiB or more are not a whole number of pages: \
             they were skipped"
        ));
    }
    if rr.orphan_frames > 0 {
        warnings.push(format!(
            "{} stack frame records precede every goroutine record: they were skipped",
            rr.orphan_frames
        ));
    }
    // Refuse another build's executable before any real work.
    let mut stripped_exe = false;
    let exe = match exe {
        Some(exe) => {
            let checked = exe::check(exe.executable(), dump, &rr, &mut warnings)?;
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

    slots.par_sort_unstable_by_key(|s| s.addr);
    let before = slots.len();
    slots.dedup_by_key(|s| s.addr);
    if slots.len() < before {
        warnings.push(format!(
            "{} object records repeat an address already dumped: they were skipped",
            before - slots.len()
        ));
    }
    if ambiguous > 0 {
        let unsettled = settle_ambiguous(&mut slots, &rr.samples);
        if unsettled > 0 {
            warnings.push(format!(
                "{unsettled} pointerful 32 KiB objects may or may not start with an allocation \
                 header (no allocation sample says): guessed from their first word"
            ));
        }
    }
    mark_phantoms(&mut slots, &layout);
    let odd_headers = slots
        .iter()
        .filter(|s| {
            layout.headers
                && s.flags & (FIELD_AT_ZERO | PHANTOM) == FIELD_AT_ZERO
                && s.len() > layout.heap_bits_max
                && s.len() < MAX_SMALL
        })
        .count();
    if odd_headers > 0 {
        warnings.push(format!(
            "{odd_headers} objects of 512 B-32 KiB list a pointer where their allocation header \
             should be: they were taken as header-less"
        ));
    }
    slots.retain(|s| s.flags & PHANTOM == 0);

    // Objects as Go sees them; overlapping ones (a corrupt dump) are dropped
    // so that every address has at most one object.
    let mut last_end = 0u64;
    let mut overlapping = 0usize;
    let mut impossible = 0usize;
    slots.retain(|s| {
        // No process has memory in the top half of the address space.
        if s.addr.checked_add(s.len()).is_none_or(|end| end > MAX_ADDR) {
            impossible += 1;
            return false;
        }
        let h = s.header();
        let keep = s.addr + h >= last_end && s.len() > h;
        if keep {
            last_end = s.addr + s.len();
        } else {
            overlapping += 1;
        }
        keep
    });
    if overlapping > 0 {
        warnings.push(format!(
            "{overlapping} object records overlap others or are empty: they were skipped"
        ));
    }
    if impossible > 0 {
        warnings.push(format!(
            "{impossible} object records lie above {MAX_ADDR:#x}, where no process has memory: \
             they were skipped"
        ));
    }
    let mut builder = ObjectsBuilder::with_capacity(slots.len());
    for s in &slots {
        let h = s.header();
        builder.push(s.addr + h, s.len() - h);
    }
    let objects = builder.finish();
    debug_assert_eq!(objects.len(), slots.len());

    let (edges, far) = build_edges(bytes, &slots, &objects, &layout)?;
    if far > 0 {
        warnings.push(format!(
            "{far} pointer fields sit more than 4 GiB into their object: they were skipped"
        ));
    }

    let mut sites = build_sites(&rr, &objects);
    sites.last_gc = dump.memstats.as_ref().map(|m| crate::model::GcStamp {
        num_gc: m.num_gc,
        unix_nanos: m.last_gc,
    });
    let mut model = match exe {
        Some((exe, checked)) => {
            let heap = exe::Heap {
                bytes,
                slots: &slots,
                objects: &objects,
                edges: &edges,
                layout: &layout,
            };
            let mut read;
            let info = match exe {
                ExeSource::Info(info) => info,
                ExeSource::Exe(exe) => {
                    read = ExeInfo::new(exe)?;
                    &mut read
                }
            };
            let typed = exe::load(info, &checked, &rr, &heap, &mut warnings)?;
            let roots = Roots { roots: typed.roots };
            let mut model = HeapModel::new(objects, edges, roots, warnings);
            model.unseen_holders = Some(UNSEEN);
            model.types = typed.types;
            model.object_types = typed.object_types;
            model.goroutines = typed.goroutines;
            sites.rate = typed.mem_profile_rate;
            model
        }
        None => {
            if !stripped_exe {
                warnings.push(
                    "no executable given (--exe): object types are unavailable (objects have \
                     sizes and pointers only), globals are named by their place in data/bss and \
                     stack slots by their frame's function, without source lines"
                        .to_string(),
                );
            }
            let mut roots = build_roots(&rr, &objects, &layout, &mut warnings);
            roots.extend(runtime_roots(&rr, &objects, &edges, &layout));
            let goroutines = rr
                .goroutines
                .iter()
                .map(|g| describe_goroutine(&rr, g, |f, _| plain_frame(f), |_| None))
                .collect();
            let mut model = HeapModel::new(objects, edges, Roots { roots }, warnings);
            model.unseen_holders = Some(UNSEEN);
            model.goroutines = goroutines;
            model.names_from = crate::model::NameSource::HeapDump;
            model
        }
    };
    model.sites = sites;
    Ok(model)
}

/// Decides the 32 KiB pointerful slots from alloc samples (their `obj` is
/// what `mallocgc` returned: slot + header, or the slot itself), where the
/// dump has them; the first-word guess stays for the rest, whose number is
/// returned.
fn settle_ambiguous(slots: &mut [Slot], samples: &[(u64, u64)]) -> usize {
    for &(obj, _) in samples {
        for addr in [obj, obj.wrapping_sub(HEADER_SIZE)] {
            if let Ok(i) = slots.binary_search_by_key(&addr, |s| s.addr) {
                let s = &mut slots[i];
                if s.flags & AMBIGUOUS != 0 {
                    if addr == obj {
                        s.flags &= !HEADER;
                    } else {
                        s.flags |= HEADER;
                    }
                    s.flags &= !AMBIGUOUS;
                }
            }
        }
    }
    slots.iter().filter(|s| s.flags & AMBIGUOUS != 0).count()
}

/// Marks the slots the runtime dumps past the end of a small span's objects
/// (its pointer bitmap and inline mark bits: `dumpobjs` walks the whole
/// span, but only slots below `nelems` can be free). Whether a span holds
/// pointers is not in the dump: a span in which some record lists pointer
/// fields does; one whose only records are the whole candidate tail is
/// taken to be an empty span with pointers.
fn mark_phantoms(slots: &mut [Slot], layout: &Layout) {
    let mut i = 0;
    while i < slots.len() {
        let (page, len) = (slots[i].addr / PAGE, slots[i].len());
        let mut j = i + 1;
        while j < slots.len() && slots[j].addr / PAGE == page && slots[j].len() == len {
            j += 1;
        }
        let group = &mut slots[i..j];
        i = j;
        let (scan_reserve, noscan_reserve) = layout.reserve(len);
        if scan_reserve == 0 || len == 0 {
            continue;
        }
        let n = PAGE / len;
        let nelems_scan = (PAGE - scan_reserve) / len;
        let nelems_noscan = (PAGE - noscan_reserve) / len;
        let index = |s: &Slot| (s.addr % PAGE) / len;
        let scan = group.iter().any(|s| s.flags & HAS_FIELDS != 0) || {
            let tail = group.iter().filter(|s| index(s) >= nelems_scan).count() as u64;
            tail == n - nelems_scan && tail as usize == group.len()
        };
        let limit = if scan { nelems_scan } else { nelems_noscan };
        for s in group.iter_mut() {
            if index(s) >= limit {
                s.flags |= PHANTOM;
            }
        }
    }
}

/// Minimal decoding of an object record at a known offset (validated when
/// the dump was parsed): its contents and the encoded field list.
fn object_at(bytes: &[u8], rec: u64) -> Option<(&[u8], &[u8])> {
    let mut pos = usize::try_from(rec).ok()?;
    let tag = varint(bytes, &mut pos)?;
    if tag != 1 {
        return None;
    }
    varint(bytes, &mut pos)?; // address
    let len = usize::try_from(varint(bytes, &mut pos)?).ok()?;
    let contents = bytes.get(pos..pos.checked_add(len)?)?;
    Some((contents, &bytes[pos + len..]))
}

#[inline]
fn varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let (value, len) = crate::input::varint::uvarint(bytes.get(*pos..)?).ok()?;
    *pos += len;
    Some(value)
}

/// The `(kind, offset)` pairs of an encoded field list, up to its 0.
fn fields_of(raw: &[u8]) -> impl Iterator<Item = Field> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let kind = match varint(raw, &mut pos)? {
            1 => FieldKind::Ptr,
            2 => FieldKind::Iface,
            3 => FieldKind::Eface,
            _ => return None,
        };
        let offset = varint(raw, &mut pos)?;
        Some(Field { kind, offset })
    })
}

struct ChunkEdges {
    counts: Vec<u32>,
    targets: Vec<ObjectId>,
    offsets: Vec<u32>,
    far: usize,
}

/// Reads every object's pointer fields, in parallel chunks of object ids.
fn build_edges(
    bytes: &[u8],
    slots: &[Slot],
    objects: &Objects,
    layout: &Layout,
) -> Result<(Edges, usize)> {
    let chunks: Vec<ChunkEdges> = slots
        .par_chunks(EDGE_CHUNK)
        .map(|chunk| {
            let mut out = ChunkEdges {
                counts: Vec::with_capacity(chunk.len()),
                targets: Vec::new(),
                offsets: Vec::new(),
                far: 0,
            };
            for s in chunk {
                let before = out.targets.len();
                if s.flags & HAS_FIELDS != 0
                    && let Some((contents, raw)) = object_at(bytes, s.rec)
                {
                    let h = s.header();
                    let (base, size) = (s.addr + h, s.len() - h);
                    for f in fields_of(raw) {
                        for off in layout.words(f) {
                            // The header word is the type, not a reference.
                            if off < h {
                                continue;
                            }
                            let Some(value) = layout.word(contents, off) else {
                                continue;
                            };
                            // Pointers into the object itself keep nothing else alive.
                            if value.wrapping_sub(base) < size {
                                continue;
                            }
                            let Some(target) = objects.find(value) else {
                                continue;
                            };
                            match u32::try_from(off - h) {
                                Ok(o) => {
                                    out.targets.push(target);
                                    out.offsets.push(o);
                                }
                                Err(_) => out.far += 1,
                            }
                        }
                    }
                }
                out.counts.push((out.targets.len() - before) as u32);
            }
            out
        })
        .collect();
    let total = chunks.iter().map(|c| c.targets.len()).sum();
    let mut builder = EdgesBuilder::with_capacity(objects.len(), total);
    let mut far = 0;
    for c in &chunks {
        builder.push_rows(&c.counts, &c.targets, &c.offsets);
        far += c.far;
    }
    Ok((builder.finish()?, far))
}

/// Buckets of the memory profile and the bucket of each sampled object.
fn build_sites(rr: &RootRecords<'_>, objects: &Objects) -> Sites {
    let mut index: HashMap<u64, u32> = HashMap::with_capacity(rr.buckets.len());
    let mut buckets = Vec::with_capacity(rr.buckets.len());
    for b in &rr.buckets {
        index.entry(b.addr).or_insert_with(|| {
            buckets.push(AllocBucket {
                id: b.addr,
                size: b.size,
                stack: b
                    .frames
                    .iter()
                    .map(|f| {
                        let file = text(f.file);
                        SourceFrame {
                            function: text(f.func).into_owned(),
                            file: (file != "?" && !file.is_empty()).then(|| file.into_owned()),
                            line: u32::try_from(f.line).ok().filter(|&l| l > 0),
                        }
                    })
                    .collect(),
                pcs: Vec::new(),
                allocs: b.allocs,
                frees: b.frees,
            });
            (buckets.len() - 1) as u32
        });
    }
    // A sample's object is what mallocgc returned: after any allocation
    // header, or inside a tiny block.
    let mut object_bucket: Vec<(ObjectId, u32)> = rr
        .samples
        .iter()
        .filter_map(|&(obj, bucket)| Some((objects.find(obj)?, *index.get(&bucket)?)))
        .collect();
    object_bucket.par_sort_unstable();
    Sites {
        buckets,
        object_bucket,
        rate: None,
        inlined_frames: false,
        last_gc: None,
    }
}

/// A frame as the dump names it, without the executable.
fn plain_frame(f: &StackFrame<'_>) -> Option<SourceFrame> {
    Some(SourceFrame {
        function: text(f.name).into_owned(),
        file: None,
        line: None,
    })
}

/// A goroutine of the model from its record and frames; `frame` turns a
/// frame (with its depth) into a source frame, `created_by` names the pc of
/// the `go` statement.
fn describe_goroutine(
    rr: &RootRecords<'_>,
    g: &GoroutineRecord<'_>,
    frame: impl Fn(&StackFrame<'_>, usize) -> Option<SourceFrame>,
    created_by: impl Fn(u64) -> Option<SourceFrame>,
) -> Goroutine {
    let state = status_name(g.status).to_string();
    let wait_reason = (state == "waiting")
        .then(|| text(g.wait_reason).into_owned())
        .filter(|r| !r.is_empty());
    Goroutine {
        id: g.goid,
        state,
        wait_reason,
        frames: rr
            .frames_of(g)
            .iter()
            .enumerate()
            .filter_map(|(i, f)| frame(f, i))
            .collect(),
        // The main goroutine is started by the runtime's assembly, not a `go` statement.
        created_by: (g.gopc != 0 && g.goid != 1)
            .then(|| created_by(g.gopc))
            .flatten(),
        problem: None,
    }
}

/// Roots named without the executable: globals by their place in the
/// segment, stack slots by frame, defers and panics by goroutine.
fn build_roots(
    rr: &RootRecords<'_>,
    objects: &Objects,
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> Vec<Root> {
    let mut roots = Vec::new();
    let find = |addr: u64| (addr != 0).then(|| objects.find(addr)).flatten();
    let on_stack = |goroutine: u64, function: &str, what: StackRootKind| FrameRef {
        goroutine,
        function: function.to_string(),
        what,
        ..FrameRef::default()
    };

    // Globals: one root per pointer word that holds a heap address (the
    // dump does not say which variable is where).
    for &(bss, addr, contents, fields) in &rr.segments {
        let section = if bss { "bss" } else { "data" };
        for f in fields {
            for off in layout.words(f) {
                if let Some(t) = layout.word(contents, off).and_then(find) {
                    roots.push(Root::new(
                        RootKind::Global,
                        format!("{section}+{off:#x}"),
                        Some(addr.wrapping_add(off)),
                        vec![(t, 0)],
                    ));
                }
            }
        }
    }

    // Stack frames: one root per frame (no DWARF here to split it by
    // variable), the pointer slots' offsets from the frame's sp.
    let mut outside = 0usize;
    let mut offs: Vec<u64> = Vec::new();
    for g in &rr.goroutines {
        for frame in rr.frames_of(g) {
            offs.clear();
            offs.extend(frame.fields.iter().flat_map(|f| layout.words(f)));
            offs.sort_unstable();
            offs.dedup();
            let mut targets = Vec::new();
            for &off in &offs {
                match layout.word(frame.contents, off) {
                    Some(v) => {
                        if let Some(t) = find(v) {
                            targets.push((t, off));
                        }
                    }
                    None => outside += 1,
                }
            }
            if !targets.is_empty() {
                let function = text(frame.name);
                let mut root = Root::new(
                    RootKind::Stack,
                    format!("goroutine {} {function}", g.goid),
                    Some(frame.sp),
                    targets,
                );
                root.frame = Some(on_stack(g.goid, &function, StackRootKind::Slot));
                roots.push(root);
            }
        }
    }
    if outside > 0 {
        warnings.push(format!(
            "{outside} stack pointer slots lie outside their frame's dumped contents: they were skipped"
        ));
    }

    // The function whose frame has this sp, for defers.
    let frame_at = |goid: u64, sp: u64| {
        rr.goroutines
            .iter()
            .filter(|g| g.goid == goid)
            .flat_map(|g| rr.frames_of(g))
            .find(|f| f.sp == sp)
            .map(|f| text(f.name).into_owned())
            .unwrap_or_default()
    };
    let mut unknown_goroutine = 0usize;
    // Defers on the chain: the deferred closure, and the defer record when
    // it is a heap object.
    for d in &rr.defers {
        let targets: Vec<(ObjectId, u64)> = [find(d.fn_val), find(d.addr)]
            .into_iter()
            .flatten()
            .map(|t| (t, 0))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let Some(g) = rr.goid(d.goroutine) else {
            unknown_goroutine += 1;
            continue;
        };
        let function = frame_at(g, d.sp);
        let mut root = Root::new(
            RootKind::Stack,
            format!("goroutine {g} {function} (defer)"),
            Some(d.addr),
            targets,
        );
        root.frame = Some(on_stack(g, &function, StackRootKind::Defer));
        roots.push(root);
    }
    // Panic values (an interface: type word, data word).
    for (i, p) in rr.panics.iter().enumerate() {
        let targets: Vec<(ObjectId, u64)> = [(p.arg_type, 0), (p.arg_data, layout.ptr)]
            .into_iter()
            .filter_map(|(a, off)| Some((find(a)?, off)))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let Some(g) = rr.goid(p.goroutine) else {
            unknown_goroutine += 1;
            continue;
        };
        // The chain lists a goroutine's panics newest first, as its frames.
        let nth = rr.panics[..i]
            .iter()
            .filter(|q| q.goroutine == p.goroutine)
            .count();
        let frames: Vec<String> = rr
            .goroutines
            .iter()
            .filter(|r| r.goid == g)
            .flat_map(|r| rr.frames_of(r))
            .map(|f| text(f.name).into_owned())
            .collect();
        let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
        let function = panicking_function(&frames, nth).unwrap_or_default();
        roots.push(panic_root(g, function, Some(p.addr), targets));
    }
    if unknown_goroutine > 0 {
        warnings.push(format!(
            "{unknown_goroutine} defer or panic records name a goroutine the dump does not have: \
             they were skipped"
        ));
    }
    roots
}

/// Roots that need no executable to name: saved context registers,
/// finalizers, queued finalizers, and other roots.
fn runtime_roots(
    rr: &RootRecords<'_>,
    objects: &Objects,
    edges: &Edges,
    layout: &Layout,
) -> Vec<Root> {
    let mut roots = Vec::new();
    let find = |addr: u64| (addr != 0).then(|| objects.find(addr)).flatten();
    // The saved context register of a parked goroutine (scanstack scans it).
    for g in &rr.goroutines {
        if let Some(t) = find(g.ctxt) {
            let mut root = Root::new(
                RootKind::Other,
                format!("goroutine {} (context register)", g.goid),
                None,
                vec![(t, 0)],
            );
            root.frame = Some(FrameRef {
                goroutine: g.goid,
                ..FrameRef::default()
            });
            roots.push(root);
        }
    }
    // Finalizers waiting for their object: the object's referents are roots
    // (the collector scans it without marking it), and so is the closure.
    for f in &rr.finalizers {
        let object = find(f.obj);
        let object_addr = object.map_or(f.obj, |o| objects.addr(o));
        let mut targets: Vec<(ObjectId, u64)> = Vec::new();
        if let Some(obj) = object {
            targets.extend(edges.out(obj).map(|(t, off)| (t, u64::from(off))));
        }
        targets.extend(find(f.fn_val).map(|t| (t, 0)));
        if !targets.is_empty() {
            roots.push(Root::new(
                RootKind::Finalizer,
                format!("finalizer of {object_addr:#x}"),
                Some(object_addr),
                targets,
            ));
        }
    }
    // Queued finalizers: the closure and the object (a runtime.finalizer's
    // fn and arg words) keep both alive until the finalizer has run.
    for f in &rr.queued {
        let targets: Vec<(ObjectId, u64)> = [(f.fn_val, 0), (f.obj, layout.ptr)]
            .into_iter()
            .filter_map(|(a, off)| Some((find(a)?, off)))
            .collect();
        if !targets.is_empty() {
            roots.push(Root::new(
                RootKind::QueuedFinalizer,
                format!("queued finalizer of {:#x}", f.obj),
                Some(f.obj),
                targets,
            ));
        }
    }
    // Never written by the runtime; kept for other writers.
    for &(description, to) in &rr.other {
        if let Some(t) = find(to) {
            roots.push(Root::new(
                RootKind::Other,
                text(description).into_owned(),
                None,
                vec![(t, 0)],
            ));
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::input::Source;

    #[test]
    fn experiments_from_version_strings() {
        assert_eq!(experiment("go1.22.10", "allocheaders"), None);
        assert_eq!(
            experiment("go1.22.10 X:noallocheaders", "allocheaders"),
            Some(false)
        );
        assert_eq!(
            experiment("go1.26.6-X:nogreenteagc,foo", "greenteagc"),
            Some(false)
        );
        assert_eq!(
            experiment("go1.25.5 X:greenteagc", "greenteagc"),
            Some(true)
        );
        assert_eq!(
            experiment("go1.22.10 X:nocoverageredesign", "allocheaders"),
            None
        );
    }

    #[test]
    fn slot_lengths_round_trip() {
        for len in [8, 32768, 40960, (1 << 31) - 1, 1 << 31, 5 << 30, 1 << 40] {
            let s = Slot {
                addr: 0,
                rec: 0,
                len: Slot::encode_len(len).expect("encodable"),
                flags: 0,
            };
            assert_eq!(s.len(), len);
        }
        assert_eq!(Slot::encode_len((1 << 31) + 1), None);
    }

    /// A heap dump writer for tests: uvarints, strings, field lists.
    struct W(Vec<u8>);

    impl W {
        fn uv(&mut self, mut v: u64) -> &mut Self {
            while v >= 0x80 {
                self.0.push(v as u8 | 0x80);
                v >>= 7;
            }
            self.0.push(v as u8);
            self
        }
        fn bytes(&mut self, b: &[u8]) -> &mut Self {
            self.uv(b.len() as u64);
            self.0.extend_from_slice(b);
            self
        }
        fn fields(&mut self, offsets: &[u64]) -> &mut Self {
            for &o in offsets {
                self.uv(1).uv(o);
            }
            self.uv(0)
        }
        fn object(&mut self, addr: u64, words: &[u64], len: usize, fields: &[u64]) -> &mut Self {
            let mut c: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            c.resize(len, 0);
            self.uv(1).uv(addr).bytes(&c).fields(fields)
        }
    }

    const P0: u64 = 0xc000000000;
    const P1: u64 = P0 + PAGE;
    const P2: u64 = P0 + 2 * PAGE;
    const P3: u64 = P0 + 3 * PAGE;
    /// The 1 KiB object of the synthetic dump: its header, a pointer into
    /// the middle of B, a pointer into itself.
    const A: u64 = P1;

    fn synthetic(version: &str) -> (tempfile::NamedTempFile, HeapDumpFile) {
        let mut w = W(b"go1.7 heap dump\n".to_vec());
        w.uv(6).uv(0).uv(8).uv(P0).uv(P0 + (64 << 20));
        w.bytes(b"amd64").bytes(version.as_bytes()).uv(4);
        // B: a 32-byte scan span's first object, and the span's bitmap tail.
        w.object(P0, &[0], 32, &[0]);
        for slot in 252..256 {
            w.object(P0 + slot * 32, &[], 32, &[]);
        }
        w.object(A, &[0x4a1000, P0 + 8, A + 8 + 40], 1024, &[8, 16, 24]);
        // A noscan 16-byte span: a tiny block and the span's last slot.
        w.object(P2, &[], 16, &[]);
        w.object(P2 + 508 * 16, &[], 16, &[]);
        // C: a closure (its code pointer is not a heap pointer).
        w.object(P3, &[0x401000], 16, &[0]);
        // A goroutine whose frame holds a pointer into the tiny block.
        w.uv(4).uv(0xc000100000).uv(0x7000).uv(7).uv(0x401000).uv(4);
        w.uv(0)
            .uv(0)
            .uv(0)
            .bytes(b"chan receive")
            .uv(0)
            .uv(0)
            .uv(0)
            .uv(0);
        let frame: Vec<u8> = [0u64, P2 + 4]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        w.uv(5)
            .uv(0x7000)
            .uv(0)
            .uv(0)
            .bytes(&frame)
            .uv(0x401000)
            .uv(0x401010);
        w.uv(0x401010).bytes(b"main.f").fields(&[8]);
        // A global holding A, a finalizer on A whose closure is C.
        let data: Vec<u8> = [0u64, A + 8].iter().flat_map(|w| w.to_le_bytes()).collect();
        w.uv(12).uv(0x500000).bytes(&data).fields(&[8]);
        w.uv(7)
            .uv(A + 8)
            .uv(P3)
            .uv(0x401000)
            .uv(0x4a2000)
            .uv(0x4a3000);
        // A profile bucket (two frames) and samples of A (after its header)
        // and of a tiny allocation inside the 16-byte block.
        w.uv(16).uv(0x9000).uv(1024).uv(2);
        w.bytes(b"main.alloc").bytes(b"main.go").uv(12);
        w.bytes(b"(0x401234)").bytes(b"?").uv(0);
        w.uv(3).uv(1);
        w.uv(17).uv(A + 8).uv(0x9000);
        w.uv(17).uv(P2 + 4).uv(0x9000);
        w.uv(17).uv(P0 + 0x100000).uv(0x9000); // no such object
        w.uv(0);
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(&w.0).expect("write dump");
        let dump = HeapDumpFile::parse(Source::open(file.path()).expect("open")).expect("parse");
        (file, dump)
    }

    fn objects(m: &HeapModel) -> Vec<(u64, u64)> {
        m.objects
            .ids()
            .map(|id| (m.objects.addr(id), m.objects.size(id)))
            .collect()
    }

    #[test]
    fn headers_phantoms_edges_and_roots_1_22() {
        let (_file, dump) = synthetic("go1.22.10");
        let m = load(&dump, None).expect("load");
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(
            m.warnings[0].starts_with("no executable"),
            "{:?}",
            m.warnings
        );
        // The bitmap slots are gone, A starts after its header, the noscan
        // span's last slot is an object (1.22 reserves nothing there).
        assert_eq!(
            objects(&m),
            vec![
                (P0, 32),
                (A + 8, 1016),
                (P2, 16),
                (P2 + 508 * 16, 16),
                (P3, 16)
            ]
        );
        let a = m.objects.find(A + 8).unwrap();
        let b = m.objects.find(P0).unwrap();
        // A's interior pointer into B counts; its pointer into itself does not.
        assert_eq!(m.edges.out(a).collect::<Vec<_>>(), vec![(b, 0)]);
        assert_eq!(m.edges.len(), 1);

        let roots: Vec<_> = m
            .roots
            .iter()
            .map(|r| (r.kind, r.name.as_str(), r.addr, r.targets.clone()))
            .collect();
        let tiny = m.objects.find(P2).unwrap();
        let c = m.objects.find(P3).unwrap();
        assert_eq!(
            roots,
            vec![
                (RootKind::Global, "data+0x8", Some(0x500008), vec![(a, 0)]),
                (
                    RootKind::Stack,
                    "goroutine 7 main.f",
                    Some(0x7000),
                    vec![(tiny, 8)]
                ),
                (
                    RootKind::Finalizer,
                    "finalizer of 0xc000002008",
                    Some(A + 8),
                    vec![(b, 0), (c, 0)]
                ),
            ]
        );
        let frame = m.roots.roots[1].frame.as_ref().expect("frame");
        assert_eq!((frame.goroutine, frame.function.as_str()), (7, "main.f"));

        // The goroutine, with what the dump says of it.
        assert_eq!(m.goroutines.len(), 1);
        let g = &m.goroutines[0];
        assert_eq!(
            (g.id, g.state.as_str(), g.wait_reason.as_deref()),
            (7, "waiting", Some("chan receive"))
        );
        let frames: Vec<_> = g.frames.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(frames, ["main.f"]);

        // Sites: the bucket with its stack, and the samples' objects.
        assert_eq!(m.sites.buckets.len(), 1);
        let b = &m.sites.buckets[0];
        assert_eq!((b.id, b.size, b.allocs, b.frees), (0x9000, 1024, 3, 1));
        assert_eq!(b.stack[0].display(), "main.alloc (main.go:12)");
        assert_eq!((b.stack[1].file.as_deref(), b.stack[1].line), (None, None));
        assert_eq!(m.sites.object_bucket, vec![(a, 0), (tiny, 0)]);
        assert_eq!(m.sites.buckets_of(a).count(), 1);
        assert_eq!(m.sites.buckets_of(c).count(), 0);
    }

    #[test]
    fn green_tea_spans_reserve_mark_bits() {
        let (_file, dump) = synthetic("go1.26.6");
        let m = load(&dump, None).expect("load");
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(
            m.warnings[0].starts_with("no executable"),
            "{:?}",
            m.warnings
        );
        // From 1.26 the noscan span's last 128 bytes are inline mark bits.
        assert_eq!(
            objects(&m),
            vec![(P0, 32), (A + 8, 1016), (P2, 16), (P3, 16)]
        );
    }

    #[test]
    fn no_headers_or_phantoms_before_1_22() {
        let (_file, dump) = synthetic("go1.21.13");
        let m = load(&dump, None).expect("load");
        assert_eq!(m.objects.len(), 9);
        let a = m.objects.find(A).unwrap();
        assert_eq!((m.objects.addr(a), m.objects.size(a)), (A, 1024));
        let b = m.objects.find(P0).unwrap();
        assert_eq!(m.edges.out(a).collect::<Vec<_>>(), vec![(b, 8)]);
    }
}
