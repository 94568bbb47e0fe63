//! Streaming, zero-copy decoding of heap dump records (see `formats/heapdump.md`).
//!
//! [`Records`] walks a whole dump held in memory and yields each record with
//! its file offset. Byte contents and strings are borrowed from the input;
//! pointer field lists are kept as their encoded bytes ([`Fields`]) and
//! decoded lazily, so walking tens of millions of objects allocates nothing.
//! Every read is bounds-checked: no input makes the reader panic, and no
//! length read from the file is used before it is checked against the bytes
//! that remain.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::input::detect::HEAPDUMP_MAGIC;
use crate::input::varint::{VarintError, uvarint};

/// The record kinds, numbered by their tag (`tagEOF` … `tagAllocSample` in
/// `runtime/heapdump.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Eof = 0,
    Object = 1,
    OtherRoot = 2,
    Type = 3,
    Goroutine = 4,
    StackFrame = 5,
    Params = 6,
    Finalizer = 7,
    Itab = 8,
    OsThread = 9,
    MemStats = 10,
    QueuedFinalizer = 11,
    Data = 12,
    Bss = 13,
    Defer = 14,
    Panic = 15,
    MemProf = 16,
    AllocSample = 17,
}

impl RecordKind {
    pub const ALL: [RecordKind; 18] = [
        RecordKind::Eof,
        RecordKind::Object,
        RecordKind::OtherRoot,
        RecordKind::Type,
        RecordKind::Goroutine,
        RecordKind::StackFrame,
        RecordKind::Params,
        RecordKind::Finalizer,
        RecordKind::Itab,
        RecordKind::OsThread,
        RecordKind::MemStats,
        RecordKind::QueuedFinalizer,
        RecordKind::Data,
        RecordKind::Bss,
        RecordKind::Defer,
        RecordKind::Panic,
        RecordKind::MemProf,
        RecordKind::AllocSample,
    ];

    pub fn from_tag(tag: u64) -> Option<RecordKind> {
        RecordKind::ALL.get(usize::try_from(tag).ok()?).copied()
    }

    pub fn tag(self) -> u64 {
        self as u64
    }

