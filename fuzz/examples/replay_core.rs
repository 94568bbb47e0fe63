//! Replays `core` fuzz inputs (word changes to the go1.25 fixture core)
//! through the load and every analysis, and tallies how far each got.
//!
//!     cargo run --release --example replay_core -- FILE_OR_DIR...
//!
//! ROOTPATH_FUZZ_CORE / ROOTPATH_FUZZ_EXE choose another fixture.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rootpath::input::Source;
use rootpath::{Dump, OpenOptions};

#[path = "../analyses.rs"]
mod analyses;
#[path = "../core_mutations.rs"]
mod core_mutations;

fn fixture(var: &str, name: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/fixture-cache/go1.25")
            .join(name),
    }
}

fn main() {
    let base = std::fs::read(fixture("ROOTPATH_FUZZ_CORE", "core")).expect("fixture core");
    let layout = core_mutations::CoreLayout::of(&base).expect("core layout");
    let options = OpenOptions::with_exe(fixture("ROOTPATH_FUZZ_EXE", "scenarios"));
    let mut files = Vec::new();
    for a in std::env::args_os().skip(1).map(PathBuf::from) {
        match std::fs::read_dir(&a) {
            Ok(dir) => files.extend(dir.flatten().map(|e| e.path())),
            Err(_) => files.push(a),
        }
    }
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let input = std::fs::read(f).expect("read input");
        let mut core = base.clone();
        layout.apply(&mut core, &input);
        let source = Source::from_bytes(f, &core).expect("source");
        let key = match Dump::from_source(source, &options) {
            Err(e) => format!("refused on open: {e}"),
            Ok(dump) => match analyses::run_all(&dump) {
                analyses::Reached::Refused(e) => {
                    format!(
                        "refused by the loader: {}",
                        e.split(": ").last().unwrap_or(&e)
                    )
                }
                analyses::Reached::Analysed { .. } => "loaded and analysed".into(),
            },
        };
        *tally.entry(key).or_default() += 1;
    }
    for (k, n) in tally {
        println!("{n:>6}  {k}");
    }
}
