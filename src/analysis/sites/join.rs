//! The join of a pprof heap profile with the dump's profiling buckets: each
//! sample's key, exact or the likeliest near one, and the profile's names.

use std::collections::HashMap;

use super::frames::{
    Key, Positions, is_runtime_file, keeps_leaf, positions, visible, without_leaf,
};
use crate::model::{AllocProfile, SourceFrame};

/// One join key's figures on both sides.
#[derive(Default)]
pub(super) struct KeyFigures {
    pub(super) buckets: Vec<u32>,
    pub(super) samples: Vec<usize>,
}

/// Profile samples joined with the dump's keys.
#[derive(Default)]
pub(super) struct Join {
    /// The profile's frames for each key it matched (it names inlined calls).
    pub(super) names: HashMap<Key, Vec<SourceFrame>>,
    /// Samples with objects in use that found a key, and (samples, bytes)
    /// that found none (they become keys of their own).
    pub(super) matched: usize,
    pub(super) unmatched: (usize, i64),
}

/// Gives each profile sample its key: an exact one first, else the likeliest
/// of the keys that differ only where the two sides record stacks
/// differently; a sample with none adds its own key.
pub(super) fn join_samples(
    p: &AllocProfile,
    sites: &crate::model::Sites,
    keys: &mut HashMap<Key, KeyFigures>,
) -> Join {
    // Heap dumps take the innermost frame's position at its return
    // address, not at the call: when that frame is in the key its file
    // and line may differ from pprof's. Those keys also match on the
    // caller frames alone.
    let mut loose: HashMap<Key, Vec<Key>> = HashMap::new();
    if !sites.inlined_frames {
        for b in sites.buckets.iter().filter(|b| keeps_leaf(&b.stack)) {
            let pos = positions(&b.stack);
            let entry = loose.entry((without_leaf(&pos), b.size)).or_default();
            if !entry.iter().any(|k| k.0 == pos) {
                entry.push((pos, b.size));
            }
        }
    }
    // profile.proto has one file per function, not per line: a function
    // whose code comes from several files (a package's init, which runs
    // every file's initializers) gets whichever file pprof met first.
    // Such keys also match on lines alone.
    let mut by_lines: HashMap<(Vec<u32>, u64), Vec<Key>> = HashMap::new();
    for k in keys.keys() {
        by_lines
            .entry((k.0.iter().map(|p| p.1).collect(), k.1))
            .or_default()
            .push(k.clone());
    }
    let mut join = Join::default();
    // Exact keys first, so that loose matching only hands out what
    // no sample claimed exactly.
    let mut order: Vec<(usize, Key, bool)> = p
        .samples
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let key = (positions(&s.frames), s.object_size.unwrap_or(0));
            let exact = keys.contains_key(&key);
            (si, key, exact)
        })
        .collect();
    order.sort_by_key(|&(si, _, exact)| (!exact, si));
    let mut claimed: std::collections::HashSet<Key> = Default::default();
    for (si, mut key, exact) in order {
        let s = &p.samples[si];
        let shown = visible(&s.frames);
        if !exact {
            // The likeliest candidate: unclaimed, with the sample's
            // count, in the same file, at the nearest line.
            let (file, line) = key.0.first().cloned().unwrap_or_default();
            let recorded_count = |k: &Key| -> i64 {
                keys.get(k).map_or(0, |f| {
                    f.buckets
                        .iter()
                        .map(|&b| {
                            let b = &sites.buckets[b as usize];
                            b.allocs.saturating_sub(b.frees) as i64
                        })
                        .fold(0i64, i64::saturating_add)
                })
            };
            if let Some(found) = loose.get(&(without_leaf(&key.0), key.1)).and_then(|c| {
                c.iter().min_by_key(|k| {
                    let (f, l) = k.0.first().cloned().unwrap_or_default();
                    (
                        claimed.contains(*k),
                        recorded_count(k) != s.inuse_objects,
                        f != file,
                        l.abs_diff(line),
                    )
                })
            }) {
                key = found.clone();
            } else if let Some(found) = by_lines
                .get(&(key.0.iter().map(|p| p.1).collect(), key.1))
                .and_then(|c| c.iter().find(|k| !claimed.contains(*k)).or(c.first()))
            {
                key = found.clone();
            } else if key.0.iter().all(|(f, _)| is_runtime_file(f)) {
                // The runtime's own allocations: each side may have
                // cut a different number of leading frames.
                let suffix = |a: &Positions, b: &Positions| a.ends_with(b) || b.ends_with(a);
                if let Some(found) = keys
                    .keys()
                    .filter(|k| k.1 == key.1 && !claimed.contains(*k) && suffix(&k.0, &key.0))
                    .min()
                {
                    key = found.clone();
                }
            }
        }
        match keys.get_mut(&key) {
            Some(k) => {
                k.samples.push(si);
                claimed.insert(key.clone());
                if s.inuse_objects != 0 {
                    join.matched += 1;
                }
                join.names
                    .entry(key.clone())
                    .or_insert_with(|| shown.to_vec());
            }
            None => {
                if s.inuse_objects > 0 {
                    join.unmatched.0 += 1;
                    join.unmatched.1 = join.unmatched.1.saturating_add(s.inuse_bytes);
                }
                // A site the dump does not know: list it with the profile's figures.
                keys.insert(
                    key.clone(),
                    KeyFigures {
                        buckets: Vec::new(),
                        samples: vec![si],
                    },
                );
                join.names
                    .entry(key.clone())
                    .or_insert_with(|| shown.to_vec());
            }
        }
    }

    join
}