    /// A short name for messages ("object", "stack frame", …).
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Eof => "EOF",
            RecordKind::Object => "object",
            RecordKind::OtherRoot => "other root",
            RecordKind::Type => "type",
            RecordKind::Goroutine => "goroutine",
            RecordKind::StackFrame => "stack frame",
            RecordKind::Params => "params",
            RecordKind::Finalizer => "finalizer",
            RecordKind::Itab => "itab",
            RecordKind::OsThread => "OS thread",
            RecordKind::MemStats => "memstats",
            RecordKind::QueuedFinalizer => "queued finalizer",
            RecordKind::Data => "data segment",
            RecordKind::Bss => "bss segment",
            RecordKind::Defer => "defer",
            RecordKind::Panic => "panic",
            RecordKind::MemProf => "memprof bucket",
            RecordKind::AllocSample => "alloc sample",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One decoded record. Addresses are the writing process's virtual addresses.
#[derive(Debug, Clone)]
pub enum Record<'a> {
    /// Tag 0: the last record of a complete dump.
    Eof,
    /// Tag 1: one heap object slot (live or dead since the last GC).
    Object(Object<'a>),
    /// Tag 2: defined by the format, never written by any runtime 1.19–1.27.
    OtherRoot(OtherRoot<'a>),
    /// Tag 3: a runtime type; written only just before an itab that uses it.
    Type(Type<'a>),
    /// Tag 4: a goroutine; its stack frames follow it, then its defers and panics.
    Goroutine(Goroutine<'a>),
    /// Tag 5: one stack frame of the goroutine record before it.
    StackFrame(StackFrame<'a>),
    /// Tag 6: the dump's parameters, written first.
    Params(ParamsRecord<'a>),
    /// Tag 7: a finalizer registered on a still-reachable object.
    Finalizer(Finalizer),
    /// Tag 8: an itab.
    Itab(Itab),
    /// Tag 9: an M (OS thread).
    OsThread(OsThread),
    /// Tag 10: `runtime.MemStats` as read when the dump started.
    MemStats(Box<MemStats>),
    /// Tag 11: a finalizer queued to run (its object is unreachable otherwise).
    QueuedFinalizer(Finalizer),
    /// Tag 12: the main module's data segment.
    Data(Segment<'a>),
    /// Tag 13: the main module's bss segment.
    Bss(Segment<'a>),
    /// Tag 14: a defer record of the goroutine written before it.
    Defer(Defer),
    /// Tag 15: a panic record of the goroutine written before it.
    Panic(Panic),
    /// Tag 16: a heap profile bucket: an allocation stack and its counts.
    MemProf(MemProfBucket<'a>),
    /// Tag 17: a sampled allocation: links an object to its memprof bucket.
    AllocSample(AllocSample),
}

impl Record<'_> {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Eof => RecordKind::Eof,
            Record::Object(_) => RecordKind::Object,
            Record::OtherRoot(_) => RecordKind::OtherRoot,
            Record::Type(_) => RecordKind::Type,
            Record::Goroutine(_) => RecordKind::Goroutine,
            Record::StackFrame(_) => RecordKind::StackFrame,
            Record::Params(_) => RecordKind::Params,
            Record::Finalizer(_) => RecordKind::Finalizer,
            Record::Itab(_) => RecordKind::Itab,
            Record::OsThread(_) => RecordKind::OsThread,
            Record::MemStats(_) => RecordKind::MemStats,
            Record::QueuedFinalizer(_) => RecordKind::QueuedFinalizer,
            Record::Data(_) => RecordKind::Data,
            Record::Bss(_) => RecordKind::Bss,
            Record::Defer(_) => RecordKind::Defer,
            Record::Panic(_) => RecordKind::Panic,
            Record::MemProf(_) => RecordKind::MemProf,
            Record::AllocSample(_) => RecordKind::AllocSample,
        }
    }
}

/// Text from the dump (function, file, type names), shown lossily.
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Tag 1 (`dumpobj`).
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    /// Start of the object's slot. On Go 1.22+ objects with a malloc header
    /// this is the header word (a `*abi.Type`); pointers to the object point
    /// `ptr_size` bytes further.
    pub addr: u64,
    /// The whole slot (the size class's element size, not the requested size).
    pub contents: &'a [u8],
    /// Offsets of pointer words in `contents`; each is `< contents.len()`.
    pub fields: Fields<'a>,
}

/// Tag 2 (`dumpotherroot`, never called by the runtime).
#[derive(Debug, Clone, Copy)]
pub struct OtherRoot<'a> {
    pub description: &'a [u8],
    pub to: u64,
}

/// Tag 3 (`dumptype`).
#[derive(Debug, Clone, Copy)]
pub struct Type<'a> {
    /// Address of the runtime `_type`.
    pub addr: u64,
    pub size: u64,
    /// `pkgpath.Name` for named types (see the naming quirk in the format
    /// notes), else the type's string.
    pub name: &'a [u8],
    /// `!DirectIface || has pointers`: whether an interface holding this type
    /// has a pointer in its data word. True for every real type.
    pub iface_data_is_ptr: bool,
}

/// Tag 4 (`dumpgoroutine`).
#[derive(Debug, Clone, Copy)]
pub struct Goroutine<'a> {
    /// Address of the `runtime.g`.
    pub addr: u64,
    /// Stack pointer (`syscallsp` in a syscall, else `sched.sp`).
    pub sp: u64,
    pub goid: u64,
    /// PC of the `go` statement that created it.
    pub gopc: u64,
    /// `readgstatus`: 1 runnable, 2 running (in a syscall, Go 1.26+), 3 syscall, 4 waiting.
    pub status: u64,
    pub is_system: bool,
    /// Always false.
    pub is_background: bool,
    /// `g.waitsince` (nanotime when it started waiting, 0 if unknown).
    pub wait_since: u64,
    pub wait_reason: &'a [u8],
    /// `sched.ctxt`.
    pub ctxt: u64,
    /// The `runtime.m` it is on, or 0.
    pub m: u64,
    /// Head of the defer chain, or 0.
    pub defer: u64,
    /// Head of the panic chain, or 0.
    pub panic: u64,
}

/// Tag 5 (`dumpframe`).
#[derive(Debug, Clone, Copy)]
pub struct StackFrame<'a> {
    /// Lowest address of the frame; `contents` starts here.
    pub sp: u64,
    /// 0 for the innermost frame of the goroutine, counting outwards.
    pub depth: u64,
    /// `sp` of the callee frame, 0 for the innermost frame.
    pub child_sp: u64,
    /// `[sp, fp)`.
    pub contents: &'a [u8],
    /// Entry PC of the function.
    pub entry_pc: u64,
    pub pc: u64,
    /// PC where execution continues (the return or deferreturn point).
    pub continue_pc: u64,
    pub name: &'a [u8],
    /// Pointer slots: the outgoing arguments area (for the callee) and the
    /// locals, as offsets from `sp`. Not bounds-checked against `contents`
    /// (the runtime's conservative fallbacks can in principle reach past it).
    pub fields: Fields<'a>,
}

/// Tag 6 (`dumpparams`), borrowed. See [`super::Params`] for the owned form.
#[derive(Debug, Clone, Copy)]
pub struct ParamsRecord<'a> {
    pub big_endian: bool,
    pub ptr_size: u64,
    /// Lowest heap arena base.
    pub heap_start: u64,
    /// Highest heap arena end.
    pub heap_end: u64,
    /// `goarch.GOARCH`.
    pub goarch: &'a [u8],
    /// `runtime.buildVersion` (what `runtime.Version()` returns).
    pub go_version: &'a [u8],
    /// CPUs at startup.
    pub ncpu: u64,
}

