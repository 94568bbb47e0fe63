//! Separate debug files: distributions strip executables and ship their
//! DWARF apart, found by the `.gnu_debuglink` section (a file name and the
//! file's CRC32) or by the GNU build id under `.build-id/`, the way gdb
//! looks them up.

use std::path::{Path, PathBuf};

use super::Executable;

/// The system's debug file tree.
const SYSTEM_DEBUG_DIR: &str = "/usr/lib/debug";

/// The `.gnu_debuglink` contents: file name, then (4-aligned) its CRC32.
pub fn debuglink(exe: &Executable) -> Option<(String, u32)> {
    let data = exe.section_data(".gnu_debuglink")?;
    let end = data.iter().position(|&b| b == 0)?;
    let name = std::str::from_utf8(&data[..end]).ok()?.to_string();
    let crc_at = (end + 1).next_multiple_of(4);
    let crc = u32::from_le_bytes(data.get(crc_at..crc_at + 4)?.try_into().ok()?);
    (!name.is_empty() && !name.contains('/')).then_some((name, crc))
}

/// Where the debug file of `exe` may be, most specific first: build-id
/// paths under each directory, then the debuglink name beside the
/// executable, in its `.debug/`, in each directory, and in the system tree.
pub fn candidates(exe: &Executable, dirs: &[PathBuf]) -> Vec<(PathBuf, Option<u32>)> {
    let mut out = Vec::new();
    let system = PathBuf::from(SYSTEM_DEBUG_DIR);
    let all_dirs: Vec<&Path> = dirs
        .iter()
        .map(PathBuf::as_path)
        .chain(std::iter::once(system.as_path()))
        .collect();
    if let Some(id) = exe.gnu_build_id.as_deref().filter(|id| id.len() > 2) {
        for dir in &all_dirs {
            out.push((
                dir.join(".build-id")
                    .join(&id[..2])
                    .join(format!("{}.debug", &id[2..])),
                None,
            ));
        }
    }
    if let Some((name, crc)) = debuglink(exe) {
        let exe_dir = exe
            .path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        out.push((exe_dir.join(&name), Some(crc)));
        out.push((exe_dir.join(".debug").join(&name), Some(crc)));
        for dir in dirs {
            out.push((dir.join(&name), Some(crc)));
        }
        if let Ok(abs) = std::fs::canonicalize(&exe_dir) {
            let rel = abs.strip_prefix("/").unwrap_or(&abs);
            out.push((system.join(rel).join(&name), Some(crc)));
        }
    }
    out
}

/// The first candidate that exists, is not the executable itself, and (for
/// debuglink names) has the recorded CRC32, opened.
pub fn find_debug_file(exe: &Executable, dirs: &[PathBuf]) -> Option<Executable> {
    let own = std::fs::canonicalize(exe.path()).ok();
    for (path, crc) in candidates(exe, dirs) {
        if !path.is_file() || std::fs::canonicalize(&path).ok() == own {
            continue;
        }
        if let Some(want) = crc {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let mut sum = flate2::Crc::new();
            sum.update(&bytes);
            if sum.sum() != want {
                continue;
            }
        }
        if let Ok(debug) = Executable::open(&path) {
            if debug.has_dwarf() {
                return Some(debug);
            }
        }
    }
    None
}
