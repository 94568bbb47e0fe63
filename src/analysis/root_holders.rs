//! Roots gathered under their holders for merged listings (`why type:`,
//! `why site:`): the stack roots of alike goroutines count as one holder,
//! as in `top`.

use super::graph::Graph;
use super::paths::ShortestTree;
use super::report::group_ref;
use super::retention::{GoroutineGroup, group_goroutines};
use super::why::{Merged, merge_roots, root_ref};
use crate::model::{HeapModel, Memory, ObjectId};

/// A root, or a group of alike goroutines (more than one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RootHolder {
    Root(usize),
    Group(usize),
}

pub struct RootHolders {
    groups: Vec<GoroutineGroup>,
    root_group: Vec<Option<usize>>,
}

impl RootHolders {
    pub fn new(model: &HeapModel) -> RootHolders {
        let grouping = group_goroutines(model);
        RootHolders {
            groups: grouping.groups,
            root_group: grouping.root_group,
        }
    }

    pub fn of(&self, root: usize) -> RootHolder {
        match self.root_group.get(root).copied().flatten() {
            Some(g) if self.groups[g].count > 1 => RootHolder::Group(g),
            _ => RootHolder::Root(root),
        }
    }

    /// Merged shortest paths of `ids` by holder, every holder listed.
    pub fn merge(
        &self,
        model: &HeapModel,
        memory: Option<&dyn Memory>,
        graph: &Graph<'_>,
        tree: &ShortestTree,
        ids: impl IntoIterator<Item = ObjectId>,
        raw: bool,
    ) -> Merged {
        let name = |h: RootHolder| match h {
            RootHolder::Root(r) => root_ref(&model.roots.roots[r]),
            RootHolder::Group(g) => group_ref(&self.groups[g]),
        };
        merge_roots(
            model,
            memory,
            graph,
            tree,
            ids,
            raw,
            |r| self.of(r),
            name,
            usize::MAX,
        )
        .0
    }
}
