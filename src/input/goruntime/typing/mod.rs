//! Object types. Exact where the runtime records them (Go ≥1.22 allocation
//! headers and `mspan.largeType`, interface values anywhere in memory,
//! sampled objects' allocation calls: see `ifaces` and `alloc_calls`), and propagated from
//! typed roots (DWARF globals and stack variables) through every typed
//! pointer: struct fields, arrays, slices (backing arrays sized by capacity),
//! strings, interfaces, maps (classic buckets and swiss tables), channel
//! buffers, and closures (captured variables from DW_AT_go_closure_offset).
//!
//! This module holds the `Typer`'s state, how it is built and finished, and
//! the word reads every walk shares. The rest, one job each: `seeds` (where
//! typing starts), `worklist` (waves in address order, page release),
//! `evidence` (how sure each object's type is; interning), `values` (what a
//! typed word says about what it points at), `closures`, `shapes` (the
//! pointer words of a DWARF type), `descriptors` (runtime type descriptors),
//! `layouts` (the model's type layouts, for naming edges).

pub mod alloc_calls;
mod closures;
mod descriptors;
mod evidence;
pub mod ifaces;
mod layouts;
mod seeds;
mod shapes;
mod values;
mod worklist;

use rustc_hash::FxHashMap;
use std::rc::Rc;

use gimli::{EndianSlice, LittleEndian};

use crate::input::dwarf::{DwarfIndex, TypeId};
use crate::input::elf::AddressSpace;
use crate::input::elf::address_space::Memory;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::pclntab::FuncTable;
use crate::model::{Edges, ObjectId, Objects, TypeNames, UNKNOWN_TYPE};

use descriptors::{RuntimeTypeLayout, descriptor_fields};
use evidence::{NAME_BITS, NAME_MASK, UNTYPED};
pub use seeds::PieceSeed;
use shapes::Shape;
pub use worklist::ReleaseBytes;
use worklist::WorkSet;

/// A pointer's size.
const PTR: u64 = 8;

/// Types objects by reading the target's memory through `M`: a core's
/// [`AddressSpace`], or a heap dump's view of its records and executable.
pub struct Typer<'a, 'd, 's, M: Memory + ?Sized = AddressSpace<'a>> {
    space: &'s M,
    index: &'s DwarfIndex,
    dwarf: &'s gimli::Dwarf<EndianSlice<'d, LittleEndian>>,
    funcs: &'s FuncTable<'a, 's>,
    objects: &'s Objects,
    pub names: TypeNames,
    /// Each object's type name id (low 30 bits) and how sure it is (top two
    /// bits, an `Evidence`; stronger replaces weaker, never the reverse):
    /// one word, so propagating along a pointer touches one cache line.
    typed: Vec<u32>,
    /// Objects whose contents are still to be walked, with the type they
    /// hold now (`typed`, through `pair_of_name`).
    queue: WorkSet,
    shapes: FxHashMap<TypeId, Rc<Vec<(u64, Shape)>>>,
    /// Each (type, count) seen gets a pair id and an interned name, so
    /// assigning costs no string work.
    pair_ids: FxHashMap<(TypeId, u64), u32>,
    pairs: Vec<(TypeId, u64, u32)>,
    /// Whether each pair is one closure context struct.
    pair_is_closure: Vec<bool>,
    /// The pair each interned name came from (u32::MAX: none).
    pair_of_name: Vec<u32>,
    /// Per type: its size and whether it holds pointers worth walking
    /// (computed once; `None` until asked).
    type_facts: Vec<Option<(u64, bool)>>,
    rt: Option<RuntimeTypeLayout>,
    /// Type descriptors' kind (offset, size), pointer-bytes and size offsets.
    descriptor_fields: Option<(u64, u64, u64, u64)>,
    uint8: Option<TypeId>,
    /// Resolved pointer edges: while walking an object, its targets come from
    /// here instead of an address lookup per pointer (the hot path on big heaps).
    edges: Option<&'s Edges>,
    /// The walked object's address and edge row, and where in the row the
    /// last pointer was found: fields come in offset order, so the next one
    /// is usually just after it.
    current_row: Option<(u64, &'s [u32], &'s [ObjectId], usize)>,
    row_cursor: std::cell::Cell<usize>,
    /// The memory of the object being walked, read once.
    current_mem: Option<(u64, &'s [u8])>,
    /// When set, only these objects (a bitmap by id) are typed: what a few
    /// retention paths cross, instead of the whole heap.
    only: Option<Vec<u64>>,
    /// Drops the pages under memory a large wave has walked past.
    release_behind: Option<ReleaseBytes<'s>>,
}

impl<'a, 'd, 's, M: Memory + ?Sized> Typer<'a, 'd, 's, M> {
    pub fn new(
        space: &'s M,
        layouts: &Layouts<'_>,
        index: &'s DwarfIndex,
        dwarf: &'s gimli::Dwarf<EndianSlice<'d, LittleEndian>>,
        funcs: &'s FuncTable<'a, 's>,
        objects: &'s Objects,
    ) -> Self {
        let rt = RuntimeTypeLayout::locate(space, layouts, index);
        let descriptor_fields = descriptor_fields(layouts);
        Typer {
            descriptor_fields,
            space,
            index,
            dwarf,
            funcs,
            objects,
            names: TypeNames::default(),
            typed: written_zeros(objects.len()),
            queue: WorkSet::new(objects.len()),
            shapes: FxHashMap::default(),
            pair_ids: FxHashMap::default(),
            pairs: Vec::new(),
            pair_is_closure: Vec::new(),
            pair_of_name: Vec::new(),
            type_facts: Vec::new(),
            rt,
            uint8: index.type_named("uint8"),
            edges: None,
            current_row: None,
            row_cursor: std::cell::Cell::new(0),
            current_mem: None,
            only: None,
            release_behind: None,
        }
    }

