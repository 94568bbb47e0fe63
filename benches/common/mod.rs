//! What both benchmarks need: where the big inputs live and how much memory
//! this process holds.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub const DEFAULT_DIR: &str = "target/bench/go1.25";

/// `$VAR` if set, else `target/bench/go1.25/FILE`.
pub fn input_path(var: &str, file: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(DEFAULT_DIR)
            .join(file),
    }
}

/// Memory figures of this process from /proc/self/status, in KiB.
#[derive(Clone, Copy, Default)]
pub struct Mem {
    pub hwm: u64,
    pub rss: u64,
    pub anon: u64,
    pub file: u64,
}

pub fn mem() -> Mem {
    let mut m = Mem::default();
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return m;
    };
    for line in status.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kib = || {
            rest.split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        match key {
            "VmHWM" => m.hwm = kib(),
            "VmRSS" => m.rss = kib(),
            "RssAnon" => m.anon = kib(),
            "RssFile" => m.file = kib(),
            _ => {}
        }
    }
    m
}

/// Resets VmHWM to the current RSS ("5" > clear_refs, Linux ≥ 4.0).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
