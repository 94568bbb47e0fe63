//! The heap model every analysis works on, whatever input it came from:
//! objects with dense ids, and (growing) their types, edges and roots.

mod edges;
mod goroutines;
pub mod id_order;
mod objects;
mod roots;
mod sites;
mod types;

pub use edges::{Edges, EdgesBuilder, RowBlock, StoredEdges};
pub use goroutines::{Goroutine, SourceFrame, short_file};
pub use objects::{
    ObjectId, ObjectParts, Objects, ObjectsBuilder, SizeClasses, StoredObjects, compact_size,
};
pub use roots::{FrameRef, Root, RootKind, Roots, STACK_OBJECT, StackRootKind, UNNAMED_SLOTS};
pub use sites::{
    AllocBucket, AllocProfile, GcStamp, ProfiledStack, Sites, sample_weight, scale_heap_sample,
};
pub use types::{
    KeyKind, MapSlots, TypeLayout, TypeNames, TypeRole, UNKNOWN_TYPE, parse_unknown_type_name,
    unknown_type_name,
};

/// Bytes of the target's memory by address: what readers of runtime
/// structures need, and what analyses read for details the model does not
/// keep (map keys). Cores and heap dumps each provide one; analyses never
/// ask which.
pub trait Memory {
    /// `len` bytes at `addr`, if all of them are known and contiguous.
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]>;

    /// The whole known run of contiguous bytes that holds `addr`, with its
    /// first address: callers reading many nearby objects slice it instead
    /// of looking the address up each time. None when not offered.
    fn run_containing(&self, _addr: u64) -> Option<(u64, &[u8])> {
        None
    }

    /// A little-endian u64.
    fn read_u64(&self, addr: u64) -> Option<u64> {
        self.read(addr, 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    /// A little-endian unsigned integer of 1, 2, 4 or 8 bytes.
    fn read_uint(&self, addr: u64, size: u64) -> Option<u64> {
        let b = self.read(addr, usize::try_from(size).ok()?)?;
        le_uint(b)
    }
}

pub(crate) fn le_uint(b: &[u8]) -> Option<u64> {
    Some(match b.len() {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_le_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => u64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

/// Called by a loader once objects, edges and roots are known and before
/// objects are typed, with the model (no types yet) and a function that
/// drops the dump's resident pages (for work that will not read the dump
/// again): says what typing should do. Typing a whole large heap costs
/// seconds; an answer that shows a few paths needs only their objects, and
/// work that needs no types can run meanwhile.
pub type TypeChooser<'c> = &'c mut dyn FnMut(&HeapModel, &dyn Fn()) -> Typing<'c>;

/// What a [`TypeChooser`] asks of typing.
pub enum Typing<'w> {
    /// Type every object.
    All,
    /// Type only these objects: everything else reads as of unknown type.
    Only(Vec<ObjectId>),
    /// Type every object, and meanwhile run this on the untyped model on
    /// another thread (work that needs no types, such as dominators).
    AllAlongside(Box<dyn FnOnce(&HeapModel) + Send + 'w>),
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
    /// Where names and types came from (DWARF, a separate debug file, or
    /// the runtime's own records in a binary without DWARF).
    pub names_from: NameSource,
    /// Only some objects were typed (those a `why` answer shows, chosen
    /// while loading); every other object reads as of unknown type.
    pub types_partial: bool,
    /// Holders of memory this input cannot show (a heap dump records no
    /// cleanups): an object no root reaches may still be held by them.
    pub unseen_holders: Option<&'static str>,
}

/// Where the program's names and types were recovered from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NameSource {
    /// The executable's own DWARF.
    #[default]
    Dwarf,
    /// DWARF from a separate debug file (`.gnu_debuglink` / build id).
    DebugFile { path: String },
    /// No DWARF: runtime layouts from rootpath's table for the Go version,
    /// types and field names from the runtime type descriptors, functions
    /// and lines from pclntab, globals by section offset and the functions
    /// whose code refers to them.
    RuntimeRecords,
    /// A heap dump read without an executable: the dump's own type records.
    HeapDump,
}

impl NameSource {
    pub fn describe(&self) -> String {
        match self {
            NameSource::Dwarf => "DWARF".into(),
            NameSource::DebugFile { path } => format!("DWARF of the separate debug file {path}"),
            NameSource::RuntimeRecords => "no DWARF: types and fields from the runtime type \
                descriptors, runtime layouts from rootpath's table for this Go version, \
                functions and lines from pclntab, globals by section offset and the code that \
                refers to them"
                .into(),
            NameSource::HeapDump => "the heap dump's type records".into(),
        }
    }
}

impl HeapModel {
    /// A model whose objects are not typed yet.
    pub fn new(objects: Objects, edges: Edges, roots: Roots, warnings: Vec<String>) -> HeapModel {
        let mut model = HeapModel::before_typing(objects, edges, roots, warnings);
        model.object_types = vec![UNKNOWN_TYPE; model.objects.len()];
        model
    }

    /// A model whose `object_types` is still empty: the loader types the
    /// objects next (and a full-length placeholder would cost fresh pages).
    pub fn before_typing(
        objects: Objects,
        edges: Edges,
        roots: Roots,
        warnings: Vec<String>,
    ) -> HeapModel {
        HeapModel {
            objects,
            edges,
            roots,
            types: TypeNames::default(),
            object_types: Vec::new(),
            goroutines: Vec::new(),
            sites: Sites::default(),
            warnings,
            names_from: NameSource::default(),
            types_partial: false,
            unseen_holders: None,
        }
    }

    pub fn type_name(&self, id: ObjectId) -> Option<&str> {
        self.types.name(*self.object_types.get(id.index())?)
    }
}