    /// Types only `chosen` objects: everything else is left untyped and
    /// never walked, so typing costs what the chosen objects cost.
    pub fn restrict_to(mut self, chosen: &[ObjectId]) -> Self {
        let mut bits = vec![0u64; self.typed.len().div_ceil(64)];
        for id in chosen {
            if let Some(w) = bits.get_mut(id.index() / 64) {
                *w |= 1 << (id.index() % 64);
            }
        }
        self.only = Some(bits);
        self
    }

    /// Uses the model's resolved edges for pointers inside objects.
    pub fn with_edges(mut self, edges: &'s Edges) -> Self {
        self.edges = Some(edges);
        self
    }

    /// Large waves (walked in address order) drop the pages of the memory
    /// they have walked past: a later wave reads them again from the page
    /// cache, but meanwhile they do not count against the process.
    pub fn releasing_passed_memory(mut self, release: ReleaseBytes<'s>) -> Self {
        self.release_behind = Some(release);
        self
    }

    /// The interned names and each object's type (UNKNOWN_TYPE where none).
    pub fn finish(self) -> (TypeNames, Vec<u32>) {
        // In place: a second array as large as the heap's object count
        // would cost fresh pages.
        let mut types = self.typed;
        for t in types.iter_mut() {
            *t = if *t >> NAME_BITS == 0 {
                UNKNOWN_TYPE
            } else {
                *t & NAME_MASK
            };
        }
        (self.names, types)
    }

    /// The object a pointer word at `at` refers to (any address inside it).
    #[inline]
    pub(super) fn target_of(&self, at: u64, word: u64) -> Option<ObjectId> {
        self.target_with_start(at, word).map(|(o, _)| o)
    }

    /// `target_of`, and whether the pointer holds the target's first
    /// address (when the edges recorded it).
    #[inline]
    pub(super) fn target_with_start(&self, at: u64, word: u64) -> Option<(ObjectId, Option<bool>)> {
        if let Some((base, offsets, targets, first)) = self.current_row {
            if let Some(off) = at.checked_sub(base).and_then(|o| u32::try_from(o).ok()) {
                let c = self.row_cursor.get();
                let found = match offsets.get(c) {
                    Some(&o) if o == off => Some(c),
                    _ => offsets.binary_search(&off).ok(),
                };
                if let Some(i) = found {
                    self.row_cursor.set(i + 1);
                    let at_start = self.edges.and_then(|e| e.points_at_start(first + i));
                    return Some((targets[i], at_start));
                }
            }
        }
        self.objects.find(word).map(|o| (o, None))
    }

    /// A word of memory: from the object being walked when it is there.
    #[inline]
    pub(super) fn word(&self, at: u64) -> Option<u64> {
        if let Some((base, mem)) = self.current_mem {
            if let Some(b) = at
                .checked_sub(base)
                .and_then(|o| mem.get(o as usize..o as usize + 8))
            {
                return Some(u64::from_le_bytes(b.try_into().unwrap_or_default()));
            }
        }
        self.space.read_u64(at)
    }

    /// The object that starts exactly at `word`, found through `target_of`.
    #[inline]
    pub(super) fn target_start(&self, at: u64, word: u64) -> Option<ObjectId> {
        match self.target_with_start(at, word)? {
            (o, Some(true)) => Some(o),
            (_, Some(false)) => None,
            (o, None) => (self.objects.addr(o) == word).then_some(o),
        }
    }

    /// The object that starts exactly at `addr`.
    pub(super) fn object_at(&self, addr: u64) -> Option<ObjectId> {
        let o = self.objects.find(addr)?;
        (self.objects.addr(o) == addr).then_some(o)
    }
}

/// `vec![0; n]`, but written now: memory from `calloc` maps the shared zero
/// page on a first read, and the first write after that copies it and
/// flushes every other thread's TLB (with another thread running alongside,
/// an interrupt per page: a tenth of typing's time).
fn written_zeros(n: usize) -> Vec<u32> {
    let mut v = Vec::with_capacity(n);
    v.resize(n, UNTYPED);
    v
}
