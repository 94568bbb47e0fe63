//! Ownership chains: each live object's chain of dominators from its holder
//! (a root, a goroutine group, or "shared"), each step named by the field
//! that points at it and its type, merged into a trie of frame ids.
//!
//! Every live object adds its shallow bytes (and one object) to exactly one
//! sample, keyed by (trie node, allocation site, type): the samples add up
//! to the live heap, and a node's subtree in the trie is what the dominator
//! tree says its objects retain. Chains are folded so that the trie stays
//! small on any heap:
//! - runtime containers (map storage and tables, a channel's buffer) get no
//!   frame: their bytes count for the map or channel, and the steps through
//!   them are named as `why` names them (`{…}` for any key);
//! - an array element index is folded (`[…]`), so a slice's elements share
//!   one frame;
//! - a frame already on the chain (a list's `.next main.node`, a tree's
//!   `.left`/`.right`) folds back into that frame: recursion does not grow
//!   the chain;
//! - past `MAX_DEPTH` frames (the holder's included) the remaining frames
//!   hang below one `Deeper` marker, each as its own child.
//!
//! Memory: one DFS level per dominator-tree depth, the trie (at most one
//! node per distinct folded chain) and the samples; nothing per object.

mod trie;

use rustc_hash::FxHashMap;

use super::dominators::DomChildren;
use super::graph::{Node, PSEUDO_ROOT};
use super::holder_docs::source_ref;
use super::labels::{EdgeLabel, edge_label, field_at, layout_of};
use super::retention::Retention;
use super::why::{RootRef, root_ref};
use crate::model::{HeapModel, ObjectId, TypeRole, UNKNOWN_TYPE, unknown_type_name};
use trie::Trie;

/// Frames of a chain (its holder's included) before the rest is folded
/// under a `Deeper` marker.
pub const MAX_DEPTH: u16 = 48;

const NONE: u32 = u32::MAX;
/// The trie's top: above every holder frame; it has no frame of its own.
const TOP: u32 = 0;
/// Edge text id of "" (a plain pointer, or no field to name).
const NO_EDGE: u32 = 0;
/// Edge text id of "…": the dominator reaches the object through others.
const INDIRECT: u32 = 1;

/// A step of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainFrame {
    /// A root or a group of alike goroutines: `Chains::holders[i]`.
    Holder(u32),
    /// A stack root below its goroutine group, `Chains::holders[i]` (named
    /// without its goroutine, so that alike goroutines' variables merge).
    GroupedRoot(u32),
    /// Objects that several holders reach and none keeps alive alone.
    Shared,
    /// An object: how its dominator points at it (`Chains::edges`) and its
    /// type (`Chains::types`).
    Object { edge: u32, type_name: u32 },
    /// Frames past `MAX_DEPTH`.
    Deeper,
}

/// One sample: objects with the same folded chain, site and type.
#[derive(Debug, Clone)]
pub struct ChainSample {
    /// The trie node of the chain's innermost frame.
    pub node: u32,
    /// `Chains::sites`, when the objects' allocation was sampled.
    pub site: Option<u32>,
    /// `Chains::types`.
    pub type_name: u32,
    pub objects: u64,
    pub bytes: u64,
}

/// Every live object's folded chain, as a trie with samples.
pub struct Chains {
    pub frames: Vec<ChainFrame>,
    pub holders: Vec<RootRef>,
    pub edges: Vec<String>,
    pub types: Vec<String>,
    pub sites: Vec<String>,
    /// Per trie node: (parent, frame); node 0 is the top (no frame).
    pub nodes: Vec<(u32, u32)>,
    pub samples: Vec<ChainSample>,
    pub live_bytes: u64,
    pub live_objects: u64,
}

impl Chains {
    /// The frames of a trie node's chain, innermost first (pprof's order).
    pub fn stack(&self, mut node: u32) -> Vec<u32> {
        let mut out = Vec::new();
        while node != TOP {
            let (parent, frame) = self.nodes[node as usize];
            out.push(frame);
            node = parent;
        }
        out
    }
}

/// Interns strings to dense ids.
#[derive(Default)]
struct Interner {
    ids: FxHashMap<String, u32>,
    list: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }
}

/// A level of the depth-first walk down the dominator tree.
struct Level {
    node: u32,
    /// The trie node this node's own bytes go to (and its children extend).
    trie: u32,
    /// Edge text the children's names start with (a channel buffer's).
    pending: u32,
    next_child: usize,
    /// Where this level's children's edge ids start in `Walk::child_edges`.
    edges_start: usize,
}

