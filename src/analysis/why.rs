//! Explanations of retention as plain data: a target object, the roots that
//! keep it and the steps in between (rendered by `output`).

use serde::Serialize;

use crate::analysis::graph::Graph;
use crate::analysis::owners::Ranking;
use crate::analysis::paths::{Exclusions, RetentionPath, ShortestTree, paths_to, steps};
use crate::model::{HeapModel, Memory, ObjectId, Root, RootKind, StackRootKind};

#[derive(Debug, Serialize)]
pub struct ObjectRef {
    pub address: String,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RootRef {
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goroutine: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct StepDoc {
    pub address: String,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub size: u64,
    pub edge: String,
}

#[derive(Debug, Serialize)]
pub struct PathDoc {
    pub root: RootRef,
    pub steps: Vec<StepDoc>,
}

#[derive(Debug, Serialize)]
pub struct WhyDoc {
    pub target: ObjectRef,
    pub reachable: bool,
    pub paths: Vec<PathDoc>,
    /// Why "unreachable" may be wrong: holders this dump cannot show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
}

/// `why` for every object of a type: how many each root keeps, with one path.
#[derive(Debug, Serialize)]
pub struct TypeWhyDoc {
    #[serde(rename = "type")]
    pub type_name: String,
    pub objects: u64,
    pub bytes: u64,
    pub unreachable_objects: u64,
    pub roots: Vec<MergedRoot>,
}

#[derive(Debug, Serialize)]
pub struct MergedRoot {
    pub root: RootRef,
    pub objects: u64,
    pub bytes: u64,
    pub example: Vec<StepDoc>,
}

pub fn object_ref(model: &HeapModel, id: ObjectId) -> ObjectRef {
    ObjectRef {
        address: format!("{:#x}", model.objects.addr(id)),
        type_name: model.type_name(id).map(str::to_string),
        size: model.objects.size(id),
    }
}

pub fn root_ref(root: &Root) -> RootRef {
    let kind = match (root.kind, root.frame.as_ref().map(|f| f.what)) {
        (RootKind::Global, _) => "global",
        (RootKind::Stack, Some(StackRootKind::Defer)) => "defer",
        (RootKind::Stack, Some(StackRootKind::Panic)) => "panic",
        (RootKind::Stack, _) => "stack",
        (RootKind::Finalizer, _) => "finalizer",
        (RootKind::Cleanup, _) => "cleanup",
        (RootKind::QueuedFinalizer, _) => "queued_finalizer",
        (RootKind::Other, _) => "other",
    };
    let frame = root.frame.as_ref();
    RootRef {
        kind,
        name: root.name.clone(),
        type_name: root.type_name.clone(),
        function: frame.map(|f| f.function.clone()).filter(|f| !f.is_empty()),
        goroutine: frame.map(|f| f.goroutine),
        variable: frame.and_then(|f| f.variable.clone()),
        file: frame.and_then(|f| f.file.clone()),
        line: frame.and_then(|f| f.line),
    }
}

pub fn path_doc(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    path: &RetentionPath,
    raw: bool,
) -> PathDoc {
    PathDoc {
        root: root_ref(&model.roots.roots[path.root]),
        steps: steps(model, memory, path, raw)
            .into_iter()
            .map(|s| {
                let o = object_ref(model, s.object);
                StepDoc {
                    address: o.address,
                    type_name: o.type_name,
                    size: o.size,
                    edge: s.edge,
                }
            })
            .collect(),
    }
}

/// Why `target` is alive: up to `max_paths` paths through distinct roots,
/// ranked by `ranking`.
pub fn explain_object(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    target: ObjectId,
    max_paths: usize,
    exclusions: &Exclusions,
    raw: bool,
    ranking: Ranking,
) -> WhyDoc {
    let paths = retention_paths(model, target, max_paths, exclusions, ranking);
    explain_paths(model, memory, target, &paths, raw)
}

/// Up to `max_paths` paths from distinct roots to `target`, owners first or
/// strictly shortest; needs object types only when `exclusions` name some.
pub fn retention_paths(
    model: &HeapModel,
    target: ObjectId,
    max_paths: usize,
    exclusions: &Exclusions,
    ranking: Ranking,
) -> Vec<RetentionPath> {
    let mut phases = crate::timing::Phases::new();
    let graph = Graph::new(model);
    let reverse = graph.reverse();
    phases.done("why: reverse graph");
    let paths = paths_to(
        &graph,
        &reverse,
        target,
        max_paths.max(1),
        exclusions,
        ranking,
    );
    phases.done("why: breadth-first search from the target");
    paths
}

/// The objects an answer over `paths` shows or names: the target, every
/// hop, and each path root's first referent (an unnamed global is labelled
/// by its type). Sorted, without repeats.
pub fn objects_shown(
    model: &HeapModel,
    target: ObjectId,
    paths: &[RetentionPath],
) -> Vec<ObjectId> {
    let mut ids = vec![target];
    for p in paths {
        ids.extend(p.hops.iter().map(|h| h.object));
        ids.extend(model.roots.roots[p.root].targets.first().map(|&(t, _)| t));
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The answer for `target` from paths found already (none: garbage).
pub fn explain_paths(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    target: ObjectId,
    paths: &[RetentionPath],
    raw: bool,
) -> WhyDoc {
    WhyDoc {
        target: object_ref(model, target),
        reachable: !paths.is_empty(),
        caveat: model
            .unseen_holders
            .filter(|_| paths.is_empty())
            .map(|u| format!("it does not record {u}: one may hold it (a core would show it)")),
        paths: paths
            .iter()
            .map(|p| path_doc(model, memory, p, raw))
            .collect(),
    }
}

/// Objects merged by the root whose shortest path reaches them.
pub struct Merged {
    pub objects: u64,
    pub bytes: u64,
    pub unreachable_objects: u64,
    /// Largest first, each with one example path.
    pub roots: Vec<MergedRoot>,
}

/// Merged shortest paths (MAT's "merge shortest paths") of `ids`, with roots
/// gathered under holders (`holder` of a root index; `name` of a holder), the
/// largest `limit` listed: the merged figures, and how many holders were left out.
#[allow(clippy::too_many_arguments)]
pub fn merge_roots<K: Ord + Copy>(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    graph: &Graph<'_>,
    tree: &ShortestTree,
    ids: impl IntoIterator<Item = ObjectId>,
    raw: bool,
    holder: impl Fn(usize) -> K,
    name: impl Fn(K) -> RootRef,
    limit: usize,
) -> (Merged, usize) {
    let mut by_holder: std::collections::BTreeMap<K, (u64, u64, ObjectId)> = Default::default();
    let (mut objects, mut bytes, mut unreachable) = (0, 0, 0);
    for id in ids {
        objects += 1;
        bytes += model.objects.size(id);
        match tree.root_of(graph, id) {
            Some(r) => {
                let e = by_holder.entry(holder(r)).or_insert((0, 0, id));
                e.0 += 1;
                e.1 += model.objects.size(id);
            }
            None => unreachable += 1,
        }
    }
    let mut held: Vec<(K, (u64, u64, ObjectId))> = by_holder.into_iter().collect();
    held.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(b.1.0.cmp(&a.1.0)));
    let left_out = held.len().saturating_sub(limit);
    let roots = held
        .into_iter()
        .take(limit)
        .map(|(k, (n, b, example))| MergedRoot {
            root: name(k),
            objects: n,
            bytes: b,
            example: tree
                .path(graph, example)
                .map(|p| path_doc(model, memory, &p, raw).steps)
                .unwrap_or_default(),
        })
        .collect();
    (
        Merged {
            objects,
            bytes,
            unreachable_objects: unreachable,
            roots,
        },
        left_out,
    )
}

/// Why objects of type `t` are alive: merged paths (each object's from its
/// best holder, or its shortest), grouped by root.
pub fn explain_type(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    t: u32,
    raw: bool,
    ranking: Ranking,
) -> TypeWhyDoc {
    let name = model.types.name(t).unwrap_or("?");
    explain_objects_of(
        model,
        memory,
        name,
        |id| model.object_types[id.index()] == t,
        raw,
        ranking,
    )
}

/// `explain_type` for the objects `pick` chooses, reported under `name`
/// (the histogram's "unknown (N bytes)" rows name untyped objects by size).
pub fn explain_objects_of(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    name: &str,
    pick: impl Fn(ObjectId) -> bool,
    raw: bool,
    ranking: Ranking,
) -> TypeWhyDoc {
    let graph = Graph::new(model);
    let tree = ShortestTree::compute_ranked(&graph, ranking);
    let ids = model.objects.ids().filter(|&id| pick(id));
    // Alike goroutines hold together, as in `top`.
    let holders = super::root_holders::RootHolders::new(model);
    let merged = holders.merge(model, memory, &graph, &tree, ids, raw);
    TypeWhyDoc {
        type_name: name.to_string(),
        objects: merged.objects,
        bytes: merged.bytes,
        unreachable_objects: merged.unreachable_objects,
        roots: merged.roots,
    }
}
