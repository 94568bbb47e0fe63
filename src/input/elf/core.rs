//! A Linux ELF core: its memory segments and the notes describing the process
//! (threads with registers, the fatal signal, the auxiliary vector, mapped files).

use std::path::Path;

use goblin::elf::program_header::{PF_W, PF_X, PT_LOAD, PT_NOTE};
use serde::Serialize;

use super::notes::{
    self, AT_ENTRY, FileMapping, NT_AUXV, NT_FILE, NT_PRPSINFO, NT_PRSTATUS, NT_SIGINFO,
    ProcessInfo, SignalInfo, ThreadStatus,
};
use crate::error::{Error, Result};
use crate::input::{FileKind, Source};

/// A PT_LOAD segment: `memsz` bytes of the process at `vaddr`, of which the
/// first `filesz` are in the file at `offset` (the rest was not dumped).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    #[serde(skip)]
    pub offset: u64,
    pub filesz: u64,
    /// Dumped bytes the program header declares past the end of the file
    /// (a core cut short by `ulimit -c` or a full disk).
    #[serde(skip)]
    pub missing: u64,
    pub writable: bool,
    pub executable: bool,
}

impl Segment {
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.memsz)
    }
}

pub struct CoreFile {
    source: Source,
    pub segments: Vec<Segment>,
    pub threads: Vec<ThreadStatus>,
    pub process: Option<ProcessInfo>,
    pub signal: Option<SignalInfo>,
    pub auxv: Vec<(u64, u64)>,
    pub files: Vec<FileMapping>,
    /// Problems that did not stop reading (truncated notes or segments).
    pub warnings: Vec<String>,
}

