//! ELF inputs: the core (segments, notes, threads) and the executable
//! (sections, symbols, build ids), and the target's address space built from both.

pub mod address_space;
pub mod code_refs;
pub mod core;
pub mod debuglink;
pub mod exe;
pub mod notes;

pub use address_space::AddressSpace;
pub use core::CoreFile;
pub use exe::Executable;

use crate::error::{Error, Result};
use std::path::Path;

pub(crate) const EM_X86_64: u16 = 62;

/// A little-endian cursor over note payloads; every read is bounds-checked.
pub(crate) struct Le<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Le<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Le { bytes, pos: 0 }
    }
    pub fn at(bytes: &'a [u8], pos: usize) -> Self {
        Le { bytes, pos }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    }
    pub fn i32(&mut self) -> Option<i32> {
        self.u32().map(|v| v as i32)
    }
}

pub(crate) fn machine_name(machine: u16) -> String {
    match machine {
        3 => "386".into(),
        40 => "arm".into(),
        62 => "amd64".into(),
        183 => "arm64".into(),
        243 => "riscv64".into(),
        21 => "ppc64".into(),
        22 => "s390x".into(),
        other => format!("ELF machine {other}"),
    }
}

pub(crate) fn parse_elf<'a>(path: &Path, bytes: &'a [u8]) -> Result<goblin::elf::Elf<'a>> {
    let header = goblin::elf::Elf::parse_header(bytes)
        .map_err(|e| Error::malformed(path, format!("bad ELF header: {e}")))?;
    if !header.container().map(|c| c.is_big()).unwrap_or(false)
        || !header.endianness().map(|e| e.is_little()).unwrap_or(false)
    {
        return Err(Error::UnsupportedArch {
            path: path.to_path_buf(),
            machine: format!(
                "{} (32-bit or big-endian ELF)",
                machine_name(header.e_machine)
            ),
        });
    }
    if header.e_machine != EM_X86_64 {
        return Err(Error::UnsupportedArch {
            path: path.to_path_buf(),
            machine: machine_name(header.e_machine),
        });
    }
    let mut elf = goblin::elf::Elf::lazy_parse(header)
        .map_err(|e| Error::malformed(path, format!("bad ELF header: {e}")))?;
    let ctx = goblin::container::Ctx::new(
        goblin::container::Container::Big,
        goblin::container::Endian::Little,
    );
    let phnum = header.e_phnum as usize;
    let phend = header
        .e_phoff
        .saturating_add((phnum as u64).saturating_mul(header.e_phentsize as u64));
    if phend > bytes.len() as u64 {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            what: "program headers".into(),
            needed: phend,
            len: bytes.len() as u64,
        });
    }
    elf.program_headers =
        goblin::elf::ProgramHeader::parse(bytes, header.e_phoff as usize, phnum, ctx)
            .map_err(|e| Error::malformed(path, format!("bad program headers: {e}")))?;
    Ok(elf)
}
