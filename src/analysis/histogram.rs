//! Objects and bytes per type, live and in all.

use serde::Serialize;

use crate::model::{HeapModel, UNKNOWN_TYPE};
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Serialize)]
pub struct HistogramRow {
    /// The type name, or "unknown (N bytes)" for untyped objects by size.
    #[serde(rename = "type")]
    pub type_name: String,
    pub objects: u64,
    pub bytes: u64,
    pub live_objects: u64,
    pub live_bytes: u64,
}

/// Rows sorted by live bytes, then bytes. Untyped objects are grouped by size.
pub fn histogram(model: &HeapModel, live: &[bool]) -> Vec<HistogramRow> {
    #[derive(Hash, PartialEq, Eq)]
    enum Key {
        Typed(u32),
        Unknown(u64),
    }
    // A hash per object: the cheap hasher, not SipHash.
    let mut rows: FxHashMap<Key, [u64; 4]> = FxHashMap::default();
    for id in model.objects.ids() {
        let size = model.objects.size(id);
        let t = model.object_types[id.index()];
        let key = if t == UNKNOWN_TYPE {
            Key::Unknown(size)
        } else {
            Key::Typed(t)
        };
        let row = rows.entry(key).or_default();
        row[0] += 1;
        row[1] += size;
        if live[id.index()] {
            row[2] += 1;
            row[3] += size;
        }
    }
    let mut out: Vec<HistogramRow> = rows
        .into_iter()
        .map(
            |(key, [objects, bytes, live_objects, live_bytes])| HistogramRow {
                type_name: match key {
                    Key::Typed(t) => model.types.name(t).unwrap_or("?").to_string(),
                    Key::Unknown(size) => crate::model::unknown_type_name(size),
                },
                objects,
                bytes,
                live_objects,
                live_bytes,
            },
        )
        .collect();
    out.sort_by(|a, b| {
        b.live_bytes
            .cmp(&a.live_bytes)
            .then(b.bytes.cmp(&a.bytes))
            .then(a.type_name.cmp(&b.type_name))
    });
    out
}
