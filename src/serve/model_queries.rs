//! `HeapQueries` over the in-memory model: the retention analysis and the
//! listings computed once at start-up, then each request is a lookup.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use serde::Serialize;
use serde_json::{Value, json};

use super::queries::{HeapQueries, MAX_PAGE, MAX_PATHS, NodeRef, QueryError};
use crate::analysis::dominators::Dominators;
use crate::analysis::graph::{Graph, Node, Reverse};
use crate::analysis::holder_docs::source_ref;
use crate::analysis::labels::edge_label;
use crate::analysis::owners::Ranking;
use crate::analysis::paths::{Exclusions, paths_to};
use crate::analysis::report::Reporter;
use crate::analysis::retention::{Retention, TopBy};
use crate::analysis::why::{explain_paths, root_ref};
use crate::model::{AllocProfile, HeapModel, Memory, ObjectId};

/// Fields and referrers listed per object (the rest are counted).
const OBJECT_LIST_LIMIT: usize = 200;
/// Allocation sites listed (as `sites` lists by default).
const SITES_SHOWN: usize = 20;
/// Share of the live heap above which a holder is a leak suspect (as the report).
const SUSPECT_THRESHOLD: f64 = 0.10;

/// The in-memory model and its analyses, answering the UI's questions.
pub struct ModelQueries<'m> {
    model: &'m HeapModel,
    memory: Option<&'m dyn Memory>,
    retention: Retention<'m>,
    overview: Value,
    types: Value,
    goroutines: Value,
    /// Allocation sites, on first request: their holders' paths are searched
    /// per site, which costs more than everything else at start-up.
    sites: OnceCell<Value>,
    profile: Option<&'m AllocProfile>,
    /// Children sorted by retained bytes, per node asked about (a node of a
    /// million children is sorted once).
    sorted_children: RefCell<HashMap<u32, Rc<[u32]>>>,
    /// Predecessors of every node (who points at an object), on first need.
    reverse: OnceCell<Reverse>,
    /// The plain graph (roots straight under the pseudo-root) paths use.
    plain: Graph<'m>,
}

/// One node of the dominator tree as the UI shows it.
#[derive(Debug, Serialize)]
pub struct NodeDoc {
    pub node: u32,
    /// "all" (the pseudo-root), "root", "goroutines" or "object".
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    pub shallow_bytes: u64,
    pub retained_bytes: u64,
    pub retained_objects: u64,
    pub children: usize,
}

impl<'m> ModelQueries<'m> {
    /// Runs the analyses the pages need. `overview` is the file's overview
    /// (the caller knows the dump; this module knows only the model).
    pub fn new(
        model: &'m HeapModel,
        doms: Option<Dominators>,
        memory: Option<&'m dyn Memory>,
        profile: Option<&'m AllocProfile>,
        overview: crate::overview::Overview,
    ) -> Self {
        let retention = Retention::with_dominators(model, doms);
        let (overview, types, goroutines) = {
            let reporter = Reporter::new(&retention, memory);
            let hist = histogram(model, &retention, &reporter);
            let mut ov = overview;
            ov.heap = Some(hist.totals.clone());
            let top = reporter.top(20, TopBy::Retained);
            let overview = json!({
                "overview": ov,
                "warnings": model.warnings,
                "live_bytes": retention.live_bytes,
                "live_objects": retention.live_objects,
                "leak_suspects": reporter.suspects(SUSPECT_THRESHOLD),
                "holders": top.holders,
            });
            let types = json!({ "totals": hist.totals, "types": hist.types });
            let goroutines = json!({
                "groups": reporter.goroutine_groups(10),
                "goroutines": model.goroutines,
            });
            (overview, types, goroutines)
        };
        ModelQueries {
            model,
            memory,
            retention,
            overview,
            types,
            goroutines,
            sites: OnceCell::new(),
            profile,
            sorted_children: RefCell::new(HashMap::new()),
            reverse: OnceCell::new(),
            plain: Graph::new(model),
        }
    }

    fn resolve(&self, node: NodeRef) -> Result<u32, QueryError> {
        let graph = &self.retention.graph;
        match node {
            NodeRef::Node(n) if (n as usize) < graph.node_count() => Ok(n),
            NodeRef::Node(n) => Err(QueryError::NotFound(format!(
                "no node {n} in the dominator tree (it has {} nodes)",
                graph.node_count()
            ))),
            NodeRef::Address(a) => self
                .model
                .objects
                .find(a)
                .map(|id| graph.object_node(id))
                .ok_or_else(|| no_object(a)),
        }
    }

