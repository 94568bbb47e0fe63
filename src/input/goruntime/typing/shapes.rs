//! Where the pointer words of a DWARF type are and what each one means
//! (pointer, slice, string, interface, map, channel…), computed once per type.

use std::rc::Rc;

use crate::input::dwarf::{DwarfIndex, TypeId, TypeKind};
use crate::input::elf::address_space::Memory;
use crate::input::goruntime::rtypes::kind;

use super::Typer;

/// Bound on pointer words listed for one type (huge arrays are walked lazily).
const MAX_SHAPES: usize = 1 << 16;

/// What a pointer-holding word (or word pair) of a typed value means.
#[derive(Debug, Clone)]
pub(super) enum Shape {
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

impl<'a, 'd, 's, M: Memory + ?Sized> Typer<'a, 'd, 's, M> {
    pub(super) fn shapes_of(&mut self, ty: TypeId) -> Rc<Vec<(u64, Shape)>> {
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

/// Element type of a slice struct without DW_AT_go_elem: its `array` field's pointee.
fn slice_elem(index: &DwarfIndex, ty: TypeId) -> Option<TypeId> {
    let u = index.ty(index.underlying(ty));
    let array = u.fields.iter().find(|f| f.name == "array")?.ty?;
    index.ty(index.underlying(array)).target
}
