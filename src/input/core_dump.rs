//! A core with its executable: finding and opening the executable, checking
//! that it is the build that wrote the core, and the core's Go version.
//!
//! `crate::dump` re-exports these types; they live here so that the core
//! loader reads them without depending on the layer that calls it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::input::Source;
use crate::input::elf::{AddressSpace, CoreFile, Executable};
use crate::input::goruntime::GoVersion;

#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The program that wrote the dump; for cores, defaults to the file the core names.
    pub exe: Option<PathBuf>,
    /// Where to look for separate debug files, besides the usual places.
    pub debug_dirs: Vec<PathBuf>,
    /// Read the program as if it had no DWARF or symbols (to see what a
    /// stripped build of it would give).
    pub ignore_debug_info: bool,
}

impl OpenOptions {
    /// Defaults, with the executable given.
    pub fn with_exe(exe: impl Into<PathBuf>) -> OpenOptions {
        OpenOptions {
            exe: Some(exe.into()),
            ..OpenOptions::default()
        }
    }
}

/// Where the executable came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExeOrigin {
    /// `--exe`.
    Given,
    /// The path the core's NT_FILE note names.
    NamedByCore,
}

/// Whether the executable is the build that wrote the core, judged by
/// comparing the executable's read-only bytes with the core's copy of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BuildMatch {
    Matches { compared_bytes: u64 },
    Differs { address: String, detail: String },
    Unverified { reason: String },
}

pub struct CoreDump {
    pub core: CoreFile,
    pub exe: Option<Executable>,
    pub exe_origin: Option<ExeOrigin>,
    /// Why there is no executable, when there is none.
    pub exe_problem: Option<Error>,
    /// Load bias of a position-independent executable.
    pub exe_bias: u64,
    pub build_match: BuildMatch,
    pub debug_dirs: Vec<PathBuf>,
    pub ignore_debug_info: bool,
    /// The stripped executable's separate debug file, looked up once (the
    /// lookup reads and checksums whole files).
    debug_file: std::sync::OnceLock<Option<Executable>>,
}

impl CoreDump {
    pub(crate) fn open(source: Source, options: &OpenOptions) -> Result<CoreDump> {
        let core = CoreFile::parse(source)?;
        let (exe, exe_origin, exe_problem) = match &options.exe {
            // An explicitly named executable that cannot be read is an error.
            Some(path) => (Some(open_exe(path)?), Some(ExeOrigin::Given), None),
            None => match core.executable_path() {
                None => (None, None, Some(Error::ExeUnknown)),
                Some(named) if !Path::new(named).is_file() => (
                    None,
                    None,
                    Some(Error::ExeMissing {
                        named: named.to_string(),
                    }),
                ),
                Some(named) => match Executable::open(Path::new(named)) {
                    Ok(exe) => (Some(exe), Some(ExeOrigin::NamedByCore), None),
                    Err(e) => (None, None, Some(e)),
                },
            },
        };
        let exe_bias = match (&exe, core.entry()) {
            (Some(exe), Some(entry)) => entry.wrapping_sub(exe.entry),
            _ => 0,
        };
        let build_match = match &exe {
            Some(exe) => check_build(&core, exe, exe_bias),
            None => BuildMatch::Unverified {
                reason: "no executable".into(),
            },
        };
        Ok(CoreDump {
            core,
            exe,
            exe_origin,
            exe_problem,
            exe_bias,
            build_match,
            debug_dirs: options.debug_dirs.clone(),
            ignore_debug_info: options.ignore_debug_info,
            debug_file: std::sync::OnceLock::new(),
        })
    }

    /// Where the program's DWARF is when the executable has none: its
    /// separate debug file, if one is found (never with `ignore_debug_info`).
    pub fn debug_file(&self) -> Option<&Executable> {
        self.debug_file
            .get_or_init(|| match &self.exe {
                Some(exe) if !self.ignore_debug_info && !exe.has_dwarf() => {
                    crate::input::elf::debuglink::find_debug_file(exe, &self.debug_dirs)
                }
                _ => None,
            })
            .as_ref()
    }

    pub fn go_version(&self) -> Option<GoVersion> {
        let info = self.exe.as_ref()?.build_info.as_ref()?;
        GoVersion::parse(&info.go_version)
    }

