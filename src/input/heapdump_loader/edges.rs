//! Edges of a heap dump: each object's record is decoded again at its
//! offset, in parallel chunks of object ids, and its pointer fields resolved.

use rayon::prelude::*;

use crate::error::Result;
use crate::input::heapdump::{Field, FieldKind};
use crate::model::{Edges, EdgesBuilder, ObjectId, Objects};

use super::layout::Layout;
use super::slots::{HAS_FIELDS, Slot};

/// Object ids per parallel work item when reading edges.
const EDGE_CHUNK: usize = 1 << 14;

/// Every object's outgoing references, with a warning for pointers too far
/// into their object to record.
pub(super) fn read_edges(
    bytes: &[u8],
    slots: &[Slot],
    objects: &Objects,
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> Result<Edges> {
    let (edges, far) = build_edges(bytes, &slots, &objects, &layout)?;
    if far > 0 {
        warnings.push(format!(
            "{far} pointer fields sit more than 4 GiB into their object: they were skipped"
        ));
    }

    Ok(edges)
}

/// Minimal decoding of an object record at a known offset (validated when
/// the dump was parsed): its contents and the encoded field list.
pub(super) fn object_at(bytes: &[u8], rec: u64) -> Option<(&[u8], &[u8])> {
    let mut pos = usize::try_from(rec).ok()?;
    let tag = varint(bytes, &mut pos)?;
    if tag != 1 {
        return None;
    }
    varint(bytes, &mut pos)?; // address
    let len = usize::try_from(varint(bytes, &mut pos)?).ok()?;
    let contents = bytes.get(pos..pos.checked_add(len)?)?;
    Some((contents, &bytes[pos + len..]))
}

#[inline]
fn varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let (value, len) = crate::input::varint::uvarint(bytes.get(*pos..)?).ok()?;
    *pos += len;
    Some(value)
}

/// The `(kind, offset)` pairs of an encoded field list, up to its 0.
fn fields_of(raw: &[u8]) -> impl Iterator<Item = Field> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let kind = match varint(raw, &mut pos)? {
            1 => FieldKind::Ptr,
            2 => FieldKind::Iface,
            3 => FieldKind::Eface,
            _ => return None,
        };
        let offset = varint(raw, &mut pos)?;
        Some(Field { kind, offset })
    })
}

struct ChunkEdges {
    counts: Vec<u32>,
    targets: Vec<ObjectId>,
    offsets: Vec<u32>,
    far: usize,
}

/// Reads every object's pointer fields, in parallel chunks of object ids.
fn build_edges(
    bytes: &[u8],
    slots: &[Slot],
    objects: &Objects,
    layout: &Layout,
) -> Result<(Edges, usize)> {
    let chunks: Vec<ChunkEdges> = slots
        .par_chunks(EDGE_CHUNK)
        .map(|chunk| {
            let mut out = ChunkEdges {
                counts: Vec::with_capacity(chunk.len()),
                targets: Vec::new(),
                offsets: Vec::new(),
                far: 0,
            };
            for s in chunk {
                let before = out.targets.len();
                if s.flags & HAS_FIELDS != 0
                    && let Some((contents, raw)) = object_at(bytes, s.rec)
                {
                    let h = s.header();
                    let (base, size) = (s.addr + h, s.len() - h);
                    for f in fields_of(raw) {
                        for off in layout.words(f) {
                            // The header word is the type, not a reference.
                            if off < h {
                                continue;
                            }
                            let Some(value) = layout.word(contents, off) else {
                                continue;
                            };
                            // Pointers into the object itself keep nothing else alive.
                            if value.wrapping_sub(base) < size {
                                continue;
                            }
                            let Some(target) = objects.find(value) else {
                                continue;
                            };
                            match u32::try_from(off - h) {
                                Ok(o) => {
                                    out.targets.push(target);
                                    out.offsets.push(o);
                                }
                                Err(_) => out.far += 1,
                            }
                        }
                    }
                }
                out.counts.push((out.targets.len() - before) as u32);
            }
            out
        })
        .collect();
    let total = chunks.iter().map(|c| c.targets.len()).sum();
    let mut builder = EdgesBuilder::with_capacity(objects.len(), total);
    let mut far = 0;
    for c in &chunks {
        builder.push_rows(&c.counts, &c.targets, &c.offsets);
        far += c.far;
    }
    Ok((builder.finish()?, far))
}