    pub fn node_doc(&self, n: u32) -> NodeDoc {
        let r = &self.retention;
        let (kind, name, address, type_name) = match r.graph.node(n) {
            Node::PseudoRoot => ("all", "all live memory".to_string(), None, None),
            Node::Root(_) | Node::Group(_) => {
                let root = source_ref(r, n);
                let kind = match r.graph.node(n) {
                    Node::Group(_) => "goroutines",
                    _ => "root",
                };
                let name = root.as_ref().map_or_else(String::new, |r| r.name.clone());
                (kind, name, None, root.and_then(|r| r.type_name))
            }
            Node::Object(id) => {
                let t = self.model.type_name(id).map(str::to_string);
                let addr = format!("{:#x}", self.model.objects.addr(id));
                let name = format!("{} {addr}", t.as_deref().unwrap_or("object"));
                ("object", name, Some(addr), t)
            }
        };
        NodeDoc {
            node: n,
            kind,
            name,
            address,
            type_name,
            shallow_bytes: r.graph.size(n),
            retained_bytes: r.doms.retained_bytes(n),
            retained_objects: r.doms.retained_objects(n),
            children: r.children.of(n).len(),
        }
    }

    /// The node's dominators from the pseudo-root down to its parent.
    fn owners(&self, n: u32) -> Vec<NodeDoc> {
        let mut chain = Vec::new();
        let mut at = n;
        while let Some(up) = self.retention.doms.idom(at) {
            if up == at || chain.len() > self.retention.graph.node_count() {
                break;
            }
            chain.push(up);
            at = up;
        }
        chain.reverse();
        chain.into_iter().map(|v| self.node_doc(v)).collect()
    }

    fn children_sorted(&self, n: u32) -> Rc<[u32]> {
        if let Some(known) = self.sorted_children.borrow().get(&n) {
            return Rc::clone(known);
        }
        let doms = &self.retention.doms;
        let mut kids = self.retention.children.of(n).to_vec();
        kids.sort_by(|&a, &b| {
            doms.retained_bytes(b)
                .cmp(&doms.retained_bytes(a))
                .then(a.cmp(&b))
        });
        let kids: Rc<[u32]> = kids.into();
        self.sorted_children
            .borrow_mut()
            .insert(n, Rc::clone(&kids));
        kids
    }

    fn object_brief(&self, id: ObjectId) -> Value {
        let node = self.retention.graph.object_node(id);
        json!({
            "address": format!("{:#x}", self.model.objects.addr(id)),
            "type": self.model.type_name(id),
            "size": self.model.objects.size(id),
            "live": self.retention.doms.is_reachable(node),
        })
    }

    fn fields(&self, id: ObjectId) -> (Vec<Value>, usize) {
        let all = self.model.edges.targets(id).len();
        let fields = self
            .model
            .edges
            .out(id)
            .take(OBJECT_LIST_LIMIT)
            .map(|(to, offset)| {
                let edge = edge_label(self.model, self.memory, id, u64::from(offset)).render();
                json!({"offset": offset, "edge": edge, "target": self.object_brief(to)})
            })
            .collect();
        (fields, all.saturating_sub(OBJECT_LIST_LIMIT))
    }

    fn referrers(&self, id: ObjectId) -> (Vec<Value>, usize) {
        let reverse = self.reverse.get_or_init(|| self.plain.reverse());
        let preds = reverse.predecessors(self.plain.object_node(id));
        let rows = preds
            .iter()
            .take(OBJECT_LIST_LIMIT)
            .filter_map(|&p| match self.plain.node(p) {
                Node::Root(i) => Some(json!({
                    "kind": "root",
                    "root": root_ref(&self.model.roots.roots[i]),
                    "node": self.retention.graph.root_node(i),
                })),
                Node::Object(from) => {
                    let offset = self.model.edges.out(from).find(|&(t, _)| t == id)?.1;
                    let edge = edge_label(self.model, self.memory, from, u64::from(offset));
                    Some(json!({
                        "kind": "object",
                        "object": self.object_brief(from),
                        "edge": edge.render(),
                    }))
                }
                _ => None,
            })
            .collect();
        (rows, preds.len().saturating_sub(OBJECT_LIST_LIMIT))
    }
}

/// The histogram with retained bytes; reachable in the dominator tree is live.
fn histogram(
    model: &HeapModel,
    retention: &Retention<'_>,
    reporter: &Reporter<'_, '_>,
) -> crate::analysis::report::HistogramDoc {
    let live: Vec<bool> = model
        .objects
        .ids()
        .map(|id| retention.doms.is_reachable(retention.graph.object_node(id)))
        .collect();
    let rows = crate::analysis::histogram::histogram(model, &live);
    crate::analysis::report::HistogramDoc {
        totals: crate::analysis::summary::totals(model, &live),
        types: reporter.histogram(rows),
    }
}

