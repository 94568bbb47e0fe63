//! The heap model every analysis works on, whatever input it came from:
//! objects with dense ids, and (growing) their types, edges and roots.

mod edges;
mod goroutines;
mod objects;
mod roots;
mod sites;
mod types;

pub use edges::{Edges, EdgesBuilder};
pub use goroutines::{Goroutine, SourceFrame};
pub use objects::{ObjectId, Objects, ObjectsBuilder};
pub use roots::{FrameRef, Root, RootKind, Roots, StackRootKind};
pub use sites::{AllocBucket, Sites};
pub use types::{KeyKind, MapSlots, TypeLayout, TypeNames, TypeRole, UNKNOWN_TYPE};

/// Reads the target's memory, for what the model does not keep (map keys).
/// Cores and heap dumps each provide one; analyses never ask which.
pub trait Memory {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
}

/// Everything analyses know about a heap.
pub struct HeapModel {
    pub objects: Objects,
    pub edges: Edges,
    pub roots: Roots,
    /// Interned type names and each object's type (UNKNOWN_TYPE when unknown).
    pub types: TypeNames,
    pub object_types: Vec<u32>,
    pub goroutines: Vec<Goroutine>,
    /// Allocation sites of sampled objects (from a heap dump's memory profile).
    pub sites: Sites,
    /// What could not be read: answers built on this model are partial.
    pub warnings: Vec<String>,
}

impl HeapModel {
    /// A model whose objects are not typed yet.
    pub fn new(objects: Objects, edges: Edges, roots: Roots, warnings: Vec<String>) -> HeapModel {
        let object_types = vec![UNKNOWN_TYPE; objects.len()];
        HeapModel {
            objects,
            edges,
            roots,
            types: TypeNames::default(),
            object_types,
            goroutines: Vec::new(),
            sites: Sites::default(),
            warnings,
        }
    }

    pub fn type_name(&self, id: ObjectId) -> Option<&str> {
        self.types.name(*self.object_types.get(id.index())?)
    }
}
