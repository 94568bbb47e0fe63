//! Heap totals: what is allocated, what is live (reachable from a root),
//! and what is garbage the next GC would free.

use serde::Serialize;

use crate::model::{HeapModel, RootKind, UNKNOWN_TYPE};

#[derive(Debug, Clone, Serialize)]
pub struct HeapTotals {
    pub objects: u64,
    pub bytes: u64,
    pub live_objects: u64,
    pub live_bytes: u64,
    /// Allocated but unreachable: dead since the last GC.
    pub garbage_objects: u64,
    pub garbage_bytes: u64,
    pub typed_objects: u64,
    pub pointer_edges: u64,
    pub roots: RootCounts,
    pub goroutines: u64,
    /// Where names and types came from.
    pub names_from: crate::model::NameSource,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RootCounts {
    pub global: u64,
    pub stack: u64,
    pub finalizer: u64,
    pub cleanup: u64,
    pub queued_finalizer: u64,
    pub other: u64,
}

pub fn totals(model: &HeapModel, live: &[bool]) -> HeapTotals {
    let objects = &model.objects;
    let (mut bytes, mut live_objects, mut live_bytes) = (0, 0, 0);
    for id in objects.ids() {
        let size = objects.size(id);
        bytes += size;
        if live[id.index()] {
            live_objects += 1;
            live_bytes += size;
        }
    }
    let mut roots = RootCounts::default();
    for r in model.roots.iter() {
        let n = match r.kind {
            RootKind::Global => &mut roots.global,
            RootKind::Stack => &mut roots.stack,
            RootKind::Finalizer => &mut roots.finalizer,
            RootKind::Cleanup => &mut roots.cleanup,
            RootKind::QueuedFinalizer => &mut roots.queued_finalizer,
            RootKind::Other => &mut roots.other,
        };
        *n += 1;
    }
    HeapTotals {
        objects: objects.len() as u64,
        bytes,
        live_objects,
        live_bytes,
        garbage_objects: objects.len() as u64 - live_objects,
        garbage_bytes: bytes - live_bytes,
        typed_objects: model
            .object_types
            .iter()
            .filter(|&&t| t != UNKNOWN_TYPE)
            .count() as u64,
        pointer_edges: model.edges.len() as u64,
        roots,
        goroutines: model.goroutines.len() as u64,
        names_from: model.names_from.clone(),
    }
}
