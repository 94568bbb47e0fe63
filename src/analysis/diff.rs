//! What grew between snapshots of one program's heap: holders (as `top` names them), types
//! and allocation sites with their figures in every snapshot, and objects matched by address.
//!
//! Go's heap does not move objects, so within one process an object that survives keeps its
//! address: objects with the same address, size and type in two snapshots are the same object
//! (kept); the rest were freed or are new. Whether two snapshots come from one process is the
//! caller's to say: without it only holders, types and sites are compared.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::graph::{Node, PSEUDO_ROOT};
use super::holder_docs::source_ref;
use super::report::Reporter;
use super::retention::{Retention, type_label};
use super::why::{ObjectRef, RootRef, StepDoc, object_ref};
use crate::model::{ObjectId, UNKNOWN_TYPE};

/// Bytes and objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub bytes: u64,
    pub objects: u64,
}

impl Figures {
    fn add(&mut self, bytes: u64, objects: u64) {
        self.bytes += bytes;
        self.objects += objects;
    }
}

/// Type names across snapshots as small numbers, so objects of two heaps
/// compare by type without comparing strings.
#[derive(Default)]
pub struct TypeInterner {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl TypeInterner {
    fn id(&mut self, name: String) -> u32 {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("?", String::as_str)
    }
}

/// One snapshot's live objects, by address: (address, size, interned type).
pub struct LiveObjects {
    objects: Vec<(u64, u64, u32)>,
    /// The object id of each entry (to flag the newer snapshot's new objects).
    ids: Vec<ObjectId>,
    /// Objects in the model, live or not.
    model_objects: usize,
}

/// A holder of one snapshot, under the name that finds it in the others.
pub struct HolderFigures {
    pub kind: &'static str,
    pub name: String,
    /// The root or goroutine group, as `top` names it.
    pub root: Option<RootRef>,
    pub figures: Figures,
    /// Its node in this snapshot's retention graph.
    pub node: u32,
}

/// A shared object that holds memory (no single root does), by address:
/// millions of them may hang from the pseudo-root, so they are not named
/// unless listed.
#[derive(Clone, Copy)]
pub struct ObjectHolder {
    pub addr: u64,
    /// Interned type name.
    pub type_id: u32,
    pub figures: Figures,
    pub node: u32,
}

/// What one snapshot contributes to a diff; its model may be dropped after.
pub struct Snapshot {
    pub live: Figures,
    /// Roots and goroutine groups (and shared objects by type, when not
    /// by address), by kind and name.
    pub holders: FxHashMap<String, HolderFigures>,
    /// Shared objects by address (snapshots of one process), by address.
    pub object_holders: Vec<ObjectHolder>,
    pub types: FxHashMap<String, Figures>,
    /// By source line ("file:line"), with the label to show ("func (file:line)").
    pub sites: FxHashMap<String, Figures>,
    pub site_labels: FxHashMap<String, String>,
    /// Live objects for matching (when the caller asked for them).
    pub objects: Option<LiveObjects>,
}

/// Reads one snapshot's figures. `by_address`: shared objects are holders
/// under their address (snapshots of one process), else grouped by type;
/// `list_objects`: also list live objects for matching. Type names are
/// interned in `types`, shared by the snapshots of a diff.
pub fn snapshot(
    r: &Retention<'_>,
    by_address: bool,
    list_objects: bool,
    types: &mut TypeInterner,
) -> Snapshot {
    let model = r.graph.model;
    let live_of = |id: ObjectId| r.doms.is_reachable(r.graph.object_node(id));
    // Interned ids by the model's type (a look-up per object: an array),
    // and for untyped objects, named by their size, by size.
    let mut typed: Vec<u32> = vec![u32::MAX; model.types.len()];
    let mut untyped: FxHashMap<u64, u32> = FxHashMap::default();
    let mut type_of = |o: ObjectId| {
        let t = model.object_types[o.index()];
        match typed.get_mut(t as usize) {
            Some(id) if *id != u32::MAX => *id,
            Some(id) => {
                *id = types.id(object_type(r, o));
                *id
            }
            None => *untyped
                .entry(model.objects.size(o))
                .or_insert_with(|| types.id(object_type(r, o))),
        }
    };
    let mut holders: FxHashMap<String, HolderFigures> = FxHashMap::default();
    let mut object_holders = Vec::new();
    let mut shared_by_type: FxHashMap<u32, (Figures, u32)> = FxHashMap::default();
    for &node in r.children.of(PSEUDO_ROOT) {
        let figures = Figures {
            bytes: r.doms.retained_bytes(node),
            objects: r.doms.retained_objects(node),
        };
        let (kind, name, root) = match r.graph.node(node) {
            Node::Root(_) => {
                let root = source_ref(r, node);
                let name = root.as_ref().map(root_key).unwrap_or_default();
                ("root", name, root)
            }
            // Alike goroutines are one holder whatever their number.
            Node::Group(g) => {
                let root = source_ref(r, node);
                ("goroutines", group_key(&r.groups[g]), root)
            }
            Node::Object(o) if by_address => {
                object_holders.push(ObjectHolder {
                    addr: model.objects.addr(o),
                    type_id: type_of(o),
                    figures,
                    node,
                });
                continue;
            }
            Node::Object(o) => {
                let entry = shared_by_type
                    .entry(type_of(o))
                    .or_insert((Figures::default(), node));
                entry.0.add(figures.bytes, figures.objects);
                continue;
            }
            Node::PseudoRoot => continue,
        };
        add_holder(&mut holders, kind, name, root, figures, node);
    }
    let mut live = Figures::default();
    // Per model type, the last slot for untyped objects.
    let unknown_slot = model.types.len();
    let mut type_figures = vec![Figures::default(); unknown_slot + 1];
    let mut objects = list_objects.then(Vec::new);
    let mut ids = Vec::new();
    for id in model.objects.ids().filter(|&id| live_of(id)) {
        let size = model.objects.size(id);
        live.add(size, 1);
        let t = model.object_types[id.index()];
        type_figures[(t as usize).min(unknown_slot)].add(size, 1);
        if let Some(list) = objects.as_mut() {
            list.push((model.objects.addr(id), size, type_of(id)));
            ids.push(id);
        }
    }
    drop(type_of);
    for (t, (figures, node)) in shared_by_type {
        let name = format!("shared {} objects", types.name(t));
        add_holder(&mut holders, "object", name, None, figures, node);
    }
    let mut types_by_name: FxHashMap<String, Figures> = FxHashMap::default();
    for (slot, f) in type_figures
        .into_iter()
        .enumerate()
        .filter(|(_, f)| f.objects > 0)
    {
        let t = if slot == unknown_slot {
            UNKNOWN_TYPE
        } else {
            slot as u32
        };
        let entry = types_by_name.entry(type_label(model, t)).or_default();
        entry.add(f.bytes, f.objects);
    }
    let mut sites: FxHashMap<String, Figures> = FxHashMap::default();
    let mut site_labels: FxHashMap<String, String> = FxHashMap::default();
    // A site is the innermost frame pprof shows (leading runtime frames
    // hidden), keyed by its source line: a heap dump names an inlined
    // call's frame after the function it is inlined into, a core after itself.
    let mut site_keys: FxHashMap<u32, String> = FxHashMap::default();
    for &(obj, bucket) in &model.sites.object_bucket {
        if !live_of(obj) {
            continue;
        }
        let key = site_keys.entry(bucket).or_insert_with(|| {
            let frame = model
                .sites
                .buckets
                .get(bucket as usize)
                .and_then(|b| b.stack.get(super::sites::first_visible(&b.stack)));
            let Some(frame) = frame else {
                return "?".into();
            };
            let key = match (&frame.file, frame.line) {
                (Some(file), Some(line)) => format!("{file}:{line}"),
                _ => frame.function.clone(),
            };
            site_labels.insert(key.clone(), frame.display());
            key
        });
        sites
            .entry(key.clone())
            .or_default()
            .add(model.objects.size(obj), 1);
    }
    Snapshot {
        live,
        holders,
        types: types_by_name,
        sites,
        site_labels,
        object_holders,
        objects: objects.map(|objects| LiveObjects {
            objects,
            ids,
            model_objects: model.objects.len(),
        }),
    }
}

fn add_holder(
    holders: &mut FxHashMap<String, HolderFigures>,
    kind: &'static str,
    name: String,
    root: Option<RootRef>,
    figures: Figures,
    node: u32,
) {
    let entry = holders
        .entry(format!("{kind}\0{name}"))
        .or_insert_with(|| HolderFigures {
            kind,
            name,
            root,
            figures: Figures::default(),
            node,
        });
    entry.figures.add(figures.bytes, figures.objects);
}

fn object_type(r: &Retention<'_>, o: ObjectId) -> String {
    let model = r.graph.model;
    let t = model.object_types[o.index()];
    if t == UNKNOWN_TYPE {
        crate::model::unknown_type_name(model.objects.size(o))
    } else {
        type_label(model, t)
    }
}

/// A root by kind, name and type: stable across snapshots (a stack root's
/// name carries its goroutine and frame).
fn root_key(r: &RootRef) -> String {
    let mut key = format!("{} {}", r.kind, r.name);
    if let Some(t) = &r.type_name {
        key.push_str(&format!(" ({t})"));
    }
    key
}

/// A goroutine group by what its goroutines share, without their number.
fn group_key(g: &super::retention::GoroutineGroup) -> String {
    let mut name = format!("goroutines [{}", g.state);
    if let Some(w) = &g.wait_reason {
        name.push_str(&format!(": {w}"));
    }
    name.push(']');
    if let Some(b) = &g.blocked_in {
        name.push_str(&format!(" in {b}"));
    }
    if let Some(c) = &g.created_by {
        name.push_str(&format!(", created by {c}"));
    }
    name
}

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
    let mut changes = ObjectChanges::default();
    let mut is_new = vec![false; new.model_objects];
    let (a, b) = (&old.objects, &new.objects);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                if x == y {
                    changes.kept.add(y.1, 1);
                } else {
                    changes.freed.add(x.1, 1);
                    changes.new.add(y.1, 1);
                    is_new[new.ids[j].index()] = true;
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                changes.freed.add(x.1, 1);
                i += 1;
            }
            (Some(x), None) => {
                changes.freed.add(x.1, 1);
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
    (changes, is_new)
}

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
                grows_every_step: bytes.len() > 1 && bytes.windows(2).all(|w| w[1] > w[0]),
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
            k > 1 && series.windows(2).all(|w| w[1].bytes > w[0].bytes),
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
                grows_every_step: k > 1 && series.windows(2).all(|w| w[1].bytes > w[0].bytes),
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

/// One input of a diff.
#[derive(Debug, Serialize)]
pub struct SnapshotDoc {
    /// The file it was read from.
    pub file: String,
    pub live_bytes: u64,
    pub live_objects: u64,
    /// The process that wrote it, when the input says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
}

/// `diff`: the snapshots, what changed between each two (when objects
/// could be matched), and growth by holder, type and site.
#[derive(Debug, Serialize)]
pub struct DiffDoc {
    pub snapshots: Vec<SnapshotDoc>,
    /// Whether objects were matched by address (snapshots of one process).
    pub objects_matched: bool,
    /// Per step (snapshot k to k+1), when matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectChanges>,
    pub holders: Vec<GrowthRow>,
    pub types: Vec<GrowthRow>,
    pub sites: Vec<GrowthRow>,
    pub warnings: Vec<String>,
}
