//! Growth rows: one holder, type or site with its figures in every snapshot, ranked with
//! the growers at every step first.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{Figures, GrowthPoint, ObjectHolder, Snapshot, TypeInterner};
use crate::analysis::why::RootRef;

/// One holder, type or site across the snapshots.
#[derive(Debug, Serialize)]
pub struct GrowthRow {
    /// Holders: "root", "goroutines" or "object".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<RootRef>,
    /// Bytes and objects in each snapshot, oldest first.
    pub bytes: Vec<u64>,
    pub objects: Vec<u64>,
    /// Last snapshot less the first.
    pub bytes_change: i64,
    pub objects_change: i64,
    /// Grew (in bytes) at every step.
    pub grows_every_step: bool,
    /// Where the growth attaches (the largest holders' rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accumulation: Option<GrowthPoint>,
    /// A holder's node in the newest snapshot's retention graph, if it is there.
    #[serde(skip)]
    pub node: Option<u32>,
}

/// Rows over the snapshots for every name any of them has, the growers at
/// every step first, then by growth; at most `limit`.
pub fn growth_rows<'s>(
    per_snapshot: &[impl Fn(&str) -> Option<Figures>],
    names: impl Iterator<Item = &'s str>,
    limit: usize,
) -> Vec<GrowthRow> {
    let mut rows: Vec<GrowthRow> = names
        .map(|name| {
            let figures: Vec<Figures> = per_snapshot
                .iter()
                .map(|f| f(name).unwrap_or_default())
                .collect();
            let bytes: Vec<u64> = figures.iter().map(|f| f.bytes).collect();
            let objects: Vec<u64> = figures.iter().map(|f| f.objects).collect();
            let change = |v: &[u64]| {
                let (first, last) = (v.first().copied(), v.last().copied());
                i64::try_from(last.unwrap_or(0)).unwrap_or(i64::MAX)
                    - i64::try_from(first.unwrap_or(0)).unwrap_or(i64::MAX)
            };
            GrowthRow {
                kind: None,
                name: name.to_string(),
                root: None,
                bytes_change: change(&bytes),
                objects_change: change(&objects),
                grows_every_step: grows_every_step(&bytes),
                bytes,
                objects,
                accumulation: None,
                node: None,
            }
        })
        .collect();
    rank(&mut rows, limit);
    rows
}

/// Held something in the first snapshot and more at every step after: a
/// holder that only appears later (an object that became shared) is not
/// a steady grower.
fn grows_every_step(bytes: &[u64]) -> bool {
    bytes.len() > 1 && bytes[0] > 0 && bytes.windows(2).all(|w| w[1] > w[0])
}

/// Growers at every step first, then by growth in bytes, then in objects.
fn rank(rows: &mut Vec<GrowthRow>, limit: usize) {
    rows.sort_by(|a, b| {
        b.grows_every_step
            .cmp(&a.grows_every_step)
            .then(b.bytes_change.cmp(&a.bytes_change))
            .then(b.objects_change.cmp(&a.objects_change))
            .then(a.name.cmp(&b.name))
    });
    rows.truncate(limit);
}

