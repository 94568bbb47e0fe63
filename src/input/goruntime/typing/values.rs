//! Go's value rules: what a typed word says about the object it points at
//! (pointers, slices, strings, interfaces, channels, classic and swiss maps).

use crate::input::dwarf::{TypeId, TypeKind};
use crate::input::elf::address_space::Memory;
use crate::input::goruntime::rtypes::kind;
use crate::model::ObjectId;

use super::evidence::Evidence;
use super::shapes::Shape;
use super::{PTR, Typer};

impl<'a, 'd, 's, M: Memory + ?Sized> Typer<'a, 'd, 's, M> {
    pub(super) fn walk_value(&mut self, addr: u64, ty: TypeId, count: u64) {
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

    pub(super) fn apply(&mut self, at: u64, shape: &Shape) {
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
                // The count is DWARF's: walk only elements that are in memory
                // (a corrupt count would otherwise loop up to 2^64 times).
                let shapes = self.shapes_of(elem);
                for i in 0..count {
                    let Some(start) = i.checked_mul(size).and_then(|o| o.checked_add(at)) else {
                        break;
                    };
                    if self.word(start).is_none() {
                        break;
                    }
                    for (off, s) in shapes.iter() {
                        self.apply(start.wrapping_add(*off), s);
                    }
                }
            }
        }
    }

    pub(super) fn slice_backing(
        &mut self,
        ptr: u64,
        target: Option<ObjectId>,
        elem: TypeId,
        cap: u64,
    ) {
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
    pub(super) fn interface_value(&mut self, rtype: u64, data_at: u64, data: u64) {
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
    pub(super) fn is_direct(&mut self, ty: TypeId) -> bool {
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

    pub(super) fn swiss_map(&mut self, m: u64, map_struct: TypeId) {
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
}
