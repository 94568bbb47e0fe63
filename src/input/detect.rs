//! What is this file? Decided from its first bytes, never from its name.

use serde::Serialize;

/// ELF file types we care about (`e_type`).
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const ET_CORE: u16 = 4;

pub const HEAPDUMP_MAGIC: &[u8] = b"go1.7 heap dump\n";
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ELF_MAGIC: &[u8] = b"\x7fELF";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    ElfCore,
    ElfExecutable,
    ElfSharedObject,
    ElfOther,
    HeapDump,
    Zstd,
    Gzip,
    Unknown,
}

impl FileKind {
    pub fn of(bytes: &[u8]) -> FileKind {
        if bytes.starts_with(ELF_MAGIC) {
            // e_type sits at offset 16 in both ELF classes; we only read little-endian targets.
            return match bytes.get(16..18).map(|b| u16::from_le_bytes([b[0], b[1]])) {
                Some(ET_CORE) => FileKind::ElfCore,
                Some(ET_EXEC) => FileKind::ElfExecutable,
                Some(ET_DYN) => FileKind::ElfSharedObject,
                _ => FileKind::ElfOther,
            };
        }
        if bytes.starts_with(HEAPDUMP_MAGIC) {
            FileKind::HeapDump
        } else if bytes.starts_with(ZSTD_MAGIC) {
            FileKind::Zstd
        } else if bytes.starts_with(GZIP_MAGIC) {
            FileKind::Gzip
        } else {
            FileKind::Unknown
        }
    }

    pub fn is_compressed(self) -> bool {
        matches!(self, FileKind::Zstd | FileKind::Gzip)
    }

    pub fn describe(self) -> &'static str {
        match self {
            FileKind::ElfCore => "ELF core file",
            FileKind::ElfExecutable => "ELF executable",
            FileKind::ElfSharedObject => "ELF position-independent executable or shared object",
            FileKind::ElfOther => "ELF file",
            FileKind::HeapDump => "Go heap dump (runtime/debug.WriteHeapDump)",
            FileKind::Zstd => "zstd-compressed file",
            FileKind::Gzip => "gzip-compressed file",
            FileKind::Unknown => "unknown",
        }
    }
}

/// The first bytes of a file, printable, for error messages.
pub fn magic_preview(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    if head.is_empty() {
        return "nothing (empty file)".to_string();
    }
    head.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_magic() {
        let mut core = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
        core.extend_from_slice(&4u16.to_le_bytes());
        assert_eq!(FileKind::of(&core), FileKind::ElfCore);
        core[16] = 2;
        assert_eq!(FileKind::of(&core), FileKind::ElfExecutable);
        assert_eq!(FileKind::of(b"go1.7 heap dump\nrest"), FileKind::HeapDump);
        assert_eq!(FileKind::of(&[0x28, 0xb5, 0x2f, 0xfd, 0]), FileKind::Zstd);
        assert_eq!(FileKind::of(&[0x1f, 0x8b, 8]), FileKind::Gzip);
        assert_eq!(FileKind::of(b"hello"), FileKind::Unknown);
        assert_eq!(FileKind::of(b""), FileKind::Unknown);
        // An ELF magic without a type field is still ELF, just not one we know.
        assert_eq!(FileKind::of(b"\x7fELF"), FileKind::ElfOther);
    }
}