struct Walk<'r, 'm> {
    r: &'r Retention<'m>,
    model: &'m HeapModel,
    children: &'r DomChildren,
    frames: Vec<ChainFrame>,
    frame_ids: FxHashMap<ChainFrame, u32>,
    holders: Vec<RootRef>,
    holder_ids: FxHashMap<String, u32>,
    edges: Interner,
    types: Interner,
    sites: Interner,
    /// (type index or UNKNOWN_TYPE, size for unknown ones) → `types` id.
    type_ids: FxHashMap<(u32, u64), u32>,
    /// (type index of the pointing object, offset in its element) → edge id.
    edge_cache: FxHashMap<(u32, u64), u32>,
    /// Bucket index → `sites` id.
    bucket_sites: Vec<u32>,
    trie: Trie,
    samples: FxHashMap<(u32, u32, u32), (u64, u64)>,
    /// The edge ids of the children of every level on the stack.
    child_edges: Vec<u32>,
    /// Which objects count, by object index (all when absent).
    counted: Option<&'r [bool]>,
}

/// Builds the chains of every live object of `r`'s dominator tree.
pub fn ownership_chains(r: &Retention<'_>) -> Chains {
    chains_counting(r, None)
}

/// The chains of the live objects flagged in `counted` (by object index),
/// e.g. a diff's new objects: the others are walked but add to no sample.
pub fn ownership_chains_of(r: &Retention<'_>, counted: &[bool]) -> Chains {
    chains_counting(r, Some(counted))
}

fn chains_counting(r: &Retention<'_>, counted: Option<&[bool]>) -> Chains {
    let model = r.graph.model;
    let mut edges = Interner::default();
    edges.id("");
    edges.id("…");
    let mut sites = Interner::default();
    let bucket_sites = model
        .sites
        .buckets
        .iter()
        .map(|b| match super::sites::visible(&b.stack).first() {
            Some(f) => sites.id(&f.display()),
            None => NONE,
        })
        .collect();
    let mut walk = Walk {
        r,
        model,
        children: &r.children,
        frames: Vec::new(),
        frame_ids: FxHashMap::default(),
        holders: Vec::new(),
        holder_ids: FxHashMap::default(),
        edges,
        types: Interner::default(),
        sites,
        type_ids: FxHashMap::default(),
        edge_cache: FxHashMap::default(),
        bucket_sites,
        trie: Trie::new(),
        samples: FxHashMap::default(),
        child_edges: Vec::new(),
        counted,
    };
    walk.run();
    let mut samples: Vec<ChainSample> = walk
        .samples
        .into_iter()
        .map(|((node, site, type_name), (objects, bytes))| ChainSample {
            node,
            site: (site != NONE).then_some(site),
            type_name,
            objects,
            bytes,
        })
        .collect();
    // A stable order: the same heap gives the same file.
    samples.sort_by_key(|s| (s.node, s.site, s.type_name));
    Chains {
        frames: walk.frames,
        holders: walk.holders,
        edges: walk.edges.list,
        types: walk.types.list,
        sites: walk.sites.list,
        nodes: walk.trie.nodes,
        samples,
        live_bytes: r.live_bytes,
        live_objects: r.live_objects,
    }
}

impl Walk<'_, '_> {
    fn run(&mut self) {
        let mut stack = vec![Level {
            node: PSEUDO_ROOT,
            trie: TOP,
            pending: NO_EDGE,
            next_child: 0,
            edges_start: 0,
        }];
        let children = self.children;
        while let Some(top) = stack.last_mut() {
            let kids = children.of(top.node);
            let Some(&child) = kids.get(top.next_child) else {
                self.child_edges.truncate(top.edges_start);
                stack.pop();
                continue;
            };
            let edge = self
                .child_edges
                .get(top.edges_start + top.next_child)
                .copied()
                .unwrap_or(INDIRECT);
            top.next_child += 1;
            let (parent, parent_trie, pending) = (top.node, top.trie, top.pending);
            let level = self.enter(parent, parent_trie, pending, edge, child);
            stack.push(level);
        }
    }

