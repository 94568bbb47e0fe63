//! The heap model every analysis works on, whatever input it came from:
//! objects with dense ids, and (growing) their types, edges and roots.

mod objects;

pub use objects::{ObjectId, Objects, ObjectsBuilder};

/// Everything analyses know about a heap.
pub struct HeapModel {
    pub objects: Objects,
    /// What could not be read: answers built on this model are partial.
    pub warnings: Vec<String>,
}
