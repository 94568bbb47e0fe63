//! A core's objects: each span's allocated slots (below `freeindex`, or
//! marked in its allocation bits), filled into the object arrays in parallel.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::input::elf::AddressSpace;
use crate::input::goruntime::spans::{Span, Spans};
use crate::model::{ObjectParts, Objects, SizeClasses};

/// The heap's objects, built in place from the spans, and each span's
/// run of object ids (spans hold consecutive ids, in span order).
pub(super) fn place_objects(
    space: &AddressSpace<'_>,
    spans: &Spans,
    warnings: &mut Vec<String>,
) -> (Objects, Vec<std::ops::Range<u32>>) {
    // Objects are built in place: count each span's allocated slots, then
    // fill every span's share of the final arrays in parallel.
    let mut counts: Vec<(usize, bool)> = spans
        .spans
        .par_iter()
        .map(|s| {
            let bits = alloc_bits(space, s);
            (
                allocated_slots(s, bits).count(),
                bits.is_some() || s.freeindex >= s.nelems,
            )
        })
        .collect();
    // Object ids follow span order; overlapping spans would break that, and
    // only a corrupt core has them.
    let mut last_end = 0u64;
    let mut overlapping = 0usize;
    for (span, (n, _)) in spans.spans.iter().zip(counts.iter_mut()) {
        if *n == 0 {
            continue;
        }
        if span.base < last_end {
            overlapping += *n;
            *n = 0;
        } else {
            last_end = span.base + span.nelems * span.elemsize;
        }
    }
    if overlapping > 0 {
        warnings.push(format!(
            "{overlapping} objects overlap others (corrupt span data) and were dropped"
        ));
    }
    let missing_bits = counts.iter().filter(|(_, ok)| !ok).count();
    if missing_bits > 0 {
        warnings.push(format!(
            "allocation bits of {missing_bits} spans are missing from the core: only their slots below freeindex are counted"
        ));
    }
    // Each span's objects are a run of consecutive ids.
    let total: usize = counts.iter().map(|&(n, _)| n).sum();
    let mut span_ids: Vec<std::ops::Range<u32>> = Vec::with_capacity(counts.len());
    let mut next = 0u32;
    for &(n, _) in &counts {
        span_ids.push(next..next + n as u32);
        next += n as u32;
    }
    // A span's objects share one size: classes are given span by span.
    let mut sizes = SizeClasses::default();
    let span_classes: Vec<Option<u8>> = spans
        .spans
        .iter()
        .zip(&counts)
        .map(|(span, &(n, _))| {
            if n == 0 {
                None
            } else {
                sizes.class_of(span.object_size())
            }
        })
        .collect();
    let mut low = vec![0u32; total];
    let mut class = vec![0u8; total];
    let mut shares = Vec::with_capacity(counts.len());
    let (mut rest_l, mut rest_c) = (&mut low[..], &mut class[..]);
    for &(n, _) in &counts {
        let (l, rl) = rest_l.split_at_mut(n);
        let (c, rc) = rest_c.split_at_mut(n);
        shares.push((l, c));
        (rest_l, rest_c) = (rl, rc);
    }
    let fills: Vec<SpanFill> = spans
        .spans
        .par_iter()
        .zip(shares.into_par_iter())
        .zip(span_ids.par_iter().zip(span_classes.par_iter()))
        .map(|((span, (l, c)), (ids, &span_class))| {
            fill_span(space, span, ids.start, span_class, l, c)
        })
        .collect();
    let mut parts = ObjectParts {
        low,
        high: Vec::new(),
        class,
        sizes,
        odd_sizes: FxHashMap::default(),
    };
    for fill in fills {
        parts.high.extend(fill.high);
        parts.odd_sizes.extend(fill.odd);
    }
    let objects = Objects::from_parts(parts);
    (objects, span_ids)
}

/// The allocated slots of a span: below `freeindex`, or marked in the
/// allocation bits (`None` when the core lacks them: then only the former).
pub(super) fn allocated_slots<'s>(
    span: &Span,
    bits: Option<&'s [u8]>,
) -> impl Iterator<Item = u64> + use<'s> {
    let (nelems, freeindex) = (span.nelems, span.freeindex);
    (0..nelems).filter(move |&slot| {
        slot < freeindex
            || bits.is_some_and(|b| {
                b.get((slot / 8) as usize)
                    .is_some_and(|v| v & (1 << (slot % 8)) != 0)
            })
    })
}

pub(super) fn alloc_bits<'a>(space: &AddressSpace<'a>, span: &Span) -> Option<&'a [u8]> {
    space.read(span.alloc_bits, span.nelems.div_ceil(8) as usize)
}

/// What filling one span's share of the object arrays leaves for the
/// whole heap's tables, by object id.
#[derive(Default)]
struct SpanFill {
    /// Where the high half of the addresses is (first object) or changes.
    high: Vec<(u32, u32)>,
    /// Sizes without a class.
    odd: Vec<(u32, u64)>,
}

/// Fills one span's objects (addresses as Go sees them, size classes) into
/// its share of the object arrays; `first` is its first object's id and
/// `class` its objects' size class (None: their size goes to the side map).
fn fill_span(
    space: &AddressSpace<'_>,
    span: &Span,
    first: u32,
    class: Option<u8>,
    low: &mut [u32],
    classes: &mut [u8],
) -> SpanFill {
    let header = if span.has_header { 8 } else { 0 };
    let size = span.object_size();
    let mut fill = SpanFill::default();
    let slots = allocated_slots(span, alloc_bits(space, span));
    for (i, slot) in slots.take(low.len()).enumerate() {
        let addr = span.base + slot * span.elemsize + header;
        let id = first + i as u32;
        low[i] = addr as u32;
        let high = (addr >> 32) as u32;
        if fill.high.last().is_none_or(|&(_, h)| h != high) {
            fill.high.push((id, high));
        }
        classes[i] = class.unwrap_or_else(|| {
            fill.odd.push((id, size));
            SizeClasses::ODD
        });
    }
    fill
}
