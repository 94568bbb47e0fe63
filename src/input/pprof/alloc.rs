//! A heap profile reduced to what joining it with a dump needs
//! ([`AllocProfile`]), including the GC cycle the legacy text names.

use std::path::Path;

use super::{HeapProfile, ProfileFormat, parse_heap_profile};
use crate::error::Result;
use crate::input::Source;
use crate::model::{AllocProfile, GcStamp, ProfiledStack, SourceFrame};

/// Reads the profile at `path` for joining with a dump.
pub fn read_alloc_profile(path: &Path) -> Result<AllocProfile> {
    let source = Source::open(path)?;
    let profile = parse_heap_profile(path, source.bytes())?;
    let last_gc = match profile.format {
        ProfileFormat::LegacyText => legacy_gc_stamp(source.bytes()),
        ProfileFormat::Proto => None,
    };
    Ok(alloc_profile(&profile, last_gc))
}

pub fn alloc_profile(p: &HeapProfile, last_gc: Option<GcStamp>) -> AllocProfile {
    let format = match p.format {
        ProfileFormat::Proto => "profile.proto",
        ProfileFormat::LegacyText => "legacy text",
    };
    AllocProfile {
        source: format!("{} ({format})", p.path.display()),
        period: u64::try_from(p.period).unwrap_or(0),
        scaled: p.scaled,
        time_nanos: p.time_nanos.and_then(|t| u64::try_from(t).ok()),
        last_gc,
        samples: p
            .samples
            .iter()
            .map(|s| ProfiledStack {
                frames: s
                    .frames
                    .iter()
                    .map(|f| SourceFrame {
                        function: f.function.clone(),
                        file: (!f.file.is_empty()).then(|| f.file.clone()),
                        line: (f.line != 0).then_some(f.line),
                    })
                    .collect(),
                frame_addresses: s.frames.iter().map(|f| f.address).collect(),
                object_size: s.object_size.and_then(|v| u64::try_from(v).ok()),
                inuse_objects: s.inuse_objects,
                inuse_bytes: s.inuse_bytes,
            })
            .collect(),
    }
}

/// `# NumGC = N` and `# LastGC = NS` from the MemStats trailer of the legacy
/// text: the cycle whose end published the profile's counts.
fn legacy_gc_stamp(text: &[u8]) -> Option<GcStamp> {
    let start = text
        .windows(20)
        .position(|w| w == b"# runtime.MemStats\n#")?;
    let trailer = std::str::from_utf8(text.get(start..)?).ok()?;
    let value = |key: &str| {
        trailer
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some(GcStamp {
        num_gc: value("# NumGC = ")?,
        unix_nanos: value("# LastGC = ")?,
    })
}
