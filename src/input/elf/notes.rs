//! ELF notes of a Linux core: threads (NT_PRSTATUS), process (NT_PRPSINFO),
//! signal (NT_SIGINFO), auxiliary vector (NT_AUXV) and mapped files (NT_FILE).

use serde::Serialize;

use super::Le;

pub use goblin::elf::note::{NT_FILE, NT_GNU_BUILD_ID, NT_PRPSINFO, NT_PRSTATUS, NT_SIGINFO};

// Not in goblin: the kernel's NT_AUXV and AT_ENTRY (include/uapi/linux/elf.h, auxvec.h).
pub const NT_AUXV: u32 = 6;
pub const AT_ENTRY: u64 = 9;
/// Go's linker writes its build id as a note of this type, name "Go".
pub const NT_GO_BUILD_ID: u32 = 4;

/// One raw note.
#[derive(Debug, Clone, Copy)]
pub struct Note<'a> {
    pub name: &'a [u8],
    pub kind: u32,
    pub desc: &'a [u8],
}

/// Walks the notes of one PT_NOTE segment (4-byte aligned as Linux and Go write them).
/// Stops at the first malformed entry and reports where.
pub fn parse_notes(bytes: &[u8]) -> (Vec<Note<'_>>, Option<usize>) {
    let mut notes = Vec::new();
    let mut r = Le::new(bytes);
    while r.pos() < bytes.len() {
        let start = r.pos();
        let parsed = (|| {
            let namesz = r.u32()? as usize;
            let descsz = r.u32()? as usize;
            let kind = r.u32()?;
            let name = r.take(namesz)?;
            r.take(pad4(namesz) - namesz)?;
            let desc = r.take(descsz)?;
            // The final note may omit its padding.
            let pad = pad4(descsz) - descsz;
            if r.pos() + pad <= bytes.len() {
                r.take(pad)?;
            }
            let name = name.strip_suffix(b"\0").unwrap_or(name);
            Some(Note { name, kind, desc })
        })();
        match parsed {
            Some(n) => notes.push(n),
            None => return (notes, Some(start)),
        }
    }
    (notes, None)
}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// x86-64 general registers as `struct user_regs_struct` lays them out.
pub const REG_NAMES: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi",
    "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs",
    "gs",
];

/// A thread as NT_PRSTATUS records it.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadStatus {
    pub tid: i32,
    /// Signal the thread was stopped with (`pr_cursig`).
    pub signal: u16,
    #[serde(skip)]
    pub regs: [u64; 27],
}

impl ThreadStatus {
    /// x86-64 `struct elf_prstatus`: pid at 32, registers at 112, 336 bytes in all.
    pub fn parse(desc: &[u8]) -> Option<ThreadStatus> {
        if desc.len() < 112 + 27 * 8 {
            return None;
        }
        let signal = u16::from_le_bytes([desc[12], desc[13]]);
        let tid = Le::at(desc, 32).i32()?;
        let mut regs = [0u64; 27];
        let mut r = Le::at(desc, 112);
        for reg in regs.iter_mut() {
            *reg = r.u64()?;
        }
        Some(ThreadStatus { tid, signal, regs })
    }

    pub fn reg(&self, name: &str) -> Option<u64> {
        REG_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.regs[i])
    }
    pub fn pc(&self) -> u64 {
        self.regs[16]
    }
    pub fn sp(&self) -> u64 {
        self.regs[19]
    }
    pub fn fs_base(&self) -> u64 {
        self.regs[21]
    }
}

/// The process as NT_PRPSINFO records it.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessInfo {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub command: String,
    pub args: String,
}

impl ProcessInfo {
    /// x86-64 `struct elf_prpsinfo`: 136 bytes.
    pub fn parse(desc: &[u8]) -> Option<ProcessInfo> {
        if desc.len() < 136 {
            return None;
        }
        let uid = Le::at(desc, 16).u32()?;
        let pid = Le::at(desc, 24).i32()?;
        let ppid = Le::at(desc, 28).i32()?;
        Some(ProcessInfo {
            pid,
            ppid,
            uid,
            command: c_string(&desc[40..56]),
            args: c_string(&desc[56..136]).trim_end().to_string(),
        })
    }
}

