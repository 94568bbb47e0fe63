//! What grew between snapshots of one program's heap: holders (as `top` names them), types
//! and allocation sites with their figures in every snapshot, and objects matched by address.
//!
//! Go's heap does not move objects, so within one process an object that survives keeps its
//! address: objects with the same address, size and type in two snapshots are the same object
//! (kept); the rest were freed or are new. Whether two snapshots come from one process is the
//! caller's to say: without it only holders, types and sites are compared.

mod matching;
mod rows;

pub use matching::{
    GrowthPoint, Matched, ObjectChanges, growth_point, match_objects, match_objects_both_ways,
};
pub use rows::{GrowthRow, all_rows};

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::graph::{Node, PSEUDO_ROOT};
use super::holder_docs::source_ref;
use super::retention::{Retention, type_label};
use super::why::RootRef;
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
    format!("goroutines {}", g.shared_description())
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
    /// The growth profile written (`-o`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileDoc>,
    pub warnings: Vec<String>,
}

/// The growth profile `diff -o` wrote: its samples' sums, positive
/// (`added`: new objects, or the newest dump's live ones) and negative.
#[derive(Debug, Serialize)]
pub struct ProfileDoc {
    pub output: String,
    /// Objects matched (one process): added are new, removed freed.
    pub matched: bool,
    pub added_bytes: u64,
    pub added_objects: u64,
    pub removed_bytes: u64,
    pub removed_objects: u64,
    pub bytes_change: i64,
    pub objects_change: i64,
}
