//! `diff` as text: the snapshots, objects kept, freed and new, then growth
//! by holder (with where it attaches), by type and by allocation site.

use std::io::{self, Write};

use super::text::{bytes, root_line, write_steps_at};
use crate::analysis::diff::{DiffDoc, Figures, GrowthRow};
use crate::error::{Error, Result};

pub fn write(out: &mut dyn Write, doc: &DiffDoc) -> Result<()> {
    write_doc(out, doc).map_err(Error::Output)
}

/// "+1.2 MiB" / "-3 B" / "±0 B".
fn signed_bytes(n: i64) -> String {
    match n {
        0 => "±0 B".into(),
        n if n > 0 => format!("+{}", bytes(n.unsigned_abs())),
        n => format!("-{}", bytes(n.unsigned_abs())),
    }
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

fn figures(f: &Figures) -> String {
    format!("{} in {} objects", bytes(f.bytes), f.objects)
}

fn write_doc(out: &mut dyn Write, doc: &DiffDoc) -> io::Result<()> {
    for (i, s) in doc.snapshots.iter().enumerate() {
        let pid = s.pid.map(|p| format!(", process {p}")).unwrap_or_default();
        writeln!(
            out,
            "[{}] {}: live heap {} in {} objects{pid}",
            i + 1,
            s.file,
            bytes(s.live_bytes),
            s.live_objects
        )?;
    }
    for w in &doc.warnings {
        writeln!(out, "warning: {w}")?;
    }
    if let Some(p) = &doc.profile {
        let (added, removed) = if p.matched {
            ("new", "freed")
        } else {
            ("in the newest", "in the oldest")
        };
        writeln!(
            out,
            "wrote {}: growth {} in {} objects ({} {}, {} {}); view it: go tool pprof -http=: {}",
            p.output,
            signed_bytes(p.bytes_change),
            signed(p.objects_change),
            bytes(p.added_bytes),
            added,
            bytes(p.removed_bytes),
            removed,
            p.output
        )?;
    }
    for (k, c) in doc.objects.iter().enumerate() {
        writeln!(
            out,
            "objects [{}]→[{}]: kept {}; freed {}; new {}",
            k + 1,
            k + 2,
            figures(&c.kept),
            figures(&c.freed),
            figures(&c.new)
        )?;
    }
    let steps = doc.snapshots.len();
    writeln!(out, "\ngrowth by holder (growing at every step first):")?;
    for (i, row) in doc.holders.iter().filter(|r| changed(r)).enumerate() {
        let title = match &row.root {
            Some(root) => root_line(root),
            None => row.name.clone(),
        };
        write_row(out, i, &title, row, steps)?;
        if let Some(p) = &row.accumulation {
            let what = p.object.type_name.as_deref().unwrap_or("?");
            writeln!(
                out,
                "    the new objects attach at {what} {} ({}{}): {} new objects ({}) below it, {} directly",
                p.object.address,
                bytes(p.object.size),
                if p.object_is_new { ", itself new" } else { "" },
                p.new_objects,
                bytes(p.new_bytes),
                p.gained_children
            )?;
            write_steps_at(out, &p.path, 6)?;
        }
    }
    unchanged_note(out, &doc.holders)?;
    writeln!(out, "\ngrowth by type:")?;
    for (i, row) in doc.types.iter().filter(|r| changed(r)).enumerate() {
        write_row(out, i, &row.name, row, steps)?;
    }
    unchanged_note(out, &doc.types)?;
    if !doc.sites.is_empty() {
        writeln!(out, "\ngrowth by allocation site (sampled live objects):")?;
        for (i, row) in doc.sites.iter().filter(|r| changed(r)).enumerate() {
            write_row(out, i, &row.name, row, steps)?;
        }
        unchanged_note(out, &doc.sites)?;
    }
    Ok(())
}

/// Rows that did not change are left out of the text (JSON keeps them).
fn changed(row: &GrowthRow) -> bool {
    row.bytes_change != 0 || row.objects_change != 0 || row.bytes.windows(2).any(|w| w[0] != w[1])
}

fn unchanged_note(out: &mut dyn Write, rows: &[GrowthRow]) -> io::Result<()> {
    let n = rows.iter().filter(|r| !changed(r)).count();
    if n > 0 {
        writeln!(out, "     ({n} more listed did not change)")?;
    }
    Ok(())
}

fn write_row(
    out: &mut dyn Write,
    i: usize,
    title: &str,
    row: &GrowthRow,
    steps: usize,
) -> io::Result<()> {
    let series: Vec<String> = row.bytes.iter().map(|&b| bytes(b)).collect();
    let every = if steps > 2 && row.grows_every_step {
        ", grows at every step"
    } else {
        ""
    };
    writeln!(
        out,
        "{:>3}. {title}: {} ({} objects){every}  [{}]",
        i + 1,
        signed_bytes(row.bytes_change),
        signed(row.objects_change),
        series.join(" → ")
    )
}
