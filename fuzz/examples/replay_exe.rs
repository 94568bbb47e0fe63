//! Replays `exe` or `pclntab` fuzz inputs natively (no sanitizer) and says,
//! per input, whether the readers returned and how long they took; with
//! `--random N SEED` it first tries N random inputs (a quick smoke run)
//! and writes each that panics or takes over 5 s to `found/`.
//!
//!     cargo run --release --example replay_exe -- exe|pclntab EXE [--random N SEED] [FILE_OR_DIR...]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rootpath::input::Source;
use rootpath::input::dwarf::{DwarfIndex, DwarfSections};
use rootpath::input::elf::Executable;

#[path = "../exe_readers.rs"]
mod exe_readers;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.remove(0);
    let exe_path = PathBuf::from(args.remove(0));
    let bytes = std::fs::read(&exe_path).expect("executable");
    let base = exe_readers::ExeBase::of(bytes.clone()).expect("executable with DWARF");
    let exe = Executable::open(&exe_path).expect("executable");
    let sections = DwarfSections::load(&exe).expect("DWARF");
    let index = DwarfIndex::build(&exe, &sections.dwarf()).expect("index");
    let pclntab_addr = exe.section(".gopclntab").expect(".gopclntab").addr;
    let run = |input: &[u8]| match mode.as_str() {
        "exe" => {
            let (file, dwarf, _) = base.mutate(input);
            let Ok(source) = Source::from_bytes(Path::new("fuzz.exe"), &file) else {
                return;
            };
            let Ok(e) = Executable::parse(source) else {
                return;
            };
            exe_readers::run_readers(&e, &DwarfSections::from_parts(dwarf));
        }
        _ => {
            let space = exe_readers::exe_space(&exe, Some((pclntab_addr, input)));
            exe_readers::query_pclntab(&space, &index);
        }
    };
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    if args.first().map(String::as_str) == Some("--random") {
        let n: usize = args[1].parse().expect("N");
        let mut seed: u64 = args[2].parse().expect("SEED");
        args.drain(..3);
        let pcln = &bytes[base.pclntab.clone()];
        for i in 0..n {
            let mut next = || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            let input = if mode == "exe" {
                let records = 1 + next() % 8;
                (0..records)
                    .flat_map(|_| {
                        let (a, b) = (next(), next());
                        let mut r = a.to_le_bytes().to_vec();
                        r.extend_from_slice(&b.to_le_bytes()[..6]);
                        r
                    })
                    .collect()
            } else {
                let mut p = pcln.to_vec();
                for _ in 0..1 + next() % 16 {
                    let at = (next() as usize) % p.len();
                    p[at] = next() as u8;
                }
                if next() % 4 == 0 {
                    p.truncate((next() as usize) % p.len());
                }
                p
            };
            inputs.push((format!("random-{i}"), input));
        }
    }
    for a in &args {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(a) {
            Ok(dir) => dir.flatten().map(|e| e.path()).collect(),
            Err(_) => vec![PathBuf::from(a)],
        };
        files.sort();
        for f in files {
            inputs.push((f.display().to_string(), std::fs::read(&f).expect("input")));
        }
    }
    let (mut panics, mut slow, mut slowest) = (0, 0, Duration::ZERO);
    for (name, input) in &inputs {
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(|| run(input));
        let took = start.elapsed();
        slowest = slowest.max(took);
        let bad = outcome.is_err() || took > Duration::from_secs(5);
        if bad {
            if outcome.is_err() {
                panics += 1;
            } else {
                slow += 1;
            }
            println!(
                "{name}: {} in {took:?}",
                if outcome.is_err() { "PANIC" } else { "slow" }
            );
            if name.starts_with("random-") {
                std::fs::create_dir_all("found").expect("found/");
                std::fs::write(format!("found/{mode}-{name}"), input).expect("write");
            }
        }
    }
    println!(
        "{} inputs: {panics} panicked, {slow} over 5 s, slowest {slowest:?}",
        inputs.len()
    );
}
