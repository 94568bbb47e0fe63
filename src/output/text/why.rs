//! Paths in text: why one object, or every object of a type, is alive, as
//! root lines and steps with long lists shortened in the middle.

use std::io::{self, Write};

use super::{bytes, io_err};
use crate::analysis::why::{MergedRoot, RootRef, StepDoc, TypeWhyDoc, WhyDoc};
use crate::error::Result;
use crate::model::{STACK_OBJECT, UNNAMED_SLOTS};

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

pub(super) fn write_steps(out: &mut dyn Write, steps: &[StepDoc]) -> io::Result<()> {
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
pub(super) fn write_merged_roots(
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
