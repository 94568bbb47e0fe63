//! Commands over the heap model: histogram, objects, roots, goroutines.

use std::io::Write;

use serde::Serialize;

use crate::analysis::listing::{ObjectRow, RootRow, root_row};
use crate::analysis::reach;
use crate::dump::Dump;
use crate::error::Result;
use crate::model::{HeapModel, Root, RootKind};
use crate::output;

/// Loads the model, with a spinner on an interactive stderr.
pub fn load(dump: &Dump, quiet: bool) -> Result<HeapModel> {
    load_with(dump, quiet, None)
}

/// `load` for the retention commands: the dominators they need are computed
/// on a second thread while the objects are typed (None when the dump types
/// its objects without asking: compute them afterwards).
pub fn load_for_retention(
    dump: &Dump,
    quiet: bool,
) -> Result<(HeapModel, Option<crate::analysis::dominators::Dominators>)> {
    let doms = std::sync::OnceLock::new();
    let mut choose = |_: &HeapModel, _: &dyn Fn()| -> crate::model::Typing<'_> {
        crate::model::Typing::AllAlongside(Box::new(|untyped: &HeapModel| {
            let _ = doms.set(crate::analysis::retention::Retention::dominators(untyped));
        }))
    };
    let model = load_with(dump, quiet, Some(&mut choose))?;
    Ok((model, doms.into_inner()))
}

/// `load`, typing only what `choose` picks (see `TypeChooser`).
pub fn load_with(
    dump: &Dump,
    quiet: bool,
    choose: Option<crate::model::TypeChooser<'_>>,
) -> Result<HeapModel> {
    crate::progress::step("reading the heap (spans, pointer maps, roots, types)…");
    let model = match choose {
        Some(choose) => dump.load_model_choosing_types(choose),
        None => dump.load_model(),
    };
    crate::progress::finish();
    let model = model?;
    dump.release_pages();
    if !quiet {
        for w in &model.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(model)
}

pub fn live_set(model: &HeapModel) -> Vec<bool> {
    reach::reachable(model, model.roots.iter())
}

#[derive(Serialize)]
struct ObjectsDoc {
    matched: u64,
    shown: u64,
    objects: Vec<ObjectRow>,
}

/// Objects of a type (exact name; if none has it, names containing it).
pub fn objects(
    model: &HeapModel,
    type_filter: Option<&str>,
    limit: usize,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let exact = type_filter.and_then(|t| model.types.get(t));
    // The histogram's name for untyped objects of one size.
    let unknown = type_filter.and_then(crate::model::parse_unknown_type_name);
    // A type no object has (exactly or in part) is a mistake, as for `why type:`.
    if let Some(filter) = type_filter
        && exact.is_none()
        && unknown.is_none()
        && !(0..model.types.len() as u32)
            .filter_map(|i| model.types.name(i))
            .any(|n| n.contains(filter))
    {
        return Err(crate::error::Error::BadTarget {
            target: filter.to_string(),
            why: "--type: no object of a type with that name in this heap (see 'histogram' \
                  for type names)"
                .into(),
        });
    }
    let live = live_set(model);
    let matches = |id: crate::model::ObjectId| -> bool {
        let Some(filter) = type_filter else {
            return true;
        };
        if let Some(size) = unknown {
            return model.type_name(id).is_none() && model.objects.size(id) == size;
        }
        match exact {
            Some(t) => model.object_types[id.index()] == t,
            None => model.type_name(id).is_some_and(|n| n.contains(filter)),
        }
    };
    let mut matched = 0u64;
    let mut rows = Vec::new();
    for id in model.objects.ids().filter(|&id| matches(id)) {
        matched += 1;
        if rows.len() < limit {
            rows.push(ObjectRow {
                address: format!("{:#x}", model.objects.addr(id)),
                size: model.objects.size(id),
                type_name: model.type_name(id).map(str::to_string),
                live: live[id.index()],
            });
        }
    }
    let doc = ObjectsDoc {
        matched,
        shown: rows.len() as u64,
        objects: rows,
    };
    if json {
        output::json::write(out, &doc)
    } else {
        output::text::objects(out, &doc.objects, matched)
    }
}

#[derive(Serialize)]
struct RootsDoc {
    roots: Vec<RootRow>,
}

pub fn roots(model: &HeapModel, json: bool, out: &mut dyn Write) -> Result<()> {
    // Globals in address order (their names mix packages and section
    // offsets); the other roots as the model lists them.
    let mut listed: Vec<&Root> = model.roots.iter().collect();
    listed.sort_by_key(|r| match r.kind {
        RootKind::Global => (0, r.addr.unwrap_or(u64::MAX)),
        _ => (1, 0),
    });
    let rows: Vec<RootRow> = listed.into_iter().map(|r| root_row(model, r)).collect();
    if json {
        output::json::write(out, &RootsDoc { roots: rows })
    } else {
        output::text::roots(out, &rows)
    }
}
