//! Benchmark: load the heap model from a large Go core.
//!
//! ```text
//! bench/make-bigcore.sh                   # once: writes target/bench/go1.25/{core,bigheap}
//! cargo bench --bench load                # 3 runs: min/median time, counts, peak RSS
//! cargo bench --bench load -- --once      # one cold load alone (peak RSS in isolation)
//! cargo bench --bench load -- --runs 5
//! ```
//!
//! The core and executable default to `target/bench/go1.25/core` and
//! `target/bench/go1.25/bigheap`; `ROOTPATH_BENCH_CORE` and `ROOTPATH_BENCH_EXE`
//! override them. Without a core it says how to make one and exits 0.
//!
//! Every run opens the dump afresh (`Dump::open`, timed on its own) and then
//! times `core_loader::load`. Peak RSS is the kernel's high-water mark
//! (`VmHWM`), reset before each run through `/proc/self/clear_refs` where the
//! kernel allows it; otherwise it is the peak of the whole process so far,
//! and the `getrusage` maximum is printed as well. RSS counts the pages of the
//! memory-mapped core that were touched (`RssFile`) as well as the heap
//! (`RssAnon`).

mod common;

use common::{DEFAULT_DIR, Mem, input_path, mem, reset_peak};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rootpath::dump::{Dump, OpenOptions};
use rootpath::input::core_loader;

const DEFAULT_RUNS: usize = 3;

struct Args {
    runs: usize,
    once: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        runs: DEFAULT_RUNS,
        once: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "--once" => args.once = true,
            "--runs" => {
                let v = it.next().ok_or("--runs needs a number")?;
                args.runs = v.parse().map_err(|_| format!("bad --runs value {v:?}"))?;
            }
            s if s.starts_with("--runs=") => {
                let v = &s["--runs=".len()..];
                args.runs = v.parse().map_err(|_| format!("bad --runs value {v:?}"))?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: cargo bench --bench load [-- [--once] [--runs N]]\n\
                     env: ROOTPATH_BENCH_CORE (default {DEFAULT_DIR}/core), \
                     ROOTPATH_BENCH_EXE (default {DEFAULT_DIR}/bigheap)"
                );
                std::process::exit(0);
            }
            // Filters and libtest flags (--nocapture, name filters …) mean nothing here.
            _ => {}
        }
    }
    if args.once {
        args.runs = 1;
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(args)
}

/// struct rusage of Linux on 64-bit targets: two timevals, then 14 longs.
#[repr(C)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    maxrss: i64,
    rest: [i64; 13],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

fn rusage() -> Option<Rusage> {
    if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
        return None;
    }
    let mut u = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        maxrss: 0,
        rest: [0; 13],
    };
    // SAFETY: RUSAGE_SELF is 0; `u` has the layout of struct rusage.
    let rc = unsafe { getrusage(0, &mut u) };
    (rc == 0).then_some(u)
}

/// Peak RSS of the whole process so far, in KiB.
fn rusage_maxrss() -> Option<u64> {
    rusage().map(|u| u.maxrss as u64)
}

/// User and system CPU time of the whole process so far (all threads).
fn cpu_time() -> (Duration, Duration) {
    let tv = |t: [i64; 2]| Duration::new(t[0] as u64, (t[1] * 1000) as u32);
    rusage().map_or((Duration::ZERO, Duration::ZERO), |u| {
        (tv(u.utime), tv(u.stime))
    })
}

/// The 1-minute load average: other work on the machine skews wall times.
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

struct Run {
    open: Duration,
    load: Duration,
    user: Duration,
    sys: Duration,
    objects: usize,
    object_bytes: u64,
    edges: usize,
    roots: usize,
    root_refs: usize,
    warnings: Vec<String>,
    before: Mem,
    peak_kib: u64,
    after: Mem,
}

