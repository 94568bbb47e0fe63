//! Every analysis and text rendering over a dump, as the commands run them
//! (shared by the `core` fuzz target and its replay example).

use rootpath::Dump;
use rootpath::analysis::histogram::histogram;
use rootpath::analysis::listing::root_row;
use rootpath::analysis::paths::Exclusions;
use rootpath::analysis::reach::reachable;
use rootpath::analysis::report::Reporter;
use rootpath::analysis::retention::{Retention, TopBy};
use rootpath::analysis::sites::{SiteGrouping, SiteIndex, SiteOptions, SiteReporter};
use rootpath::analysis::why::{explain_object, explain_type};
use rootpath::model::ObjectId;
use rootpath::output::text;

/// What a run reached, for the replay's tally (the fuzz target ignores it).
#[allow(dead_code)]
pub enum Reached {
    Refused(String),
    Analysed { objects: usize },
}

pub fn run_all(dump: &Dump) -> Reached {
    let mut sink = std::io::sink();
    let _ = text::overview(&mut sink, &rootpath::overview::overview(dump));
    let model = match dump.load_model() {
        Ok(m) => m,
        Err(e) => return Reached::Refused(e.to_string()),
    };
    let memory = dump.memory();
    let memory = memory.as_deref();
    let retention = Retention::with_dominators(&model, None);
    let reporter = Reporter::new(&retention, memory);
    for by in [TopBy::Retained, TopBy::Shallow, TopBy::Count] {
        let _ = text::top(&mut sink, &reporter.top(20, by));
    }
    let _ = text::top_types(&mut sink, &reporter.top_types(20));
    let _ = reporter.suspects(0.1);
    let _ = text::goroutine_groups(&mut sink, &reporter.goroutine_groups());
    let _ = text::goroutines(&mut sink, &model.goroutines);
    let live = reachable(&model, model.roots.iter());
    let _ = reporter.histogram(histogram(&model, &live));
    let rows: Vec<_> = model.roots.iter().map(|r| root_row(&model, r)).collect();
    let _ = text::roots(&mut sink, &rows);
    let n = model.objects.len();
    // Two objects and one type: each `why type:` walks the whole heap again.
    for i in [0, n / 2].into_iter().filter(|&i| i < n) {
        let id = ObjectId(i as u32);
        let doc = explain_object(&model, memory, id, 3, &Exclusions::default(), false);
        let _ = text::why(&mut sink, &doc, false);
    }
    if let Some(&t) = model.object_types.get(n / 2).filter(|&&t| t != u32::MAX) {
        let _ = text::why_type(&mut sink, &explain_type(&model, memory, t, false));
    }
    let index = SiteIndex::build(&model, None, SiteGrouping::Stack);
    let doc = SiteReporter::new(&index, &reporter).sites(&SiteOptions::default(), 20);
    let _ = text::sites(&mut sink, &doc);
    Reached::Analysed { objects: n }
}
