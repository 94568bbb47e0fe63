//! The first pass over a heap dump: one sequential read of the records
//! (they have no length prefixes), keeping objects as compact slots and
//! borrowing the root, goroutine and profile records until objects are known.

use std::collections::HashMap;

use crate::error::Result;
use crate::input::heapdump::{Fields, HeapDumpFile, MemProfBucket, Record, StackFrame};

use super::MAX_SMALL;
use super::layout::Layout;
use super::slots::{AMBIGUOUS, FIELD_AT_ZERO, HAS_FIELDS, HEADER, Slot};

/// A goroutine record and where its frames are in [`RootRecords::frames`].
#[derive(Debug, Clone)]
pub(super) struct GoroutineRecord<'a> {
    /// The `runtime.g`.
    pub(super) addr: u64,
    pub(super) goid: u64,
    pub(super) gopc: u64,
    pub(super) status: u64,
    pub(super) wait_reason: &'a [u8],
    /// `g.sched.ctxt`.
    pub(super) ctxt: u64,
    /// Head of the panic chain.
    pub(super) panic: u64,
    pub(super) frames: std::ops::Range<usize>,
}

/// Root, goroutine and profile records, borrowed from the dump until the
/// objects are known.
#[derive(Default)]
pub(super) struct RootRecords<'a> {
    /// (is bss, segment address, contents, fields).
    pub(super) segments: Vec<(bool, u64, &'a [u8], Fields<'a>)>,
    pub(super) goroutines: Vec<GoroutineRecord<'a>>,
    /// Every goroutine's frames, innermost first, goroutine after goroutine.
    pub(super) frames: Vec<StackFrame<'a>>,
    pub(super) finalizers: Vec<crate::input::heapdump::Finalizer>,
    pub(super) queued: Vec<crate::input::heapdump::Finalizer>,
    pub(super) defers: Vec<crate::input::heapdump::Defer>,
    pub(super) panics: Vec<crate::input::heapdump::Panic>,
    pub(super) other: Vec<(&'a [u8], u64)>,
    /// `g` address → index in `goroutines`, for defers and panics.
    pub(super) goids: HashMap<u64, usize>,
    /// Frames seen before any goroutine record.
    pub(super) orphan_frames: usize,
    /// Memory profile buckets.
    pub(super) buckets: Vec<MemProfBucket<'a>>,
    /// Alloc samples: (object, bucket address).
    pub(super) samples: Vec<(u64, u64)>,
}

impl<'a> RootRecords<'a> {
    /// The goroutine id of a `g` address.
    pub(super) fn goid(&self, g: u64) -> Option<u64> {
        self.goids.get(&g).map(|&i| self.goroutines[i].goid)
    }

    /// The frames of goroutine record `i`.
    pub(super) fn frames_of(&self, g: &GoroutineRecord<'_>) -> &[StackFrame<'a>] {
        &self.frames[g.frames.clone()]
    }
}

/// What the first pass over the records collected.
pub(super) struct Scanned<'a> {
    /// Every object record, in file order.
    pub(super) slots: Vec<Slot>,
    pub(super) records: RootRecords<'a>,
    /// How many 32 KiB slots the size alone cannot tell headers of.
    pub(super) ambiguous: usize,
}

/// The first pass: every record once, in file order, into object slots and
/// the root, goroutine and profile records.
pub(super) fn scan_records<'a>(
    dump: &'a HeapDumpFile,
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> Result<Scanned<'a>> {
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
    Ok(Scanned {
        slots,
        records: rr,
        ambiguous,
    })
}