/// Tags 7 and 11 (`dumpfinalizer`, `finq_callback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finalizer {
    /// The object the finalizer is set on.
    pub obj: u64,
    /// The finalizer's `*funcval` (a closure: a heap or static object).
    pub fn_val: u64,
    /// `fn.fn`: the finalizer function's code address.
    pub fn_pc: u64,
    /// `*_type` of the finalizer's parameter.
    pub fint: u64,
    /// `*ptrtype` of the object pointer passed to SetFinalizer.
    pub ot: u64,
}

/// Tag 8 (`itab_callback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Itab {
    pub addr: u64,
    /// The concrete type's `*_type`; a type record for it precedes the itab.
    pub type_addr: u64,
}

/// Tag 9 (`dumpms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsThread {
    /// Address of the `runtime.m`.
    pub addr: u64,
    /// `m.id`.
    pub id: u64,
    /// `m.procid` (the kernel thread id on Linux).
    pub procid: u64,
}

/// Tag 10 (`dumpmemstats`): the fields of `runtime.MemStats` in order, up to `NumGC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemStats {
    pub alloc: u64,
    pub total_alloc: u64,
    pub sys: u64,
    pub lookups: u64,
    pub mallocs: u64,
    pub frees: u64,
    pub heap_alloc: u64,
    pub heap_sys: u64,
    pub heap_idle: u64,
    pub heap_inuse: u64,
    pub heap_released: u64,
    pub heap_objects: u64,
    pub stack_inuse: u64,
    pub stack_sys: u64,
    pub mspan_inuse: u64,
    pub mspan_sys: u64,
    pub mcache_inuse: u64,
    pub mcache_sys: u64,
    pub buck_hash_sys: u64,
    pub gc_sys: u64,
    pub other_sys: u64,
    pub next_gc: u64,
    pub last_gc: u64,
    pub pause_total_ns: u64,
    pub pause_ns: [u64; 256],
    pub num_gc: u64,
}

/// Number of varints in a memstats record after its tag.
pub const MEMSTATS_VALUES: usize = 24 + 256 + 1;

/// Tags 12 and 13 (`dumproots`): the main module's data or bss segment.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub addr: u64,
    pub contents: &'a [u8],
    /// Pointer slots from the GC mask; each is `< contents.len()`.
    pub fields: Fields<'a>,
}