    /// The level of `child`, whose dominator `parent` reaches it by `edge`;
    /// its own bytes are counted here.
    fn enter(
        &mut self,
        parent: u32,
        parent_trie: u32,
        pending: u32,
        edge: u32,
        child: u32,
    ) -> Level {
        let edges_start = self.child_edges.len();
        let mut level = Level {
            node: child,
            trie: parent_trie,
            pending: NO_EDGE,
            next_child: 0,
            edges_start,
        };
        match self.r.graph.node(child) {
            Node::PseudoRoot => {}
            Node::Group(_) => {
                let h = self.holder(source_ref(self.r, child));
                level.trie = self.extend(TOP, ChainFrame::Holder(h));
            }
            Node::Root(i) => {
                let mut doc = root_ref(&self.model.roots.roots[i]);
                let frame = if parent == PSEUDO_ROOT {
                    ChainFrame::Holder(self.holder(Some(doc)))
                } else {
                    // Alike goroutines' variables merge: no goroutine id.
                    doc.goroutine = None;
                    if let Some(rest) = doc.name.strip_prefix("goroutine ") {
                        doc.name = rest.split_once(' ').map_or("", |(_, r)| r).to_string();
                    }
                    ChainFrame::GroupedRoot(self.holder(Some(doc)))
                };
                level.trie = self.extend(parent_trie, frame);
                self.root_child_edges(i, child);
            }
            Node::Object(id) => {
                let mut trie = parent_trie;
                let mut edge = edge;
                match self.r.graph.node(parent) {
                    Node::PseudoRoot => {
                        trie = self.extend(TOP, ChainFrame::Shared);
                        edge = NO_EDGE;
                    }
                    Node::Group(_) => edge = NO_EDGE,
                    _ => {}
                }
                let edge = if pending == NO_EDGE {
                    edge
                } else {
                    let text = format!(
                        "{}{}",
                        self.edges.list[pending as usize], self.edges.list[edge as usize]
                    );
                    self.edges.id(&text)
                };
                let type_name = self.type_id(id);
                match self.folding(id, edge) {
                    Fold::Frame => {
                        trie = self.extend(trie, ChainFrame::Object { edge, type_name });
                    }
                    Fold::Into(p) => level.pending = p,
                }
                level.trie = trie;
                self.count(trie, id, type_name);
                if !self.children.of(child).is_empty() {
                    self.object_child_edges(id, child);
                }
            }
        }
        level
    }

    fn holder(&mut self, doc: Option<RootRef>) -> u32 {
        let doc = doc.unwrap_or_else(|| RootRef {
            kind: "other",
            name: "?".into(),
            type_name: None,
            function: None,
            goroutine: None,
            variable: None,
            file: None,
            line: None,
        });
        // Holders are interned by what names them.
        let key = serde_json::to_string(&doc).unwrap_or_default();
        if let Some(&h) = self.holder_ids.get(&key) {
            return h;
        }
        self.holders.push(doc);
        let h = (self.holders.len() - 1) as u32;
        self.holder_ids.insert(key, h);
        h
    }

    /// Whether an object gets a frame, or its bytes count for the frame of
    /// its dominator (runtime containers) with the text its children's
    /// names start with.
    fn folding(&mut self, id: ObjectId, edge: u32) -> Fold {
        if self.edges.list[edge as usize].ends_with("<chan buffer>") {
            return Fold::Into(edge);
        }
        match layout_of(self.model, id).map(|l| &l.role) {
            Some(TypeRole::MapEntries(_) | TypeRole::MapInternal) => Fold::Into(NO_EDGE),
            _ => Fold::Frame,
        }
    }

    fn type_id(&mut self, id: ObjectId) -> u32 {
        let t = self
            .model
            .object_types
            .get(id.index())
            .copied()
            .unwrap_or(UNKNOWN_TYPE);
        let key = if t == UNKNOWN_TYPE || self.model.types.name(t).is_none() {
            (UNKNOWN_TYPE, self.model.objects.size(id))
        } else {
            (t, 0)
        };
        if let Some(&i) = self.type_ids.get(&key) {
            return i;
        }
        let name = match self.model.types.name(key.0) {
            Some(n) => n.to_string(),
            None => unknown_type_name(key.1),
        };
        let i = self.types.id(&name);
        self.type_ids.insert(key, i);
        i
    }

    fn count(&mut self, trie: u32, id: ObjectId, type_name: u32) {
        if let Some(counted) = self.counted {
            if !counted.get(id.index()).copied().unwrap_or(false) {
                return;
            }
        }
        let site = if self.model.sites.is_empty() {
            NONE
        } else {
            let ob = &self.model.sites.object_bucket;
            let at = ob.partition_point(|&(o, _)| o < id);
            match ob.get(at) {
                Some(&(o, b)) if o == id => {
                    self.bucket_sites.get(b as usize).copied().unwrap_or(NONE)
                }
                _ => NONE,
            }
        };
        let e = self.samples.entry((trie, site, type_name)).or_default();
        e.0 += 1;
        e.1 += self.model.objects.size(id);
    }

