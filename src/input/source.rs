//! An input file, memory-mapped read-only. A compressed input (zstd, gzip) is
//! decompressed once into an anonymous temporary file which is mapped instead:
//! the input itself is never written.

use std::fs::File;
use std::io::{self, BufRead, Read, Seek, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::input::detect::{FileKind, magic_preview};

/// A readable, mapped input.
pub struct Source {
    path: PathBuf,
    map: Mmap,
    kind: FileKind,
    /// Compression layers removed to reach the mapped content, outermost first.
    compression: Vec<FileKind>,
}

/// Nested compression deeper than this is surely not a dump.
const MAX_COMPRESSION_LAYERS: usize = 2;

impl Source {
    /// Opens `path`, undoing zstd/gzip compression, and maps the content.
    pub fn open(path: &Path) -> Result<Source> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // Mapping a directory fails with ENODEV ("No such device"): say what it is.
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::io(
                path,
                io::Error::new(io::ErrorKind::IsADirectory, "is a directory, not a file"),
            ));
        }
        let mut map = map_file(path, &file)?;
        let mut compression = Vec::new();
        let mut kind = FileKind::of(&map);
        while kind.is_compressed() {
            if compression.len() == MAX_COMPRESSION_LAYERS {
                return Err(Error::malformed(
                    path,
                    "more than two layers of compression; decompress it yourself first",
                ));
            }
            let decompressed = decompress(path, &map, kind)?;
            map = map_file(path, &decompressed)?;
            compression.push(kind);
            kind = FileKind::of(&map);
        }
        Ok(Source {
            path: path.to_path_buf(),
            map,
            kind,
            compression,
        })
    }

    /// An input held in memory (fuzzing, tests): `bytes` are copied into an
    /// anonymous read-only mapping and not decompressed; `path` only names
    /// the input in messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Source> {
        let mut anon = memmap2::MmapMut::map_anon(bytes.len()).map_err(|e| Error::io(path, e))?;
        anon.copy_from_slice(bytes);
        let map = anon.make_read_only().map_err(|e| Error::io(path, e))?;
        Ok(Source {
            path: path.to_path_buf(),
            kind: FileKind::of(&map),
            map,
            compression: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub fn kind(&self) -> FileKind {
        self.kind
    }

    pub fn compression(&self) -> &[FileKind] {
        &self.compression
    }

    /// Lets the kernel drop this mapping's resident pages: after the model is
    /// built, the core's bytes are rarely read again, and they need not
    /// count against the process's memory. Later reads fault them back in.
    pub fn release_pages(&self) {
        // SAFETY: the mapping is read-only and backed by a file nothing
        // writes to, so pages dropped now read back with the same bytes;
        // MADV_DONTNEED is only unsound for mappings whose pages were written.
        // Failure merely keeps the pages resident.
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }

    /// `release_pages` for the pages wholly inside `bytes`, a slice of this
    /// mapping (any other slice is ignored).
    pub fn release_slice(&self, bytes: &[u8]) {
        const PAGE: usize = 4096;
        let base = self.map.as_ptr() as usize;
        let Some(offset) = (bytes.as_ptr() as usize).checked_sub(base) else {
            return;
        };
        let end = offset.saturating_add(bytes.len()).min(self.map.len());
        let (from, to) = (offset.next_multiple_of(PAGE), end / PAGE * PAGE);
        if from < to {
            // SAFETY: as for `release_pages`.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
            };
        }
    }

    pub fn unknown_format_error(&self) -> Error {
        Error::UnknownFormat {
            path: self.path.clone(),
            magic: magic_preview(&self.map),
        }
    }
}

fn map_file(path: &Path, file: &File) -> Result<Mmap> {
    // SAFETY: the mapping is read-only. rootpath never writes its inputs; a file
    // changed underneath by another process could show torn data, which the
    // readers treat as malformed input (every access is bounds-checked).
    unsafe { Mmap::map(file) }.map_err(|e| Error::io(path, e))
}

/// Streams the decompressed bytes into an unlinked temporary file, so a large
/// core costs disk, not memory.
fn decompress(path: &Path, compressed: &[u8], kind: FileKind) -> Result<File> {
    let mut out = tempfile::tempfile().map_err(|source| Error::TempFile {
        path: path.to_path_buf(),
        dir: std::env::temp_dir(),
        source,
    })?;
    let name = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy();
    let compressed = Counted {
        bytes: compressed,
        read: 0,
        message: format!("decompressing {name}"),
    };
    let copy_result = {
        let mut writer = io::BufWriter::with_capacity(1 << 20, &mut out);
        let result = match kind {
            FileKind::Zstd => {
                zstd::stream::read::Decoder::with_buffer(compressed).and_then(|mut d| {
                    // Cores compressed with --long need a larger window than the default.
                    d.window_log_max(31)?;
                    io::copy(&mut d, &mut writer)
                })
            }
            FileKind::Gzip => {
                let mut d = flate2::bufread::MultiGzDecoder::new(compressed);
                io::copy(&mut d, &mut writer)
            }
            _ => unreachable!("decompress is only called for compressed kinds"),
        };
        result.and_then(|n| writer.flush().map(|_| n))
    };
    copy_result.map_err(|source| Error::Decompress {
        path: path.to_path_buf(),
        source,
    })?;
    out.rewind().map_err(|e| Error::io(path, e))?;
    Ok(out)
}

/// The compressed input as a buffered reader (no copy: the buffer is the mapping)
/// that shows how much of it has been read.
struct Counted<'a> {
    bytes: &'a [u8],
    read: usize,
    message: String,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.read(buf)?;
        self.consume(n);
        Ok(n)
    }
}

impl io::BufRead for Counted<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.bytes[self.read..])
    }

    fn consume(&mut self, n: usize) {
        let before = self.read;
        self.read = (self.read + n).min(self.bytes.len());
        // Every 4 MiB: often enough to move the bar, rarely enough to cost nothing.
        if before >> 22 != self.read >> 22 || self.read == self.bytes.len() {
            crate::progress::bytes(&self.message, self.read as u64, self.bytes.len() as u64);
        }
    }
}

/// Reads a whole small file (profiles, truth files) without mapping it.
pub fn read_small(path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| Error::io(path, e))?;
    Ok(buf)
}
