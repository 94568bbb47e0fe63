//! The retention reports as plain data: top retainers, leak suspects,
//! retained bytes per type, goroutine groups, and the batch report that
//! gathers them.

use serde::Serialize;

use super::graph::Node;
use super::histogram::HistogramRow;
use super::paths::ShortestTree;
use super::retention::{GoroutineGroup, Retainer, Retention, TopBy, TypeShare, type_label};
use super::summary::HeapTotals;
use super::why::{ObjectRef, RootRef, StepDoc, object_ref, path_doc, root_ref};
use crate::model::{Goroutine, HeapModel, Memory, ObjectId};
use crate::overview::Overview;

#[derive(Debug, Serialize)]
pub struct RetainerDoc {
    pub root: RootRef,
    pub retained_bytes: u64,
    pub retained_objects: u64,
    /// Bytes of the objects the root points at directly.
    pub shallow_bytes: u64,
    pub top_types: Vec<TypeShare>,
    /// Where inside it the memory accumulates, and how to get there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accumulation: Option<Accumulation>,
}

#[derive(Debug, Serialize)]
pub struct Accumulation {
    pub object: ObjectRef,
    pub retained_bytes: u64,
    /// Objects it directly dominates (where the memory spreads out).
    pub children: u64,
    pub path: Vec<StepDoc>,
}

#[derive(Debug, Serialize)]
pub struct TopDoc {
    pub live_bytes: u64,
    pub live_objects: u64,
    /// The largest holders of any kind, and the rest: together the live heap.
    #[serde(flatten)]
    pub holders: super::holder_docs::HoldersDoc,
    /// Roots and goroutine groups only, by what each retains alone.
    pub retainers: Vec<RetainerDoc>,
}

#[derive(Debug, Serialize)]
pub struct TypeRetainedRow {
    #[serde(rename = "type")]
    pub type_name: String,
    pub retained_bytes: u64,
    pub retained_objects: u64,
}

#[derive(Debug, Serialize)]
pub struct TopTypesDoc {
    pub live_bytes: u64,
    pub types: Vec<TypeRetainedRow>,
}

/// What holds a suspect's memory: a root, or an object shared by several roots.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holder {
    Root {
        root: RootRef,
    },
    Object {
        object: ObjectRef,
    },
    /// Alike goroutines (named like a root: "16 goroutines [...] in ...").
    Goroutines {
        group: RootRef,
    },
}

#[derive(Debug, Serialize)]
pub struct SuspectDoc {
    pub holder: Holder,
    pub retained_bytes: u64,
    pub retained_objects: u64,
    /// Share of the live heap.
    pub share: f64,
    /// Where the memory accumulates (absent when it is spread over the
    /// holder's own roots, as with a group of goroutines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accumulation: Option<Accumulation>,
    pub top_types: Vec<TypeShare>,
}

#[derive(Debug, Serialize)]
pub struct HistogramRetainedRow {
    #[serde(flatten)]
    pub row: HistogramRow,
    pub retained_bytes: u64,
}

/// A group of goroutines, named as a root: "1000 goroutines [waiting: chan
/// receive] in main.worker (worker.go:37)".
pub(crate) fn group_ref(g: &GoroutineGroup) -> RootRef {
    let name = format!("{} goroutines {}", g.count, g.shared_description());
    RootRef {
        kind: "goroutines",
        name,
        type_name: None,
        function: None,
        goroutine: None,
        variable: None,
        file: None,
        line: None,
    }
}

pub struct Reporter<'a, 'm> {
    pub retention: &'a Retention<'m>,
    pub memory: Option<&'a dyn Memory>,
    /// Paths are shown over the plain graph (roots directly under the pseudo-root).
    pub(crate) plain: super::graph::Graph<'m>,
    /// The shortest-path tree of the whole heap, built when first needed.
    tree: std::cell::OnceCell<ShortestTree>,
    /// The graph between the dominator tree's top-level nodes, likewise.
    holder_graph: std::cell::OnceCell<super::holders::HolderGraph>,
    /// Types of a node's dominator subtree (a walk of the subtree), by node:
    /// `top` lists some nodes both as holders and as retainers.
    subtree_types: std::cell::RefCell<std::collections::HashMap<u32, Vec<TypeShare>>>,
}