/// Tag 14 (`dumpgoroutine`'s defer loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defer {
    /// Address of the `runtime._defer`.
    pub addr: u64,
    /// The goroutine it belongs to.
    pub goroutine: u64,
    pub sp: u64,
    pub pc: u64,
    /// The deferred `*funcval`, 0 if none.
    pub fn_val: u64,
    /// Its code address, 0 if none.
    pub fn_pc: u64,
    /// The next defer in the chain, or 0.
    pub link: u64,
}

/// Tag 15 (`dumpgoroutine`'s panic loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panic {
    /// Address of the `runtime._panic` (on the goroutine's stack).
    pub addr: u64,
    pub goroutine: u64,
    /// The panic value: its `*_type` …
    pub arg_type: u64,
    /// … and data word.
    pub arg_data: u64,
    /// Always 0 (was the panic's defer).
    pub defer: u64,
    /// The next (older) panic, or 0.
    pub link: u64,
}

/// Tag 16 (`dumpmemprof_callback`).
#[derive(Debug, Clone, Copy)]
pub struct MemProfBucket<'a> {
    /// Address of the `runtime.bucket`: the key alloc sample records use.
    pub addr: u64,
    /// Allocation size of the bucket (every sample in it has this size).
    pub size: u64,
    /// The allocation stack, innermost first.
    pub frames: MemProfFrames<'a>,
    /// Allocations / frees as of the last completed GC cycle (`mp.active`).
    pub allocs: u64,
    pub frees: u64,
}

/// Tag 17 (`dumpmemprof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocSample {
    /// The sampled object (its slot start, like [`Object::addr`]).
    pub obj: u64,
    /// The [`MemProfBucket::addr`] of its allocation stack.
    pub bucket: u64,
}

/// Kind of a field list entry (`fieldKind*`). Runtimes 1.19–1.27 write only `Ptr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One pointer word at the offset.
    Ptr = 1,
    /// An interface (itab, data) pair at the offset.
    Iface = 2,
    /// An empty interface (type, data) pair at the offset.
    Eface = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub kind: FieldKind,
    pub offset: u64,
}

/// A field list, kept encoded: `(kind, offset)` varint pairs, validated when
/// the record was read. Iterating decodes it again, without allocating.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    /// The pairs, without the terminating 0.
    raw: &'a [u8],
    count: usize,
}

impl<'a> Fields<'a> {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded pairs (without the terminating 0).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn iter(&self) -> FieldIter<'a> {
        FieldIter {
            cur: Cursor::new(self.raw),
        }
    }

    /// Just the offsets (every field the runtime writes is a single pointer).
    pub fn offsets(&self) -> impl Iterator<Item = u64> + 'a {
        self.iter().map(|f| f.offset)
    }
}

impl fmt::Debug for Fields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Fields<'a> {
    type Item = Field;
    type IntoIter = FieldIter<'a>;
    fn into_iter(self) -> FieldIter<'a> {
        self.iter()
    }
}

pub struct FieldIter<'a> {
    cur: Cursor<'a>,
}

impl Iterator for FieldIter<'_> {
    type Item = Field;

    #[inline]
    fn next(&mut self) -> Option<Field> {
        // The list was validated when read; a failure here cannot happen, but
        // ends the iteration rather than panicking.
        let kind = field_kind(self.cur.varint("").ok()?)?;
        let offset = self.cur.varint("").ok()?;
        Some(Field { kind, offset })
    }
}

fn field_kind(k: u64) -> Option<FieldKind> {
    match k {
        1 => Some(FieldKind::Ptr),
        2 => Some(FieldKind::Iface),
        3 => Some(FieldKind::Eface),
        _ => None,
    }
}

/// The stack of a memprof bucket, kept encoded and validated.
#[derive(Clone, Copy)]
pub struct MemProfFrames<'a> {
    raw: &'a [u8],
    count: usize,
}

