//! `serve` (the local web UI) and `report --html FILE` (the same pages as one
//! self-contained file): both answer through the UI's queries over the model.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;

use crate::analysis::dominators::Dominators;
use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::model::{AllocProfile, HeapModel, Memory};
use crate::serve::api;
use crate::serve::model_queries::ModelQueries;
use crate::serve::queries::HeapQueries;

/// What the queries are built from.
pub struct Sources<'a> {
    pub dump: &'a Dump,
    pub model: &'a HeapModel,
    pub memory: Option<&'a dyn Memory>,
    pub profile: Option<&'a AllocProfile>,
}

fn queries<'a>(s: Sources<'a>, doms: Option<Dominators>) -> ModelQueries<'a> {
    let overview = crate::overview::overview(s.dump);
    ModelQueries::new(s.model, doms, s.memory, s.profile, overview)
}

pub fn serve(
    sources: Sources<'_>,
    doms: Option<Dominators>,
    options: &crate::serve::ServeOptions,
    out: &mut dyn Write,
) -> Result<()> {
    let q = queries(sources, doms);
    crate::serve::run(&q, options, out)
}

/// Children shown per dominator-tree node, and below the largest few of them
/// (the page's script asks for exactly these pages).
const PAGE: usize = 50;
const SUB_PAGE: usize = 20;
const SUB_NODES: usize = 8;
/// Levels of the dominator tree the report can be clicked into, and how many
/// children of each node below the top are expanded (the top: all on its page).
const REPORT_DEPTH: usize = 3;
const REPORT_FANOUT: usize = 3;

pub fn html_report(
    sources: Sources<'_>,
    doms: Option<Dominators>,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let q = queries(sources, doms);
    let responses = report_responses(&q);
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut writer = std::io::BufWriter::new(file);
    crate::output::html::report(&mut writer, &responses).map_err(|e| Error::io(path, e))?;
    writer.flush().map_err(|e| Error::io(path, e))?;
    writeln!(out, "Wrote the HTML report to {}", path.display()).map_err(Error::Output)
}

/// The API answers the report's pages read: the listings, and the dominator
/// tree's top levels (the largest children of each node).
fn report_responses(q: &dyn HeapQueries) -> Vec<(String, serde_json::Value)> {
    let mut targets: Vec<String> = [
        "/api/overview",
        "/api/types",
        "/api/goroutines",
        "/api/sites",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    let mut queue = VecDeque::from([(0u32, 0usize)]);
    let mut responses = Vec::new();
    while let Some((node, depth)) = queue.pop_front() {
        targets.push(format!("/api/tree/node?node={node}"));
        let page = format!("/api/tree/children?node={node}&offset=0&limit={PAGE}");
        let children = answer(q, &page);
        let kids = child_nodes(&children);
        responses.push((page, children));
        for &k in kids.iter().take(SUB_NODES) {
            targets.push(format!(
                "/api/tree/children?node={k}&offset=0&limit={SUB_PAGE}"
            ));
        }
        if depth + 1 < REPORT_DEPTH {
            let fanout = if depth == 0 { PAGE } else { REPORT_FANOUT };
            queue.extend(kids.iter().take(fanout).map(|&k| (k, depth + 1)));
        }
    }
    targets.sort();
    targets.dedup();
    responses.extend(targets.into_iter().map(|t| {
        let v = answer(q, &t);
        (t, v)
    }));
    responses
}

fn answer(q: &dyn HeapQueries, target: &str) -> serde_json::Value {
    let reply = api::handle(q, target);
    serde_json::from_slice(&reply.body).unwrap_or(serde_json::Value::Null)
}

fn child_nodes(children: &serde_json::Value) -> Vec<u32> {
    children["children"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["node"].as_u64())
                .filter_map(|n| u32::try_from(n).ok())
                .collect()
        })
        .unwrap_or_default()
}
