//! The executable that wrote a core: loadable segments, sections, symbols,
//! build ids and Go build information. Everything stays in the mapped file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use goblin::elf::program_header::{PF_W, PT_LOAD};
use goblin::elf::section_header::SHT_NOBITS;
use serde::Serialize;

use super::core::Segment;
use super::notes::{self, NT_GNU_BUILD_ID, NT_GO_BUILD_ID};
use crate::error::{Error, Result};
use crate::input::{FileKind, Source};

#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub flags: u64,
    /// SHT_NOBITS (.bss): occupies memory, no file bytes.
    pub nobits: bool,
}

#[derive(Debug, Clone)]
pub struct Symbol {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    /// STT_* type: 1 object, 2 function.
    pub kind: u8,
}

/// What `.go.buildinfo` records (Go ≥1.18 inline format).
#[derive(Debug, Clone, Serialize)]
pub struct BuildInfo {
    pub go_version: String,
    /// Main package path (`path` line of the module info).
    pub path: Option<String>,
    /// `build` settings (GOARCH, CGO_ENABLED, -ldflags …).
    pub settings: Vec<(String, String)>,
}

pub struct Executable {
    source: Source,
    pub entry: u64,
    /// ET_DYN: loaded at a bias the core's auxiliary vector reveals.
    pub position_independent: bool,
    pub segments: Vec<Segment>,
    pub sections: Vec<Section>,
    pub symbols: Vec<Symbol>,
    symbol_index: OnceLock<HashMap<String, usize>>,
    pub go_build_id: Option<String>,
    pub gnu_build_id: Option<String>,
    pub build_info: Option<BuildInfo>,
}

impl Executable {
    pub fn open(path: &Path) -> Result<Executable> {
        Self::parse(Source::open(path)?)
    }

    pub fn parse(source: Source) -> Result<Executable> {
        let path = source.path().to_path_buf();
        match source.kind() {
            FileKind::ElfExecutable | FileKind::ElfSharedObject => {}
            FileKind::ElfCore | FileKind::ElfOther | FileKind::HeapDump => {
                return Err(Error::NotAnExecutable {
                    path,
                    kind: format!("a {}", source.kind().describe()),
                });
            }
            _ => {
                return Err(Error::NotAnExecutable {
                    path,
                    kind: format!(
                        "not ELF: it starts with {}",
                        crate::input::detect::magic_preview(source.bytes())
                    ),
                });
            }
        }
        let bytes = source.bytes();
        super::parse_elf(&path, bytes)?;
        let elf = goblin::elf::Elf::parse(bytes)
            .map_err(|e| Error::malformed(&path, format!("cannot parse executable: {e}")))?;

        let segments = elf
            .program_headers
            .iter()
            .filter(|ph| ph.p_type == PT_LOAD)
            .map(|ph| Segment {
                vaddr: ph.p_vaddr,
                memsz: ph.p_memsz,
                offset: ph.p_offset,
                filesz: ph.p_filesz.min(ph.p_memsz),
                missing: 0,
                writable: ph.p_flags & PF_W != 0,
                executable: ph.p_flags & goblin::elf::program_header::PF_X != 0,
            })
            .collect();

        let sections: Vec<Section> = elf
            .section_headers
            .iter()
            .map(|sh| Section {
                name: elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("").to_string(),
                addr: sh.sh_addr,
                offset: sh.sh_offset,
                size: sh.sh_size,
                flags: sh.sh_flags,
                nobits: sh.sh_type == SHT_NOBITS,
            })
            .collect();

        let mut symbols: Vec<Symbol> = elf
            .syms
            .iter()
            .filter(|s| s.st_value != 0)
            .filter_map(|s| {
                Some(Symbol {
                    name: elf.strtab.get_at(s.st_name)?.to_string(),
                    addr: s.st_value,
                    size: s.st_size,
                    kind: s.st_type(),
                })
            })
            .collect();
        symbols.sort_by_key(|s| s.addr);

        let mut exe = Executable {
            entry: elf.entry,
            position_independent: elf.header.e_type == goblin::elf::header::ET_DYN,
            segments,
            sections,
            symbols,
            symbol_index: OnceLock::new(),
            go_build_id: None,
            gnu_build_id: None,
            build_info: None,
            source,
        };
        exe.go_build_id = exe
            .note_in(".note.go.buildid", b"Go", NT_GO_BUILD_ID)
            .map(|d| String::from_utf8_lossy(d).into_owned());
        exe.gnu_build_id = exe
            .note_in(".note.gnu.build-id", b"GNU", NT_GNU_BUILD_ID)
            .map(|d| d.iter().map(|b| format!("{b:02x}")).collect());
        exe.build_info = exe.section_data(".go.buildinfo").and_then(parse_build_info);
        Ok(exe)
    }

    pub fn path(&self) -> &Path {
        self.source.path()
    }

