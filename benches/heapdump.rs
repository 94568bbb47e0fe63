//! Benchmark: parse a large heap dump and load its heap model.
//!
//!     bench/make-bigcore.sh --heapdump     # once: writes target/bench/go1.25/heap.dump (~1.2 GB)
//!     cargo bench --bench heapdump         # parse, load without and with the executable
//!     cargo bench --bench heapdump -- --no-exe      # skip the load with the executable
//!
//! ROOTPATH_BENCH_HEAPDUMP and ROOTPATH_BENCH_EXE override the dump
//! (default target/bench/go1.25/heap.dump) and its executable (default
//! target/bench/go1.25/bigheap). Without a dump it says how to make one and
//! exits 0.
//!
//! Phases, each timed on its own with the peak RSS it reached (VmHWM, reset
//! before each phase through /proc/self/clear_refs where the kernel allows):
//! `HeapDumpFile::parse` (maps the file and validates every record), the
//! model without the executable (objects, edges, roots, sites), and the
//! model with it (plus DWARF names, goroutines and object types). RSS counts
//! the touched pages of the mapped dump (RssFile) as well as the heap
//! (RssAnon).

mod common;

use common::{Mem, input_path, mem, reset_peak};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rootpath::input::Source;
use rootpath::input::elf::Executable;
use rootpath::input::heapdump::HeapDumpFile;
use rootpath::input::heapdump_loader;
use rootpath::model::HeapModel;

fn mib(kib: u64) -> u64 {
    kib / 1024
}

/// Times `f`, with the peak RSS it reached and the memory after it.
fn phase<T>(name: &str, f: impl FnOnce() -> T) -> (T, Duration, Mem) {
    reset_peak();
    let t = Instant::now();
    let out = f();
    let took = t.elapsed();
    let m = mem();
    println!(
        "{name:<28} {:>9.3} s   peak {:>6} MiB   (anon {:>6} MiB, dump pages {:>6} MiB)",
        took.as_secs_f64(),
        mib(m.hwm),
        mib(m.anon),
        mib(m.file)
    );
    (out, took, m)
}

fn describe(model: &HeapModel) {
    println!(
        "    {} objects ({:.2} GiB), {} edges, {} roots, {} goroutines, {} typed objects, \
         {} profile buckets, {} sampled objects, {} warnings",
        model.objects.len(),
        model.objects.total_bytes() as f64 / (1u64 << 30) as f64,
        model.edges.len(),
        model.roots.len(),
        model.goroutines.len(),
        model
            .object_types
            .iter()
            .filter(|&&t| t != rootpath::model::UNKNOWN_TYPE)
            .count(),
        model.sites.buckets.len(),
        model.sites.object_bucket.len(),
        model.warnings.len()
    );
    for w in &model.warnings {
        println!("    warning: {w}");
    }
}

fn main() -> ExitCode {
    let no_exe = std::env::args().any(|a| a == "--no-exe");
    let dump_path = input_path("ROOTPATH_BENCH_HEAPDUMP", "heap.dump");
    let exe_path = input_path("ROOTPATH_BENCH_EXE", "bigheap");
    if !dump_path.is_file() {
        println!("heapdump bench: {} does not exist", dump_path.display());
        println!(
            "heapdump bench: skipped. Make the big heap dump first (about 1.2 GB, and a 1.6 GB \
             core next to it):\n\n    bench/make-bigcore.sh --heapdump\n\n\
             or point ROOTPATH_BENCH_HEAPDUMP (and ROOTPATH_BENCH_EXE) at a dump and its \
             executable."
        );
        return ExitCode::SUCCESS;
    }
    let size = std::fs::metadata(&dump_path).map_or(0, |m| m.len());
    println!("rootpath heap dump benchmark");
    println!(
        "  dump  {} ({:.2} GiB)",
        dump_path.display(),
        size as f64 / (1u64 << 30) as f64
    );
    if !reset_peak() {
        println!(
            "  note: /proc/self/clear_refs is not writable: peaks are the process peak so far"
        );
    }
    println!();

    let (dump, parse_time, _) = phase("parse (HeapDumpFile::parse)", || {
        Source::open(&dump_path).and_then(HeapDumpFile::parse)
    });
    let dump = match dump {
        Ok(d) => d,
        Err(e) => {
            eprintln!("heapdump bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let s = &dump.summary;
    println!(
        "    {:.0} MB/s; {} records: {} objects, {} goroutines, {} frames, {} profile buckets, \
         {} samples; written by {}",
        size as f64 / 1e6 / parse_time.as_secs_f64(),
        s.records,
        s.objects,
        s.goroutines,
        s.stack_frames,
        s.memprof_buckets,
        s.alloc_samples,
        dump.params.go_version
    );

    let (model, _, _) = phase("model without executable", || {
        heapdump_loader::load(&dump, None)
    });
    match model {
        Ok(m) => {
            describe(&m);
            drop(m);
        }
        Err(e) => {
            eprintln!("heapdump bench: {e}");
            return ExitCode::FAILURE;
        }
    }

    if no_exe {
        return ExitCode::SUCCESS;
    }
    if !exe_path.is_file() {
        println!(
            "(no executable at {}: the load with it is skipped)",
            exe_path.display()
        );
        return ExitCode::SUCCESS;
    }
    let exe = match Executable::open(&exe_path) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("heapdump bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (model, _, _) = phase("model with executable", || {
        heapdump_loader::load(&dump, Some(&exe))
    });
    match model {
        Ok(m) => describe(&m),
        Err(e) => {
            eprintln!("heapdump bench: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