/// Rows for shared objects by address (same address and type in each
/// snapshot): one merge of the snapshots' lists, which come in address
/// order, and only the best `limit` made into rows.
fn object_rows(snapshots: &[Snapshot], types: &TypeInterner, limit: usize) -> Vec<GrowthRow> {
    type Key = (u64, u32);
    type Score = (bool, i128, i128);
    let k = snapshots.len();
    let lists: Vec<std::borrow::Cow<'_, [ObjectHolder]>> = snapshots
        .iter()
        .map(|s| {
            let list = &s.object_holders;
            if list.is_sorted_by_key(|h| (h.addr, h.type_id)) {
                std::borrow::Cow::Borrowed(list.as_slice())
            } else {
                let mut sorted = list.clone();
                sorted.sort_unstable_by_key(|h| (h.addr, h.type_id));
                std::borrow::Cow::Owned(sorted)
            }
        })
        .collect();
    let mut heads = vec![0usize; k];
    let mut series = vec![Figures::default(); k];
    // The worst kept on top: least score, then highest key.
    let mut best: std::collections::BinaryHeap<std::cmp::Reverse<(Score, std::cmp::Reverse<Key>)>> =
        std::collections::BinaryHeap::new();
    let mut kept: FxHashMap<Key, (Vec<Figures>, Option<u32>)> = FxHashMap::default();
    loop {
        let next = (0..k)
            .filter_map(|i| lists[i].get(heads[i]).map(|h| (h.addr, h.type_id)))
            .min();
        let Some(key) = next else { break };
        let mut node = None;
        for (i, list) in lists.iter().enumerate() {
            series[i] = Figures::default();
            if let Some(h) = list.get(heads[i]).filter(|h| (h.addr, h.type_id) == key) {
                series[i] = h.figures;
                if i == k - 1 {
                    node = Some(h.node);
                }
                heads[i] += 1;
            }
        }
        let (first, last) = (series[0], series[k - 1]);
        let score = (
            k > 1 && series[0].bytes > 0 && series.windows(2).all(|w| w[1].bytes > w[0].bytes),
            i128::from(last.bytes) - i128::from(first.bytes),
            i128::from(last.objects) - i128::from(first.objects),
        );
        let entry = std::cmp::Reverse((score, std::cmp::Reverse(key)));
        if best.len() < limit {
            best.push(entry);
            kept.insert(key, (series.clone(), node));
        } else if best.peek().is_some_and(|worst| entry < *worst) {
            // A better row than the worst kept (Reverse: smaller is better).
            if let Some(std::cmp::Reverse((_, std::cmp::Reverse(out)))) = best.pop() {
                kept.remove(&out);
            }
            best.push(entry);
            kept.insert(key, (series.clone(), node));
        }
    }
    let signed = |a: u64, b: u64| {
        i64::try_from(b).unwrap_or(i64::MAX) - i64::try_from(a).unwrap_or(i64::MAX)
    };
    kept.into_iter()
        .map(|((addr, type_id), (series, node))| {
            let (first, last) = (series[0], series[k - 1]);
            GrowthRow {
                kind: Some("object"),
                name: format!("{} {addr:#x}", types.name(type_id)),
                root: None,
                bytes: series.iter().map(|f| f.bytes).collect(),
                objects: series.iter().map(|f| f.objects).collect(),
                bytes_change: signed(first.bytes, last.bytes),
                objects_change: signed(first.objects, last.objects),
                grows_every_step: grows_every_step(
                    &series.iter().map(|f| f.bytes).collect::<Vec<_>>(),
                ),
                accumulation: None,
                node,
            }
        })
        .collect()
}

/// Rows for holders, types and sites across `snapshots`.
pub fn all_rows(snapshots: &[Snapshot], types: &TypeInterner, limit: usize) -> [Vec<GrowthRow>; 3] {
    let names = |pick: &dyn Fn(&Snapshot) -> Vec<&str>| {
        let mut all: Vec<&str> = snapshots.iter().flat_map(pick).collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let holder_names = names(&|s: &Snapshot| s.holders.keys().map(String::as_str).collect());
    let lookups: Vec<_> = snapshots
        .iter()
        .map(|s| move |k: &str| s.holders.get(k).map(|h| h.figures))
        .collect();
    let mut holders = growth_rows(&lookups, holder_names.iter().copied(), limit);
    // Name each holder as its latest snapshot does.
    for row in &mut holders {
        let key = row.name.clone();
        if let Some(h) = snapshots.iter().rev().find_map(|s| s.holders.get(&key)) {
            row.kind = Some(h.kind);
            row.name = h.name.clone();
            row.root = h.root.clone();
        }
        row.node = snapshots
            .last()
            .and_then(|s| s.holders.get(&key))
            .map(|h| h.node);
    }
    holders.extend(object_rows(snapshots, types, limit));
    rank(&mut holders, limit);
    let type_names = names(&|s: &Snapshot| s.types.keys().map(String::as_str).collect());
    let lookups: Vec<_> = snapshots
        .iter()
        .map(|s| move |k: &str| s.types.get(k).copied())
        .collect();
    let types = growth_rows(&lookups, type_names.iter().copied(), limit);
    let site_names = names(&|s: &Snapshot| s.sites.keys().map(String::as_str).collect());
    let lookups: Vec<_> = snapshots
        .iter()
        .map(|s| move |k: &str| s.sites.get(k).copied())
        .collect();
    let mut sites = growth_rows(&lookups, site_names.iter().copied(), limit);
    for row in &mut sites {
        if let Some(label) = snapshots
            .iter()
            .rev()
            .find_map(|s| s.site_labels.get(&row.name))
        {
            row.name = label.clone();
        }
    }
    [holders, types, sites]
}