/// The fatal signal as NT_SIGINFO records it.
#[derive(Debug, Clone, Serialize)]
pub struct SignalInfo {
    pub signo: i32,
    pub code: i32,
    /// Fault address for SIGSEGV/SIGBUS/SIGILL/SIGFPE.
    pub addr: Option<u64>,
}

impl SignalInfo {
    pub fn parse(desc: &[u8]) -> Option<SignalInfo> {
        let mut r = Le::new(desc);
        let signo = r.i32()?;
        let _errno = r.i32()?;
        let code = r.i32()?;
        let addr = if matches!(signo, 4 | 7 | 8 | 11) {
            Le::at(desc, 16).u64()
        } else {
            None
        };
        Some(SignalInfo { signo, code, addr })
    }

    pub fn name(&self) -> String {
        signal_name(self.signo)
    }
}

pub fn signal_name(signo: i32) -> String {
    match signo {
        1 => "SIGHUP".into(),
        2 => "SIGINT".into(),
        3 => "SIGQUIT".into(),
        4 => "SIGILL".into(),
        5 => "SIGTRAP".into(),
        6 => "SIGABRT".into(),
        7 => "SIGBUS".into(),
        8 => "SIGFPE".into(),
        9 => "SIGKILL".into(),
        11 => "SIGSEGV".into(),
        13 => "SIGPIPE".into(),
        15 => "SIGTERM".into(),
        19 => "SIGSTOP".into(),
        other => format!("signal {other}"),
    }
}

/// One file mapping from NT_FILE.
#[derive(Debug, Clone, Serialize)]
pub struct FileMapping {
    pub start: u64,
    pub end: u64,
    /// Offset in the file, in bytes.
    pub file_offset: u64,
    pub path: String,
}

/// NT_FILE: count, page size, count × (start, end, page offset), then count NUL-terminated paths.
pub fn parse_file_note(desc: &[u8]) -> Option<Vec<FileMapping>> {
    let mut r = Le::new(desc);
    let count = r.u64()? as usize;
    let page_size = r.u64()?;
    // Each entry needs at least 24 bytes plus a NUL; refuse counts the note cannot hold.
    if count > desc.len() / 25 {
        return None;
    }
    let mut ranges = Vec::with_capacity(count);
    for _ in 0..count {
        ranges.push((r.u64()?, r.u64()?, r.u64()?));
    }
    let mut names = desc.get(r.pos()..)?.split(|b| *b == 0);
    ranges
        .into_iter()
        .map(|(start, end, page_offset)| {
            Some(FileMapping {
                start,
                end,
                file_offset: page_offset.checked_mul(page_size)?,
                path: String::from_utf8_lossy(names.next()?).into_owned(),
            })
        })
        .collect()
}

/// NT_AUXV: (type, value) pairs ended by AT_NULL.
pub fn parse_auxv(desc: &[u8]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut r = Le::new(desc);
    while let (Some(k), Some(v)) = (r.u64(), r.u64()) {
        if k == 0 {
            break;
        }
        out.push((k, v));
    }
    out
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_stop_at_truncation() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&5u32.to_le_bytes()); // "CORE\0"
        buf.extend_from_slice(&4u32.to_le_bytes());
        buf.extend_from_slice(&NT_AUXV.to_le_bytes());
        buf.extend_from_slice(b"CORE\0\0\0\0");
        buf.extend_from_slice(&[1, 2, 3, 4]);
        let good = buf.len();
        buf.extend_from_slice(&5u32.to_le_bytes());
        buf.extend_from_slice(&400u32.to_le_bytes());
        let (notes, bad) = parse_notes(&buf);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].name, b"CORE");
        assert_eq!(notes[0].desc, &[1, 2, 3, 4]);
        assert_eq!(bad, Some(good));
    }

    #[test]
    fn file_note_refuses_impossible_counts() {
        let mut desc = Vec::new();
        desc.extend_from_slice(&u64::MAX.to_le_bytes());
        desc.extend_from_slice(&4096u64.to_le_bytes());
        assert!(parse_file_note(&desc).is_none());
    }
}