    /// Edge ids of a root's dominator-tree children: the field of the
    /// global or variable that points at each.
    fn root_child_edges(&mut self, root: usize, node: u32) {
        let kids = self.children.of(node);
        let start = self.child_edges.len();
        self.child_edges.resize(start + kids.len(), NONE);
        let r = &self.model.roots.roots[root];
        let layout = r.type_index.and_then(|t| self.model.types.layout(t));
        for &(target, offset) in &r.targets {
            let n = self.r.graph.object_node(target);
            if let Ok(k) = kids.binary_search(&n)
                && self.child_edges[start + k] == NONE
            {
                let text = layout.map(|l| fold_index(&field_at(l, offset), l.count));
                self.child_edges[start + k] = match text {
                    Some(t) => self.edges.id(&t),
                    None => NO_EDGE,
                };
            }
        }
        self.fill_indirect(start);
    }

    /// Edge ids of an object's dominator-tree children.
    fn object_child_edges(&mut self, id: ObjectId, node: u32) {
        let kids = self.children.of(node);
        let start = self.child_edges.len();
        self.child_edges.resize(start + kids.len(), NONE);
        let model = self.model;
        let edges = &model.edges;
        for (&target, &offset) in edges.targets(id).iter().zip(edges.offsets(id)) {
            let n = self.r.graph.object_node(target);
            if let Ok(k) = kids.binary_search(&n)
                && self.child_edges[start + k] == NONE
            {
                self.child_edges[start + k] = self.edge_id(id, u64::from(offset));
            }
        }
        self.fill_indirect(start);
    }

    fn fill_indirect(&mut self, start: usize) {
        for e in &mut self.child_edges[start..] {
            if *e == NONE {
                *e = INDIRECT;
            }
        }
    }

    /// The folded name of the pointer at `offset` in `from`: the field,
    /// `[…]` for the element index, `{…}` for any map key; nothing for
    /// untyped objects (an offset alone would split alike chains).
    fn edge_id(&mut self, from: ObjectId, offset: u64) -> u32 {
        let Some(layout) = layout_of(self.model, from) else {
            return NO_EDGE;
        };
        let t = self.model.object_types[from.index()];
        let within = if layout.elem_size > 0 {
            offset % layout.elem_size
        } else {
            offset
        };
        if let Some(&e) = self.edge_cache.get(&(t, within)) {
            return e;
        }
        let text = match edge_label(self.model, None, from, offset) {
            EdgeLabel::Field(f) => fold_index(&f, layout.count),
            EdgeLabel::MapValue { rest, .. } => format!("{{…}}{rest}"),
            EdgeLabel::MapKey { .. } => "<key>{…}".to_string(),
            EdgeLabel::ChanBuffer => "<chan buffer>".to_string(),
        };
        let e = self.edges.id(&text);
        self.edge_cache.insert((t, within), e);
        e
    }

    /// The trie node for `frame` below `t` (see `Trie::extend`).
    fn extend(&mut self, t: u32, frame: ChainFrame) -> u32 {
        let f = self.frame_id(frame);
        let deeper = self.frame_id(ChainFrame::Deeper);
        self.trie.extend(t, f, deeper)
    }

    fn frame_id(&mut self, frame: ChainFrame) -> u32 {
        if let Some(&i) = self.frame_ids.get(&frame) {
            return i;
        }
        let i = self.frames.len() as u32;
        self.frames.push(frame);
        self.frame_ids.insert(frame, i);
        i
    }
}

enum Fold {
    Frame,
    /// No frame; the children's edge names start with this edge text.
    Into(u32),
}

/// `field_at`'s path with the element index folded: "[3].next" → "[…].next".
fn fold_index(path: &str, count: u64) -> String {
    if count > 1
        && let Some(rest) = path.strip_prefix('[')
        && let Some(close) = rest.find(']')
    {
        return format!("[…]{}", &rest[close + 1..]);
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::fold_index;

    #[test]
    fn element_indices_fold() {
        assert_eq!(fold_index("[3].next", 8), "[…].next");
        assert_eq!(fold_index("[12]", 100), "[…]");
        assert_eq!(fold_index(".b[2]", 1), ".b[2]");
        assert_eq!(fold_index(".next", 1), ".next");
    }
}
