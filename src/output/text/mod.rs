//! Human-readable text: one writer per command, over the analyses' documents,
//! and the figure formats they share (bytes, shares, type lists).

mod listing;
mod overview;
mod retention;
mod sites;
mod why;

use std::io;

use crate::analysis::retention::TypeShare;
use crate::error::Error;

pub use listing::{goroutines, histogram, objects, roots};
pub use overview::overview;
pub use retention::{goroutine_groups, report, top, top_types};
pub use sites::{sites, why_site};
pub(crate) use why::{root_line, write_steps_at};
pub use why::{why, why_type};

/// Bytes as a short human figure: 1.5 MiB.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn io_err(e: io::Error) -> Error {
    Error::Output(e)
}

pub(crate) fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

pub(crate) fn types_line(types: &[TypeShare]) -> String {
    types
        .iter()
        .map(|t| format!("{} {} ({})", t.objects, t.type_name, bytes(t.bytes)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes() {
        assert_eq!(super::bytes(0), "0 B");
        assert_eq!(super::bytes(1023), "1023 B");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(super::bytes(3 << 30), "3.0 GiB");
    }
}