/// Nodes a search from one root may visit before the whole heap's
/// shortest-path tree is built instead.
pub(crate) const ROOT_SEARCH_LIMIT: usize = 1 << 20;

impl<'a, 'm> Reporter<'a, 'm> {
    pub fn new(retention: &'a Retention<'m>, memory: Option<&'a dyn Memory>) -> Self {
        let plain = super::graph::Graph::new(retention.graph.model);
        Reporter {
            retention,
            memory,
            plain,
            tree: std::cell::OnceCell::new(),
            holder_graph: std::cell::OnceCell::new(),
            subtree_types: Default::default(),
        }
    }

    pub(crate) fn tree(&self) -> &ShortestTree {
        self.tree.get_or_init(|| {
            let mut phases = crate::timing::Phases::new();
            let tree = ShortestTree::compute(&self.plain);
            phases.done("shortest-path tree");
            tree
        })
    }

    pub(crate) fn holder_graph(&self) -> &super::holders::HolderGraph {
        self.holder_graph
            .get_or_init(|| super::holders::HolderGraph::build(self.retention))
    }

    /// The five largest types of a node's dominator subtree.
    pub(crate) fn subtree_types(&self, node: u32) -> Vec<TypeShare> {
        let known = self.subtree_types.borrow().get(&node).cloned();
        known.unwrap_or_else(|| {
            let types = self.retention.subtree_types(node, 5);
            self.subtree_types.borrow_mut().insert(node, types.clone());
            types
        })
    }

