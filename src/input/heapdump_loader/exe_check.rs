//! Whether an executable wrote a heap dump: its Go version, its data and
//! bss against the dump's segments (finding a PIE's load bias), and the
//! function at each dumped frame's entry pc.

use crate::error::{Error, Result};
use crate::input::elf::Executable;
use crate::input::goruntime::pclntab::FuncTable;
use crate::input::goruntime::{GoVersion, Support};
use crate::input::heapdump::{HeapDumpFile, text};

use super::PTR;
use super::RootRecords;

/// What the check established: where the executable is loaded.
pub(super) struct Checked {
    /// Added to the executable's addresses (non-zero for a PIE).
    pub(super) bias: u64,
}

fn mismatch(exe: &Executable, detail: String) -> Error {
    Error::ExeMismatch {
        exe: exe.path().to_path_buf(),
        detail,
    }
}

/// Refuses an executable that did not write this dump: another Go version,
/// or data/bss segments that are not the executable's `.data`/`.bss`; and
/// finds a PIE's load bias from where the dump's data segment is.
pub(super) fn check(
    exe: &Executable,
    dump: &HeapDumpFile,
    rr: &RootRecords<'_>,
    warnings: &mut Vec<String>,
) -> Result<Checked> {
    let dumped = &dump.params.go_version;
    if let Some(info) = &exe.build_info {
        if info.go_version != *dumped {
            return Err(mismatch(
                exe,
                format!(
                    "it was built by {}, the heap dump was written by {dumped}",
                    info.go_version
                ),
            ));
        }
    }
    match GoVersion::parse(dumped).map(|v| v.support()) {
        Some(Support::Tested) => {}
        Some(Support::Untested) => warnings.push(format!(
            "{dumped} is outside the tested matrix ({}): the answer may be partial",
            crate::input::goruntime::tested_matrix()
        )),
        Some(Support::Unsupported) => {
            return Err(Error::UnsupportedGoVersion {
                version: dumped.clone(),
            });
        }
        None => {}
    }
    if dump.params.ptr_size != PTR || dump.params.big_endian || dump.params.goarch != "amd64" {
        return Err(Error::UnsupportedArch {
            path: dump.path().to_path_buf(),
            machine: format!(
                "{} ({}-byte pointers{})",
                dump.params.goarch,
                dump.params.ptr_size,
                if dump.params.big_endian {
                    ", big-endian"
                } else {
                    ""
                }
            ),
        });
    }
    let segment = |bss: bool| rr.segments.iter().find(|s| s.0 == bss);
    let (Some(data), Some(bss)) = (segment(false), segment(true)) else {
        return Err(mismatch(
            exe,
            "the heap dump has no data or bss segment record to place the executable's \
             globals in"
                .into(),
        ));
    };
    let (Some(exe_data), Some(exe_bss)) = (exe.section(".data"), exe.section(".bss")) else {
        return Err(mismatch(exe, "it has no .data or .bss section".into()));
    };
    let bias = data.1.wrapping_sub(exe_data.addr);
    if bias != 0 && (!exe.position_independent || bias % 4096 != 0) {
        return Err(mismatch(
            exe,
            format!(
                "the heap dump's data segment is at {:#x}, the executable's .data at {:#x}",
                data.1, exe_data.addr
            ),
        ));
    }
    for (what, (_, addr, contents, _), section) in [("data", data, exe_data), ("bss", bss, exe_bss)]
    {
        let want = section.addr.wrapping_add(bias);
        if *addr != want || contents.len() as u64 != section.size {
            return Err(mismatch(
                exe,
                format!(
                    "the heap dump's {what} segment is {:#x}+{:#x}, the executable's is {want:#x}+{:#x}",
                    addr,
                    contents.len(),
                    section.size
                ),
            ));
        }
    }
    Ok(Checked { bias })
}

/// Every frame's function, as the dump names it, is the executable's
/// function at the frame's entry pc: otherwise the code is another build's.
pub(super) fn check_frames(
    exe: &Executable,
    funcs: &FuncTable<'_, '_>,
    rr: &RootRecords<'_>,
) -> Result<()> {
    if funcs.is_empty() {
        return Err(mismatch(
            exe,
            "its function table is not where its runtime.firstmoduledata says".into(),
        ));
    }
    for f in &rr.frames {
        let name = text(f.name);
        if name == "unknown function" {
            continue;
        }
        let found = funcs
            .find(f.entry_pc)
            .filter(|func| func.entry == f.entry_pc)
            .and_then(|func| funcs.name(func));
        if found.as_deref() != Some(&*name) {
            return Err(mismatch(
                exe,
                format!(
                    "the heap dump has {name} at {:#x}, the executable {}",
                    f.entry_pc,
                    match found {
                        Some(n) => format!("has {n} there"),
                        None => "has no function starting there".to_string(),
                    }
                ),
            ));
        }
    }
    Ok(())
}
