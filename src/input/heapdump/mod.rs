//! Reader for `runtime/debug.WriteHeapDump` files ("go1.7 heap dump\n"),
//! the format every Go runtime from 1.7 through 1.27 writes; it is described
//! in `formats/heapdump.md`.
//!
//! [`HeapDumpFile::parse`] validates a whole dump in one pass and summarises
//! it; [`HeapDumpFile::records`] (or [`Records`] over any byte slice) then
//! streams the records again, zero-copy.

mod cursor;
mod record_types;
mod records;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::Source;
use crate::input::detect::FileKind;

pub use cursor::{
    Field, FieldIter, FieldKind, Fields, MemProfFrame, MemProfFrameIter, MemProfFrames,
};
pub use record_types::{
    AllocSample, Defer, Finalizer, Goroutine, Itab, MEMSTATS_VALUES, MemProfBucket, MemStats,
    Object, OsThread, OtherRoot, Panic, ParamsRecord, Record, RecordKind, Segment, StackFrame,
    Type, text,
};
pub use records::Records;

/// The dump's parameters record (tag 6), owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Params {
    pub big_endian: bool,
    /// Bytes per pointer (8 on 64-bit targets).
    pub ptr_size: u64,
    /// Lowest heap arena base address.
    pub heap_start: u64,
    /// Highest heap arena end address.
    pub heap_end: u64,
    /// `GOARCH` of the writing program ("amd64").
    pub goarch: String,
    /// `runtime.Version()` of the writing program: "go1.22.10", possibly with
    /// a " X:exp" / "-X:exp" experiment suffix, or "devel …".
    pub go_version: String,
    /// CPUs at startup.
    pub ncpu: u64,
}

impl Params {
    fn from_record(p: &ParamsRecord<'_>) -> Params {
        Params {
            big_endian: p.big_endian,
            ptr_size: p.ptr_size,
            heap_start: p.heap_start,
            heap_end: p.heap_end,
            goarch: text(p.goarch).into_owned(),
            go_version: text(p.go_version).into_owned(),
            ncpu: p.ncpu,
        }
    }
}

/// Counts and byte totals of a dump's records, from the validation pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// All records, EOF included.
    pub records: u64,
    /// Object records (heap slots, live or dead since the last GC).
    pub objects: u64,
    /// Their content bytes.
    pub object_bytes: u64,
    /// Pointer fields listed for objects.
    pub object_pointer_fields: u64,
    pub goroutines: u64,
    pub stack_frames: u64,
    /// Content bytes of all stack frames.
    pub stack_bytes: u64,
    pub types: u64,
    pub itabs: u64,
    pub finalizers: u64,
    pub queued_finalizers: u64,
    pub defers: u64,
    pub panics: u64,
    pub os_threads: u64,
    pub memprof_buckets: u64,
    pub alloc_samples: u64,
    /// Never written by the runtime; counted in case some other writer does.
    pub other_roots: u64,
    /// Data segment records and their total size.
    pub data_segments: u64,
    pub data_bytes: u64,
    /// Bss segment records and their total size.
    pub bss_segments: u64,
    pub bss_bytes: u64,
    pub memstats: bool,
    /// The EOF record was seen (always true for a dump that parsed).
    pub eof: bool,
}

/// A validated heap dump.
pub struct HeapDumpFile {
    source: Source,
    pub params: Params,
    pub summary: Summary,
    /// The memstats record, if the dump has one (every complete dump does).
    pub memstats: Option<Box<MemStats>>,
}

impl HeapDumpFile {
    /// Checks the header and walks every record once. A wrong header, a
    /// corrupt or truncated record, a missing EOF or params record is an error.
    pub fn parse(source: Source) -> Result<HeapDumpFile> {
        if source.kind() != FileKind::HeapDump {
            let mut err = records::bad_header(source.path(), source.bytes());
            if let (Error::Corrupt { what, .. }, kind) = (&mut err, source.kind())
                && kind != FileKind::Unknown
            {
                what.push_str(&format!(" (this is a {})", kind.describe()));
            }
            return Err(err);
        }
        let (params, summary, memstats) = scan(source.bytes(), source.path())?;
        Ok(HeapDumpFile {
            source,
            params,
            summary,
            memstats,
        })
    }

    /// Streams the records again (they were validated by `parse`).
    pub fn records(&self) -> Records<'_> {
        Records::new(self.source.bytes(), self.source.path())
    }

    pub fn path(&self) -> &Path {
        self.source.path()
    }

    pub fn bytes(&self) -> &[u8] {
        self.source.bytes()
    }

    pub fn source(&self) -> &Source {
        &self.source
    }
}