/// One frame of a memprof bucket's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemProfFrame<'a> {
    /// The function containing the PC (the outermost function when inlined:
    /// the runtime does not expand inlining here), or `(0x…)` with the PC
    /// in hex when the PC is in no known function.
    pub func: &'a [u8],
    /// Source file of the PC (of the inlined body when inlined), `?` if unknown.
    pub file: &'a [u8],
    /// Line of the PC, 0 if unknown.
    pub line: u64,
}

impl<'a> MemProfFrames<'a> {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn iter(&self) -> MemProfFrameIter<'a> {
        MemProfFrameIter {
            cur: Cursor::new(self.raw),
            left: self.count,
        }
    }
}

impl fmt::Debug for MemProfFrames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for MemProfFrames<'a> {
    type Item = MemProfFrame<'a>;
    type IntoIter = MemProfFrameIter<'a>;
    fn into_iter(self) -> MemProfFrameIter<'a> {
        self.iter()
    }
}

pub struct MemProfFrameIter<'a> {
    cur: Cursor<'a>,
    left: usize,
}

impl<'a> Iterator for MemProfFrameIter<'a> {
    type Item = MemProfFrame<'a>;

    fn next(&mut self) -> Option<MemProfFrame<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let func = self.cur.string("").ok()?;
        let file = self.cur.string("").ok()?;
        let line = self.cur.varint("").ok()?;
        Some(MemProfFrame { func, file, line })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// What went wrong while reading one record: where, and what.
#[derive(Debug)]
struct Fault {
    at: usize,
    /// The field being read.
    field: &'static str,
    problem: Problem,
}

#[derive(Debug)]
enum Problem {
    VarintPastEnd,
    VarintTooLong,
    VarintOverflow,
    BytesPastEnd { need: u64, have: usize },
    BadBool(u64),
    BadFieldKind(u64),
    FieldOffsetPastEnd { offset: u64, len: usize },
    UnknownTag(u64),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::VarintPastEnd => {
                write!(f, "varint runs past the end of the file (dump truncated?)")
            }
            Problem::VarintTooLong => write!(f, "varint longer than 10 bytes"),
            Problem::VarintOverflow => write!(f, "varint overflows 64 bits"),
            Problem::BytesPastEnd { need, have } => write!(
                f,
                "record cut off: needs {need} bytes, only {have} remain (dump truncated?)"
            ),
            Problem::BadBool(v) => write!(f, "boolean is {v}, expected 0 or 1"),
            Problem::BadFieldKind(k) => write!(f, "unknown field kind {k} (expected 0 to 3)"),
            Problem::FieldOffsetPastEnd { offset, len } => {
                write!(
                    f,
                    "pointer field at offset {offset} is outside the {len} content bytes"
                )
            }
            Problem::UnknownTag(t) => write!(f, "unknown record tag {t} (expected 0 to 17)"),
        }
    }
}

