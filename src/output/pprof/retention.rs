//! The retention profile: ownership chains (analysis/chains.rs) as a pprof
//! profile whose samples add up to the live heap (formats/pprof-output.md).

use std::io::Write;

use super::{LabelValue, ProfileBuilder};
use crate::analysis::chains::{ChainFrame, Chains, MAX_DEPTH};
use crate::output::text::root_line;

/// Sample types, pprof-style (`inuse_objects`/`inuse_space`).
pub const OBJECTS: (&str, &str) = ("retained_objects", "count");
pub const BYTES: (&str, &str) = ("retained_space", "bytes");
/// Label keys.
pub const TYPE_LABEL: &str = "type";
pub const SITE_LABEL: &str = "alloc_site";

/// The name of the frame for objects that several holders reach.
pub const SHARED_FRAME: &str = "shared (reached from several holders, kept alive by none alone)";

/// Writes `chains` as a gzipped profile to `out`; `source` names the dump
/// in a comment.
pub fn write(out: impl Write, chains: &Chains, source: &str) -> std::io::Result<()> {
    let mut b = ProfileBuilder::new(&[OBJECTS, BYTES], BYTES.0);
    b.comment(&format!(
        "rootpath retention profile of {source}: every live object once, below its chain of \
         dominators; live heap {} bytes in {} objects",
        chains.live_bytes, chains.live_objects
    ));
    add_samples(&mut b, chains, 1);
    b.write_gzip(out)
}

/// Adds `chains`' samples to `b`, their values times `sign` (a growth
/// profile's freed objects count negative).
pub fn add_samples(b: &mut ProfileBuilder, chains: &Chains, sign: i64) {
    let mut locations: Vec<Option<u64>> = vec![None; chains.frames.len()];
    for s in &chains.samples {
        let stack = chains
            .stack(s.node)
            .into_iter()
            .map(|f| {
                *locations[f as usize].get_or_insert_with(|| {
                    b.location(&frame_name(chains, chains.frames[f as usize]))
                })
            })
            .collect();
        let mut labels = vec![(
            TYPE_LABEL,
            LabelValue::Str(&chains.types[s.type_name as usize]),
        )];
        if let Some(site) = s.site {
            labels.push((SITE_LABEL, LabelValue::Str(&chains.sites[site as usize])));
        }
        let values = vec![
            sign * i64::try_from(s.objects).unwrap_or(i64::MAX),
            sign * i64::try_from(s.bytes).unwrap_or(i64::MAX),
        ];
        b.sample(stack, values, &labels);
    }
}

/// How a frame reads in pprof: a holder as `top` names it, an object as
/// "FIELD TYPE" (the field of its dominator that points at it).
pub fn frame_name(chains: &Chains, frame: ChainFrame) -> String {
    match frame {
        ChainFrame::Holder(h) => root_line(&chains.holders[h as usize]),
        ChainFrame::GroupedRoot(h) => {
            let line = root_line(&chains.holders[h as usize]);
            // The goroutine is the group's: the variable is named alone.
            line.strip_prefix("goroutine 0 ")
                .map_or(line.clone(), str::to_string)
        }
        ChainFrame::Shared => SHARED_FRAME.to_string(),
        ChainFrame::Object { edge, type_name } => {
            let edge = &chains.edges[edge as usize];
            let t = &chains.types[type_name as usize];
            if edge.is_empty() {
                t.clone()
            } else {
                format!("{edge} {t}")
            }
        }
        ChainFrame::Deeper => format!("… deeper (chain longer than {MAX_DEPTH} frames)"),
    }
}
