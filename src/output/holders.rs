//! The holders listing as text: each holder with what it retains alone, what
//! it holds jointly and with whom, and the rest, so the rows add up to the
//! live heap.

use std::io::{self, Write};

use super::text::{bytes, root_line, share, types_line, write_steps_at};
use crate::analysis::holder_docs::{HolderDoc, HoldersDoc};
use crate::analysis::why::RootRef;

/// "global a, goroutine 3 f and 2 more".
fn holders_line(refs: &[RootRef], more: usize) -> String {
    let mut names: Vec<String> = refs.iter().map(root_line).collect();
    if more > 0 {
        names.push(format!("{more} more"));
    }
    match names.len() {
        0 => String::new(),
        1 => names.remove(0),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

fn holder_title(h: &HolderDoc) -> String {
    match (&h.root, &h.object) {
        (Some(root), _) => root_line(root),
        (None, Some(o)) => format!(
            "{} {} (shared)",
            o.type_name.as_deref().unwrap_or("?"),
            o.address
        ),
        (None, None) => "?".into(),
    }
}

fn write_holder(
    out: &mut dyn Write,
    i: usize,
    h: &HolderDoc,
    live: u64,
    order: &str,
) -> io::Result<()> {
    write!(
        out,
        "{:>2}. {} retains {} alone ({} of live) in {} objects",
        i + 1,
        holder_title(h),
        bytes(h.retained_bytes),
        share(h.retained_bytes, live),
        h.retained_objects
    )?;
    if order == "shallow" {
        // The figure the rows are ranked by.
        write!(out, "; {} shallow", bytes(h.shallow_bytes))?;
    }
    if !h.reached_from.is_empty() {
        write!(
            out,
            ", reached from {}",
            holders_line(&h.reached_from, h.more_reached_from)
        )?;
    }
    writeln!(out)?;
    if h.joint_bytes > 0 {
        let with: Vec<String> = h
            .joint_with
            .iter()
            .take(3)
            .map(|j| format!("{} ({})", root_line(&j.holder), bytes(j.bytes)))
            .collect();
        let with = if with.is_empty() {
            String::new()
        } else {
            format!(" with {}", with.join(", "))
        };
        writeln!(
            out,
            "    holds {} jointly{with}; keeps {} reachable in all{}",
            bytes(h.joint_bytes),
            bytes(h.reachable_bytes),
            if h.partial { " (at least)" } else { "" }
        )?;
    }
    if let Some(f) = &h.held_only_by_them {
        writeln!(
            out,
            "    its holders together keep {} alive that no other holder reaches",
            bytes(f.bytes)
        )?;
    }
    if !h.path.is_empty() {
        writeln!(out, "    shortest path from a root:")?;
        write_steps_at(out, &h.path, 6)?;
    }
    if !h.top_types.is_empty() {
        writeln!(out, "    mostly {}", types_line(&h.top_types))?;
    }
    if let Some(a) = &h.accumulation {
        if a.path.len() > 1 && a.path.len() != h.path.len() {
            writeln!(
                out,
                "    accumulates in {} {} ({} over {} objects it alone holds):",
                a.object.address,
                a.object.type_name.as_deref().unwrap_or("?"),
                bytes(a.retained_bytes),
                a.children
            )?;
            write_steps_at(out, &a.path, 6)?;
        }
    }
    Ok(())
}

/// The listed holders, the rest, and the share the listing names.
pub fn write_holders(out: &mut dyn Write, doc: &HoldersDoc, live: u64) -> io::Result<()> {
    for (i, h) in doc.holders.iter().enumerate() {
        write_holder(out, i, h, live, doc.order)?;
    }
    let rest = &doc.rest;
    if rest.holders > 0 {
        writeln!(
            out,
            "    rest: {} ({} of live) in {} objects, retained by {} smaller holders",
            bytes(rest.retained_bytes),
            share(rest.retained_bytes, live),
            rest.retained_objects,
            rest.holders
        )?;
        let types: Vec<String> = rest
            .object_types
            .iter()
            .map(|t| {
                format!(
                    "{} {} objects ({})",
                    t.holders,
                    t.type_name,
                    bytes(t.retained_bytes)
                )
            })
            .collect();
        if !types.is_empty() {
            writeln!(
                out,
                "      among them shared {}, each retaining what hangs below it",
                types.join(", ")
            )?;
        }
    }
    writeln!(
        out,
        "the {} holders listed retain {:.1}% of the live heap alone; with the rest, all of it ({})",
        doc.holders.len(),
        doc.named_share * 100.0,
        bytes(live)
    )
}