/// A bounds-checked read position in the dump.
#[derive(Clone)]
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    fn fault(&self, at: usize, field: &'static str, problem: Problem) -> Fault {
        Fault { at, field, problem }
    }

    /// LEB128 u64, at most 10 bytes.
    #[inline(always)]
    fn varint(&mut self, field: &'static str) -> Result<u64, Fault> {
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow(field)
    }

    #[inline(never)]
    fn varint_slow(&mut self, field: &'static str) -> Result<u64, Fault> {
        let start = self.pos;
        match uvarint(self.buf.get(start..).unwrap_or_default()) {
            Ok((value, len)) => {
                self.pos = start + len;
                Ok(value)
            }
            Err(e) => Err(self.fault(
                start,
                field,
                match e {
                    VarintError::PastEnd => Problem::VarintPastEnd,
                    VarintError::TooLong => Problem::VarintTooLong,
                    VarintError::Overflow => Problem::VarintOverflow,
                },
            )),
        }
    }

    fn boolean(&mut self, field: &'static str) -> Result<bool, Fault> {
        let at = self.pos;
        match self.varint(field)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.fault(at, field, Problem::BadBool(v))),
        }
    }

    /// A varint length followed by that many bytes.
    #[inline]
    fn string(&mut self, field: &'static str) -> Result<&'a [u8], Fault> {
        let at = self.pos;
        let len = self.varint(field)?;
        let have = self.buf.len() - self.pos;
        match usize::try_from(len) {
            Ok(n) if n <= have => {
                let s = &self.buf[self.pos..self.pos + n];
                self.pos += n;
                Ok(s)
            }
            _ => Err(self.fault(at, field, Problem::BytesPastEnd { need: len, have })),
        }
    }

    /// A field list up to and including its terminating 0. With `bound`,
    /// every offset must be below it.
    #[inline]
    fn fields(&mut self, bound: Option<usize>) -> Result<Fields<'a>, Fault> {
        let start = self.pos;
        let mut count = 0usize;
        loop {
            let at = self.pos;
            let kind = self.varint("field kind")?;
            if kind == 0 {
                return Ok(Fields {
                    raw: &self.buf[start..at],
                    count,
                });
            }
            if kind > 3 {
                return Err(self.fault(at, "field list", Problem::BadFieldKind(kind)));
            }
            let off_at = self.pos;
            let offset = self.varint("field offset")?;
            if let Some(len) = bound
                && offset >= len as u64
            {
                return Err(self.fault(
                    off_at,
                    "field list",
                    Problem::FieldOffsetPastEnd { offset, len },
                ));
            }
            count += 1;
        }
    }

    fn memprof_frames(&mut self) -> Result<MemProfFrames<'a>, Fault> {
        let at = self.pos;
        let n = self.varint("stack depth")?;
        // Each frame takes at least 3 bytes; refuse absurd counts up front.
        let have = self.buf.len() - self.pos;
        if n > (have / 3) as u64 {
            return Err(self.fault(
                at,
                "stack depth",
                Problem::BytesPastEnd {
                    need: n.saturating_mul(3),
                    have,
                },
            ));
        }
        let start = self.pos;
        for _ in 0..n {
            self.string("frame function")?;
            self.string("frame file")?;
            self.varint("frame line")?;
        }
        Ok(MemProfFrames {
            raw: &self.buf[start..self.pos],
            count: n as usize,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Running,
    AfterEof,
    Done,
}

/// Iterator over every record of a heap dump, from the header to the EOF
/// record, yielding `(file offset of the record's tag, record)`.
///
/// A missing or wrong header, a corrupt record, a dump that ends without the
/// EOF record and bytes after the EOF record are errors; after an error the
/// iterator ends.
#[derive(Clone)]
pub struct Records<'a> {
    cur: Cursor<'a>,
    path: &'a Path,
    state: State,
}

impl<'a> Records<'a> {
    /// Walks `bytes`, the whole dump; `path` only names it in errors.
    pub fn new(bytes: &'a [u8], path: &'a Path) -> Records<'a> {
        Records {
            cur: Cursor::new(bytes),
            path,
            state: State::Header,
        }
    }

    /// The file offset of the next record (after the last one returned).
    pub fn position(&self) -> u64 {
        self.cur.pos as u64
    }

    fn corrupt(&self, offset: usize, what: String) -> Error {
        Error::Corrupt {
            path: self.path.to_path_buf(),
            offset: offset as u64,
            what,
        }
    }

    fn record(&mut self) -> Result<Record<'a>, (Option<RecordKind>, Fault)> {
        let c = &mut self.cur;
        let tag_at = c.pos;
        let tag = c.varint("record tag").map_err(|f| (None, f))?;
        let Some(kind) = RecordKind::from_tag(tag) else {
            return Err((
                None,
                c.fault(tag_at, "record tag", Problem::UnknownTag(tag)),
            ));
        };
        read_body(c, kind).map_err(|f| (Some(kind), f))
    }
}

