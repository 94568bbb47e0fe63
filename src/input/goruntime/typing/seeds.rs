//! Where typing starts: types the runtime recorded (allocation headers,
//! spans, allocation calls, finalizers, interface values) and typed roots.

use crate::input::dwarf::{TypeId, TypeKind};
use crate::input::elf::address_space::Memory;
use crate::model::ObjectId;

use super::closures::is_closure_struct;
use super::evidence::Evidence;
use super::shapes::Shape;
use super::{Typer, alloc_calls, ifaces};

/// A typed variable whose value may be split into pieces (optimised code
/// keeps some parts of a slice in registers): (offset in the variable, size,
/// stack address) for each piece that is on the stack.
#[derive(Debug, Clone)]
pub struct PieceSeed {
    pub ty: TypeId,
    pub pieces: Vec<(u64, u64, u64)>,
}

impl<'a, 'd, 's, M: Memory + ?Sized> Typer<'a, 'd, 's, M> {
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

    /// Types a closure context and what it captured (finalizer and cleanup functions).
    pub fn seed_closure(&mut self, ctx: u64) {
        self.closure(ctx);
        self.drain();
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
}
