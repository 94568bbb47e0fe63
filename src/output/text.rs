//! Human-readable text.

use std::io::{self, Write};

use crate::analysis::listing::{ObjectRow, RootRow};
use crate::analysis::report::{HistogramRetainedRow, Holder, ReportDoc, TopDoc, TopTypesDoc};
use crate::analysis::retention::{GoroutineGroup, TypeShare};
use crate::analysis::sites::{Inuse, SiteDoc, SiteWhyDoc, SitesDoc};
use crate::analysis::summary::HeapTotals;
use crate::analysis::why::{MergedRoot, RootRef, StepDoc, TypeWhyDoc, WhyDoc};
use crate::dump::BuildMatch;
use crate::error::{Error, Result};
use crate::model::{Goroutine, STACK_OBJECT, UNNAMED_SLOTS};
use crate::overview::Overview;

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

pub fn overview(out: &mut dyn Write, o: &Overview) -> Result<()> {
    write_overview(out, o, false).map_err(io_err)
}

/// With `brief`, mapped files and threads are counted, not listed.
fn write_overview(out: &mut dyn Write, o: &Overview, brief: bool) -> io::Result<()> {
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

fn heap_totals(out: &mut dyn Write, t: &HeapTotals) -> io::Result<()> {
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

pub fn histogram(
    out: &mut dyn Write,
    totals: &HeapTotals,
    rows: &[HistogramRetainedRow],
) -> Result<()> {
    (|| -> io::Result<()> {
        heap_totals(out, totals)?;
        writeln!(out)?;
        histogram_table(out, rows)
    })()
    .map_err(io_err)
}

pub fn objects(out: &mut dyn Write, rows: &[ObjectRow], matched: u64) -> Result<()> {
    (|| -> io::Result<()> {
        writeln!(out, "{:>18} {:>10}  {:<7} type", "address", "size", "state")?;
        for r in rows {
            writeln!(
                out,
                "{:>18} {:>10}  {:<7} {}",
                r.address,
                r.size,
                if r.live { "live" } else { "garbage" },
                r.type_name.as_deref().unwrap_or("?")
            )?;
        }
        if matched > rows.len() as u64 {
            writeln!(
                out,
                "… {} more (raise -n to see them)",
                matched - rows.len() as u64
            )?;
        }
        Ok(())
    })()
    .map_err(io_err)
}

pub fn roots(out: &mut dyn Write, rows: &[RootRow]) -> Result<()> {
    (|| -> io::Result<()> {
        for r in rows {
            write!(out, "{}", root_line(&r.root))?;
            if let Some(a) = &r.address {
                write!(out, " [{a}]")?;
            }
            let shown: Vec<&str> = r.points_to.iter().take(4).map(String::as_str).collect();
            if shown.is_empty() {
                // A finalizer of an object without pointers, with a static function.
                write!(out, " → no heap objects")?;
            } else {
                write!(out, " → {}", shown.join(", "))?;
            }
            if r.points_to.len() > shown.len() {
                write!(out, " … ({} objects)", r.points_to.len())?;
            }
            writeln!(out)?;
        }
        Ok(())
    })()
    .map_err(io_err)
}

pub fn goroutines(out: &mut dyn Write, gs: &[Goroutine]) -> Result<()> {
    (|| -> io::Result<()> {
        for g in gs {
            write!(out, "goroutine {} [{}", g.id, g.state)?;
            if let Some(r) = &g.wait_reason {
                write!(out, ": {r}")?;
            }
            writeln!(out, "]")?;
            for f in g
                .frames
                .iter()
                .filter(|f| !f.function.starts_with("runtime."))
                .take(5)
            {
                writeln!(out, "    {}", f.display())?;
            }
            if let Some(c) = &g.created_by {
                writeln!(out, "    created by {}", c.display())?;
            }
            if let Some(p) = &g.problem {
                writeln!(out, "    (partial: {p})")?;
            }
        }
        Ok(())
    })()
    .map_err(io_err)
}

pub(crate) fn root_line(r: &RootRef) -> String {
    let mut s = match r.kind {
        "stack" | "defer" | "panic" => {
            let mut s = format!("goroutine {} ", r.goroutine.unwrap_or(0));
            if let Some(f) = &r.function {
                s.push_str(f);
            }
            match (r.kind, &r.variable) {
                ("defer", _) => s.push_str(" (deferred call)"),
                ("panic", _) => s.push_str(" (panic value)"),
                (_, Some(v)) => s.push_str(&format!(" variable {v}")),
                _ => {}
            }
            // Slots no variable names, and locals scanned as stack objects,
            // are other roots than a named variable's live slots.
            for note in [UNNAMED_SLOTS, STACK_OBJECT] {
                if r.kind == "stack" && r.name.ends_with(note) {
                    s.push_str(&format!(" {note}"));
                }
            }
            if let (Some(file), Some(line)) = (&r.file, r.line) {
                s.push_str(&format!(" at {file}:{line}"));
            }
            s
        }
        "global" => format!("global {}", r.name),
        "goroutines" => r.name.clone(),
        "goroutine" => r.name.clone(),
        other => {
            // "finalizer of 0x…" says its kind already.
            let kind = other.replace('_', " ");
            if r.name.starts_with(&kind) {
                r.name.clone()
            } else {
                format!("{kind} {}", r.name)
            }
        }
    };
    if let Some(t) = &r.type_name {
        s.push_str(&format!(" ({t})"));
    }
    s
}

/// Paths through long lists show their ends; the middle is counted.
const PATH_HEAD: usize = 6;
const PATH_TAIL: usize = 4;

fn write_steps(out: &mut dyn Write, steps: &[StepDoc]) -> io::Result<()> {
    write_steps_at(out, steps, 4)
}

/// A path, one step per line, indented by `indent` spaces.
pub(crate) fn write_steps_at(
    out: &mut dyn Write,
    steps: &[StepDoc],
    indent: usize,
) -> io::Result<()> {
    let pad = " ".repeat(indent);
    let skip = steps.len().saturating_sub(PATH_HEAD + PATH_TAIL + 1);
    for (i, s) in steps.iter().enumerate() {
        if skip > 0 && i == PATH_HEAD {
            writeln!(out, "{pad}… {skip} more steps …")?;
        }
        if skip > 0 && (PATH_HEAD..PATH_HEAD + skip).contains(&i) {
            continue;
        }
        let edge = if s.edge.is_empty() {
            "→".to_string()
        } else {
            format!("{} →", s.edge)
        };
        writeln!(
            out,
            "{pad}{edge} {} {} ({})",
            s.address,
            s.type_name.as_deref().unwrap_or("?"),
            bytes(s.size)
        )?;
    }
    Ok(())
}

pub fn why(out: &mut dyn Write, doc: &WhyDoc, excluded: bool) -> Result<()> {
    (|| -> io::Result<()> {
        let t = &doc.target;
        writeln!(out, "{} {} ({})", t.address, t.type_name.as_deref().unwrap_or("?"), bytes(t.size))?;
        if !doc.reachable {
            if excluded {
                writeln!(out, "  not reachable once the excluded references are gone: they are what keeps it alive")?;
            } else if let Some(c) = &doc.caveat {
                writeln!(out, "  no root this dump records reaches it, but {c}")?;
            } else {
                writeln!(out, "  garbage: allocated but no root reaches it; the next GC frees it")?;
            }
            return Ok(());
        }
        for (i, p) in doc.paths.iter().enumerate() {
            writeln!(out, "path {} from {}:", i + 1, root_line(&p.root))?;
            write_steps(out, &p.steps)?;
        }
        Ok(())
    })()
    .map_err(io_err)
}

/// Roots with how much of a set each holds, indented by `indent` spaces,
/// and (with `paths`) one path each.
fn write_merged_roots(
    out: &mut dyn Write,
    roots: &[MergedRoot],
    indent: usize,
    paths: bool,
) -> io::Result<()> {
    let pad = " ".repeat(indent);
    for r in roots {
        writeln!(
            out,
            "{pad}{} objects, {} held through {}",
            r.objects,
            bytes(r.bytes),
            root_line(&r.root)
        )?;
        if paths && !r.example.is_empty() {
            writeln!(out, "{pad}  for example:")?;
            write_steps_at(out, &r.example, indent + 4)?;
        }
    }
    Ok(())
}

pub fn why_type(out: &mut dyn Write, doc: &TypeWhyDoc) -> Result<()> {
    (|| -> io::Result<()> {
        writeln!(
            out,
            "{}: {} objects, {}; {} unreachable (garbage)",
            doc.type_name,
            doc.objects,
            bytes(doc.bytes),
            doc.unreachable_objects
        )?;
        write_merged_roots(out, &doc.roots, 0, true)
    })()
    .map_err(io_err)
}

fn histogram_table(out: &mut dyn Write, rows: &[HistogramRetainedRow]) -> io::Result<()> {
    writeln!(
        out,
        "{:>10} {:>11} {:>11} {:>10} {:>11}  type",
        "live objs", "live bytes", "retained", "objects", "bytes"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:>10} {:>11} {:>11} {:>10} {:>11}  {}",
            r.row.live_objects,
            bytes(r.row.live_bytes),
            bytes(r.retained_bytes),
            r.row.objects,
            bytes(r.row.bytes),
            r.row.type_name
        )?;
    }
    Ok(())
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

pub fn top(out: &mut dyn Write, doc: &TopDoc) -> Result<()> {
    (|| -> io::Result<()> {
        writeln!(
            out,
            "live heap: {} in {} objects",
            bytes(doc.live_bytes),
            doc.live_objects
        )?;
        super::holders::write_holders(out, &doc.holders, doc.live_bytes)
    })()
    .map_err(io_err)
}

pub fn top_types(out: &mut dyn Write, doc: &TopTypesDoc) -> Result<()> {
    (|| -> io::Result<()> {
        writeln!(out, "live heap: {}", bytes(doc.live_bytes))?;
        writeln!(
            out,
            "{:>11} {:>7} {:>10}  type",
            "retained", "share", "objects"
        )?;
        for t in &doc.types {
            writeln!(
                out,
                "{:>11} {:>7} {:>10}  {}",
                bytes(t.retained_bytes),
                share(t.retained_bytes, doc.live_bytes),
                t.retained_objects,
                t.type_name
            )?;
        }
        Ok(())
    })()
    .map_err(io_err)
}

fn write_groups(out: &mut dyn Write, groups: &[GoroutineGroup]) -> io::Result<()> {
    for g in groups {
        write!(
            out,
            "{:>5} goroutine{} [{}",
            g.count,
            if g.count == 1 { "" } else { "s" },
            g.state
        )?;
        if let Some(w) = &g.wait_reason {
            write!(out, ": {w}")?;
        }
        write!(out, "]")?;
        if let Some(b) = &g.blocked_in {
            write!(out, " in {b}")?;
        }
        if let Some(c) = &g.created_by {
            write!(out, ", created by {c}")?;
        }
        write!(out, ", retain {}", bytes(g.retained_bytes))?;
        match &g.joint {
            Some(j) if j.joint_bytes > 0 => {
                write!(out, " alone; hold {} jointly", bytes(j.joint_bytes))?;
                let with: Vec<String> = j
                    .joint_with
                    .iter()
                    .take(2)
                    .map(|w| format!("{} ({})", root_line(&w.holder), bytes(w.bytes)))
                    .collect();
                if !with.is_empty() {
                    write!(out, " with {}", with.join(", "))?;
                }
                writeln!(out)?;
            }
            _ => writeln!(out)?,
        }
    }
    Ok(())
}

pub fn goroutine_groups(out: &mut dyn Write, groups: &[GoroutineGroup]) -> Result<()> {
    write_groups(out, groups).map_err(io_err)
}

pub fn report(out: &mut dyn Write, doc: &ReportDoc) -> Result<()> {
    write_overview(out, &doc.overview, true).map_err(io_err)?;
    (|| -> io::Result<()> {
        let live = doc.overview.heap.as_ref().map_or(0, |h| h.live_bytes);
        if let Some(sites) = &doc.sites {
            writeln!(out)?;
            writeln!(
                out,
                "== Allocation sites (from the heap profile) and who holds them"
            )?;
            write_sites_header(out, sites)?;
            for (i, s) in sites.sites.iter().enumerate() {
                write_site(out, i, s, raw_profile(sites), false)?;
            }
        }
        writeln!(out)?;
        writeln!(
            out,
            "== Leak suspects (retaining more than 10% of the live heap)"
        )?;
        if doc.leak_suspects.is_empty() {
            writeln!(
                out,
                "none: no single root or object holds more than 10% of the live heap"
            )?;
        }
        for (i, s) in doc.leak_suspects.iter().enumerate() {
            let who = match &s.holder {
                Holder::Root { root } | Holder::Goroutines { group: root } => root_line(root),
                Holder::Object { object } => format!(
                    "{} {} (shared by several roots)",
                    object.address,
                    object.type_name.as_deref().unwrap_or("?")
                ),
            };
            writeln!(
                out,
                "{}. {who} retains {} ({:.1}% of live) in {} objects",
                i + 1,
                bytes(s.retained_bytes),
                s.share * 100.0,
                s.retained_objects
            )?;
            match &s.accumulation {
                Some(a) => {
                    writeln!(
                        out,
                        "   accumulation point: {} {} holds {}: {}",
                        a.object.address,
                        a.object.type_name.as_deref().unwrap_or("?"),
                        bytes(a.retained_bytes),
                        types_line(&s.top_types)
                    )?;
                    write_steps(out, &a.path)?;
                }
                None => writeln!(out, "   mostly {}", types_line(&s.top_types))?,
            }
        }
        writeln!(out)?;
        writeln!(out, "== Top holders")?;
        super::holders::write_holders(out, &doc.holders, live)?;
        writeln!(out)?;
        writeln!(out, "== Types")?;
        histogram_table(out, &doc.histogram)?;
        writeln!(out)?;
        writeln!(out, "== Goroutines")?;
        write_groups(out, &doc.goroutine_groups)
    })()
    .map_err(io_err)
}

fn site_title(site: &str, file: Option<&str>, line: Option<u32>) -> String {
    match (file, line) {
        (Some(f), Some(l)) => format!("{site} ({}:{l})", crate::model::short_file(f)),
        _ => site.to_string(),
    }
}

fn inuse_line(what: &str, f: Option<Inuse>) -> Option<String> {
    let f = f?;
    Some(format!(
        "{what} {} objects, {} in use",
        f.inuse_objects,
        bytes(f.inuse_bytes.max(0) as u64)
    ))
}

/// Legacy text profiles of a sampled heap give sample counts, not estimates.
fn raw_profile(doc: &SitesDoc) -> bool {
    doc.profile_check.as_ref().is_some_and(|c| !c.scaled)
        && doc.sampling.rate.is_some_and(|r| r > 1)
}

fn write_sites_header(out: &mut dyn Write, doc: &SitesDoc) -> io::Result<()> {
    writeln!(out, "sampling: {}", doc.sampling.note)?;
    if let Some(c) = &doc.profile_check {
        if c.problems.is_empty() {
            writeln!(
                out,
                "profile {}: consistent with the dump ({} sampled stacks matched)",
                c.source, c.matched_samples
            )?;
        } else {
            writeln!(
                out,
                "WARNING: profile {} does not describe this dump's heap:",
                c.source
            )?;
            for p in &c.problems {
                writeln!(out, "  - {p}")?;
            }
            writeln!(
                out,
                "  live and retained figures below come from the dump; profile figures may not apply"
            )?;
        }
    }
    for n in &doc.notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}

fn write_site(
    out: &mut dyn Write,
    i: usize,
    s: &SiteDoc,
    raw_profile: bool,
    full: bool,
) -> io::Result<()> {
    writeln!(
        out,
        "{:>2}. {}",
        i + 1,
        site_title(&s.site, s.file.as_deref(), s.line)
    )?;
    let mut figures: Vec<String> = Vec::new();
    let label = if raw_profile {
        "profile (sampled, unscaled):"
    } else {
        "profile:"
    };
    figures.extend(inuse_line(label, s.profile));
    if s.profile.is_none() {
        figures.extend(inuse_line("recorded:", s.recorded));
    }
    let mut live = format!(
        "live: {} sampled objects, {}",
        s.live_objects,
        bytes(s.live_bytes)
    );
    if let Some(e) = s.estimated {
        live.push_str(&format!(
            " (≈{} objects, {} estimated)",
            e.live_objects,
            bytes(e.live_bytes)
        ));
    }
    figures.push(live);
    if s.unreachable_objects > 0 {
        figures.push(format!("{} unreachable", s.unreachable_objects));
    }
    figures.push(format!("retains {}", bytes(s.retained_bytes)));
    writeln!(out, "    {}", figures.join(" · "))?;
    write_merged_roots(out, &s.retainers, 4, full)?;
    if s.more_retainers > 0 {
        writeln!(out, "    … and {} more roots", s.more_retainers)?;
    }
    if full && s.stack.len() > 1 {
        let more = if s.stacks > 1 {
            format!(" (heaviest of {} stacks)", s.stacks)
        } else {
            String::new()
        };
        writeln!(out, "    allocated at{more}:")?;
        for f in s.stack.iter().take(8) {
            writeln!(out, "      {f}")?;
        }
        if s.stack.len() > 8 {
            writeln!(out, "      … {} more frames", s.stack.len() - 8)?;
        }
    }
    Ok(())
}

pub fn sites(out: &mut dyn Write, doc: &SitesDoc) -> Result<()> {
    (|| -> io::Result<()> {
        write_sites_header(out, doc)?;
        if doc.sites.is_empty() {
            writeln!(out, "no allocation sites with in-use objects")?;
        }
        for (i, s) in doc.sites.iter().enumerate() {
            writeln!(out)?;
            write_site(out, i, s, raw_profile(doc), true)?;
        }
        if doc.more_sites > 0 {
            writeln!(
                out,
                "\n… and {} more sites (-n to show more)",
                doc.more_sites
            )?;
        }
        Ok(())
    })()
    .map_err(io_err)
}

pub fn why_site(out: &mut dyn Write, doc: &SiteWhyDoc) -> Result<()> {
    (|| -> io::Result<()> {
        let estimate = doc.estimated.map_or(String::new(), |e| {
            format!(
                " (≈{} objects, {} estimated)",
                e.live_objects,
                bytes(e.live_bytes)
            )
        });
        writeln!(
            out,
            "objects allocated at {}: {} sampled objects, {}{estimate}; {} unreachable (garbage)",
            site_title(&doc.site, doc.file.as_deref(), doc.line),
            doc.objects,
            bytes(doc.bytes),
            doc.unreachable_objects
        )?;
        write_merged_roots(out, &doc.roots, 0, true)
    })()
    .map_err(io_err)
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
