//! Bounds-checked reading of a heap dump's bytes (varints, strings, byte
//! runs, with typed faults) and the encoded lists it hands out undecoded.

use std::fmt;

use crate::error::Result;
use crate::input::varint::{VarintError, uvarint};

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

pub(super) fn field_kind(k: u64) -> Option<FieldKind> {
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
pub(super) struct Fault {
    pub(super) at: usize,
    /// The field being read.
    pub(super) field: &'static str,
    pub(super) problem: Problem,
}

#[derive(Debug)]
pub(super) enum Problem {
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
pub(super) struct Cursor<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(super) fn fault(&self, at: usize, field: &'static str, problem: Problem) -> Fault {
        Fault { at, field, problem }
    }

    /// LEB128 u64, at most 10 bytes.
    #[inline(always)]
    pub(super) fn varint(&mut self, field: &'static str) -> Result<u64, Fault> {
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow(field)
    }

    #[inline(never)]
    pub(super) fn varint_slow(&mut self, field: &'static str) -> Result<u64, Fault> {
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

    pub(super) fn boolean(&mut self, field: &'static str) -> Result<bool, Fault> {
        let at = self.pos;
        match self.varint(field)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.fault(at, field, Problem::BadBool(v))),
        }
    }

    /// A varint length followed by that many bytes.
    #[inline]
    pub(super) fn string(&mut self, field: &'static str) -> Result<&'a [u8], Fault> {
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
    pub(super) fn fields(&mut self, bound: Option<usize>) -> Result<Fields<'a>, Fault> {
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

    pub(super) fn memprof_frames(&mut self) -> Result<MemProfFrames<'a>, Fault> {
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