impl CoreFile {
    pub fn parse(source: Source) -> Result<CoreFile> {
        let path = source.path().to_path_buf();
        if source.kind() != FileKind::ElfCore {
            return Err(match source.kind() {
                FileKind::ElfExecutable | FileKind::ElfSharedObject | FileKind::ElfOther => {
                    Error::NotACore {
                        path,
                        kind: source.kind().describe(),
                    }
                }
                _ => source.unknown_format_error(),
            });
        }
        let bytes = source.bytes();
        let elf = super::parse_elf(&path, bytes)?;
        let file_len = bytes.len() as u64;

        let mut segments = Vec::new();
        let mut warnings = Vec::new();
        let mut threads = Vec::new();
        let mut process = None;
        let mut signal = None;
        let mut auxv = Vec::new();
        let mut files = Vec::new();

        for ph in &elf.program_headers {
            match ph.p_type {
                PT_LOAD => {
                    let mut filesz = ph.p_filesz.min(ph.p_memsz);
                    let end = ph.p_offset.saturating_add(filesz);
                    let mut missing = 0;
                    if end > file_len {
                        // A cut-off core: keep what is there; one warning
                        // below says what is missing.
                        let have = file_len.saturating_sub(ph.p_offset);
                        missing = filesz - have;
                        filesz = have;
                    }
                    segments.push(Segment {
                        vaddr: ph.p_vaddr,
                        memsz: ph.p_memsz,
                        offset: ph.p_offset,
                        filesz,
                        missing,
                        writable: ph.p_flags & PF_W != 0,
                        executable: ph.p_flags & PF_X != 0,
                    });
                }
                PT_NOTE => {
                    let start = ph.p_offset as usize;
                    let end = ph.p_offset.saturating_add(ph.p_filesz).min(file_len) as usize;
                    let Some(data) = bytes.get(start..end) else {
                        warnings.push(format!(
                            "note segment at file offset {start:#x} lies past the end of the file"
                        ));
                        continue;
                    };
                    if (end as u64) < ph.p_offset.saturating_add(ph.p_filesz) {
                        warnings.push("note segment is truncated".into());
                    }
                    let (list, bad_at) = notes::parse_notes(data);
                    if let Some(at) = bad_at {
                        warnings.push(format!(
                            "malformed note at file offset {:#x}; later notes ignored",
                            start + at
                        ));
                    }
                    for note in list
                        .iter()
                        .filter(|n| n.name == b"CORE" || n.name == b"LINUX")
                    {
                        match note.kind {
                            NT_PRSTATUS if note.name == b"CORE" => {
                                match ThreadStatus::parse(note.desc) {
                                    Some(t) => threads.push(t),
                                    None => warnings.push("short NT_PRSTATUS note ignored".into()),
                                }
                            }
                            NT_PRPSINFO if note.name == b"CORE" => {
                                process = ProcessInfo::parse(note.desc)
                            }
                            NT_SIGINFO => signal = SignalInfo::parse(note.desc),
                            NT_AUXV => auxv = notes::parse_auxv(note.desc),
                            NT_FILE => match notes::parse_file_note(note.desc) {
                                Some(f) => files = f,
                                None => warnings.push("malformed NT_FILE note ignored".into()),
                            },
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if segments.is_empty() {
            return Err(Error::malformed(
                &path,
                "core has no memory segments (PT_LOAD)",
            ));
        }
        if threads.is_empty() {
            warnings.push(
                "core has no thread notes (NT_PRSTATUS): running goroutines cannot be unwound"
                    .into(),
            );
        }
        segments.sort_by_key(|s| s.vaddr);
        warnings.extend(truncation_summary(&segments, file_len));
        Ok(CoreFile {
            source,
            segments,
            threads,
            process,
            signal,
            auxv,
            files,
            warnings,
        })
    }

    pub fn path(&self) -> &Path {
        self.source.path()
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The dumped bytes of a segment (possibly shorter than its memory size).
    pub fn segment_data(&self, seg: &Segment) -> &[u8] {
        let start = seg.offset as usize;
        self.source
            .bytes()
            .get(start..start + seg.filesz as usize)
            .unwrap_or(&[])
    }

    /// Program entry as the kernel saw it (relocated for PIE).
    pub fn entry(&self) -> Option<u64> {
        self.auxv
            .iter()
            .find(|(k, _)| *k == AT_ENTRY)
            .map(|(_, v)| *v)
    }

    /// The executable the core names: the file mapped at the lowest address
    /// whose mapping covers the entry point, else the first mapping.
    pub fn executable_path(&self) -> Option<&str> {
        let by_entry = self.entry().and_then(|entry| {
            let named = self
                .files
                .iter()
                .find(|f| f.start <= entry && entry < f.end)?;
            Some(named.path.as_str())
        });
        by_entry.or_else(|| self.files.first().map(|f| f.path.as_str()))
    }

    /// `len` dumped bytes at `addr`, if one segment holds them all.
    pub fn memory_at(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let seg = self
            .segments
            .iter()
            .find(|s| s.vaddr <= addr && addr < s.vaddr.saturating_add(s.filesz))?;
        let off = usize::try_from(addr - seg.vaddr).ok()?;
        self.segment_data(seg).get(off..off.checked_add(len)?)
    }

    /// The one warning that says what a cut-off core lacks, if it is cut.
    pub fn truncation(&self) -> Option<String> {
        truncation_summary(&self.segments, self.source.bytes().len() as u64)
    }

    pub fn dumped_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.filesz).sum()
    }

    pub fn mapped_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.memsz).sum()
    }
}

/// "core truncated at 0x…: 1,234 dumped bytes of 3 mappings are missing
/// (0x…–0x…: 100 of 4096 bytes; …)": the mappings listed are the first cut.
fn truncation_summary(segments: &[Segment], file_len: u64) -> Option<String> {
    let cut: Vec<&Segment> = segments.iter().filter(|s| s.missing > 0).collect();
    let total: u64 = cut.iter().map(|s| s.missing).sum();
    let first = cut.first()?;
    let listed: Vec<String> = cut
        .iter()
        .take(3)
        .map(|s| {
            format!(
                "{:#x}-{:#x} lacks {} of its {} bytes",
                s.vaddr,
                s.end(),
                s.missing,
                s.filesz + s.missing
            )
        })
        .collect();
    let more = if cut.len() > 3 {
        format!(", and {} more", cut.len() - 3)
    } else {
        String::new()
    };
    Some(format!(
        "core truncated: the file ends at {file_len:#x}, {total} dumped bytes of {} mappings are \
         missing, from {:#x} on ({}{more}); objects, roots and stacks there are not read",
        cut.len(),
        first.vaddr + first.filesz,
        listed.join("; ")
    ))
}
