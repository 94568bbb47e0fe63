//! The overview in text: the process, its build, memory and threads, and the
//! heap's totals (also the report's opening section, in brief).

use std::io::{self, Write};

use super::{bytes, io_err};
use crate::analysis::summary::HeapTotals;
use crate::dump::BuildMatch;
use crate::error::Result;
use crate::overview::Overview;

pub fn overview(out: &mut dyn Write, o: &Overview) -> Result<()> {
    write_overview(out, o, false).map_err(io_err)
}

/// With `brief`, mapped files and threads are counted, not listed.
pub(super) fn write_overview(out: &mut dyn Write, o: &Overview, brief: bool) -> io::Result<()> {
    let compression = if o.file.compression.is_empty() {
        String::new()
    } else {
        format!(" ({}-compressed)", o.file.compression.join("+"))
    };
    writeln!(
        out,
        "{}: {}{}, {}",
        o.file.path,
        o.file.kind,
        compression,
        bytes(o.file.size_bytes)
    )?;
    let version = o.go.version.as_deref().unwrap_or("unknown");
    let support = match o.go.support {
        Some(crate::input::goruntime::Support::Tested) => "",
        Some(crate::input::goruntime::Support::Untested) => " (not in the tested matrix)",
        Some(crate::input::goruntime::Support::Unsupported) => " (unsupported)",
        None => "",
    };
    writeln!(
        out,
        "Go:        {version}{support} {}",
        o.go.goarch.as_deref().unwrap_or("")
    )?;
    if let Some(p) = &o.process {
        write!(out, "Process:   pid {} {}", p.pid, p.command)?;
        if !p.args.is_empty() && p.args != p.command {
            write!(out, " ({})", p.args)?;
        }
        writeln!(out)?;
        if let Some(s) = &p.signal {
            write!(out, "Signal:    {} ({})", s.name, s.number)?;
            if let Some(a) = &s.fault_address {
                write!(out, " at {a}")?;
            }
            writeln!(out)?;
        }
    }
    if let Some(e) = &o.executable {
        let origin = match e.origin {
            Some(crate::dump::ExeOrigin::Given) => "given with --exe",
            Some(crate::dump::ExeOrigin::NamedByCore) => "named by the core",
            None => "",
        };
        writeln!(out, "Executable: {} ({origin})", e.path)?;
        if let Some(m) = &e.main_package {
            writeln!(out, "  main package: {m}")?;
        }
        if let Some(id) = &e.go_build_id {
            writeln!(out, "  Go build id:  {id}")?;
        }
        writeln!(
            out,
            "  DWARF: {}, symbols: {}{}",
            if e.has_dwarf { "yes" } else { "no" },
            if e.has_symbols { "yes" } else { "no" },
            if e.position_independent {
                ", position-independent"
            } else {
                ""
            }
        )?;
        if let Some(b) = &e.load_bias {
            writeln!(out, "  load bias: {b}")?;
        }
        match &e.build_match {
            Some(BuildMatch::Matches { compared_bytes }) => writeln!(
                out,
                "  build check: matches the core ({compared_bytes} bytes compared)"
            )?,
            Some(BuildMatch::Differs { address, detail }) => {
                writeln!(out, "  build check: DIFFERS at {address}: {detail}")?
            }
            Some(BuildMatch::Unverified { reason }) => {
                writeln!(out, "  build check: not verified: {reason}")?
            }
            None => {}
        }
    }
    if let Some(m) = &o.memory {
        writeln!(
            out,
            "Memory:    {} segments, {} mapped, {} dumped, {} mapped files",
            m.segments,
            bytes(m.mapped_bytes),
            bytes(m.dumped_bytes),
            m.files.len()
        )?;
        for f in m.files.iter().filter(|_| !brief) {
            writeln!(out, "  {:#014x}-{:#014x} {}", f.start, f.end, f.path)?;
        }
    }
    if !o.threads.is_empty() && !brief {
        writeln!(out, "Threads:   {}", o.threads.len())?;
        for t in &o.threads {
            write!(out, "  tid {:<8}", t.tid)?;
            if let Some(pc) = &t.pc {
                write!(out, " pc {pc}")?;
            }
            if let Some(f) = &t.function {
                write!(out, " {f}")?;
            }
            if let Some(s) = &t.signal {
                write!(out, " [{s}]")?;
            }
            writeln!(out)?;
        }
    }
    if let Some(h) = &o.heap_dump {
        heap_dump_summary(out, h)?;
    }
    if let Some(t) = &o.heap {
        heap_totals(out, t)?;
    }
    for w in &o.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

fn heap_dump_summary(out: &mut dyn Write, h: &crate::input::heapdump::Summary) -> io::Result<()> {
    writeln!(
        out,
        "Records:   {} object records, {} (live and dead since the last GC)",
        h.objects,
        bytes(h.object_bytes)
    )?;
    writeln!(
        out,
        "           data {}, bss {}, {} goroutines ({} frames, {} of stack), {} finalizer records, {} queued",
        bytes(h.data_bytes),
        bytes(h.bss_bytes),
        h.goroutines,
        h.stack_frames,
        bytes(h.stack_bytes),
        h.finalizers,
        h.queued_finalizers
    )?;
    writeln!(
        out,
        "Threads:   {}; profile: {} buckets, {} sampled objects",
        h.os_threads, h.memprof_buckets, h.alloc_samples
    )
}

pub(super) fn heap_totals(out: &mut dyn Write, t: &HeapTotals) -> io::Result<()> {
    writeln!(
        out,
        "Heap:      {} objects, {} in use; live {} objects, {}; garbage since the last GC {} objects, {}",
        t.objects,
        bytes(t.bytes),
        t.live_objects,
        bytes(t.live_bytes),
        t.garbage_objects,
        bytes(t.garbage_bytes)
    )?;
    writeln!(
        out,
        "           {} pointer edges, {} of {} objects typed, {} goroutines",
        t.pointer_edges, t.typed_objects, t.objects, t.goroutines
    )?;
    let r = &t.roots;
    writeln!(
        out,
        "Roots:     {} globals, {} stack, {} finalizer, {} cleanup, {} queued finalizer, {} other",
        r.global, r.stack, r.finalizer, r.cleanup, r.queued_finalizer, r.other
    )?;
    writeln!(out, "Names:     {}", t.names_from.describe())
}