fn no_object(address: u64) -> QueryError {
    QueryError::NotFound(format!("no heap object contains the address {address:#x}"))
}

fn sites_doc(
    model: &HeapModel,
    reporter: &Reporter<'_, '_>,
    profile: Option<&AllocProfile>,
) -> Value {
    use crate::analysis::sites::{SiteGrouping, SiteIndex, SiteOptions, SiteOrder, SiteReporter};
    let index = SiteIndex::build(model, profile, SiteGrouping::Line);
    let options = SiteOptions {
        order: if profile.is_some() {
            SiteOrder::Inuse
        } else {
            SiteOrder::Live
        },
        ..SiteOptions::default()
    };
    let doc = SiteReporter::new(&index, reporter).sites(&options, SITES_SHOWN);
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

impl HeapQueries for ModelQueries<'_> {
    fn overview(&self) -> Value {
        self.overview.clone()
    }

    fn tree_node(&self, node: NodeRef) -> Result<Value, QueryError> {
        let n = self.resolve(node)?;
        let live = self.retention.live_bytes.max(1) as f64;
        let doc = self.node_doc(n);
        let share = doc.retained_bytes as f64 / live;
        Ok(json!({
            "node": doc,
            "share": share,
            "reachable": self.retention.doms.is_reachable(n),
            "owners": self.owners(n),
        }))
    }

    fn tree_children(
        &self,
        node: NodeRef,
        offset: usize,
        limit: usize,
    ) -> Result<Value, QueryError> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(QueryError::BadRequest(format!(
                "limit must be 1 to {MAX_PAGE} children per page (got {limit})"
            )));
        }
        let n = self.resolve(node)?;
        let kids = self.children_sorted(n);
        let page: Vec<NodeDoc> = kids
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&k| self.node_doc(k))
            .collect();
        let shown: u64 = page.iter().map(|d| d.retained_bytes).sum();
        let before: u64 = kids
            .iter()
            .take(offset)
            .map(|&k| self.retention.doms.retained_bytes(k))
            .sum();
        let total_bytes: u64 = self.retention.doms.retained_bytes(n);
        Ok(json!({
            "node": n,
            "offset": offset,
            "limit": limit,
            "total": kids.len(),
            "children": page,
            // Bytes of the children after this page, plus the node's own.
            "rest_bytes": total_bytes.saturating_sub(shown + before),
        }))
    }

    fn object(&self, address: u64, exclude: &[String], paths: usize) -> Result<Value, QueryError> {
        if paths == 0 || paths > MAX_PATHS {
            return Err(QueryError::BadRequest(format!(
                "paths must be 1 to {MAX_PATHS} (got {paths})"
            )));
        }
        let id = self
            .model
            .objects
            .find(address)
            .ok_or_else(|| no_object(address))?;
        let (exclusions, unknown) = Exclusions::parse(self.model, exclude);
        if !unknown.is_empty() {
            return Err(QueryError::BadRequest(format!(
                "exclude: {} is not a type or TYPE.FIELD of this heap",
                unknown.join(", ")
            )));
        }
        // The reverse graph is built once for every object asked about.
        let reverse = self.reverse.get_or_init(|| self.plain.reverse());
        let found = paths_to(
            &self.plain,
            reverse,
            id,
            paths,
            &exclusions,
            Ranking::OwnerFirst,
        );
        let why = explain_paths(self.model, self.memory, id, &found, false);
        let root_nodes: Vec<u32> = found
            .iter()
            .map(|p| self.retention.graph.root_node(p.root))
            .collect();
        let node = self.retention.graph.object_node(id);
        let (fields, more_fields) = self.fields(id);
        let (referrers, more_referrers) = self.referrers(id);
        Ok(json!({
            "object": self.object_brief(id),
            "node": self.node_doc(node),
            "owners": self.owners(node),
            "fields": fields,
            "more_fields": more_fields,
            "referrers": referrers,
            "more_referrers": more_referrers,
            "why": why,
            "root_nodes": root_nodes,
            "exclude": exclude,
        }))
    }

    fn types(&self) -> Value {
        self.types.clone()
    }

    fn goroutines(&self) -> Value {
        self.goroutines.clone()
    }

    fn sites(&self) -> Value {
        self.sites
            .get_or_init(|| {
                let reporter = Reporter::new(&self.retention, self.memory);
                sites_doc(self.model, &reporter, self.profile)
            })
            .clone()
    }
}
