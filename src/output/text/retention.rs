//! Retention in text: top holders, retained size per type, goroutine groups,
//! and the report that puts them together with the leak suspects.

use std::io::{self, Write};

use super::listing::histogram_table;
use super::overview::write_overview;
use super::sites::{raw_profile, write_site, write_sites_header};
use super::why::{root_line, write_steps};
use super::{bytes, io_err, share, types_line};
use crate::analysis::report::{Holder, ReportDoc, TopDoc, TopTypesDoc};
use crate::analysis::retention::GoroutineGroup;
use crate::error::Result;

pub fn top(out: &mut dyn Write, doc: &TopDoc) -> Result<()> {
    (|| -> io::Result<()> {
        writeln!(
            out,
            "live heap: {} in {} objects",
            bytes(doc.live_bytes),
            doc.live_objects
        )?;
        crate::output::holders::write_holders(out, &doc.holders, doc.live_bytes)
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
        crate::output::holders::write_holders(out, &doc.holders, live)?;
        writeln!(out)?;
        writeln!(out, "== Types")?;
        histogram_table(out, &doc.histogram)?;
        writeln!(out)?;
        writeln!(out, "== Goroutines")?;
        write_groups(out, &doc.goroutine_groups)
    })()
    .map_err(io_err)
}
