//! The index file's frame: header (magic, format and rootpath versions,
//! length, checksum), section table, 8-aligned sections; writer and the
//! validating reader. What the sections hold is `sections.rs`' business.

use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

use super::codec::{FNV_SEED, fnv1a};

pub const MAGIC: &[u8; 8] = b"RPINDEX\0";
/// Bumped whenever any section's layout or meaning changes.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 64;
const ENTRY_LEN: usize = 32;
pub const MAX_SECTIONS: usize = 64;
/// Sections start after the header and a table of `MAX_SECTIONS` entries.
const DATA_START: u64 = 4096;
const ALIGN: u64 = 8;
/// Entry flag: the section's bytes are covered by its checksum.
const CHECKSUMMED: u32 = 1;

/// Why an index file cannot be used (each is rebuilt, with this said once).
#[derive(Debug)]
pub enum Problem {
    /// Not an index of this rootpath (another file, format or version).
    Foreign(String),
    /// Shorter than its header says.
    Truncated(String),
    /// Its bytes contradict themselves.
    Damaged(String),
    /// Of other inputs (they changed since it was written).
    Stale(String),
    Io(io::Error),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Foreign(w) => write!(f, "is not an index this rootpath reads ({w})"),
            Problem::Truncated(w) => write!(f, "is truncated ({w})"),
            Problem::Damaged(w) => write!(f, "is damaged ({w})"),
            Problem::Stale(w) => write!(f, "is stale ({w})"),
            Problem::Io(e) => write!(f, "cannot be read ({e})"),
        }
    }
}

#[derive(Clone, Copy)]
struct Entry {
    id: u32,
    flags: u32,
    offset: u64,
    len: u64,
    checksum: u64,
}

fn rootpath_version() -> [u8; 32] {
    let mut v = [0u8; 32];
    let s = env!("CARGO_PKG_VERSION").as_bytes();
    let n = s.len().min(31);
    v[..n].copy_from_slice(&s[..n]);
    v
}

fn header_bytes(count: usize, file_len: u64, checksum: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(count as u32).to_le_bytes());
    h[16..24].copy_from_slice(&file_len.to_le_bytes());
    h[24..32].copy_from_slice(&checksum.to_le_bytes());
    h[32..64].copy_from_slice(&rootpath_version());
    h
}

fn table_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut t = Vec::with_capacity(entries.len() * ENTRY_LEN);
    for e in entries {
        t.extend_from_slice(&e.id.to_le_bytes());
        t.extend_from_slice(&e.flags.to_le_bytes());
        t.extend_from_slice(&e.offset.to_le_bytes());
        t.extend_from_slice(&e.len.to_le_bytes());
        t.extend_from_slice(&e.checksum.to_le_bytes());
    }
    t
}

fn frame_checksum(count: usize, file_len: u64, table: &[u8]) -> u64 {
    fnv1a(fnv1a(FNV_SEED, &header_bytes(count, file_len, 0)), table)
}

/// Writes sections into a temporary file beside the destination, and
/// renames it into place once complete: readers never see half a file.
pub struct Writer {
    file: io::BufWriter<tempfile::NamedTempFile>,
    entries: Vec<Entry>,
    pos: u64,
}

impl Writer {
    pub fn new(dir: &Path) -> io::Result<Writer> {
        let tmp = tempfile::Builder::new()
            .prefix(".rootpath-index")
            .tempfile_in(dir)?;
        let mut file = io::BufWriter::with_capacity(1 << 20, tmp);
        file.write_all(&[0u8; DATA_START as usize])?;
        Ok(Writer {
            file,
            entries: Vec::new(),
            pos: DATA_START,
        })
    }

    /// Appends one section; `checksummed` for the small structured ones.
    pub fn section(&mut self, id: u32, bytes: &[u8], checksummed: bool) -> io::Result<()> {
        let checksum = if checksummed {
            fnv1a(FNV_SEED, bytes)
        } else {
            0
        };
        self.begin(id, if checksummed { CHECKSUMMED } else { 0 }, checksum)?;
        self.file.write_all(bytes)?;
        self.end()
    }

    /// Appends a dense array of little-endian u32s, streamed.
    pub fn u32s(&mut self, id: u32, values: impl Iterator<Item = u32>) -> io::Result<()> {
        self.begin(id, 0, 0)?;
        for v in values {
            self.file.write_all(&v.to_le_bytes())?;
        }
        self.end()
    }

    /// Appends a dense array of little-endian u64s, streamed.
    pub fn u64s(&mut self, id: u32, values: impl Iterator<Item = u64>) -> io::Result<()> {
        self.begin(id, 0, 0)?;
        for v in values {
            self.file.write_all(&v.to_le_bytes())?;
        }
        self.end()
    }

