//! Objects of two snapshots of one process matched by address, size and type, and where a
//! holder's new objects attach in the newer heap.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{Figures, LiveObjects};
use crate::analysis::graph::Node;
use crate::analysis::report::Reporter;
use crate::analysis::why::{ObjectRef, StepDoc, object_ref};

/// Objects of two snapshots of one process, matched by address, size and type.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ObjectChanges {
    /// Live in both, at the same address with the same size and type.
    pub kept: Figures,
    /// Live in the older only.
    pub freed: Figures,
    /// Live in the newer only.
    pub new: Figures,
}

/// Matches the live objects of two snapshots (both sorted by address: one
/// merge); also flags, by the newer model's object id, which objects are new.
pub fn match_objects(old: &LiveObjects, new: &LiveObjects) -> (ObjectChanges, Vec<bool>) {
    let m = match_objects_both_ways(old, new);
    (m.changes, m.is_new)
}

/// Two snapshots' objects matched, with what is new and what was freed.
pub struct Matched {
    pub changes: ObjectChanges,
    /// By the newer model's object index.
    pub is_new: Vec<bool>,
    /// By the older model's object index.
    pub is_freed: Vec<bool>,
}

/// As `match_objects`, also flagging the older model's freed objects.
pub fn match_objects_both_ways(old: &LiveObjects, new: &LiveObjects) -> Matched {
    let mut changes = ObjectChanges::default();
    let mut is_new = vec![false; new.model_objects];
    let mut is_freed = vec![false; old.model_objects];
    let (a, b) = (&old.objects, &new.objects);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                if x == y {
                    changes.kept.add(y.1, 1);
                } else {
                    changes.freed.add(x.1, 1);
                    is_freed[old.ids[i].index()] = true;
                    changes.new.add(y.1, 1);
                    is_new[new.ids[j].index()] = true;
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                changes.freed.add(x.1, 1);
                is_freed[old.ids[i].index()] = true;
                i += 1;
            }
            (Some(x), None) => {
                changes.freed.add(x.1, 1);
                is_freed[old.ids[i].index()] = true;
                i += 1;
            }
            (_, Some(y)) => {
                changes.new.add(y.1, 1);
                is_new[new.ids[j].index()] = true;
                j += 1;
            }
            (None, None) => break,
        }
    }
    Matched {
        changes,
        is_new,
        is_freed,
    }
}

/// Where a holder's new objects attach: the deepest object of its dominator
/// subtree below which most of them lie.
#[derive(Debug, Serialize)]
pub struct GrowthPoint {
    pub object: ObjectRef,
    /// Whether the object itself is new (a reallocated table or array).
    pub object_is_new: bool,
    /// New objects below it (it included), and their bytes.
    pub new_bytes: u64,
    pub new_objects: u64,
    /// Objects directly below it that are new: the entries it gained.
    pub gained_children: u64,
    /// From a root of the holder to it.
    pub path: Vec<StepDoc>,
}

/// Where the new objects under `holder` attach: descends the dominator tree
/// while one child holds most of the new bytes below, and stops where they
/// spread out (or where a chain of one type begins, as a list grows at its head).
pub fn growth_point(
    reporter: &Reporter<'_, '_>,
    holder: u32,
    is_new: &[bool],
) -> Option<GrowthPoint> {
    let r = reporter.retention;
    let model = r.graph.model;
    let object_of = |n: u32| match r.graph.node(n) {
        Node::Object(o) => Some(o),
        _ => None,
    };
    let new_size = |n: u32| {
        object_of(n)
            .filter(|o| is_new.get(o.index()).copied().unwrap_or(false))
            .map_or(0, |o| model.objects.size(o))
    };
    // The subtree in preorder, then new bytes and objects summed bottom-up.
    let mut order = Vec::new();
    let mut stack = vec![holder];
    while let Some(n) = stack.pop() {
        order.push(n);
        stack.extend_from_slice(r.children.of(n));
    }
    let mut below: FxHashMap<u32, (u64, u64)> = FxHashMap::default();
    for &n in order.iter().rev() {
        let own = new_size(n);
        let mut sum = (own, u64::from(own > 0));
        for c in r.children.of(n) {
            if let Some(&(b, o)) = below.get(c) {
                sum.0 += b;
                sum.1 += o;
            }
        }
        if sum.0 > 0 {
            below.insert(n, sum);
        }
    }
    let new_below = |n: u32| below.get(&n).copied().unwrap_or((0, 0));
    if new_below(holder).0 == 0 {
        return None;
    }
    let type_of = |n: u32| object_of(n).map(|o| model.object_types[o.index()]);
    let mut v = holder;
    loop {
        let total = new_below(v).0;
        let Some(&biggest) = r.children.of(v).iter().max_by_key(|&&c| new_below(c).0) else {
            break;
        };
        if new_below(biggest).0 * 10 < total * 8 {
            break;
        }
        if type_of(v).is_some() && type_of(v) == type_of(biggest) {
            break;
        }
        v = biggest;
    }
    let obj = object_of(v)?;
    let (new_bytes, new_objects) = new_below(v);
    Some(GrowthPoint {
        object: object_ref(model, obj),
        object_is_new: new_size(v) > 0,
        new_bytes,
        new_objects,
        gained_children: r
            .children
            .of(v)
            .iter()
            .filter(|&&c| new_size(c) > 0)
            .count() as u64,
        path: reporter.path_to(holder, obj),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectId;

    fn live(objects: Vec<(u64, u64, u32)>) -> LiveObjects {
        let ids = (0..objects.len() as u32).map(ObjectId).collect();
        LiveObjects {
            model_objects: objects.len(),
            objects,
            ids,
        }
    }

    /// The merge against a search of each list for each object, on random
    /// heaps where addresses recur with the same or another size or type.
    #[test]
    fn the_merge_agrees_with_looking_each_object_up() {
        let mut random = crate::analysis::test_random();
        for _ in 0..200 {
            let mut heap = |n: u64| {
                let mut v: Vec<(u64, u64, u32)> = (0..n)
                    .map(|_| (random(40) * 16, 16 * (1 + random(2)), random(2) as u32))
                    .collect();
                v.sort_unstable_by_key(|o| o.0);
                v.dedup_by_key(|o| o.0);
                v
            };
            let (a, b) = (heap(20), heap(20));
            let Matched {
                changes,
                is_new,
                is_freed,
            } = match_objects_both_ways(&live(a.clone()), &live(b.clone()));
            let mut want = ObjectChanges::default();
            for (i, x) in a.iter().enumerate() {
                if !b.contains(x) {
                    want.freed.add(x.1, 1);
                }
                assert_eq!(is_freed[i], !b.contains(x), "{a:?} {b:?}");
            }
            for (i, y) in b.iter().enumerate() {
                if a.contains(y) {
                    want.kept.add(y.1, 1);
                } else {
                    want.new.add(y.1, 1);
                }
                assert_eq!(is_new[i], !a.contains(y), "{a:?} {b:?}");
            }
            assert_eq!(
                (changes.kept, changes.freed, changes.new),
                (want.kept, want.freed, want.new),
                "{a:?} {b:?}"
            );
        }
    }
}
