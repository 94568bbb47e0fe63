//! `why TARGET`: who keeps an object (or every object of a type) alive.

use std::io::Write;

use crate::analysis::owners::Ranking;
use crate::analysis::paths::{Exclusions, RetentionPath};
use crate::analysis::why::{
    WhyDoc, explain_object, explain_paths, explain_type, objects_shown, retention_paths,
};
use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::model::{HeapModel, Memory, ObjectId, Typing};
use crate::output;

use super::heap;

pub struct WhyArgs<'a> {
    pub target: &'a str,
    pub paths: usize,
    pub exclude: &'a [String],
    pub raw: bool,
    /// Strictly shortest paths first, owners or not.
    pub shortest: bool,
}

impl WhyArgs<'_> {
    fn ranking(&self) -> Ranking {
        if self.shortest {
            Ranking::Shortest
        } else {
            Ranking::OwnerFirst
        }
    }
}

pub(super) fn parse_address(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Loads the dump and answers. `why ADDRESS` without `--exclude` needs types
/// only where its paths go: the paths are found during the load, before
/// typing, and only their objects are typed (seconds less on a large heap).
pub fn load_and_run(
    dump: &Dump,
    quiet: bool,
    args: &WhyArgs<'_>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let address = parse_address(args.target).filter(|_| args.exclude.is_empty());
    let Some(addr) = address else {
        let model = heap::load(dump, quiet)?;
        let memory = dump.memory();
        return run(&model, memory.as_deref(), args, json, out);
    };
    // Set by the chooser: the target (None: no object there) and its paths.
    let mut found: Option<Option<(ObjectId, Vec<RetentionPath>)>> = None;
    let mut choose = |model: &HeapModel, release_pages: &dyn Fn()| -> Typing<'_> {
        let Some(target) = model.objects.find(addr) else {
            found = Some(None);
            return Typing::Only(Vec::new());
        };
        // The search reads no memory: let the dump's pages go first.
        release_pages();
        let paths = retention_paths(
            model,
            target,
            args.paths,
            &Exclusions::default(),
            args.ranking(),
        );
        let ids = objects_shown(model, target, &paths);
        found = Some(Some((target, paths)));
        Typing::Only(ids)
    };
    let model = heap::load_with(dump, quiet, Some(&mut choose))?;
    let memory = dump.memory();
    match found {
        // The dump typed every object without asking.
        None => run(&model, memory.as_deref(), args, json, out),
        Some(None) => Err(no_object(&model, args.target)),
        Some(Some((target, paths))) => {
            let doc = explain_paths(&model, memory.as_deref(), target, &paths, args.raw);
            write_why(&doc, false, json, out)
        }
    }
}

fn no_object(model: &HeapModel, target: &str) -> Error {
    if !model.warnings.is_empty() {
        return Error::BadTarget {
            target: target.to_string(),
            why: "no allocated heap object contains that address among those read: the dump \
                  is damaged (see the warnings above), and its object may be among what was \
                  skipped"
                .into(),
        };
    }
    Error::BadTarget {
        target: target.to_string(),
        why: "no allocated heap object contains that address".into(),
    }
}

fn write_why(doc: &WhyDoc, excluding: bool, json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        output::json::write(out, doc)
    } else {
        output::text::why(out, doc, excluding)
    }
}

pub fn run(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    args: &WhyArgs<'_>,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    if let Some(type_name) = args.target.strip_prefix("type:") {
        if let Some(size) = crate::model::parse_unknown_type_name(type_name) {
            let untyped = |id: crate::model::ObjectId| {
                model.type_name(id).is_none() && model.objects.size(id) == size
            };
            if !model.objects.ids().any(untyped) {
                return Err(Error::BadTarget {
                    target: args.target.to_string(),
                    why: "no untyped object of that size in this heap (see 'histogram')".into(),
                });
            }
            let doc = crate::analysis::why::explain_objects_of(
                model,
                memory,
                type_name,
                untyped,
                args.raw,
                args.ranking(),
            );
            return if json {
                output::json::write(out, &doc)
            } else {
                output::text::why_type(out, &doc)
            };
        }
        let Some(t) = model.types.get(type_name) else {
            return Err(Error::BadTarget {
                target: args.target.to_string(),
                why: "no object of that type in this heap (see 'histogram' for type names)".into(),
            });
        };
        let doc = explain_type(model, memory, t, args.raw, args.ranking());
        return if json {
            output::json::write(out, &doc)
        } else {
            output::text::why_type(out, &doc)
        };
    }
    let Some(addr) = parse_address(args.target) else {
        return Err(why_root(model, args.target));
    };
    let target = model
        .objects
        .find(addr)
        .ok_or_else(|| no_object(model, args.target))?;
    let (exclusions, unknown) = Exclusions::parse(model, args.exclude);
    if !unknown.is_empty() {
        return Err(Error::BadTarget {
            target: unknown.join(", "),
            why: "--exclude takes a type name or TYPE.FIELD of a type in this heap".into(),
        });
    }
    let doc = explain_object(
        model,
        memory,
        target,
        args.paths,
        &exclusions,
        args.raw,
        args.ranking(),
    );
    write_why(&doc, !exclusions.is_empty(), json, out)
}

fn why_root(model: &HeapModel, name: &str) -> Error {
    let known = model.roots.iter().any(|r| r.name == name);
    Error::BadTarget {
        target: name.to_string(),
        why: if known {
            "that is a root itself: it is alive by definition; 'top' shows what it retains".into()
        } else {
            "give an address (0xc000123450), type:NAME, or see 'roots' for root names".into()
        },
    }
}
