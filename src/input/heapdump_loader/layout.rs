//! The runtime's heap layout rules a dump's Go version implies: pointer
//! size and order, allocation headers, and what a span reserves at its end.

use crate::input::goruntime::GoVersion;
use crate::input::heapdump::{Field, FieldKind, HeapDumpFile};

use super::PAGE;

/// Bytes reserved at the end of a one-page span for its pointer bitmap, and
/// (Green Tea GC) for its inline mark bits.
const SPAN_RESERVE: u64 = 128;

/// The runtime's heap layout rules, from the dump's Go version.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// Pointer size in bytes (4 or 8).
    pub(super) ptr: u64,
    big_endian: bool,
    /// Small pointerful objects over `heap_bits_max` bytes start with an
    /// `*abi.Type` word (Go ≥1.22, `GOEXPERIMENT=allocheaders`).
    pub(super) headers: bool,
    /// Objects of at most this many bytes keep their pointer bitmap at the
    /// end of their span (`minSizeForMallocHeader`: 512 on 64-bit).
    pub(super) heap_bits_max: u64,
    /// Spans of sizes ≤512 reserve 128 bytes for inline mark bits (Go ≥1.26,
    /// Green Tea GC) when their size is at least 16.
    inline_mark_bits: bool,
}

impl Layout {
    pub(super) fn new(dump: &HeapDumpFile, warnings: &mut Vec<String>) -> Layout {
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
    pub(super) fn word(&self, bytes: &[u8], off: u64) -> Option<u64> {
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
    pub(super) fn words(&self, f: Field) -> impl Iterator<Item = u64> {
        let n = if f.kind == FieldKind::Ptr { 1 } else { 2 };
        (0..n).map(move |i| f.offset + i * self.ptr)
    }

    /// Bytes reserved at the end of a one-page span of `elem`-byte objects,
    /// for a span with pointers and for one without.
    pub(super) fn reserve(&self, elem: u64) -> (u64, u64) {
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
pub(super) fn experiment(version: &str, name: &str) -> Option<bool> {
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
