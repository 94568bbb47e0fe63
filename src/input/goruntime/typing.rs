//! Object types. Exact where the runtime records them (Go ≥1.22 allocation
//! headers and `mspan.largeType`, interface values anywhere in memory,
//! sampled objects' allocation calls: see `ifaces` and `alloc_calls`), and propagated from
//! typed roots (DWARF globals and stack variables) through every typed
//! pointer: struct fields, arrays, slices (backing arrays sized by capacity),
//! strings, interfaces, maps (classic buckets and swiss tables), channel
//! buffers, and closures (captured variables from DW_AT_go_closure_offset).

pub mod alloc_calls;
pub mod ifaces;

use crate::model::id_order::{BITMAP_FROM, sort_ids, take_set_bits};
use rustc_hash::FxHashMap;
use std::rc::Rc;

use gimli::{EndianSlice, LittleEndian};

use crate::input::dwarf::{DwarfIndex, TypeId, TypeKind};
use crate::input::elf::AddressSpace;
use crate::input::elf::address_space::Memory;
use crate::input::goruntime::layout::{FieldLoc, Layouts};
use crate::input::goruntime::pclntab::FuncTable;
use crate::input::goruntime::rtypes::kind;
use crate::model::{
    Edges, KeyKind, MapSlots, ObjectId, Objects, TypeLayout, TypeNames, TypeRole, UNKNOWN_TYPE,
};

const PTR: u64 = 8;
/// Bound on pointer words listed for one type (huge arrays are walked lazily).
const MAX_SHAPES: usize = 1 << 16;

/// What a pointer-holding word (or word pair) of a typed value means.
#[derive(Debug, Clone)]
enum Shape {
    /// A pointer to one value of the type.
    Ptr(TypeId),
    /// Slice header {ptr, len, cap} of elements of the type.
    Slice(TypeId),
    /// String header {ptr, len}.
    Str,
    /// `interface{}` {type, data}.
    Eface,
    /// Non-empty interface {itab, data}.
    Iface,
    /// A func value: pointer to a funcval (closure context).
    Func,
    /// A channel of the element type (pointer to hchan).
    Chan(TypeId),
    /// A swiss map (pointer to the map<K,V> header).
    SwissMap(TypeId),
    /// Classic map header field `buckets`/`oldbuckets`: 2^B buckets, B at
    /// `b_at` relative to this word; `old` halves the count.
    Buckets {
        bucket: TypeId,
        b_at: i64,
        old: bool,
        /// `hmap.flags` relative to this word (sameSizeGrow keeps 2^B old buckets).
        flags_at: Option<i64>,
    },
    /// Swiss table `groups` reference {data, lengthMask}.
    Groups(TypeId),
    /// An array of `count` elements laid out from this word.
    Repeat { elem: TypeId, count: u64, size: u64 },
}

struct RuntimeTypeLayout {
    str_off: FieldLoc,
    tflag: FieldLoc,
    types_base: u64,
    itab_type: u64,
    hchan_buf: u64,
    hchan_dataqsiz: u64,
}

/// A typed variable whose value may be split into pieces (optimised code
/// keeps some parts of a slice in registers): (offset in the variable, size,
/// stack address) for each piece that is on the stack.
#[derive(Debug, Clone)]
pub struct PieceSeed {
    pub ty: TypeId,
    pub pieces: Vec<(u64, u64, u64)>,
}

/// Objects still to walk: a list, and once that list would outgrow a bitmap
/// of all objects, the bitmap. A large wave is walked in object order with
/// each object once either way (`order_wave`), so the bitmap changes nothing
/// but the memory a large heap's waves hold (a bit per object, not 4 bytes
/// per queued entry).
struct WorkSet {
    list: Vec<u32>,
    bits: Vec<u64>,
    in_bits: bool,
    objects: usize,
}

impl WorkSet {
    fn new(objects: usize) -> Self {
        WorkSet {
            list: Vec::new(),
            bits: Vec::new(),
            in_bits: false,
            objects,
        }
    }

    /// Past this many entries a list holds more than the bitmap; never
    /// below the size from which `order_wave` takes the bitmap path itself.
    fn limit(&self) -> usize {
        (self.objects / 32).max(BITMAP_FROM)
    }

    fn push(&mut self, o: u32) {
        if !self.in_bits {
            self.list.push(o);
            if self.list.len() <= self.limit() {
                return;
            }
            self.bits.resize(self.objects.div_ceil(64), 0);
            for &x in &self.list {
                self.bits[x as usize / 64] |= 1 << (x % 64);
            }
            self.list = Vec::new();
            self.in_bits = true;
            return;
        }
        if let Some(w) = self.bits.get_mut(o as usize / 64) {
            *w |= 1 << (o % 64);
        }
    }

    fn is_empty(&self) -> bool {
        !self.in_bits && self.list.is_empty()
    }
}

/// How far a wave walks past memory before dropping its pages, and how
/// much it keeps just behind the walk.
const RELEASE_STEP: u64 = 32 << 20;
const RELEASE_MARGIN: u64 = 1 << 20;

/// Drops the resident pages under a slice of the dump's memory.
pub type ReleaseBytes<'r> = &'r dyn Fn(&[u8]);

/// The memory region a wave is walking and how much of it was released.
struct Passed<'s> {
    start: u64,
    data: &'s [u8],
    released_to: u64,
}

/// `Typer::typed` of an object nothing typed yet.
const UNTYPED: u32 = 0;
const NAME_BITS: u32 = 30;
const NAME_MASK: u32 = (1 << NAME_BITS) - 1;

