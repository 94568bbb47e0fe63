//! Streaming, zero-copy decoding of heap dump records (see `formats/heapdump.md`).
//!
//! [`Records`] walks a whole dump held in memory and yields each record with
//! its file offset. Byte contents and strings are borrowed from the input;
//! pointer field lists are kept as their encoded bytes ([`Fields`](super::Fields)) and
//! decoded lazily, so walking tens of millions of objects allocates nothing.
//! Every read is bounds-checked: no input makes the reader panic, and no
//! length read from the file is used before it is checked against the bytes
//! that remain.

use std::path::Path;

use crate::error::{Error, Result};
use crate::input::detect::HEAPDUMP_MAGIC;

use super::cursor::{Cursor, Fault, Problem};
use super::record_types::*;

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
