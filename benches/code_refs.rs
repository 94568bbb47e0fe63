//! Benchmark: decode every function of a Go executable for its RIP-relative
//! references (`CodeRefs::build`, the index a stripped executable's globals
//! are found through).
//!
//! ```text
//! cargo bench --bench code_refs                      # the go1.25 fixture executable
//! cargo bench --bench code_refs -- PATH... [--runs N]  # other executables (with symbols)
//! ```
//!
//! The function list is the symbol table's function symbols. Prints the
//! minimum and median of `--runs` (5) builds, and the index's size.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rootpath::input::elf::Executable;
use rootpath::input::elf::code_refs::{CodeRefs, exe_code_reader, function_symbols};

fn main() -> ExitCode {
    let mut runs = 5usize;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => runs = n,
                _ => {
                    eprintln!("--runs needs a positive number");
                    return ExitCode::FAILURE;
                }
            },
            "--bench" => {} // passed by `cargo bench`
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        paths.push(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/fixtures/go1.25/scenarios.zst"),
        );
    }
    for path in paths {
        let exe = match Executable::open(&path) {
            Ok(exe) => exe,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        let (functions, _) = function_symbols(&exe);
        let code: u64 = functions.iter().map(|(a, b)| b - a).sum();
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut refs = CodeRefs::default();
        for _ in 0..runs {
            let started = Instant::now();
            refs = CodeRefs::build(&functions, exe_code_reader(&exe));
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{}: {} functions, {:.1} MiB of code, {} references (index ~{:.1} MiB); \
             build min {:.1} ms, median {:.1} ms over {runs} runs on {} threads",
            path.display(),
            refs.function_count(),
            code as f64 / (1 << 20) as f64,
            refs.reference_count(),
            (refs.reference_count() * 12 + refs.function_count() * 4) as f64 / (1 << 20) as f64,
            times[0].as_secs_f64() * 1e3,
            times[times.len() / 2].as_secs_f64() * 1e3,
            rayon::current_num_threads(),
        );
    }
    ExitCode::SUCCESS
}
