//! Type layout queries: sizes through typedefs, field offsets, and the
//! pointer words of a value with the Go path that reaches each.

use super::{DwarfIndex, TypeId, TypeKind};

impl DwarfIndex {
    /// Size of a type, looking through typedefs.
    pub fn size_of(&self, id: TypeId) -> Option<u64> {
        let mut t = self.ty(id);
        for _ in 0..16 {
            if let Some(s) = t.size {
                return Some(s);
            }
            match (t.kind, t.target) {
                (TypeKind::Typedef, Some(next)) => t = self.ty(next),
                (TypeKind::Pointer, _) => return Some(8),
                _ => return None,
            }
        }
        None
    }

    /// Follows typedefs to the underlying type.
    pub fn underlying(&self, mut id: TypeId) -> TypeId {
        for _ in 0..16 {
            let t = self.ty(id);
            match (t.kind, t.target) {
                (TypeKind::Typedef, Some(next)) => id = next,
                _ => break,
            }
        }
        id
    }

    /// Byte offset of `field` in struct `type_name` (through typedefs).
    pub fn field_offset(&self, type_name: &str, field: &str) -> Option<u64> {
        let id = self.underlying(self.type_named(type_name)?);
        self.ty(id)
            .fields
            .iter()
            .find(|f| f.name == field)
            .map(|f| f.offset)
    }

    /// Pointer words of a value of type `id` with the Go path that reaches
    /// each: ".next", ".items" (a slice's data pointer), ".b[2]"; "" when the
    /// value itself is the pointer. Bounded for huge arrays.
    pub fn pointer_fields(&self, id: TypeId) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        self.collect_fields(id, 0, String::new(), &mut out, 0);
        out
    }

    fn collect_fields(
        &self,
        id: TypeId,
        base: u64,
        path: String,
        out: &mut Vec<(u64, String)>,
        depth: u32,
    ) {
        if depth > 24 || out.len() > 4096 {
            return;
        }
        let t = self.ty(id);
        match t.go_kind {
            // One Go value, one pointer word: the data pointer of strings and slices,
            // the data word of interfaces, maps, channels, funcs, pointers.
            Some(24 | 23 | 18 | 19 | 21 | 22 | 26) => return out.push((base, path)),
            Some(20) => return out.push((base + 8, path)),
            _ => {}
        }
        match t.kind {
            TypeKind::Pointer => out.push((base, path)),
            TypeKind::Typedef => {
                if let Some(next) = t.target {
                    self.collect_fields(next, base, path, out, depth + 1);
                }
            }
            TypeKind::Struct => {
                for f in &t.fields {
                    if let Some(ft) = f.ty {
                        let name = if f.embedded {
                            // Embedded fields are reached by their type's name.
                            f.name.rsplit('.').next().unwrap_or(&f.name).to_string()
                        } else {
                            f.name.clone()
                        };
                        self.collect_fields(
                            ft,
                            base + f.offset,
                            format!("{path}.{name}"),
                            out,
                            depth + 1,
                        );
                    }
                }
            }
            TypeKind::Array { count } => {
                let Some(elem) = t.target else { return };
                let size = self.size_of(elem).unwrap_or(0);
                if size == 0 {
                    return;
                }
                let mut inner = Vec::new();
                self.collect_fields(elem, 0, String::new(), &mut inner, depth + 1);
                for i in 0..count.min(4096 / inner.len().max(1) as u64) {
                    for (o, p) in &inner {
                        out.push((base + i * size + o, format!("{path}[{i}]{p}")));
                    }
                }
            }
            _ => {}
        }
    }

    /// Offsets of the pointer words in a value of type `id` (pointers, maps,
    /// channels, funcs, unsafe.Pointer; through structs and arrays).
    pub fn pointer_offsets(&self, id: TypeId) -> Vec<u64> {
        let mut out = Vec::new();
        self.collect_pointers(id, 0, &mut out, 0);
        out
    }

    fn collect_pointers(&self, id: TypeId, base: u64, out: &mut Vec<u64>, depth: u32) {
        const PTR_KINDS: [u8; 5] = [
            18, /* chan */
            19, /* func */
            21, /* map */
            22, /* ptr */
            26, /* unsafe.Pointer */
        ];
        if depth > 32 || out.len() > 1 << 20 {
            return;
        }
        let t = self.ty(id);
        if t.go_kind.is_some_and(|k| PTR_KINDS.contains(&k)) || t.kind == TypeKind::Pointer {
            out.push(base);
            return;
        }
        match t.kind {
            TypeKind::Typedef => {
                if let Some(next) = t.target {
                    self.collect_pointers(next, base, out, depth + 1);
                }
            }
            TypeKind::Struct => {
                for f in &t.fields {
                    if let Some(ft) = f.ty {
                        self.collect_pointers(ft, base + f.offset, out, depth + 1);
                    }
                }
            }
            TypeKind::Array { count } => {
                if let Some(elem) = t.target {
                    let size = self.size_of(elem).unwrap_or(0);
                    let mut elem_ptrs = Vec::new();
                    self.collect_pointers(elem, 0, &mut elem_ptrs, depth + 1);
                    if size > 0 && !elem_ptrs.is_empty() {
                        // Nested arrays multiply: the total is capped, not each level.
                        for i in 0..count.min(1 << 20) {
                            let Some(at) = i.checked_mul(size).and_then(|o| o.checked_add(base))
                            else {
                                break;
                            };
                            if out.len() >= 1 << 20 {
                                break;
                            }
                            out.extend(elem_ptrs.iter().map(|o| at.wrapping_add(*o)));
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
