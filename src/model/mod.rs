//! The heap model every analysis works on, whatever input it came from:
//! objects with dense ids, and (growing) their types, edges and roots.

mod edges;
mod objects;
mod roots;

pub use edges::{Edges, EdgesBuilder};
pub use objects::{ObjectId, Objects, ObjectsBuilder};
pub use roots::{FrameRef, Root, RootKind, Roots, StackRootKind};

/// Everything analyses know about a heap.
pub struct HeapModel {
    pub objects: Objects,
    pub edges: Edges,
    pub roots: Roots,
    /// What could not be read: answers built on this model are partial.
    pub warnings: Vec<String>,
}
