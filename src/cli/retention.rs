//! `top`, `report` and the retention parts of `histogram` and `goroutines`.

use std::io::Write;

use crate::analysis::dominators::Dominators;
use crate::analysis::histogram::histogram;
use crate::analysis::report::{GoroutinesDoc, HistogramDoc, ReportDoc, Reporter, TopDoc};
use crate::analysis::retention::{Retention, TopBy as By};
use crate::analysis::summary;
use crate::dump::Dump;
use crate::error::Result;
use crate::model::{HeapModel, Memory};
use crate::output;
use crate::overview::overview;

use super::{TopBy, TopGroup};

/// Share of the live heap above which a retainer is a leak suspect.
pub const SUSPECT_THRESHOLD: f64 = 0.10;

fn by(b: TopBy) -> By {
    match b {
        TopBy::Retained => By::Retained,
        TopBy::Shallow => By::Shallow,
        TopBy::Count => By::Count,
    }
}

/// What `top` lists: how many, ordered by what, grouped how.
pub struct TopArgs {
    pub n: usize,
    pub by: TopBy,
    pub group: TopGroup,
}

pub fn top(
    model: &HeapModel,
    doms: Option<Dominators>,
    memory: Option<&dyn Memory>,
    args: &TopArgs,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let TopArgs { n, by: by_, group } = *args;
    let retention = Retention::with_dominators(model, doms);
    let mut phases = crate::timing::Phases::new();
    let reporter = Reporter::new(&retention, memory);
    let result = match group {
        TopGroup::Root => {
            let doc = reporter.top(n, by(by_));
            if json {
                output::json::write(out, &doc)
            } else {
                output::text::top(out, &doc)
            }
        }
        TopGroup::Type => {
            let doc = match by_ {
                // Types come ordered by retained bytes; by count, every type
                // is ranked before the first n are kept.
                TopBy::Count => {
                    let mut doc = reporter.top_types(usize::MAX);
                    doc.types.sort_by(|a, b| {
                        b.retained_objects
                            .cmp(&a.retained_objects)
                            .then_with(|| a.type_name.cmp(&b.type_name))
                    });
                    doc.types.truncate(n);
                    doc
                }
                _ => reporter.top_types(n),
            };
            if json {
                output::json::write(out, &doc)
            } else {
                output::text::top_types(out, &doc)
            }
        }
    };
    phases.done("top");
    result
}

pub fn histogram_doc(
    model: &HeapModel,
    reporter: &Reporter<'_, '_>,
    limit: Option<usize>,
) -> HistogramDoc {
    // Reachable in the dominator tree is live: no second walk of the heap.
    let r = reporter.retention;
    let live: Vec<bool> = model
        .objects
        .ids()
        .map(|id| r.doms.is_reachable(r.graph.object_node(id)))
        .collect();
    let mut rows = histogram(model, &live);
    if let Some(n) = limit {
        rows.truncate(n);
    }
    HistogramDoc {
        totals: summary::totals(model, &live),
        types: reporter.histogram(rows),
    }
}

pub fn histogram_cmd(
    model: &HeapModel,
    doms: Option<Dominators>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let retention = Retention::with_dominators(model, doms);
    let reporter = Reporter::new(&retention, None);
    let doc = histogram_doc(model, &reporter, None);
    if json {
        output::json::write(out, &doc)
    } else {
        output::text::histogram(out, &doc.totals, &doc.types)
    }
}

pub fn goroutines(
    model: &HeapModel,
    doms: Option<Dominators>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let retention = Retention::with_dominators(model, doms);
    let reporter = Reporter::new(&retention, None);
    let doc = GoroutinesDoc {
        groups: reporter.goroutine_groups(usize::MAX),
        goroutines: &model.goroutines,
    };
    if json {
        output::json::write(out, &doc)
    } else {
        output::text::goroutine_groups(out, &doc.groups)?;
        writeln!(out).map_err(crate::error::Error::Output)?;
        output::text::goroutines(out, doc.goroutines)
    }
}

pub fn report(
    dump: &Dump,
    model: &HeapModel,
    doms: Option<Dominators>,
    memory: Option<&dyn Memory>,
    profile: Option<&crate::model::AllocProfile>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let retention = Retention::with_dominators(model, doms);
    let reporter = Reporter::new(&retention, memory);
    // With a profile, the report leads with its sites and who holds them.
    let sites = profile.map(|p| {
        use crate::analysis::sites::{SiteGrouping, SiteIndex, SiteOptions, SiteReporter};
        let index = SiteIndex::build(model, Some(p), SiteGrouping::Line);
        // pprof's order: by the profile's in-use bytes.
        let options = SiteOptions {
            order: crate::analysis::sites::SiteOrder::Inuse,
            ..SiteOptions::default()
        };
        SiteReporter::new(&index, &reporter).sites(&options, 5)
    });
    let mut ov = overview(dump);
    let hist = histogram_doc(model, &reporter, Some(20));
    ov.heap = Some(hist.totals.clone());
    for w in &model.warnings {
        if !ov.warnings.contains(w) {
            ov.warnings.push(w.clone());
        }
    }
    let TopDoc {
        retainers, holders, ..
    } = reporter.top(10, By::Retained);
    let doc = ReportDoc {
        overview: ov,
        sites,
        leak_suspects: reporter.suspects(SUSPECT_THRESHOLD),
        holders,
        retainers,
        histogram: hist.types,
        goroutine_groups: reporter.goroutine_groups(10).into_iter().take(10).collect(),
    };
    if json {
        output::json::write(out, &doc)
    } else {
        output::text::report(out, &doc)
    }
}
