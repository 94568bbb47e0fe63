//! A core's pointer edges: each object's pointer words (from its span's
//! pointer maps) resolved to objects, span batch by span batch in parallel.

use rayon::prelude::*;

use crate::error::Result;
use crate::input::elf::AddressSpace;
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::pointers::PointerMaps;
use crate::input::goruntime::span_index::SpanIndex;
use crate::input::goruntime::spans::{Span, Spans};
use crate::input::goruntime::typing::ifaces::{InterfaceTypes, InterfaceWord};
use crate::model::{Edges, EdgesBuilder, Memory, ObjectId, Objects, RowBlock};

use super::objects::{alloc_bits, allocated_slots};

/// Every object's outgoing references, read through its span's pointer
/// maps, and the interface values they hold (type evidence), with a warning
/// for objects whose pointer maps cannot be read.
pub(super) fn read_edges(
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    version: GoVersion,
    spans: &Spans,
    span_ids: &[std::ops::Range<u32>],
    objects: &Objects,
    iface_types: Option<&InterfaceTypes<'_, AddressSpace<'_>>>,
    warnings: &mut Vec<String>,
) -> Result<(Edges, Vec<InterfaceWord>)> {
    let maps = PointerMaps::new(space, layouts, version, spans.page_size)?;
    let finder = SpanIndex::new(&spans.spans, span_ids, spans.page_size, |s| {
        allocated_slots(s, alloc_bits(space, s))
    });
    let (edges, unreadable, interfaces) = build_edges(
        space,
        spans,
        span_ids,
        objects,
        finder.as_ref(),
        &maps,
        iface_types,
    )?;
    drop(finder);
    if unreadable > 0 {
        warnings.push(format!(
            "pointer maps of {unreadable} objects cannot be read (memory missing from the core, or a corrupt type descriptor): their outgoing references are unknown"
        ));
    }
    Ok((edges, interfaces))
}

struct SpanEdges {
    counts: Vec<u32>,
    targets: Vec<ObjectId>,
    offsets: Vec<u32>,
    /// Whether each pointer holds its target's first address.
    at_start: Vec<bool>,
    /// Interface values whose data word points at an object.
    interfaces: Vec<InterfaceWord>,
    unreadable: usize,
}

fn build_edges(
    space: &AddressSpace<'_>,
    spans: &Spans,
    span_ids: &[std::ops::Range<u32>],
    objects: &Objects,
    finder: Option<&SpanIndex>,
    maps: &PointerMaps<'_, '_>,
    iface_types: Option<&InterfaceTypes<'_, AddressSpace<'_>>>,
) -> Result<(crate::model::Edges, usize, Vec<InterfaceWord>)> {
    let find = |v: u64| match finder {
        Some(f) => f.find_with_start(v),
        None => objects.find(v).map(|o| (o, objects.addr(o) == v)),
    };
    // Spans go in batches of about a million objects: each batch's rows are
    // built in parallel, appended, and their buffers reused by the next
    // batch, so the whole heap's edges are never held twice.
    const BATCH_OBJECTS: u32 = 1 << 20;
    let mut builder = EdgesBuilder::with_capacity(objects.len(), objects.len());
    let mut unreadable = 0;
    let mut interfaces = Vec::new();
    let mut first = 0;
    while first < spans.spans.len() {
        let mut last = first;
        let start_id = span_ids[first].start;
        while last < spans.spans.len() && span_ids[last].end - start_id <= BATCH_OBJECTS {
            last += 1;
        }
        let last = last.max(first + 1);
        let rows: Vec<SpanEdges> = spans.spans[first..last]
            .par_iter()
            .zip(span_ids[first..last].par_iter())
            .map(|(span, ids)| {
                span_edges(
                    space,
                    spans.page_size,
                    span,
                    ids,
                    objects,
                    &find,
                    maps,
                    iface_types,
                )
            })
            .collect();
        let blocks: Vec<RowBlock<'_>> = rows
            .iter()
            .map(|r| RowBlock {
                counts: &r.counts,
                targets: &r.targets,
                offsets: &r.offsets,
                at_start: &r.at_start,
            })
            .collect();
        builder.push_blocks(&blocks);
        unreadable += rows.iter().map(|r| r.unreadable).sum::<usize>();
        for r in &rows {
            interfaces.extend_from_slice(&r.interfaces);
        }
        first = last;
    }
    Ok((builder.finish()?, unreadable, interfaces))
}

/// One span's edges: per-object counts and flat (target, offset) lists.
fn span_edges(
    space: &AddressSpace<'_>,
    page_size: u64,
    span: &Span,
    ids: &std::ops::Range<u32>,
    objects: &Objects,
    find: &(impl Fn(u64) -> Option<(ObjectId, bool)> + Sync),
    maps: &PointerMaps<'_, '_>,
    iface_types: Option<&InterfaceTypes<'_, AddressSpace<'_>>>,
) -> SpanEdges {
    let mut out = SpanEdges {
        counts: Vec::with_capacity(ids.len()),
        targets: Vec::new(),
        offsets: Vec::new(),
        at_start: Vec::new(),
        interfaces: Vec::new(),
        unreadable: 0,
    };
    // The span's memory, read once (objects never leave their span).
    let base = span.base;
    let memory = space.read(base, (span.npages * page_size) as usize);
    for id in ids.clone().map(ObjectId) {
        let (addr, size) = (objects.addr(id), objects.size(id));
        let before = out.targets.len();
        // The offset after the last pointer word: an interface's type
        // word is no pointer word.
        let mut after_pointer = u64::MAX;
        let ok = maps.for_each_pointer(span, memory, addr, size, |off| {
            let at = addr + off;
            let value = match memory {
                Some(m) => {
                    let i = (at - base) as usize;
                    match m.get(i..i + 8) {
                        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or_default()),
                        None => return,
                    }
                }
                None => match space.read_u64(at) {
                    Some(v) => v,
                    None => return,
                },
            };
            let type_word_is_pointer = after_pointer == off;
            after_pointer = off + 8;
            // Pointers into the object itself keep nothing else alive.
            if value.wrapping_sub(addr) < size {
                return;
            }
            if let Some((target, at_start)) = find(value) {
                if let (Some(it), false, true) = (iface_types, type_word_is_pointer, off >= 8) {
                    let before = match memory {
                        Some(m) => m
                            .get((at - 8 - base) as usize..(at - base) as usize)
                            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())),
                        None => space.read_u64(at - 8),
                    };
                    if let Some((rtype, itab)) = before.and_then(|t| it.rtype_of(t)) {
                        // Two words of one object: one value.
                        out.interfaces.push(InterfaceWord {
                            data_at: at,
                            rtype,
                            loose: false,
                            itab,
                        });
                    }
                }
                out.targets.push(target);
                out.offsets.push(off as u32);
                out.at_start.push(at_start);
            }
        });
        if !ok {
            out.unreadable += 1;
        }
        out.counts.push((out.targets.len() - before) as u32);
    }
    out
}