    pub(crate) fn model(&self) -> &'m HeapModel {
        self.retention.graph.model
    }

    /// The shortest path from any root to `obj`, which `holder` (a node of
    /// the retention graph) dominates: when the holder is a root, a search
    /// from it alone usually finds it long before a search of the heap would.
    pub(crate) fn path_to(&self, holder: u32, obj: ObjectId) -> Vec<StepDoc> {
        let model = self.model();
        let from_root = match self.retention.graph.node(holder) {
            Node::Root(i) => ShortestTree::path_from_root(&self.plain, i, obj, ROOT_SEARCH_LIMIT),
            _ => None,
        };
        from_root
            .unwrap_or_else(|| self.tree().path(&self.plain, obj))
            .map(|p| path_doc(model, self.memory, &p, false).steps)
            .unwrap_or_default()
    }

    pub(crate) fn accumulation(&self, node: u32) -> Option<Accumulation> {
        self.accumulation_with(node, |obj| self.path_to(node, obj))
    }

    /// Where `node`'s memory accumulates, with the path there that `path` finds.
    pub(crate) fn accumulation_with(
        &self,
        node: u32,
        path: impl FnOnce(ObjectId) -> Vec<StepDoc>,
    ) -> Option<Accumulation> {
        let r = self.retention;
        let acc = r.accumulation_point(node);
        let Node::Object(obj) = r.graph.node(acc) else {
            return None;
        };
        Some(Accumulation {
            object: object_ref(self.model(), obj),
            retained_bytes: r.doms.retained_bytes(acc),
            children: r.children.of(acc).len() as u64,
            path: path(obj),
        })
    }

    pub fn top(&self, n: usize, by: TopBy) -> TopDoc {
        let r = self.retention;
        let model = self.model();
        let retainers = r
            .top_retainers(by)
            .into_iter()
            .map(|who| match who {
                Retainer::Root(i) => {
                    let root = &model.roots.roots[i];
                    let shallow = root
                        .targets
                        .iter()
                        .map(|&(t, _)| model.objects.size(t))
                        .sum();
                    (r.graph.root_node(i), root_ref(root), shallow)
                }
                Retainer::Group(g) => (
                    r.graph.group_node(g),
                    group_ref(&r.groups[g]),
                    r.group_shallow_bytes(g),
                ),
            })
            .filter(|&(node, _, _)| r.doms.retained_bytes(node) > 0)
            .take(n)
            .map(|(node, root, shallow_bytes)| RetainerDoc {
                root,
                retained_bytes: r.doms.retained_bytes(node),
                retained_objects: r.doms.retained_objects(node),
                shallow_bytes,
                top_types: self.subtree_types(node),
                accumulation: self.accumulation(node),
            })
            .collect();
        TopDoc {
            live_bytes: r.live_bytes,
            live_objects: r.live_objects,
            holders: self.holders(n, by),
            retainers,
        }
    }

    pub fn top_types(&self, n: usize) -> TopTypesDoc {
        let model = self.model();
        let mut types: Vec<TypeRetainedRow> = self
            .retention
            .retained_by_type()
            .into_iter()
            .map(|(t, (bytes, objects))| TypeRetainedRow {
                type_name: type_label(model, t),
                retained_bytes: bytes,
                retained_objects: objects,
            })
            .collect();
        types.sort_by(|a, b| {
            b.retained_bytes
                .cmp(&a.retained_bytes)
                .then(a.type_name.cmp(&b.type_name))
        });
        types.truncate(n);
        TopTypesDoc {
            live_bytes: self.retention.live_bytes,
            types,
        }
    }

    pub fn suspects(&self, threshold: f64) -> Vec<SuspectDoc> {
        let r = self.retention;
        let model = self.model();
        r.suspects(threshold)
            .into_iter()
            .filter_map(|s| {
                let holder = match r.graph.node(s.node) {
                    Node::Root(i) => Holder::Root {
                        root: root_ref(&model.roots.roots[i]),
                    },
                    Node::Object(o) => Holder::Object {
                        object: object_ref(model, o),
                    },
                    Node::Group(g) => Holder::Goroutines {
                        group: group_ref(&r.groups[g]),
                    },
                    _ => return None,
                };
                Some(SuspectDoc {
                    holder,
                    retained_bytes: s.retained_bytes,
                    retained_objects: s.retained_objects,
                    share: if r.live_bytes > 0 {
                        s.retained_bytes as f64 / r.live_bytes as f64
                    } else {
                        0.0
                    },
                    accumulation: self.accumulation(s.node),
                    top_types: r.subtree_types(s.accumulation, 5),
                })
            })
            .collect()
    }

    /// The goroutine groups, largest first; the first `joint` of them with
    /// what they hold jointly and with whom.
    pub fn goroutine_groups(&self, joint: usize) -> Vec<GoroutineGroup> {
        let mut order: Vec<usize> = (0..self.retention.groups.len()).collect();
        let groups = &self.retention.groups;
        order.sort_by(|&a, &b| {
            groups[b]
                .retained_bytes
                .cmp(&groups[a].retained_bytes)
                .then(groups[b].count.cmp(&groups[a].count))
        });
        order
            .into_iter()
            .enumerate()
            .map(|(k, g)| {
                let mut group = groups[g].clone();
                if k < joint {
                    group.joint = self.group_joint(g);
                }
                group
            })
            .collect()
    }

    /// The histogram with what each type retains.
    pub fn histogram(&self, rows: Vec<HistogramRow>) -> Vec<HistogramRetainedRow> {
        let model = self.model();
        let (by_type, unknown_sizes) = self.retention.retained_by_type_and_size();
        let by_name: std::collections::HashMap<String, u64> = by_type
            .into_iter()
            .map(|(t, (bytes, _))| (type_label(model, t), bytes))
            .collect();
        rows.into_iter()
            .map(|row| {
                // Untyped rows are one per size: "unknown (N bytes)".
                let retained = match crate::model::parse_unknown_type_name(&row.type_name) {
                    Some(size) => unknown_sizes.get(&size).map(|&(bytes, _)| bytes),
                    None => by_name.get(&row.type_name).copied(),
                };
                HistogramRetainedRow {
                    retained_bytes: retained.unwrap_or(0),
                    row,
                }
            })
            .collect()
    }
}

#[derive(Serialize)]
pub struct HistogramDoc {
    pub totals: HeapTotals,
    pub types: Vec<HistogramRetainedRow>,
}

#[derive(Serialize)]
pub struct GoroutinesDoc<'a> {
    pub groups: Vec<GoroutineGroup>,
    pub goroutines: &'a [Goroutine],
}

#[derive(Serialize)]
pub struct ReportDoc {
    pub overview: Overview,
    /// With a heap profile: the top allocation sites and who holds them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sites: Option<super::sites::SitesDoc>,
    pub leak_suspects: Vec<SuspectDoc>,
    /// The largest holders of any kind, and the rest (as in `top`).
    #[serde(flatten)]
    pub holders: super::holder_docs::HoldersDoc,
    pub retainers: Vec<RetainerDoc>,
    pub histogram: Vec<HistogramRetainedRow>,
    pub goroutine_groups: Vec<GoroutineGroup>,
}
