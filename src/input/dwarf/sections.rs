//! Loading DWARF sections from the executable. Go compresses them
//! (SHF_COMPRESSED, zlib) by default, and `objcopy --compress-debug-sections=zstd`
//! or a zstd-defaulting linker leaves zstd; uncompressed ones stay borrowed.

use std::borrow::Cow;
use std::io::Read;

use crate::error::{Error, Result};
use crate::input::elf::Executable;

use goblin::elf::compression_header::{ELFCOMPRESS_ZLIB, ELFCOMPRESS_ZSTD};
use goblin::elf::section_header::SHF_COMPRESSED;

/// Refuse absurd sizes in a corrupt compression header.
const MAX_SECTION: u64 = 4 << 30;

pub struct DwarfSections<'a> {
    sections: Vec<(gimli::SectionId, Cow<'a, [u8]>)>,
}

impl<'a> DwarfSections<'a> {
    /// No sections: what a program without DWARF is read with.
    pub fn empty() -> DwarfSections<'static> {
        DwarfSections {
            sections: Vec::new(),
        }
    }

    /// The executable's DWARF, or `None` when it has none.
    pub fn try_load(exe: &'a Executable) -> Result<Option<DwarfSections<'a>>> {
        if exe.has_dwarf() {
            Self::load(exe).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn load(exe: &'a Executable) -> Result<DwarfSections<'a>> {
        let mut sections = Vec::new();
        for id in [
            gimli::SectionId::DebugAbbrev,
            gimli::SectionId::DebugInfo,
            gimli::SectionId::DebugLine,
            gimli::SectionId::DebugStr,
            gimli::SectionId::DebugLineStr,
            gimli::SectionId::DebugLoc,
            gimli::SectionId::DebugLocLists,
            gimli::SectionId::DebugAddr,
            gimli::SectionId::DebugRanges,
            gimli::SectionId::DebugRngLists,
            gimli::SectionId::DebugStrOffsets,
            gimli::SectionId::DebugFrame,
        ] {
            if let Some(data) = load_section(exe, id.name())? {
                sections.push((id, data));
            }
        }
        if !sections
            .iter()
            .any(|(id, _)| *id == gimli::SectionId::DebugInfo)
        {
            return Err(Error::malformed(
                exe.path(),
                "the executable has no DWARF (.debug_info); was it built with -ldflags=-w or stripped?",
            ));
        }
        Ok(DwarfSections { sections })
    }

    /// Sections given as bytes (already decompressed): the fuzz targets
    /// mutate a real executable's DWARF here, past zlib.
    pub fn from_parts(parts: Vec<(gimli::SectionId, Vec<u8>)>) -> DwarfSections<'static> {
        DwarfSections {
            sections: parts
                .into_iter()
                .map(|(id, d)| (id, Cow::Owned(d)))
                .collect(),
        }
    }

    /// Each loaded section's (decompressed) bytes.
    pub fn parts(&self) -> impl Iterator<Item = (gimli::SectionId, &[u8])> {
        self.sections.iter().map(|(id, d)| (*id, d.as_ref()))
    }

    pub fn dwarf(&self) -> gimli::Dwarf<gimli::EndianSlice<'_, gimli::LittleEndian>> {
        gimli::Dwarf::load(|id| -> std::result::Result<_, ()> {
            let data = self
                .sections
                .iter()
                .find(|(sid, _)| *sid == id)
                .map(|(_, d)| d.as_ref())
                .unwrap_or(&[]);
            Ok(gimli::EndianSlice::new(data, gimli::LittleEndian))
        })
        .unwrap_or_else(|()| unreachable!("the loader never fails"))
    }
}

fn load_section<'a>(exe: &'a Executable, name: &str) -> Result<Option<Cow<'a, [u8]>>> {
    let Some(section) = exe.section(name) else {
        // Pre-1.11-style .zdebug_* sections: "ZLIB" + 8-byte big-endian size + zlib stream.
        let zname = format!(".z{}", &name[1..]);
        let Some(data) = exe.section_data(&zname) else {
            return Ok(None);
        };
        if data.len() < 12 || &data[..4] != b"ZLIB" {
            return Err(Error::malformed(exe.path(), format!("{zname}: bad header")));
        }
        let size = u64::from_be_bytes(data[4..12].try_into().unwrap_or_default());
        return inflate(exe, &zname, ELFCOMPRESS_ZLIB, &data[12..], size)
            .map(|d| Some(Cow::Owned(d)));
    };
    let flags = section.flags;
    let Some(data) = exe.section_data(name) else {
        return Err(Error::malformed(
            exe.path(),
            format!("{name} lies outside the file: the executable is truncated"),
        ));
    };
    if flags & u64::from(SHF_COMPRESSED) == 0 {
        return Ok(Some(Cow::Borrowed(data)));
    }
    // Elf64_Chdr: type u32, reserved u32, size u64, addralign u64.
    if data.len() < 24 {
        return Err(Error::malformed(
            exe.path(),
            format!("{name}: short compression header"),
        ));
    }
    let kind = u32::from_le_bytes(data[0..4].try_into().unwrap_or_default());
    let size = u64::from_le_bytes(data[8..16].try_into().unwrap_or_default());
    inflate(exe, name, kind, &data[24..], size).map(|d| Some(Cow::Owned(d)))
}

/// Decompresses a section whose header claims `size` bytes, trusting that claim
/// only up to what the bytes can grow to: a corrupt header must not size a buffer.
fn inflate(exe: &Executable, name: &str, kind: u32, data: &[u8], size: u64) -> Result<Vec<u8>> {
    if size > MAX_SECTION {
        return Err(Error::malformed(
            exe.path(),
            format!("{name}: claims {size} bytes uncompressed"),
        ));
    }
    // Reserve only what the input plausibly expands to; the buffer grows past it if the
    // data really is larger, so a corrupt claim costs nothing up front.
    let start = size.min((data.len() as u64).saturating_mul(64));
    let mut out = Vec::with_capacity(usize::try_from(start).unwrap_or(0));
    let read = match kind {
        ELFCOMPRESS_ZLIB => flate2::read::ZlibDecoder::new(data)
            .take(size)
            .read_to_end(&mut out),
        ELFCOMPRESS_ZSTD => {
            zstd::stream::read::Decoder::new(data).and_then(|d| d.take(size).read_to_end(&mut out))
        }
        _ => {
            return Err(Error::malformed(
                exe.path(),
                format!("{name}: compression type {kind} is neither zlib nor zstd"),
            ));
        }
    };
    read.map_err(|e| Error::malformed(exe.path(), format!("{name}: cannot decompress: {e}")))?;
    if out.len() as u64 != size {
        return Err(Error::malformed(
            exe.path(),
            format!(
                "{name}: decompressed to {} bytes, header says {size}",
                out.len()
            ),
        ));
    }
    Ok(out)
}