fn read_body<'a>(c: &mut Cursor<'a>, kind: RecordKind) -> Result<Record<'a>, Fault> {
    Ok(match kind {
        RecordKind::Eof => Record::Eof,
        RecordKind::Object => {
            let addr = c.varint("address")?;
            let contents = c.string("contents")?;
            let fields = c.fields(Some(contents.len()))?;
            Record::Object(Object {
                addr,
                contents,
                fields,
            })
        }
        RecordKind::OtherRoot => Record::OtherRoot(OtherRoot {
            description: c.string("description")?,
            to: c.varint("target")?,
        }),
        RecordKind::Type => Record::Type(Type {
            addr: c.varint("address")?,
            size: c.varint("size")?,
            name: c.string("name")?,
            iface_data_is_ptr: c.boolean("pointer flag")?,
        }),
        RecordKind::Goroutine => Record::Goroutine(Goroutine {
            addr: c.varint("address")?,
            sp: c.varint("sp")?,
            goid: c.varint("goid")?,
            gopc: c.varint("gopc")?,
            status: c.varint("status")?,
            is_system: c.boolean("system flag")?,
            is_background: c.boolean("background flag")?,
            wait_since: c.varint("wait since")?,
            wait_reason: c.string("wait reason")?,
            ctxt: c.varint("ctxt")?,
            m: c.varint("m")?,
            defer: c.varint("defer")?,
            panic: c.varint("panic")?,
        }),
        RecordKind::StackFrame => Record::StackFrame(StackFrame {
            sp: c.varint("sp")?,
            depth: c.varint("depth")?,
            child_sp: c.varint("child sp")?,
            contents: c.string("contents")?,
            entry_pc: c.varint("entry pc")?,
            pc: c.varint("pc")?,
            continue_pc: c.varint("continuation pc")?,
            name: c.string("function name")?,
            fields: c.fields(None)?,
        }),
        RecordKind::Params => Record::Params(ParamsRecord {
            big_endian: c.boolean("big-endian flag")?,
            ptr_size: c.varint("pointer size")?,
            heap_start: c.varint("heap start")?,
            heap_end: c.varint("heap end")?,
            goarch: c.string("GOARCH")?,
            go_version: c.string("Go version")?,
            ncpu: c.varint("ncpu")?,
        }),
        RecordKind::Finalizer | RecordKind::QueuedFinalizer => {
            let f = Finalizer {
                obj: c.varint("object")?,
                fn_val: c.varint("funcval")?,
                fn_pc: c.varint("function pc")?,
                fint: c.varint("parameter type")?,
                ot: c.varint("object type")?,
            };
            if kind == RecordKind::Finalizer {
                Record::Finalizer(f)
            } else {
                Record::QueuedFinalizer(f)
            }
        }
        RecordKind::Itab => Record::Itab(Itab {
            addr: c.varint("address")?,
            type_addr: c.varint("type")?,
        }),
        RecordKind::OsThread => Record::OsThread(OsThread {
            addr: c.varint("address")?,
            id: c.varint("id")?,
            procid: c.varint("procid")?,
        }),
        RecordKind::MemStats => {
            let mut v = [0u64; MEMSTATS_VALUES];
            for x in v.iter_mut() {
                *x = c.varint("value")?;
            }
            let mut pause_ns = [0u64; 256];
            pause_ns.copy_from_slice(&v[24..280]);
            Record::MemStats(Box::new(MemStats {
                alloc: v[0],
                total_alloc: v[1],
                sys: v[2],
                lookups: v[3],
                mallocs: v[4],
                frees: v[5],
                heap_alloc: v[6],
                heap_sys: v[7],
                heap_idle: v[8],
                heap_inuse: v[9],
                heap_released: v[10],
                heap_objects: v[11],
                stack_inuse: v[12],
                stack_sys: v[13],
                mspan_inuse: v[14],
                mspan_sys: v[15],
                mcache_inuse: v[16],
                mcache_sys: v[17],
                buck_hash_sys: v[18],
                gc_sys: v[19],
                other_sys: v[20],
                next_gc: v[21],
                last_gc: v[22],
                pause_total_ns: v[23],
                pause_ns,
                num_gc: v[280],
            }))
        }
        RecordKind::Data | RecordKind::Bss => {
            let addr = c.varint("address")?;
            let contents = c.string("contents")?;
            let fields = c.fields(Some(contents.len()))?;
            let s = Segment {
                addr,
                contents,
                fields,
            };
            if kind == RecordKind::Data {
                Record::Data(s)
            } else {
                Record::Bss(s)
            }
        }
        RecordKind::Defer => Record::Defer(Defer {
            addr: c.varint("address")?,
            goroutine: c.varint("goroutine")?,
            sp: c.varint("sp")?,
            pc: c.varint("pc")?,
            fn_val: c.varint("funcval")?,
            fn_pc: c.varint("function pc")?,
            link: c.varint("link")?,
        }),
        RecordKind::Panic => Record::Panic(Panic {
            addr: c.varint("address")?,
            goroutine: c.varint("goroutine")?,
            arg_type: c.varint("argument type")?,
            arg_data: c.varint("argument data")?,
            defer: c.varint("defer")?,
            link: c.varint("link")?,
        }),
        RecordKind::MemProf => Record::MemProf(MemProfBucket {
            addr: c.varint("address")?,
            size: c.varint("size")?,
            frames: c.memprof_frames()?,
            allocs: c.varint("allocs")?,
            frees: c.varint("frees")?,
        }),
        RecordKind::AllocSample => Record::AllocSample(AllocSample {
            obj: c.varint("object")?,
            bucket: c.varint("bucket")?,
        }),
    })
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(u64, Record<'a>)>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.state {
            State::Running => {}
            State::Done => return None,
            State::Header => {
                if !self.cur.buf.starts_with(HEAPDUMP_MAGIC) {
                    self.state = State::Done;
                    return Some(Err(bad_header(self.path, self.cur.buf)));
                }
                self.cur.pos = HEAPDUMP_MAGIC.len();
                self.state = State::Running;
            }
            State::AfterEof => {
                self.state = State::Done;
                let pos = self.cur.pos;
                let extra = self.cur.buf.len() - pos;
                if extra == 0 {
                    return None;
                }
                return Some(Err(self.corrupt(
                    pos,
                    format!("{extra} bytes follow the EOF record; a dump ends with it"),
                )));
            }
        }
        let start = self.cur.pos;
        if start >= self.cur.buf.len() {
            self.state = State::Done;
            return Some(Err(self.corrupt(
                start,
                "the dump ends without its EOF record: it is truncated (the writing process \
                 died or the file was cut short)"
                    .to_string(),
            )));
        }
        match self.record() {
            Ok(rec) => {
                if matches!(rec, Record::Eof) {
                    self.state = State::AfterEof;
                }
                Some(Ok((start as u64, rec)))
            }
            Err((kind, fault)) => {
                self.state = State::Done;
                let what = match kind {
                    Some(k) => format!(
                        "{k} record at {start:#x}: {}: {}",
                        fault.field, fault.problem
                    ),
                    None => format!("record at {start:#x}: {}: {}", fault.field, fault.problem),
                };
                Some(Err(self.corrupt(fault.at, what)))
            }
        }
    }
}

/// The error for a file that does not start with the heap dump header.
pub(super) fn bad_header(path: &Path, bytes: &[u8]) -> Error {
    let head = &bytes[..bytes.len().min(HEAPDUMP_MAGIC.len())];
    // Older formats ("go1.3 heap dump\n", "go1.4 heap dump\n", …) differ
    // only in the version: name them rather than calling the file unknown.
    let what = if head.starts_with(b"go1.") && head.ends_with(b" heap dump\n") {
        format!(
            "heap dump format \"{}\" is not supported; rootpath reads \"go1.7 heap dump\" \
             (written by Go 1.7 and later)",
            String::from_utf8_lossy(&head[..head.len() - 1]).escape_debug()
        )
    } else {
        format!(
            "not a runtime/debug.WriteHeapDump file: it starts with {}, expected the header \
             \"go1.7 heap dump\\n\"",
            crate::input::detect::magic_preview(bytes)
        )
    };
    Error::Corrupt {
        path: path.to_path_buf(),
        offset: 0,
        what,
    }
}