    pub fn bytes(&self) -> &[u8] {
        self.source.bytes()
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// File bytes of a section (none for .bss-like sections).
    pub fn section_data(&self, name: &str) -> Option<&[u8]> {
        let s = self.section(name)?;
        if s.nobits {
            return None;
        }
        self.bytes()
            .get(s.offset as usize..s.offset.checked_add(s.size)? as usize)
    }

    /// Whether DWARF's .debug_info has bytes here (a NOBITS placeholder does not count).
    pub fn has_dwarf(&self) -> bool {
        [".debug_info", ".zdebug_info"]
            .iter()
            .any(|name| self.section(name).is_some_and(|s| !s.nobits))
    }

    pub fn has_symbols(&self) -> bool {
        !self.symbols.is_empty()
    }

    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        let index = self.symbol_index.get_or_init(|| {
            self.symbols
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), i))
                .collect()
        });
        index.get(name).map(|&i| &self.symbols[i])
    }

    /// The symbol whose range holds `addr`.
    pub fn symbol_at(&self, addr: u64) -> Option<&Symbol> {
        let i = self.symbols.partition_point(|s| s.addr <= addr);
        let s = self.symbols.get(i.checked_sub(1)?)?;
        (addr < s.addr + s.size.max(1)).then_some(s)
    }

    /// The file bytes of a loadable segment.
    pub fn segment_data(&self, seg: &Segment) -> &[u8] {
        let start = seg.offset as usize;
        self.bytes()
            .get(start..start.saturating_add(seg.filesz as usize))
            .unwrap_or(&[])
    }

    fn note_in(&self, section: &str, name: &[u8], kind: u32) -> Option<&[u8]> {
        let data = self.section_data(section)?;
        notes::parse_notes(data)
            .0
            .into_iter()
            .find(|n| n.name == name && n.kind == kind)
            .map(|n| n.desc)
    }
}

const BUILDINFO_MAGIC: &[u8] = b"\xff Go buildinf:";
/// Flag bit: version and module info are inline varint strings (Go ≥1.18).
const BUILDINFO_INLINE: u8 = 0x2;

/// Parses `.go.buildinfo`. Older pointer-based layouts (Go <1.18) are not
/// supported and yield `None`.
pub fn parse_build_info(data: &[u8]) -> Option<BuildInfo> {
    if !data.starts_with(BUILDINFO_MAGIC) || data.len() < 32 {
        return None;
    }
    if data[15] & BUILDINFO_INLINE == 0 {
        return None;
    }
    let mut rest = &data[32..];
    let go_version = read_varint_string(&mut rest)?;
    let modinfo = read_varint_string(&mut rest).unwrap_or_default();
    let mut path = None;
    let mut settings = Vec::new();
    // Module info is framed by 16-byte sentinels; its lines are tab-separated.
    for line in modinfo.lines() {
        let mut cols = line.split('\t');
        match cols.next() {
            Some(p) if p.ends_with("path") => path = cols.next().map(str::to_string),
            Some("build") => {
                if let Some((k, v)) = cols.next().and_then(|kv| kv.split_once('=')) {
                    settings.push((k.to_string(), v.to_string()));
                }
            }
            _ => {}
        }
    }
    Some(BuildInfo {
        go_version,
        path,
        settings,
    })
}

fn read_varint_string(data: &mut &[u8]) -> Option<String> {
    let (len, used) = crate::input::varint::uvarint(data).ok()?;
    *data = &data[used..];
    let len = usize::try_from(len).ok()?;
    let s = data.get(..len)?;
    *data = &data[len..];
    Some(String::from_utf8_lossy(s).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_info_inline_format() {
        let mut data = BUILDINFO_MAGIC.to_vec();
        data.push(8);
        data.push(BUILDINFO_INLINE);
        data.resize(32, 0);
        data.push(9);
        data.extend_from_slice(b"go1.25.5x");
        let modinfo = "0123456789abcdefpath\tscenarios\nbuild\tGOARCH=amd64\n0123456789abcdef";
        data.push(modinfo.len() as u8);
        data.extend_from_slice(modinfo.as_bytes());
        let info = parse_build_info(&data).expect("inline build info parses");
        assert_eq!(info.go_version, "go1.25.5x");
        assert_eq!(info.path.as_deref(), Some("scenarios"));
        assert_eq!(
            info.settings,
            vec![("GOARCH".to_string(), "amd64".to_string())]
        );
    }

    #[test]
    fn build_info_rejects_garbage() {
        assert!(parse_build_info(b"\xff Go buildinf:").is_none());
        let mut data = BUILDINFO_MAGIC.to_vec();
        data.extend_from_slice(&[8, 2]);
        data.resize(32, 0);
        data.push(0xff); // varint that never ends
        assert!(parse_build_info(&data).is_none());
    }
}