fn run_once(core_path: &Path, exe: &Path, reset_ok: bool) -> Result<Run, String> {
    let t = Instant::now();
    let dump = Dump::open(core_path, &OpenOptions::with_exe(exe))
        .map_err(|e| format!("opening {}: {e}", core_path.display()))?;
    let open = t.elapsed();
    let Dump::Core(core) = dump else {
        return Err(format!("{} is not an ELF core", core_path.display()));
    };
    if reset_ok {
        reset_peak();
    }
    let before = mem();
    let (user0, sys0) = cpu_time();
    let t = Instant::now();
    let model = core_loader::load(&core).map_err(|e| format!("loading: {e}"))?;
    let load = t.elapsed();
    let (user1, sys1) = cpu_time();
    let after = mem();
    let run = Run {
        open,
        load,
        user: user1.saturating_sub(user0),
        sys: sys1.saturating_sub(sys0),
        objects: model.objects.len(),
        object_bytes: model.objects.total_bytes(),
        edges: model.edges.len(),
        roots: model.roots.len(),
        root_refs: model.roots.iter().map(|r| r.targets.len()).sum(),
        warnings: model.warnings.clone(),
        before,
        peak_kib: after.hwm,
        after,
    };
    drop(model);
    drop(core);
    Ok(run)
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn mib(kib: u64) -> String {
    format!("{}", kib / 1024)
}

fn gib_bytes(b: u64) -> String {
    format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let core_path = input_path("ROOTPATH_BENCH_CORE", "core");
    let exe_path = input_path("ROOTPATH_BENCH_EXE", "bigheap");
    let missing: Vec<&Path> = [&core_path, &exe_path]
        .into_iter()
        .filter(|p| !p.is_file())
        .map(|p| p.as_path())
        .collect();
    if !missing.is_empty() {
        for p in missing {
            println!("load bench: {} does not exist", p.display());
        }
        println!(
            "load bench: skipped. Make the big core first (1.6 GB on disk, about 20 s):\n\
             \n    bench/make-bigcore.sh\n\n\
             or point ROOTPATH_BENCH_CORE and ROOTPATH_BENCH_EXE at a core and its executable."
        );
        return ExitCode::SUCCESS;
    }

    let core_bytes = std::fs::metadata(&core_path).map(|m| m.len()).unwrap_or(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("rootpath core load benchmark");
    println!(
        "  core  {} ({})",
        core_path.display(),
        gib_bytes(core_bytes)
    );
    println!("  exe   {}", exe_path.display());
    println!(
        "  runs  {}{}, {threads} hardware threads, load average {}",
        args.runs,
        if args.once { " (--once)" } else { "" },
        loadavg().map_or("?".into(), |l| format!("{l:.2}"))
    );

    let reset_ok = reset_peak();
    if !reset_ok {
        println!(
            "  note: /proc/self/clear_refs is not writable: peak RSS is the process peak so far"
        );
    }
    println!();
    println!(
        "{:>3} {:>8} {:>7} {:>7} {:>7} {:>10} {:>10} {:>5} {:>9} {:>5} {:>8} {:>8} {:>8} {:>8}",
        "run",
        "open ms",
        "load s",
        "user s",
        "sys s",
        "objects",
        "edges",
        "roots",
        "root refs",
        "warns",
        "base MiB",
        "peak MiB",
        "anon MiB",
        "file MiB"
    );
    let mut runs = Vec::new();
    for i in 0..args.runs {
        let r = match run_once(&core_path, &exe_path, reset_ok) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("load bench: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "{:>3} {:>8} {:>7} {:>7} {:>7} {:>10} {:>10} {:>5} {:>9} {:>5} {:>8} {:>8} {:>8} {:>8}",
            i + 1,
            ms(r.open),
            secs(r.load),
            secs(r.user),
            secs(r.sys),
            r.objects,
            r.edges,
            r.roots,
            r.root_refs,
            r.warnings.len(),
            mib(r.before.rss),
            mib(r.peak_kib),
            mib(r.after.anon),
            mib(r.after.file),
        );
        runs.push(r);
    }

    let loads: Vec<Duration> = runs.iter().map(|r| r.load).collect();
    let opens: Vec<Duration> = runs.iter().map(|r| r.open).collect();
    let first = &runs[0];
    println!();
    println!(
        "open  min {} ms, median {} ms",
        ms(*opens.iter().min().unwrap()),
        ms(median(opens.clone()))
    );
    println!(
        "load  min {} s, median {} s ({:.1} M objects/s at the median)",
        secs(*loads.iter().min().unwrap()),
        secs(median(loads.clone())),
        first.objects as f64 / median(loads).as_secs_f64() / 1e6
    );
    println!(
        "model {} objects ({}), {} edges, {} roots ({} root refs), {} warnings",
        first.objects,
        gib_bytes(first.object_bytes),
        first.edges,
        first.roots,
        first.root_refs,
        first.warnings.len()
    );
    let cpu: Duration = runs.iter().map(|r| r.user + r.sys).sum();
    let wall: Duration = runs.iter().map(|r| r.load).sum();
    println!(
        "cpu   {} s user+sys per load on average, {:.2} of {threads} cores busy \
         (serial phases, or other work on the machine, keep this below {threads})",
        secs(cpu / runs.len() as u32),
        cpu.as_secs_f64() / wall.as_secs_f64()
    );
    let peak = runs.iter().map(|r| r.peak_kib).max().unwrap_or(0);
    print!(
        "peak  RSS {} MiB during a load (anon {} MiB + mapped files {} MiB at its end)",
        mib(peak),
        mib(first.after.anon),
        mib(first.after.file)
    );
    match rusage_maxrss() {
        Some(k) => println!("; getrusage ru_maxrss {} MiB", mib(k)),
        None => println!(),
    }
    for w in first.warnings.iter().take(10) {
        println!("warning: {w}");
    }
    if first.warnings.len() > 10 {
        println!("warning: … and {} more", first.warnings.len() - 10);
    }
    ExitCode::SUCCESS
}