    fn begin(&mut self, id: u32, flags: u32, checksum: u64) -> io::Result<()> {
        if self.entries.len() == MAX_SECTIONS {
            return Err(io::Error::other("too many index sections"));
        }
        self.entries.push(Entry {
            id,
            flags,
            offset: self.pos,
            len: 0,
            checksum,
        });
        Ok(())
    }

    /// Closes the open section: its length from the stream position, then padding.
    fn end(&mut self) -> io::Result<()> {
        let pos = self.file.stream_position()?;
        let Some(e) = self.entries.last_mut() else {
            return Ok(());
        };
        e.len = pos - e.offset;
        self.pos = pos;
        let pad = self.pos.next_multiple_of(ALIGN) - self.pos;
        self.file
            .write_all(&[0u8; ALIGN as usize][..pad as usize])?;
        self.pos += pad;
        Ok(())
    }

    /// Writes the header and table, and renames the file to `to`; returns its size.
    pub fn finish(mut self, to: &Path) -> io::Result<u64> {
        let table = table_bytes(&self.entries);
        let checksum = frame_checksum(self.entries.len(), self.pos, &table);
        let header = header_bytes(self.entries.len(), self.pos, checksum);
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&header)?;
        self.file.write_all(&table)?;
        let tmp = self.file.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(to).map_err(|e| e.error)?;
        Ok(self.pos)
    }
}

/// An index file mapped and checked: header, table, bounds of every section,
/// checksums of the checksummed ones.
pub struct Reader {
    map: memmap2::Mmap,
    entries: Vec<Entry>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, Problem> {
        let file = std::fs::File::open(path).map_err(Problem::Io)?;
        // SAFETY: the index is only ever replaced by rename, never written
        // in place, so the mapped file does not change under us.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(Problem::Io)?;
        let b: &[u8] = &map;
        if b.len() < HEADER_LEN || &b[..8] != MAGIC {
            return Err(Problem::Foreign("no rootpath index header".into()));
        }
        let format = le32(b, 8);
        if format != FORMAT_VERSION {
            return Err(Problem::Foreign(format!(
                "format version {format}, this rootpath writes {FORMAT_VERSION}"
            )));
        }
        if b[32..64] != rootpath_version() {
            let v = String::from_utf8_lossy(&b[32..64]);
            return Err(Problem::Foreign(format!(
                "written by rootpath {}, this is {}",
                v.trim_end_matches('\0'),
                env!("CARGO_PKG_VERSION")
            )));
        }
        let count = le32(b, 12) as usize;
        let file_len = le64(b, 16);
        if count > MAX_SECTIONS {
            return Err(Problem::Damaged(format!("{count} sections")));
        }
        if file_len != b.len() as u64 {
            return Err(Problem::Truncated(format!(
                "{} bytes, its header says {file_len}",
                b.len()
            )));
        }
        let table = b
            .get(HEADER_LEN..HEADER_LEN + count * ENTRY_LEN)
            .ok_or_else(|| Problem::Truncated("section table cut short".into()))?;
        if frame_checksum(count, file_len, table) != le64(b, 24) {
            return Err(Problem::Damaged("header checksum mismatch".into()));
        }
        let mut entries = Vec::with_capacity(count);
        let mut end = DATA_START;
        for raw in table.chunks_exact(ENTRY_LEN) {
            let e = Entry {
                id: le32(raw, 0),
                flags: le32(raw, 4),
                offset: le64(raw, 8),
                len: le64(raw, 16),
                checksum: le64(raw, 24),
            };
            // In file order, aligned, inside the file, not overlapping.
            let fits = e.offset >= end
                && e.offset % ALIGN == 0
                && e.offset.checked_add(e.len).is_some_and(|x| x <= file_len);
            if !fits {
                return Err(Problem::Damaged(format!("section {} out of bounds", e.id)));
            }
            end = e.offset + e.len;
            let bytes = &b[e.offset as usize..end as usize];
            if e.flags & CHECKSUMMED != 0 && fnv1a(FNV_SEED, bytes) != e.checksum {
                return Err(Problem::Damaged(format!(
                    "section {} checksum mismatch",
                    e.id
                )));
            }
            entries.push(e);
        }
        Ok(Reader { map, entries })
    }

    /// The bytes of section `id`; an index without it is foreign.
    pub fn section(&self, id: u32) -> Result<&[u8], Problem> {
        let e = self
            .entries
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(|| Problem::Foreign(format!("no section {id}")))?;
        Ok(&self.map[e.offset as usize..(e.offset + e.len) as usize])
    }
}
