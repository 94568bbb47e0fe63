//! The legacy heap profile text (`runtime/pprof` `writeHeapInternal` with
//! debug ≥ 1):
//!
//! ```text
//! heap profile: 41968: 3850736 [42415: 8493424] @ heap/2
//! 1000: 64000 [1000: 64000] @ 0x511d6c 0x512097 0x50ff39 0x44601d 0x47f6e1
//! #    0x511d6b    main.allocSiteSmall+0x4b    scenarios/sites.go:26
//! #    0x512096    main.setupSites+0x136        scenarios/sites.go:59
//! …
//!
//! # runtime.MemStats
//! ```
//!
//! (tabs shown as spaces). Columns of the `#` lines are separated by runs of
//! tabs (the output goes through a `tabwriter` padding with tabs), the
//! numbers of a record by spaces.

use std::path::Path;

use super::{HOW_TO_GET_ONE, HeapProfile, ProfileFormat, ProfileFrame, ProfileSample};
use crate::error::{Error, Result};

pub(super) const HEADER: &[u8] = b"heap profile:";

/// Where the heap records end and the MemStats comments begin.
const MEMSTATS: &str = "# runtime.MemStats";

/// Names the other legacy text profiles `runtime/pprof` writes with debug=1
/// from their first line, for errors.
pub(super) fn other_text_profile(start: &[u8]) -> Option<&'static str> {
    const KNOWN: &[(&[u8], &str)] = &[
        (b"goroutine profile:", "a goroutine profile (debug=1 text)"),
        (b"goroutine ", "a goroutine dump (debug=2 text)"),
        (
            b"threadcreate profile:",
            "a threadcreate profile (debug=1 text)",
        ),
        (b"--- contention:", "a block profile (debug=1 text)"),
        (b"--- mutex:", "a mutex profile (debug=1 text)"),
    ];
    KNOWN
        .iter()
        .find(|(prefix, _)| start.starts_with(prefix))
        .map(|&(_, kind)| kind)
}

/// Parses legacy heap profile text; its first non-blank line is the header.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<HeapProfile> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines().enumerate();
    let err =
        |line: usize, what: String| Error::malformed(path, format!("line {}: {what}", line + 1));

    let (n, header) = lines
        .find(|(_, line)| !line.trim().is_empty())
        .ok_or_else(|| err(0, "empty heap profile".to_string()))?;
    let period = parse_header(header).ok_or_else(|| {
        err(
            n,
            format!(
                "expected `heap profile: I: B [A: AB] @ heap/2*RATE`, found {:?}; {HOW_TO_GET_ONE}",
                excerpt(header)
            ),
        )
    })?;

    let mut samples: Vec<ProfileSample> = Vec::new();
    for (n, line) in lines {
        if line.starts_with(MEMSTATS) {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') {
            let sample = samples
                .last_mut()
                .ok_or_else(|| err(n, "a `#` frame line before any sample".to_string()))?;
            let frame = parse_frame(line).ok_or_else(|| {
                err(
                    n,
                    format!(
                        "expected `#\\tADDR\\tFUNC+OFF\\tFILE:LINE`, found {:?}",
                        excerpt(line)
                    ),
                )
            })?;
            sample.frames.push(frame);
            continue;
        }
        let sample = parse_sample(line).ok_or_else(|| {
            err(
                n,
                format!(
                    "expected `INUSE_OBJS: INUSE_BYTES [ALLOC_OBJS: ALLOC_BYTES] @ PC…`, found {:?}",
                    excerpt(line)
                ),
            )
        })?;
        samples.push(sample);
    }

    Ok(HeapProfile {
        path: path.to_path_buf(),
        format: ProfileFormat::LegacyText,
        period,
        scaled: false,
        time_nanos: None,
        default_sample_type: None,
        mappings: Vec::new(),
        samples,
    })
}

/// `heap profile: I: B [A: AB] @ heap/R2` → the sampling period R2/2: Go
/// writes twice MemProfileRate here, as the C++ heap profiler did.
fn parse_header(line: &str) -> Option<i64> {
    let rest = line.strip_prefix("heap profile:")?;
    let (counts, sampling) = rest.split_once('@')?;
    parse_counts(counts)?;
    let doubled = sampling.trim().strip_prefix("heap/")?;
    Some(doubled.parse::<i64>().ok()? / 2)
}

/// `I: B [A: AB] @ 0xPC 0xPC …`
fn parse_sample(line: &str) -> Option<ProfileSample> {
    let (counts, pcs) = line.split_once('@')?;
    let [inuse_objects, inuse_bytes, alloc_objects, alloc_bytes] = parse_counts(counts)?;
    let raw_pcs = pcs
        .split_ascii_whitespace()
        .map(parse_hex)
        .collect::<Option<Vec<u64>>>()?;
    // The bucket holds objects of one size; the alloc pair is never smaller.
    let object_size = alloc_bytes
        .checked_div(alloc_objects)
        .or_else(|| inuse_bytes.checked_div(inuse_objects))
        .filter(|&size| size > 0);
    Some(ProfileSample {
        frames: Vec::new(),
        // Return PCs, as the proto's locations are call PCs: one byte back
        // lands inside the call instruction.
        location_addresses: raw_pcs.iter().map(|pc| pc.saturating_sub(1)).collect(),
        raw_pcs,
        inuse_objects,
        inuse_bytes,
        alloc_objects,
        alloc_bytes,
        object_size,
    })
}

/// `I: B [A: AB]`, in the header and in each sample.
fn parse_counts(s: &str) -> Option<[i64; 4]> {
    let (inuse, alloc) = s.split_once('[')?;
    let alloc = alloc.trim_end().strip_suffix(']')?;
    let pair = |s: &str| -> Option<(i64, i64)> {
        let (objects, bytes) = s.split_once(':')?;
        Some((objects.trim().parse().ok()?, bytes.trim().parse().ok()?))
    };
    let (inuse_objects, inuse_bytes) = pair(inuse)?;
    let (alloc_objects, alloc_bytes) = pair(alloc)?;
    Some([inuse_objects, inuse_bytes, alloc_objects, alloc_bytes])
}

/// `#\t0xADDR\tFUNC+0xOFF\tFILE:LINE`, or `#\t0xADDR` for a PC Go could not
/// symbolize. Columns are split at tabs only: paths may hold spaces.
fn parse_frame(line: &str) -> Option<ProfileFrame> {
    let mut fields = line.split('\t').filter(|f| !f.is_empty());
    if fields.next()? != "#" {
        return None;
    }
    let address = parse_hex(fields.next()?)?;
    let Some(function) = fields.next() else {
        return Some(ProfileFrame {
            function: String::new(),
            file: String::new(),
            line: 0,
            address,
        });
    };
    let (file, line) = fields.next()?.rsplit_once(':')?;
    if fields.next().is_some() {
        return None;
    }
    // Drop the `+0xOFF` offset from the function's entry.
    let function = function
        .rsplit_once("+0x")
        .map_or(function, |(name, _)| name);
    Some(ProfileFrame {
        function: function.to_string(),
        file: file.to_string(),
        line: line.trim().parse().ok()?,
        address,
    })
}

/// The start of a line, for messages: a corrupt file may have huge lines.
fn excerpt(line: &str) -> &str {
    const MAX: usize = 100;
    match line.char_indices().nth(MAX) {
        Some((end, _)) => &line[..end],
        None => line,
    }
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}