/// The validation pass: every record decoded, counted, cross-checked.
fn scan(bytes: &[u8], path: &Path) -> Result<(Params, Summary, Option<Box<MemStats>>)> {
    let mut s = Summary::default();
    let mut params: Option<(u64, Params)> = None;
    let mut memstats = None;
    for item in Records::new(bytes, path) {
        let (offset, rec) = item?;
        s.records += 1;
        match rec {
            Record::Eof => s.eof = true,
            Record::Object(o) => {
                s.objects += 1;
                s.object_bytes += o.contents.len() as u64;
                s.object_pointer_fields += o.fields.len() as u64;
            }
            Record::OtherRoot(_) => s.other_roots += 1,
            Record::Type(_) => s.types += 1,
            Record::Goroutine(_) => s.goroutines += 1,
            Record::StackFrame(f) => {
                s.stack_frames += 1;
                s.stack_bytes += f.contents.len() as u64;
            }
            Record::Params(p) => {
                if let Some((first, _)) = params {
                    return Err(Error::Corrupt {
                        path: path.to_path_buf(),
                        offset,
                        what: format!(
                            "second params record (the first is at {first:#x}); a dump has one"
                        ),
                    });
                }
                if p.ptr_size != 4 && p.ptr_size != 8 {
                    return Err(Error::Corrupt {
                        path: path.to_path_buf(),
                        offset,
                        what: format!(
                            "params record: pointer size {} (expected 4 or 8)",
                            p.ptr_size
                        ),
                    });
                }
                params = Some((offset, Params::from_record(&p)));
            }
            Record::Finalizer(_) => s.finalizers += 1,
            Record::Itab(_) => s.itabs += 1,
            Record::OsThread(_) => s.os_threads += 1,
            Record::MemStats(m) => {
                s.memstats = true;
                memstats = Some(m);
            }
            Record::QueuedFinalizer(_) => s.queued_finalizers += 1,
            Record::Data(d) => {
                s.data_segments += 1;
                s.data_bytes += d.contents.len() as u64;
            }
            Record::Bss(b) => {
                s.bss_segments += 1;
                s.bss_bytes += b.contents.len() as u64;
            }
            Record::Defer(_) => s.defers += 1,
            Record::Panic(_) => s.panics += 1,
            Record::MemProf(_) => s.memprof_buckets += 1,
            Record::AllocSample(_) => s.alloc_samples += 1,
        }
    }
    // The iterator only ends without an error after the EOF record.
    let Some((_, params)) = params else {
        return Err(Error::malformed(
            path,
            "heap dump has no params record (pointer size, architecture, Go version); \
             not written by runtime/debug.WriteHeapDump?",
        ));
    };
    Ok((params, s, memstats))
}

/// The target's memory as a heap dump recorded it: object slots and the
/// data and bss segments, indexed by address on first use (one pass over the
/// records), for details the model does not keep, such as map keys.
pub struct RecordMemory<'a> {
    /// (start address, bytes), sorted by address.
    blocks: Vec<(u64, &'a [u8])>,
}

impl<'a> RecordMemory<'a> {
    /// With the executable (at its link addresses; not for PIE, whose load
    /// address a dump does not record), string literals in rodata read too.
    pub fn new(dump: &'a HeapDumpFile, exe: Option<&'a crate::input::elf::Executable>) -> Self {
        let mut blocks = Vec::new();
        if let Some(exe) = exe.filter(|e| !e.position_independent) {
            for seg in exe.segments.iter().filter(|s| !s.writable && s.filesz > 0) {
                blocks.push((seg.vaddr, exe.segment_data(seg)));
            }
        }
        for (_, record) in dump.records().map_while(|r| r.ok()) {
            match record {
                Record::Object(o) => blocks.push((o.addr, o.contents)),
                Record::Data(s) | Record::Bss(s) => blocks.push((s.addr, s.contents)),
                _ => {}
            }
        }
        blocks.sort_unstable_by_key(|&(a, _)| a);
        RecordMemory { blocks }
    }
}

impl crate::model::Memory for RecordMemory<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let i = self
            .blocks
            .partition_point(|&(a, _)| a <= addr)
            .checked_sub(1)?;
        let (start, bytes) = self.blocks[i];
        let off = usize::try_from(addr - start).ok()?;
        bytes.get(off..off.checked_add(len)?)
    }
}
