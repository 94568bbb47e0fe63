//! `why TARGET`: who keeps an object (or every object of a type) alive.

use std::io::Write;

use crate::analysis::paths::Exclusions;
use crate::analysis::why::{explain_object, explain_type};
use crate::error::{Error, Result};
use crate::model::{HeapModel, Memory};
use crate::output;

pub struct WhyArgs<'a> {
    pub target: &'a str,
    pub paths: usize,
    pub exclude: &'a [String],
    pub raw: bool,
}

fn parse_address(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
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
        let Some(t) = model.types.get(type_name) else {
            return Err(Error::BadTarget {
                target: args.target.to_string(),
                why: "no object of that type in this heap (see 'histogram' for type names)".into(),
            });
        };
        let doc = explain_type(model, memory, t, args.raw);
        return if json {
            output::json::write(out, &doc)
        } else {
            output::text::why_type(out, &doc)
        };
    }
    let Some(addr) = parse_address(args.target) else {
        return Err(why_root(model, args.target));
    };
    let target = model.objects.find(addr).ok_or_else(|| Error::BadTarget {
        target: args.target.to_string(),
        why: "no allocated heap object contains that address".into(),
    })?;
    let (exclusions, unknown) = Exclusions::parse(model, args.exclude);
    if !unknown.is_empty() {
        return Err(Error::BadTarget {
            target: unknown.join(", "),
            why: "--exclude takes a type name or TYPE.FIELD of a type in this heap".into(),
        });
    }
    let doc = explain_object(model, memory, target, args.paths, &exclusions, args.raw);
    if json {
        output::json::write(out, &doc)
    } else {
        output::text::why(out, &doc, !exclusions.is_empty())
    }
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
