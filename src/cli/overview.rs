//! `rootpath DUMP overview`: the dump's metadata and, when the heap can be
//! read, its totals (objects, live, garbage since the last GC).

use std::io::Write;

use crate::analysis::summary;
use crate::dump::Dump;
use crate::error::Result;
use crate::output;
use crate::overview::overview;

/// `model`: the heap model, or why it could not be built.
pub fn run(
    dump: &Dump,
    model: Result<crate::model::HeapModel>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let mut report = overview(dump);
    match model {
        Ok(model) => {
            let live = super::heap::live_set(&model);
            report.heap = Some(summary::totals(&model, &live));
            // The core's own warnings (truncation) are the model's first.
            for w in &model.warnings {
                if !report.warnings.contains(w) {
                    report.warnings.push(w.clone());
                }
            }
        }
        Err(e) => report.warnings.push(format!("heap not read: {e}")),
    }
    if json {
        output::json::write(out, &report)
    } else {
        output::text::overview(out, &report)
    }
}