/// Strength of what typed an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Evidence {
    None,
    /// A reference to a part of the object (a pointer to a smaller type, a substring).
    Partial,
    /// The element type is right but the count was inferred from the object's size.
    Inferred,
    /// A reference that describes the whole object.
    Exact,
}

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
        let str_off = layouts
            .field("internal/abi.Type", "Str")
            .or_else(|| layouts.field("runtime._type", "str"));
        let tflag = layouts
            .field("internal/abi.Type", "TFlag")
            .or_else(|| layouts.field("runtime._type", "tflag"));
        let types_field = layouts.field("runtime.moduledata", "types");
        let md = index.global("runtime.firstmoduledata").map(|g| g.addr);
        let types_base = match (md, types_field) {
            (Some(md), Some(f)) => space.read_u64(md + f.offset),
            _ => None,
        };
        let itab_type = layouts
            .field("internal/abi.ITab", "Type")
            .or_else(|| layouts.field("runtime.itab", "_type"))
            .map(|f| f.offset);
        let hchan_buf = layouts.field("runtime.hchan", "buf").map(|f| f.offset);
        let hchan_dataqsiz = layouts.field("runtime.hchan", "dataqsiz").map(|f| f.offset);
        // All or nothing: without any one of these, runtime types are not read.
        let rt = (|| {
            Some(RuntimeTypeLayout {
                str_off: str_off?,
                tflag: tflag?,
                types_base: types_base?,
                itab_type: itab_type?,
                hchan_buf: hchan_buf?,
                hchan_dataqsiz: hchan_dataqsiz?,
            })
        })();
        let descriptor_fields = (|| {
            let f = |t: &str, n: &str| layouts.field(t, n);
            let kind = f("internal/abi.Type", "Kind_").or_else(|| f("runtime._type", "kind"))?;
            let ptrdata =
                f("internal/abi.Type", "PtrBytes").or_else(|| f("runtime._type", "ptrdata"))?;
            let size = f("internal/abi.Type", "Size_").or_else(|| f("runtime._type", "size"))?;
            Some((kind.offset, kind.size.min(8), ptrdata.offset, size.offset))
        })();
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

    /// Whether typing may touch object `i` (always, unless restricted).
    #[inline]
    fn may_type(&self, i: usize) -> bool {
        self.only
            .as_ref()
            .is_none_or(|bits| bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0))
    }

    /// Whether `obj` has a type more certain than a reference to a part of it.
    pub fn is_typed_wholly(&self, obj: ObjectId) -> bool {
        self.typed
            .get(obj.index())
            .is_some_and(|_| self.evidence(obj.index()) >= Evidence::Inferred)
    }

    /// Types an object from the runtime type its allocation header or span
    /// records (Go ≥1.22); the element count follows from the object size.
    pub fn seed_runtime_type(&mut self, obj: ObjectId, rtype: u64) {
        if rtype == 0 {
            return;
        }
        let size = self.objects.size(obj);
        match self.dwarf_type_of(rtype) {
            Some(ty) if is_closure_struct(&self.index.ty(ty).name) => self.closure_context(obj, ty),
            Some(ty) => {
                let elem = self.index.size_of(ty).unwrap_or(0);
                let count = if elem > 0 && elem < size {
                    size / elem
                } else {
                    1
                };
                let evidence = if count > 1 {
                    Evidence::Inferred
                } else {
                    Evidence::Exact
                };
                self.assign(obj, ty, count, evidence);
            }
            None => {
                if let Some(name) = self.runtime_type_name(rtype) {
                    if is_closure_struct(&name) {
                        return self.closure(self.objects.addr(obj));
                    }
                    // A DWARF-typed reference may still say more (and lets us walk it).
                    self.assign_name(obj, &name, Evidence::Inferred);
                }
            }
        }
    }

    /// Types whatever a typed root storage of type `ty` at `addr` points to.
    /// A pointer whose value lies outside the heap (`var x = &T{…}`, which
    /// the compiler lays out statically) types what that value points to too.
    pub fn seed_root(&mut self, addr: u64, ty: TypeId) {
        self.walk_value(addr, ty, 1);
        let ptr = self.index.ty(self.index.underlying(ty));
        if let (TypeKind::Pointer, Some(pointee)) = (&ptr.kind, ptr.target) {
            let value = self.word(addr).filter(|&v| v != 0);
            if let Some(v) = value.filter(|&v| self.objects.find(v).is_none()) {
                self.walk_value(v, pointee, 1);
            }
        }
        self.drain();
    }

    /// Types what a (possibly split) stack variable points at: each pointer
    /// word of its type is used only where a stack piece holds it.
    pub fn seed_pieces(&mut self, seed: &PieceSeed) {
        let addr_of = |off: u64, len: u64| {
            seed.pieces
                .iter()
                .find(|&&(p, size, _)| p <= off && off + len <= p + size)
                .map(|&(p, _, addr)| addr + (off - p))
        };
        let shapes = self.shapes_of(seed.ty);
        for (off, shape) in shapes.iter() {
            let need = match shape {
                Shape::Slice(_) => 24,
                Shape::Str | Shape::Eface | Shape::Iface => 16,
                _ => 8,
            };
            if let Some(at) = addr_of(*off, need) {
                self.apply(at, shape);
            } else if let (Shape::Slice(elem), Some(at)) = (shape, addr_of(*off, 8)) {
                // Only the data pointer survived: the element type still holds.
                if let Some(ptr) = self.space.read_u64(at) {
                    let target = self.objects.find(ptr);
                    self.slice_backing(ptr, target, *elem, 0);
                }
            }
        }
        self.drain();
    }

    /// The model's index for a DWARF type (with its layout), for roots.
    pub fn intern_type(&mut self, ty: TypeId) -> u32 {
        let index = self.index;
        let name = index.ty(ty).name.clone();
        self.names
            .intern_with(&name, || Some(layout_of(index, ty, 1)))
    }

    /// Types a closure context and what it captured (finalizer and cleanup functions).
    pub fn seed_closure(&mut self, ctx: u64) {
        self.closure(ctx);
        self.drain();
    }

    /// Large waves (walked in address order) drop the pages of the memory
    /// they have walked past: a later wave reads them again from the page
    /// cache, but meanwhile they do not count against the process.
    pub fn releasing_passed_memory(mut self, release: ReleaseBytes<'s>) -> Self {
        self.release_behind = Some(release);
        self
    }

    /// Releases what the walk has left behind once it is `RELEASE_STEP`
    /// past the last release, or all the rest of a region it has left.
    fn release_passed(
        &self,
        o: u32,
        run: Option<(u64, &'s [u8])>,
        passed: &mut Option<Passed<'s>>,
    ) {
        let (Some(release), Some((start, data))) = (self.release_behind, run) else {
            return;
        };
        match passed {
            Some(p) if p.start == start => {
                // An object walked without reading its memory may lie
                // past the run: nothing to say about the run then.
                let addr = self.objects.addr(ObjectId(o));
                if addr < start || addr - start >= data.len() as u64 {
                    return;
                }
                let to = addr.saturating_sub(RELEASE_MARGIN);
                if to >= p.released_to + RELEASE_STEP {
                    let range = (p.released_to - start) as usize..(to - start) as usize;
                    if let Some(bytes) = data.get(range) {
                        release(bytes);
                    }
                    p.released_to = to;
                }
            }
            _ => {
                self.release_rest(passed.take());
                *passed = Some(Passed {
                    start,
                    data,
                    released_to: start,
                });
            }
        }
    }

    fn release_rest(&self, passed: Option<Passed<'s>>) {
        if let (Some(release), Some(p)) = (self.release_behind, passed) {
            if let Some(bytes) = p.data.get((p.released_to - p.start) as usize..) {
                release(bytes);
            }
        }
    }

    /// Uses the model's resolved edges for pointers inside objects.
    pub fn with_edges(mut self, edges: &'s Edges) -> Self {
        self.edges = Some(edges);
        self
    }

    /// The object a pointer word at `at` refers to (any address inside it).
    #[inline]
    fn target_of(&self, at: u64, word: u64) -> Option<ObjectId> {
        self.target_with_start(at, word).map(|(o, _)| o)
    }

    /// `target_of`, and whether the pointer holds the target's first
    /// address (when the edges recorded it).
    #[inline]
    fn target_with_start(&self, at: u64, word: u64) -> Option<(ObjectId, Option<bool>)> {
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
    fn word(&self, at: u64) -> Option<u64> {
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
    fn target_start(&self, at: u64, word: u64) -> Option<ObjectId> {
        match self.target_with_start(at, word)? {
            (o, Some(true)) => Some(o),
            (_, Some(false)) => None,
            (o, None) => (self.objects.addr(o) == word).then_some(o),
        }
    }

    /// Runs propagation until nothing changes. Work goes in waves, each
    /// sorted by address, so big heaps are walked with locality rather than
    /// in the random order pointers lead to.
    pub fn drain(&mut self) {
        let mut wave = WorkSet::new(self.typed.len());
        let mut bitmap: Vec<u64> = Vec::new();
        // The memory run of the last walked object: waves go in address
        // order, so the next object is nearly always in it (a lookup per
        // object was a fifth of typing).
        let mut run: Option<(u64, &'s [u8])> = None;
        while !self.queue.is_empty() {
            // The emptied set of the previous wave collects the next one.
            std::mem::swap(&mut wave, &mut self.queue);
            if wave.in_bits {
                let mut passed = None;
                take_set_bits(&mut wave.bits, |o| {
                    self.walk_object(o, &mut run);
                    self.release_passed(o, run, &mut passed);
                });
                self.release_rest(passed);
                wave.in_bits = false;
            } else {
                let mut list = std::mem::take(&mut wave.list);
                self.order_wave(&mut list, &mut bitmap);
                for &o in &list {
                    self.walk_object(o, &mut run);
                }
                list.clear();
                wave.list = list;
            }
        }
    }

    /// Walks one queued object's contents with the type it holds now.
    fn walk_object(&mut self, o: u32, run: &mut Option<(u64, &'s [u8])>) {
        let obj = ObjectId(o);
        let name = self.typed[obj.index()] & NAME_MASK;
        let Some(&pair) = self
            .pair_of_name
            .get(name as usize)
            .filter(|&&p| p != u32::MAX)
        else {
            return; // typed since by name or layout alone
        };
        let (ty, count, _) = self.pairs[pair as usize];
        let (elem, has_pointers) = self.type_facts(ty);
        if !has_pointers {
            return;
        }
        let addr = self.objects.addr(obj);
        let size = self.objects.size(obj);
        let count = size
            .checked_div(elem)
            .map_or(1, |fit| count.min(fit).max(1));
        let in_run = |(start, data): (u64, &'s [u8])| {
            let off = usize::try_from(addr.checked_sub(start)?).ok()?;
            data.get(off..off.checked_add(size as usize)?)
        };
        let mem = match run.and_then(in_run) {
            Some(m) => Some(m),
            None => {
                *run = self.space.run_containing(addr);
                run.and_then(in_run)
                    .or_else(|| self.space.read(addr, size as usize))
            }
        };
        self.current_mem = mem.map(|m| (addr, m));
        self.current_row = self
            .edges
            .map(|e| (addr, e.offsets(obj), e.targets(obj), e.row(obj).start));
        self.row_cursor.set(0);
        self.walk_value(addr, ty, count);
        self.current_mem = None;
        self.current_row = None;
    }

    /// Puts a wave in object order. Large waves go through a bitmap of all
    /// objects (linear, and it drops duplicates: each object is walked once,
    /// with the type it holds now, the best one assigned).
    fn order_wave(&self, wave: &mut Vec<u32>, bitmap: &mut Vec<u64>) {
        if wave.len() > 64 {
            sort_ids(wave, self.typed.len(), bitmap);
        }
    }

    /// A type's size and whether walking a value of it can type anything.
    fn type_facts(&mut self, ty: TypeId) -> (u64, bool) {
        let i = ty.0 as usize;
        if let Some(Some(f)) = self.type_facts.get(i) {
            return *f;
        }
        let facts = (
            self.index.size_of(ty).unwrap_or(0),
            !self.shapes_of(ty).is_empty(),
        );
        if self.type_facts.len() <= i {
            self.type_facts.resize(i + 1, None);
        }
        self.type_facts[i] = Some(facts);
        facts
    }

    fn type_name(&self, ty: TypeId, count: u64) -> String {
        let name = &self.index.ty(ty).name;
        if count == 1 {
            name.clone()
        } else {
            format!("[{count}]{name}")
        }
    }

    /// Records that `obj` is `count` values of `ty`, if that is better
    /// evidence than what typed it before, and queues its contents.
    fn evidence(&self, i: usize) -> Evidence {
        match self.typed[i] >> NAME_BITS {
            0 => Evidence::None,
            1 => Evidence::Partial,
            2 => Evidence::Inferred,
            _ => Evidence::Exact,
        }
    }

    fn set_type(&mut self, i: usize, name: u32, evidence: Evidence) {
        self.typed[i] = (evidence as u32) << NAME_BITS | (name & NAME_MASK);
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

    fn assign(&mut self, obj: ObjectId, ty: TypeId, count: u64, evidence: Evidence) {
        let i = obj.index();
        if evidence <= self.evidence(i) || !self.may_type(i) {
            return;
        }
        // A value larger than the object cannot be in it: a stale pointer
        // (dead memory reused by a smaller object) claims otherwise.
        let need = self.type_facts(ty).0.saturating_mul(count);
        if need > self.objects.size(obj) {
            return;
        }
        let pair = match self.pair_ids.get(&(ty, count)) {
            Some(&p) => p,
            None => {
                let name = self.type_name(ty, count);
                let index = self.index;
                let n = self
                    .names
                    .intern_with(&name, || Some(layout_of(index, ty, count)));
                let p = self.pairs.len() as u32;
                self.pairs.push((ty, count, n));
                self.pair_is_closure
                    .push(count == 1 && is_closure_struct(&self.index.ty(ty).name));
                self.pair_ids.insert((ty, count), p);
                if self.pair_of_name.len() <= n as usize {
                    self.pair_of_name.resize(n as usize + 1, u32::MAX);
                }
                if self.pair_of_name[n as usize] == u32::MAX {
                    self.pair_of_name[n as usize] = p;
                }
                p
            }
        };
        // A closure context is named by its function, whatever typed it.
        if self.pair_is_closure[pair as usize] {
            return self.closure_context(obj, ty);
        }
        self.set_type(i, self.pairs[pair as usize].2, evidence);
        self.queue.push(obj.0);
    }

    fn assign_name(&mut self, obj: ObjectId, name: &str, evidence: Evidence) {
        let i = obj.index();
        if evidence > self.evidence(i) && self.may_type(i) {
            let name = self.names.intern(name);
            self.set_type(i, name, evidence);
        }
    }

    fn assign_layout(&mut self, obj: ObjectId, name: &str, layout: TypeLayout) {
        let i = obj.index();
        if Evidence::Exact > self.evidence(i) && self.may_type(i) {
            let name = self.names.intern_with(name, || Some(layout));
            self.set_type(i, name, Evidence::Exact);
        }
    }

    /// Evidence from a pointer of type *pointee to the start of `obj`.
    fn pointer_evidence(&self, obj: ObjectId, pointee_size: u64) -> Evidence {
        if pointee_size * 2 > self.objects.size(obj) {
            Evidence::Exact
        } else {
            Evidence::Partial
        }
    }

    /// The object that starts exactly at `addr`.
    fn object_at(&self, addr: u64) -> Option<ObjectId> {
        let o = self.objects.find(addr)?;
        (self.objects.addr(o) == addr).then_some(o)
    }

    fn walk_value(&mut self, addr: u64, ty: TypeId, count: u64) {
        let shapes = self.shapes_of(ty);
        if shapes.is_empty() {
            return;
        }
        let size = self.index.size_of(ty).unwrap_or(0);
        for i in 0..count {
            let base = addr + i * size;
            for (off, shape) in shapes.iter() {
                self.apply(base + off, shape);
            }
            if size == 0 {
                break;
            }
        }
    }

    fn apply(&mut self, at: u64, shape: &Shape) {
        let space = self.space;
        let Some(word) = self.word(at) else {
            return;
        };
        if word == 0 {
            return;
        }
        match *shape {
            Shape::Ptr(pointee) => {
                if let Some(o) = self.target_start(at, word) {
                    // Nothing beats exact: skip the size lookup (a cache
                    // miss) for the many pointers to objects typed already.
                    if self.evidence(o.index()) == Evidence::Exact {
                        return;
                    }
                    let pointee = self.index.underlying(pointee);
                    let ev = self.pointer_evidence(o, self.index.size_of(pointee).unwrap_or(0));
                    match self.index.ty(pointee).kind {
                        TypeKind::Array { count } if count > 0 => {
                            if let Some(elem) = self.index.ty(pointee).target {
                                self.assign(o, elem, count, ev);
                            }
                        }
                        _ => self.assign(o, pointee, 1, ev),
                    }
                }
            }
            Shape::Slice(elem) => {
                let cap = self.word(at + 16).unwrap_or(0);
                let target = self.target_of(at, word);
                self.slice_backing(word, target, elem, cap);
            }
            Shape::Str => {
                let len = self.word(at + 8).unwrap_or(0);
                if let (Some(o), Some(u8t)) = (self.target_of(at, word), self.uint8) {
                    // A string never says more than Inferred.
                    if self.evidence(o.index()) >= Evidence::Inferred {
                        return;
                    }
                    let start = self.objects.addr(o);
                    let size = self.objects.size(o);
                    // A string from the object's start knows its length; a
                    // substring only proves the bytes exist: name the whole object.
                    if word == start && len > 0 && len <= size {
                        self.assign(o, u8t, len, Evidence::Inferred);
                    } else {
                        self.assign(o, u8t, size, Evidence::Partial);
                    }
                }
            }
            Shape::Eface => {
                let data = space.read_u64(at + 8).unwrap_or(0);
                self.interface_value(word, at + 8, data);
            }
            Shape::Iface => {
                let Some(rt) = &self.rt else { return };
                let Some(tword) = space.read_u64(word + rt.itab_type) else {
                    return;
                };
                let data = space.read_u64(at + 8).unwrap_or(0);
                self.interface_value(tword, at + 8, data);
            }
            Shape::Func => self.closure(word),
            Shape::Chan(elem) => {
                let Some(h) = self.object_at(word) else {
                    return;
                };
                let Some(rt) = &self.rt else { return };
                let (buf_off, q_off) = (rt.hchan_buf, rt.hchan_dataqsiz);
                let hchan_name = format!("hchan<{}>", self.index.ty(elem).name);
                match self.index.type_named(&hchan_name) {
                    Some(t) => self.assign(h, t, 1, Evidence::Exact),
                    None => self.assign_name(h, &hchan_name, Evidence::Exact),
                }
                let buf = space.read_u64(word + buf_off).unwrap_or(0);
                let qsize = space.read_u64(word + q_off).unwrap_or(0);
                if let Some(b) = self.object_at(buf) {
                    if b != h && qsize > 0 {
                        self.assign(b, elem, qsize, Evidence::Exact);
                    }
                }
            }
            Shape::SwissMap(map_struct) => self.swiss_map(word, map_struct),
            Shape::Buckets {
                bucket,
                b_at,
                old,
                flags_at,
            } => {
                const SAME_SIZE_GROW: u64 = 8;
                let Some(b) = space.read_uint((at as i64 + b_at) as u64, 1) else {
                    return;
                };
                let same_size = flags_at
                    .and_then(|f| space.read_uint((at as i64 + f) as u64, 1))
                    .is_some_and(|flags| flags & SAME_SIZE_GROW != 0);
                let log2 = if old && !same_size {
                    b.saturating_sub(1)
                } else {
                    b
                };
                if let Some(o) = self.object_at(word) {
                    self.assign(o, bucket, 1u64 << log2.min(40), Evidence::Exact);
                }
            }
            Shape::Groups(group) => {
                let mask = space.read_u64(at + 8).unwrap_or(0);
                if let Some(o) = self.object_at(word) {
                    self.assign(
                        o,
                        group,
                        mask.saturating_add(1).min(1 << 40),
                        Evidence::Exact,
                    );
                }
            }
            Shape::Repeat { elem, count, size } => {
                let shapes = self.shapes_of(elem);
                for i in 0..count {
                    for (off, s) in shapes.iter() {
                        self.apply(at + i * size + off, s);
                    }
                }
            }
        }
    }

    fn slice_backing(&mut self, ptr: u64, target: Option<ObjectId>, elem: TypeId, cap: u64) {
        let Some(o) = target else {
            return;
        };
        if self.evidence(o.index()) == Evidence::Exact {
            return;
        }
        let esize = self.index.size_of(elem).unwrap_or(0);
        if esize == 0 {
            return;
        }
        let start = self.objects.addr(o);
        if (ptr - start) % esize != 0 {
            return;
        }
        // A subslice starting inside the array still proves its full length.
        let count = (ptr - start) / esize + cap;
        let size = self.objects.size(o);
        if cap > 0 && count.saturating_mul(esize) <= size {
            self.assign(o, elem, count, Evidence::Exact);
        } else {
            // The capacity was not readable (a dead register, say): the
            // element type still holds; count what fits.
            self.assign(o, elem, size / esize, Evidence::Inferred);
        }
    }

    /// An interface's dynamic value: pointer-shaped types are stored in the
    /// data word itself; others are boxed in the object it points to.
    fn interface_value(&mut self, rtype: u64, data_at: u64, data: u64) {
        if data == 0 || rtype == 0 {
            return;
        }
        match self.dwarf_type_of(rtype) {
            Some(ty) => {
                if self.is_direct(ty) {
                    let shapes = self.shapes_of(ty);
                    for (off, s) in shapes.iter() {
                        self.apply(data_at + off, s);
                    }
                } else if let Some(o) = self.object_at(data) {
                    self.assign(o, ty, 1, Evidence::Exact);
                }
            }
            None => {
                // Only a boxed value is the object the data word points at.
                if self.descriptor_is_direct(rtype) != Some(false) {
                    return;
                }
                if let (Some(o), Some(name)) = (self.object_at(data), self.runtime_type_name(rtype))
                {
                    self.assign_name(o, &name, Evidence::Exact);
                }
            }
        }
    }

    /// A value stored directly in an interface's data word: one pointer.
    fn is_direct(&mut self, ty: TypeId) -> bool {
        self.index.size_of(ty) == Some(PTR) && {
            let shapes = self.shapes_of(ty);
            shapes.len() == 1
                && shapes[0].0 == 0
                && matches!(
                    shapes[0].1,
                    Shape::Ptr(_) | Shape::Func | Shape::Chan(_) | Shape::SwissMap(_)
                )
        } || matches!(
            self.index.ty(self.index.underlying(ty)).go_kind,
            Some(kind::PTR | kind::UNSAFE_POINTER | kind::MAP | kind::CHAN | kind::FUNC)
        )
    }

    /// A closure context: named by its function; captured variables typed
    /// from the closure function's DWARF (Go ≥1.23).
    fn closure(&mut self, ctx: u64) {
        let Some(o) = self.object_at(ctx) else { return };
        if self.evidence(o.index()) == Evidence::Exact {
            return;
        }
        let Some(pc) = self.space.read_u64(ctx) else {
            return;
        };
        let Some(func) = self.funcs.find(pc) else {
            return;
        };
        let name = self.funcs.name(func).unwrap_or_default();
        let type_name = format!("closure {name}");
        // A method value (`x.M` as a func) captures its receiver right after the code pointer.
        if let Some(method) = name.strip_suffix("-fm") {
            let recv = self.receiver_type(method);
            let layout = closure_layout(self.index, vec![(PTR, "<receiver>".to_string(), recv)]);
            self.assign_layout(o, &type_name, layout);
            if let Some(recv) = recv {
                self.walk_value(ctx + PTR, recv, 1);
            }
            return;
        }
        // Generic instantiations describe captures with shape types, not the real ones.
        let captured = match self.index.function_at(pc) {
            Some(dfunc) if !name.contains('[') => {
                let dfunc = dfunc.clone();
                self.index.closure_variables(self.dwarf, &dfunc)
            }
            _ => Vec::new(),
        };
        let fields = captured
            .iter()
            .map(|(n, off, ty)| {
                (
                    *off,
                    format!("<closure>.{}", n.trim_start_matches('&')),
                    Some(*ty),
                )
            })
            .collect();
        self.assign_layout(o, &type_name, closure_layout(self.index, fields));
        for (_, offset, ty) in captured {
            self.walk_value(ctx + offset, ty, 1);
        }
    }

    /// A closure context whose struct type is known (the compiler's
    /// `struct { F uintptr; …captured }`): named by its function, as
    /// `closure` names it, with the captured variables as its fields.
    fn closure_context(&mut self, o: ObjectId, ty: TypeId) {
        let ctx = self.objects.addr(o);
        let Some(pc) = self.space.read_u64(ctx) else {
            return;
        };
        // The code pointer is the closure function's entry.
        let Some(func) = self.funcs.find(pc).filter(|f| f.entry == pc) else {
            return;
        };
        let name = self.funcs.name(func).unwrap_or_default();
        let method_value = name.ends_with("-fm");
        let fields = self
            .index
            .ty(self.index.underlying(ty))
            .fields
            .iter()
            .skip(1)
            .map(|f| {
                let label = if method_value && f.name == "R" {
                    "<receiver>".to_string()
                } else {
                    format!("<closure>.{}", f.name)
                };
                (f.offset, label, f.ty)
            })
            .collect();
        self.assign_layout(
            o,
            &format!("closure {name}"),
            closure_layout(self.index, fields),
        );
        self.walk_value(ctx, ty, 1);
    }

    /// The receiver type of method `pkg.T.M` or `pkg.(*T).M`, from DWARF.
    fn receiver_type(&self, method: &str) -> Option<TypeId> {
        let (recv, _) = method.rsplit_once('.')?;
        let (pkg, ty) = recv.rsplit_once('.').map_or(("", recv), |(p, t)| (p, t));
        let name = match ty.strip_prefix("(*").and_then(|t| t.strip_suffix(')')) {
            Some(t) => format!("*{pkg}.{t}"),
            None => format!("{pkg}.{ty}"),
        };
        self.index.type_named(&name)
    }

    /// Types a sampled object from the type its allocation call passed.
    pub fn seed_allocation(&mut self, a: &alloc_calls::AllocType) {
        // Generic code allocates through the shape's descriptor, which is
        // not the program's type.
        if self
            .runtime_type_name(a.rtype)
            .is_none_or(|n| n.contains("go.shape."))
        {
            return;
        }
        let size = self.objects.size(a.object);
        match self.dwarf_type_of(a.rtype) {
            Some(ty) => {
                let (elem, pointers) = self.type_facts(ty);
                // Pointer-free allocations under 16 bytes share tiny blocks.
                let tiny = match a.what {
                    alloc_calls::Allocated::One => elem < 16,
                    // The tiny block's size class is 16 bytes: a 16-byte
                    // pointer-free array may be one, or share one.
                    alloc_calls::Allocated::Elements => size <= 16,
                };
                if elem == 0 || elem > size || (!pointers && tiny) {
                    return;
                }
                match a.what {
                    alloc_calls::Allocated::One if is_closure_struct(&self.index.ty(ty).name) => {
                        self.closure_context(a.object, ty)
                    }
                    alloc_calls::Allocated::One => self.assign(a.object, ty, 1, Evidence::Exact),
                    alloc_calls::Allocated::Elements => {
                        self.assign(a.object, ty, size / elem, Evidence::Inferred)
                    }
                }
            }
            None => {
                if let (alloc_calls::Allocated::One, Some(name)) =
                    (a.what, self.runtime_type_name(a.rtype))
                {
                    if is_closure_struct(&name) {
                        self.closure(self.objects.addr(a.object));
                    } else {
                        self.assign_name(a.object, &name, Evidence::Inferred);
                    }
                }
            }
        }
    }

    /// Types what interface values found in memory hold (their type word
    /// names a descriptor or itab; the pointer maps say both words are pointers).
    pub fn seed_interfaces(&mut self, words: &[ifaces::InterfaceWord]) {
        for w in words {
            let Some(data) = self.space.read_u64(w.data_at) else {
                continue;
            };
            if w.loose && !w.itab && !self.fills_box(w.rtype, data) {
                continue;
            }
            self.interface_value(w.rtype, w.data_at, data);
        }
        self.drain();
    }

    /// Types the object of a finalizer from the finalizer's own record of
    /// the pointer type it was set with (`ot`, a *ptrtype).
    pub fn seed_pointer_type(&mut self, ptr: u64, ptrtype: u64) {
        let Some(ty) = self.dwarf_type_of(ptrtype) else {
            return;
        };
        let Some(pointee) = self.index.ty(self.index.underlying(ty)).target else {
            return;
        };
        if let Some(o) = self.object_at(ptr) {
            self.assign(o, pointee, 1, Evidence::Exact);
            self.drain();
        }
    }

    fn swiss_map(&mut self, m: u64, map_struct: TypeId) {
        let Some(o) = self.object_at(m) else { return };
        self.assign(o, map_struct, 1, Evidence::Exact);
        let t = self.index.ty(map_struct);
        let field = |n: &str| t.fields.iter().find(|f| f.name == n).cloned();
        let (Some(dir_ptr), Some(dir_len)) = (field("dirPtr"), field("dirLen")) else {
            return;
        };
        // dirPtr is typed **table<K,V>; the group type hangs off table.groups.data.
        let Some(table_ptr) = dir_ptr
            .ty
            .and_then(|t| self.index.ty(self.index.underlying(t)).target)
        else {
            return;
        };
        let Some(table) = self.index.ty(self.index.underlying(table_ptr)).target else {
            return;
        };
        let group = self
            .index
            .ty(self.index.underlying(table))
            .fields
            .iter()
            .find(|f| f.name == "groups")
            .and_then(|f| f.ty)
            .and_then(|gr| {
                let gr = self.index.ty(self.index.underlying(gr));
                gr.fields
                    .iter()
                    .find(|f| f.name == "data")
                    .and_then(|f| f.ty)
            })
            .and_then(|p| self.index.ty(self.index.underlying(p)).target);
        let dir = self.space.read_u64(m + dir_ptr.offset).unwrap_or(0);
        let len = self.space.read_u64(m + dir_len.offset).unwrap_or(0);
        if len == 0 {
            // A small map: dirPtr points at its single group.
            if let (Some(g), Some(group)) = (self.object_at(dir), group) {
                self.assign(g, group, 1, Evidence::Exact);
            }
        } else if let Some(d) = self.object_at(dir) {
            self.assign(d, table_ptr, len, Evidence::Exact);
        }
    }

    /// The DWARF type of a runtime type descriptor. DW_AT_go_runtime_type
    /// holds the descriptor's offset from `moduledata.types`.
    fn dwarf_type_of(&self, rtype: u64) -> Option<TypeId> {
        let base = self.rt.as_ref().map_or(0, |rt| rt.types_base);
        rtype
            .checked_sub(base)
            .and_then(|off| self.index.type_of_runtime_type(off))
            .or_else(|| self.index.type_of_runtime_type(rtype))
    }

    /// Whether `data` is the start of an object that a boxed value of the
    /// type fills (more than half of it, as its allocation would).
    fn fills_box(&self, rtype: u64, data: u64) -> bool {
        let Some((_, _, _, size_at)) = self.descriptor_fields else {
            return false;
        };
        let (Some(size), Some(o)) = (self.space.read_u64(rtype + size_at), self.object_at(data))
        else {
            return false;
        };
        self.descriptor_is_direct(rtype) == Some(false)
            && size <= self.objects.size(o)
            && size * 2 > self.objects.size(o)
    }

    /// Whether an interface holding this type keeps the value in its data
    /// word (pointer-shaped types: pointers, maps, channels, funcs, and
    /// structs or arrays of exactly one such word) rather than boxed.
    fn descriptor_is_direct(&self, rtype: u64) -> Option<bool> {
        let (kind_at, kind_size, ptrdata_at, size_at) = self.descriptor_fields?;
        let k = (self.space.read_uint(rtype + kind_at, kind_size)? & 0x1f) as u8;
        let size = self.space.read_u64(rtype + size_at)?;
        let ptrdata = self.space.read_u64(rtype + ptrdata_at)?;
        Some(
            matches!(
                k,
                kind::PTR | kind::UNSAFE_POINTER | kind::MAP | kind::CHAN | kind::FUNC
            ) || (size == PTR && ptrdata == PTR),
        )
    }

    /// The runtime's own name for a type descriptor (for types DWARF lacks).
    fn runtime_type_name(&self, rtype: u64) -> Option<String> {
        let rt = self.rt.as_ref()?;
        crate::input::goruntime::rtypes::type_name(
            self.space,
            rtype,
            rt.types_base,
            rt.str_off.offset,
            rt.tflag.offset,
        )
    }

    fn shapes_of(&mut self, ty: TypeId) -> Rc<Vec<(u64, Shape)>> {
        if let Some(s) = self.shapes.get(&ty) {
            return s.clone();
        }
        let mut out = Vec::new();
        self.collect_shapes(ty, 0, &mut out, 0);
        let rc = Rc::new(out);
        self.shapes.insert(ty, rc.clone());
        rc
    }

    fn collect_shapes(&self, ty: TypeId, base: u64, out: &mut Vec<(u64, Shape)>, depth: u32) {
        if depth > 24 || out.len() > MAX_SHAPES {
            return;
        }
        let index = self.index;
        let t = index.ty(ty);
        match t.go_kind {
            Some(kind::STRING) => return out.push((base, Shape::Str)),
            Some(kind::SLICE) => {
                if let Some(elem) = t.go_elem.or_else(|| slice_elem(index, ty)) {
                    out.push((base, Shape::Slice(elem)));
                }
                return;
            }
            Some(kind::INTERFACE) => {
                let u = index.ty(index.underlying(ty));
                let empty = u.name == "runtime.eface"
                    || u.fields.first().is_some_and(|f| f.name == "_type");
                return out.push((base, if empty { Shape::Eface } else { Shape::Iface }));
            }
            Some(kind::FUNC) => return out.push((base, Shape::Func)),
            Some(kind::CHAN) => {
                if let Some(elem) = t.go_elem {
                    out.push((base, Shape::Chan(elem)));
                }
                return;
            }
            Some(kind::MAP) => {
                // map[K]V is a typedef of a pointer to its header struct.
                let Some(hdr) = t.target.and_then(|p| index.ty(index.underlying(p)).target) else {
                    return;
                };
                let hdr_t = index.ty(index.underlying(hdr));
                if hdr_t.fields.iter().any(|f| f.name == "dirPtr") {
                    out.push((base, Shape::SwissMap(index.underlying(hdr))));
                } else {
                    out.push((base, Shape::Ptr(hdr)));
                }
                return;
            }
            Some(kind::UNSAFE_POINTER) => return,
            _ => {}
        }
        match t.kind {
            TypeKind::Pointer => {
                if let Some(p) = t.target {
                    out.push((base, Shape::Ptr(p)));
                }
            }
            TypeKind::Typedef => {
                if let Some(next) = t.target {
                    self.collect_shapes(next, base, out, depth + 1);
                }
            }
            TypeKind::Struct => {
                let classic_hdr = t.name.starts_with("hash<");
                let b_field = t.fields.iter().find(|f| f.name == "B").map(|f| f.offset);
                let flags_field = t
                    .fields
                    .iter()
                    .find(|f| f.name == "flags")
                    .map(|f| f.offset);
                let groups_ref = t.name.starts_with("groupReference<");
                for f in &t.fields {
                    let Some(ft) = f.ty else { continue };
                    let at = base + f.offset;
                    if classic_hdr && (f.name == "buckets" || f.name == "oldbuckets") {
                        if let (Some(b), Some(bucket)) =
                            (b_field, index.ty(index.underlying(ft)).target)
                        {
                            out.push((
                                at,
                                Shape::Buckets {
                                    bucket,
                                    b_at: b as i64 - f.offset as i64,
                                    old: f.name == "oldbuckets",
                                    flags_at: flags_field.map(|fl| fl as i64 - f.offset as i64),
                                },
                            ));
                            continue;
                        }
                    }
                    if groups_ref && f.name == "data" {
                        if let Some(group) = index.ty(index.underlying(ft)).target {
                            out.push((at, Shape::Groups(group)));
                            continue;
                        }
                    }
                    self.collect_shapes(ft, at, out, depth + 1);
                }
            }
            TypeKind::Array { count } => {
                let Some(elem) = t.target else { return };
                let size = index.size_of(elem).unwrap_or(0);
                let mut inner = Vec::new();
                self.collect_shapes(elem, 0, &mut inner, depth + 1);
                if inner.is_empty() || size == 0 {
                    return;
                }
                if (count as usize).saturating_mul(inner.len()) <= 4096 {
                    for i in 0..count {
                        out.extend(inner.iter().map(|(o, s)| (base + i * size + o, s.clone())));
                    }
                } else {
                    out.push((base, Shape::Repeat { elem, count, size }));
                }
            }
            _ => {}
        }
    }
}

/// The compiler's closure context struct: a code pointer, then captures.
fn is_closure_struct(name: &str) -> bool {
    name.trim_start_matches("noalg.")
        .starts_with("struct { F uintptr")
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

/// Element type of a slice struct without DW_AT_go_elem: its `array` field's pointee.
fn slice_elem(index: &DwarfIndex, ty: TypeId) -> Option<TypeId> {
    let u = index.ty(index.underlying(ty));
    let array = u.fields.iter().find(|f| f.name == "array")?.ty?;
    index.ty(index.underlying(array)).target
}

/// The layout the model keeps for naming edges: labelled pointer fields of
/// one element, and the role of runtime-internal containers.
fn layout_of(index: &DwarfIndex, ty: TypeId, count: u64) -> TypeLayout {
    let t = index.ty(index.underlying(ty));
    let name = index.ty(ty).name.as_str();
    let mut fields: Vec<(u32, Box<str>)> = index
        .pointer_fields(ty)
        .into_iter()
        .filter_map(|(o, p)| Some((u32::try_from(o).ok()?, p.into_boxed_str())))
        .collect();
    // The runtime's own (non-generic) map types appear when a header or a
    // runtime pointer typed the object first.
    let generic_internal = matches!(
        name,
        "runtime.bmap"
            | "runtime.mapextra"
            | "internal/runtime/maps.table"
            | "*internal/runtime/maps.table"
            | "internal/runtime/maps.groupsReference"
    );
    let role = if name.starts_with("hash<")
        || (name.starts_with("map<") && t.fields.iter().any(|f| f.name == "dirPtr"))
        || matches!(name, "runtime.hmap" | "internal/runtime/maps.Map")
    {
        TypeRole::MapHeader
    } else if generic_internal {
        TypeRole::MapInternal
    } else if name.starts_with("bucket<") {
        classic_bucket_slots(index, ty).map_or(TypeRole::MapInternal, TypeRole::MapEntries)
    } else if name.starts_with("noalg.map.group[") {
        swiss_group_slots(index, ty).map_or(TypeRole::MapInternal, TypeRole::MapEntries)
    } else if name.starts_with("table<")
        || name.starts_with("*table<")
        || name.starts_with("groupReference<")
    {
        TypeRole::MapInternal
    } else if name.starts_with("hchan<") || name == "runtime.hchan" {
        if let Some(buf) = t.fields.iter().find(|f| f.name == "buf") {
            fields.retain(|(o, _)| u64::from(*o) != buf.offset);
            fields.push((buf.offset as u32, "<chan buffer>".into()));
        }
        TypeRole::Chan
    } else {
        TypeRole::Plain
    };
    TypeLayout {
        elem_size: index.size_of(ty).unwrap_or(0),
        count,
        fields,
        role,
    }
}

fn closure_layout(index: &DwarfIndex, captured: Vec<(u64, String, Option<TypeId>)>) -> TypeLayout {
    let mut fields = Vec::new();
    for (off, label, ty) in captured {
        match ty {
            Some(ty) => {
                for (o, p) in index.pointer_fields(ty) {
                    if let Ok(o) = u32::try_from(off + o) {
                        fields.push((o, format!("{label}{p}").into_boxed_str()));
                    }
                }
            }
            None => {
                if let Ok(o) = u32::try_from(off) {
                    fields.push((o, label.into_boxed_str()));
                }
            }
        }
    }
    TypeLayout {
        elem_size: 0,
        count: 1,
        fields,
        role: TypeRole::Closure,
    }
}

fn key_kind(index: &DwarfIndex, ty: TypeId) -> KeyKind {
    let t = index.ty(index.underlying(ty));
    let size = index.size_of(ty).unwrap_or(0) as u8;
    match index.ty(ty).go_kind.or(t.go_kind) {
        Some(24) => KeyKind::String,
        Some(1) => KeyKind::Bool,
        Some(2..=6) => KeyKind::Int(size),
        Some(7..=12) => KeyKind::Uint(size),
        Some(22 | 26) => KeyKind::Pointer,
        _ if t.kind == TypeKind::Pointer => KeyKind::Pointer,
        _ => KeyKind::Other,
    }
}

/// Classic `bucket<K,V>` {tophash [8]uint8; keys [8]K; values [8]V; overflow}.
fn classic_bucket_slots(index: &DwarfIndex, ty: TypeId) -> Option<MapSlots> {
    let t = index.ty(index.underlying(ty));
    let keys = t.fields.iter().find(|f| f.name == "keys")?;
    let values = t.fields.iter().find(|f| f.name == "values")?;
    let key_ty = index.ty(index.underlying(keys.ty?)).target?;
    let value_ty = index.ty(index.underlying(values.ty?)).target?;
    let entries = match index.ty(index.underlying(keys.ty?)).kind {
        TypeKind::Array { count } => count,
        _ => 8,
    };
    Some(MapSlots {
        entries,
        key_offset: keys.offset,
        key_stride: index.size_of(key_ty)?,
        value_offset: values.offset,
        value_stride: index.size_of(value_ty)?,
        value_size: index.size_of(value_ty)?,
        key: key_kind(index, key_ty),
    })
}

/// Swiss `group[K]V` {ctrl uint64; slots [8]struct{key K; elem V}}.
fn swiss_group_slots(index: &DwarfIndex, ty: TypeId) -> Option<MapSlots> {
    let t = index.ty(index.underlying(ty));
    let slots = t.fields.iter().find(|f| f.name == "slots")?;
    let arr = index.ty(index.underlying(slots.ty?));
    let entries = match arr.kind {
        TypeKind::Array { count } => count,
        _ => return None,
    };
    let slot_ty = arr.target?;
    let slot = index.ty(index.underlying(slot_ty));
    let key = slot.fields.iter().find(|f| f.name == "key")?;
    let elem = slot.fields.iter().find(|f| f.name == "elem")?;
    let stride = index.size_of(slot_ty)?;
    Some(MapSlots {
        entries,
        key_offset: slots.offset + key.offset,
        key_stride: stride,
        value_offset: slots.offset + elem.offset,
        value_stride: stride,
        value_size: index.size_of(elem.ty?)?,
        key: key_kind(index, key.ty?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(w: &WorkSet) -> Vec<u32> {
        if !w.in_bits {
            let mut l = w.list.clone();
            l.sort_unstable();
            l.dedup();
            return l;
        }
        (0..w.objects as u32)
            .filter(|&o| w.bits[o as usize / 64] & (1 << (o % 64)) != 0)
            .collect()
    }

    #[test]
    fn a_work_set_turns_into_a_bitmap_past_its_limit_and_keeps_every_member() {
        let objects = 1 << 20; // limit: 32768 entries
        let mut w = WorkSet::new(objects);
        assert!(w.is_empty());
        let mut want = std::collections::BTreeSet::new();
        // Spread, repeated, out of order.
        for i in 0..40_000u32 {
            let o = (i.wrapping_mul(2_654_435_761) % objects as u32) | 1;
            w.push(o);
            want.insert(o);
            if i < 32_768 {
                assert!(!w.in_bits, "switched at {i}");
            }
        }
        assert!(w.in_bits);
        assert!(w.list.is_empty());
        assert!(!w.is_empty());
        assert_eq!(members(&w), want.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_small_heap_switches_only_where_waves_use_a_bitmap_anyway() {
        let w = WorkSet::new(1000);
        assert_eq!(w.limit(), BITMAP_FROM);
    }
}
