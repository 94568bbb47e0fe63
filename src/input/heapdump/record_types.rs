//! What a heap dump's records are: their kinds and tags, and each record as
//! decoded, borrowing its bytes and strings from the dump.

use std::borrow::Cow;
use std::fmt;

use super::cursor::{Fields, MemProfFrames};

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
