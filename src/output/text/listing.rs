//! Plain listings in text: the type histogram, objects, roots and
//! goroutines, one row each.

use std::io::{self, Write};

use super::overview::heap_totals;
use super::why::root_line;
use super::{bytes, io_err};
use crate::analysis::listing::{ObjectRow, RootRow};
use crate::analysis::report::HistogramRetainedRow;
use crate::analysis::summary::HeapTotals;
use crate::error::Result;
use crate::model::Goroutine;

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

pub(super) fn histogram_table(
    out: &mut dyn Write,
    rows: &[HistogramRetainedRow],
) -> io::Result<()> {
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
