//! Go heap profiles: what `runtime/pprof` writes for the "heap" (and
//! "allocs") profile, either as a gzip'd `perftools.profiles.Profile`
//! protobuf (`WriteHeapProfile`, `/debug/pprof/heap`) or as the legacy text
//! (`Lookup("heap").WriteTo(w, 1)`, `/debug/pprof/heap?debug=1`). Both become
//! one [`HeapProfile`]: samples with their symbolized stacks and in-use and
//! allocated counts. See `formats/profile.md` for both formats.
//!
//! Which format a file is in is decided from its content, never its name:
//! compression (gzip, zstd) is undone first, then text starts with
//! `heap profile:` and anything else must decode as a protobuf.

pub(crate) mod proto;
mod samples;
mod text;

#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::{FileKind, Source};

/// How to get a heap profile, for errors about files that are not one.
const HOW_TO_GET_ONE: &str = "rootpath needs a heap profile, e.g. \
     `curl http://HOST:PORT/debug/pprof/heap > heap.out` or runtime/pprof.WriteHeapProfile";

/// Decompressed profiles larger than this are surely not heap profiles (they
/// are kilobytes to a few megabytes); the limit keeps a bad input from
/// exhausting memory.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Compression layers undone in memory; matches [`Source::open`].
const MAX_COMPRESSION_LAYERS: usize = 2;

/// The encoding a profile was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileFormat {
    /// `perftools.profiles.Profile` protobuf (gzip'd or not).
    Proto,
    /// The legacy text of `?debug=1`.
    LegacyText,
}

/// A heap profile, whatever its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeapProfile {
    pub path: PathBuf,
    pub format: ProfileFormat,
    /// Sampling period in bytes (`runtime.MemProfileRate`); 0 if absent.
    pub period: i64,
    /// Values are pprof's estimates scaled for sampling (proto: pprof applied
    /// [`scale_heap_sample`], the identity when `period` ≤ 1) or raw sample
    /// counts (text).
    pub scaled: bool,
    /// When the profile was written (proto only).
    pub time_nanos: Option<i64>,
    /// `alloc_space` for an `allocs` profile, none for `heap` (proto only).
    pub default_sample_type: Option<String>,
    /// The process's executable mappings (proto only).
    pub mappings: Vec<ProfileMapping>,
    pub samples: Vec<ProfileSample>,
}

/// One allocation site: a stack and an object size, with its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileSample {
    /// Logical frames innermost first: each location's lines in order
    /// (inlined callee first), locations concatenated. Text: the `#` lines,
    /// which omit leading runtime frames.
    pub frames: Vec<ProfileFrame>,
    /// Per location, innermost first: proto `Location.address` (the first PC
    /// of the location's inlined run, minus 1); text: each `@` PC minus 1.
    pub location_addresses: Vec<u64>,
    /// Return PCs as the runtime recorded them (the legacy text's `@` list,
    /// leading runtime frames included); empty for proto.
    pub raw_pcs: Vec<u64>,
    pub inuse_objects: i64,
    pub inuse_bytes: i64,
    pub alloc_objects: i64,
    pub alloc_bytes: i64,
    /// The size of each object: the "bytes" numeric label (proto) or
    /// alloc_bytes / alloc_objects (text). The size of the heap slot, not
    /// what the program asked for.
    pub object_size: Option<i64>,
}

/// A logical (source) frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileFrame {
    /// Go's name for the function (`main.(*T).m`); empty when unsymbolized.
    pub function: String,
    pub file: String,
    /// 0 when unknown.
    pub line: u32,
    /// Proto: the address of the frame's location (shared by the frames of
    /// an inlined run); text: this frame's own PC minus 1.
    pub address: u64,
}

/// An executable mapping of the profiled process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileMapping {
    pub start: u64,
    pub limit: u64,
    pub offset: u64,
    pub file: String,
    pub build_id: String,
}

/// Reads the heap profile at `path` (gzip- or zstd-compressed or not,
/// protobuf or legacy text).
pub fn read_heap_profile(path: &Path) -> Result<HeapProfile> {
    let source = Source::open(path)?;
    parse_heap_profile(path, source.bytes())
}

/// Parses a heap profile held in memory; compression is undone here too.
/// `path` only names the input in messages and in the result.
pub fn parse_heap_profile(path: &Path, bytes: &[u8]) -> Result<HeapProfile> {
    let mut owned: Option<Vec<u8>> = None;
    for layer in 0..=MAX_COMPRESSION_LAYERS {
        let current = owned.as_deref().unwrap_or(bytes);
        let kind = FileKind::of(current);
        if !kind.is_compressed() {
            break;
        }
        if layer == MAX_COMPRESSION_LAYERS {
            return Err(Error::malformed(
                path,
                "more than two layers of compression; decompress it yourself first",
            ));
        }
        owned = Some(decompress(path, current, kind)?);
    }
    parse_content(path, owned.as_deref().unwrap_or(bytes))
}

pub use crate::model::scale_heap_sample;

fn decompress(path: &Path, compressed: &[u8], kind: FileKind) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let result = match kind {
        FileKind::Gzip => flate2::read::MultiGzDecoder::new(compressed)
            .take(MAX_DECOMPRESSED + 1)
            .read_to_end(&mut out),
        FileKind::Zstd => zstd::stream::read::Decoder::with_buffer(compressed).and_then(|mut d| {
            d.window_log_max(31)?;
            d.take(MAX_DECOMPRESSED + 1).read_to_end(&mut out)
        }),
        _ => return Ok(compressed.to_vec()),
    };
    result.map_err(|source| Error::Decompress {
        path: path.to_path_buf(),
        source,
    })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(Error::malformed(
            path,
            "decompresses to more than 1 GiB: not a heap profile",
        ));
    }
    Ok(out)
}

/// Decides the format from the (decompressed) content.
fn parse_content(path: &Path, bytes: &[u8]) -> Result<HeapProfile> {
    if bytes.is_empty() {
        return Err(Error::malformed(
            path,
            format!("empty file, not a heap profile; {HOW_TO_GET_ONE}"),
        ));
    }
    let start = bytes.trim_ascii_start();
    if start.starts_with(text::HEADER) {
        return text::parse(path, bytes);
    }
    if let Some(kind) = text::other_text_profile(start) {
        return Err(not_a_heap_profile(path, kind));
    }
    // Files rootpath reads elsewhere, passed where a profile belongs.
    match FileKind::of(bytes) {
        FileKind::Unknown => proto::parse(path, bytes),
        kind => Err(not_a_heap_profile(path, kind.describe())),
    }
}

fn not_a_heap_profile(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::malformed(
        path,
        format!("not a heap profile: {what}; {HOW_TO_GET_ONE}"),
    )
}

mod alloc;
pub use alloc::{alloc_profile, read_alloc_profile};
pub use samples::{NamedSample, SampleProfile, parse_sample_profile, read_sample_profile};