    /// Whether the core's program is a Go program, judged by the first page
    /// of its file mapping, which cores keep: a Go linker puts its build-ID
    /// note there. None when the core lacks that page.
    pub fn core_shows_go(&self) -> Option<bool> {
        let named = self.core.executable_path()?;
        let first = self
            .core
            .files
            .iter()
            .find(|f| f.path == named && f.file_offset == 0)?;
        let page = self.core.memory_at(first.start, 4096)?;
        // namesz 4, descsz (any), type 4 (NT_GO_BUILD_ID), name "Go\0\0".
        Some(
            page.windows(16).any(|w| {
                w[..4] == [4, 0, 0, 0] && w[8..12] == [4, 0, 0, 0] && &w[12..] == b"Go\0\0"
            }),
        )
    }

    /// The executable, or the reason there is none (for commands that need it).
    pub fn require_exe(&self) -> Result<&Executable> {
        if self.exe.as_ref().is_none_or(|e| e.build_info.is_none())
            && self.core_shows_go() == Some(false)
        {
            return Err(Error::NotGo {
                what: format!(
                    "the program that wrote this core ({})",
                    self.core.executable_path().unwrap_or("?")
                ),
                why: "the first page of its executable, kept in the core, has no Go build ID note"
                    .into(),
            });
        }
        match (&self.exe, &self.exe_problem) {
            (Some(exe), _) => Ok(exe),
            (None, Some(Error::ExeMissing { named })) => Err(Error::ExeMissing {
                named: named.clone(),
            }),
            _ => Err(Error::ExeUnknown),
        }
    }

    pub fn address_space(&self) -> AddressSpace<'_> {
        AddressSpace::new(&self.core, self.exe.as_ref(), self.exe_bias)
    }
}

/// The executable `--exe` names; problems with the file itself name the flag.
pub(crate) fn open_exe(path: &Path) -> Result<Executable> {
    Executable::open(path).map_err(|e| e.for_flag("--exe"))
}

/// `SHF_ALLOC`: the section occupies memory in the running program.
const SHF_ALLOC: u64 = 0x2;

/// Compares every read-only executable byte the core also holds (cores keep
/// the first page of each file mapping: ELF header, program headers, notes
/// with the Go build id), and checks the entry point agrees.
fn check_build(core: &CoreFile, exe: &Executable, bias: u64) -> BuildMatch {
    if !exe.position_independent && bias != 0 {
        // A fixed-address executable cannot be loaded elsewhere.
        return BuildMatch::Differs {
            address: format!("{:#x}", exe.entry),
            detail: format!(
                "the core's entry point is {:#x}, the executable's is {:#x}",
                exe.entry.wrapping_add(bias),
                exe.entry
            ),
        };
    }
    let mut compared = 0u64;
    for seg in exe.segments.iter().filter(|s| !s.writable) {
        let exe_data = exe.segment_data(seg);
        let start = seg.vaddr.wrapping_add(bias);
        let end = start.saturating_add(exe_data.len() as u64);
        for cs in core.segments.iter().filter(|s| s.filesz > 0) {
            let core_data = core.segment_data(cs);
            let lo = start.max(cs.vaddr);
            let hi = end.min(cs.vaddr + core_data.len() as u64);
            if lo >= hi {
                continue;
            }
            let a = &exe_data[(lo - start) as usize..(hi - start) as usize];
            let b = &core_data[(lo - cs.vaddr) as usize..(hi - cs.vaddr) as usize];
            // Only section contents count: stripping or splitting debug info
            // rewrites the headers (section table, a segment's file size)
            // of the same build.
            let in_section = |i: usize| {
                let at = (lo - start) + i as u64 + seg.vaddr;
                exe.sections.iter().any(|s| {
                    s.flags & SHF_ALLOC != 0 && !s.nobits && s.addr <= at && at < s.addr + s.size
                })
            };
            let differs = a
                .iter()
                .zip(b)
                .enumerate()
                .position(|(i, (x, y))| x != y && in_section(i));
            if let Some(i) = differs {
                return BuildMatch::Differs {
                    address: format!("{:#x}", lo + i as u64),
                    detail: "the executable's bytes differ from the core's copy of them: \
                             this is not the build that wrote the core"
                        .into(),
                };
            }
            compared += hi - lo;
        }
    }
    if compared == 0 {
        BuildMatch::Unverified {
            reason: "the core holds none of the executable's read-only bytes".into(),
        }
    } else {
        BuildMatch::Matches {
            compared_bytes: compared,
        }
    }
}
