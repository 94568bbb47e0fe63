//! Types from the runtime's own type descriptors (`abi.Type` and its kinds'
//! extensions in the executable's types section), for binaries without
//! DWARF. Each descriptor becomes an index type shaped the way Go's DWARF
//! shapes it (a slice is a struct {array, len, cap}, a map a pointer to a
//! `hash<K,V>` or `map<K,V>` header, …), so typing and path labels work the
//! same whichever source described the program.

use std::collections::HashMap;

use crate::input::dwarf::{DwarfIndex, Field, TypeId, TypeInfo, TypeKind};
use crate::input::goruntime::layout::Layouts;
use crate::model::Memory;

/// reflect.Kind values (DW_AT_go_kind and the descriptors' `Kind_`).
pub mod kind {
    pub const BOOL: u8 = 1;
    pub const UINTPTR: u8 = 12;
    pub const FLOAT32: u8 = 13;
    pub const FLOAT64: u8 = 14;
    pub const COMPLEX128: u8 = 16;
    pub const ARRAY: u8 = 17;
    pub const CHAN: u8 = 18;
    pub const FUNC: u8 = 19;
    pub const INTERFACE: u8 = 20;
    pub const MAP: u8 = 21;
    pub const PTR: u8 = 22;
    pub const SLICE: u8 = 23;
    pub const STRING: u8 = 24;
    pub const STRUCT: u8 = 25;
    pub const UNSAFE_POINTER: u8 = 26;
}

const KIND_MASK: u64 = 0x1f;
const TFLAG_EXTRA_STAR: u64 = 2;
/// A bound against corrupt descriptors.
const MAX_FIELDS: u64 = 1 << 14;

/// Names of the runtime's type-descriptor structs, across versions: the
/// runtime tables must carry them (see `tables.rs`).
pub const DESCRIPTOR_TYPES: &[&str] = &[
    "internal/abi.Type",
    "internal/abi.PtrType",
    "internal/abi.SliceType",
    "internal/abi.ArrayType",
    "internal/abi.ChanType",
    "internal/abi.MapType",
    "internal/abi.OldMapType",
    "internal/abi.SwissMapType",
    "internal/abi.StructType",
    "internal/abi.StructField",
    "internal/abi.InterfaceType",
    "internal/abi.ITab",
    "runtime._type",
    "runtime.ptrtype",
    "runtime.slicetype",
    "runtime.arraytype",
    "runtime.chantype",
    "runtime.maptype",
    "runtime.structtype",
    "runtime.structfield",
    "runtime.interfacetype",
    "runtime.itab",
    "runtime.eface",
    "runtime.iface",
    "runtime.hmap",
    "runtime.bmap",
    "runtime.hchan",
    "runtime.moduledata",
    "internal/runtime/maps.Map",
    "internal/runtime/maps.table",
    "internal/runtime/maps.groupsReference",
    "int",
    "uint8",
    "uintptr",
];

/// Where the descriptor fields sit in this runtime version.
#[derive(Debug, Clone)]
pub struct DescriptorLayout {
    header: u64,
    size: u64,
    kind: (u64, u64),
    tflag: u64,
    str_off: u64,
    array_len: u64,
    map_key: u64,
    map_elem: u64,
    /// Classic maps' `bucket`, swiss maps' `Group`.
    map_group: u64,
    swiss: bool,
    struct_fields: u64,
    field_size: u64,
    field_name: u64,
    field_typ: u64,
    field_offset: u64,
    iface_methods: u64,
    pub(crate) itab_type: u64,
}

impl DescriptorLayout {
    pub fn new(layouts: &Layouts<'_>) -> Option<DescriptorLayout> {
        let f =
            |pairs: &[(&str, &str)]| pairs.iter().find_map(|(t, field)| layouts.field(t, field));
        let header = layouts
            .size("internal/abi.Type")
            .or_else(|| layouts.size("runtime._type"))?;
        let kind = f(&[("internal/abi.Type", "Kind_"), ("runtime._type", "kind")])?;
        let swiss_map = f(&[
            ("internal/abi.SwissMapType", "Group"),
            ("internal/abi.MapType", "Group"),
        ]);
        let classic_map = f(&[
            ("internal/abi.OldMapType", "Bucket"),
            ("internal/abi.MapType", "Bucket"),
            ("runtime.maptype", "bucket"),
        ]);
        let swiss = swiss_map.is_some()
            && layouts
                .field("internal/runtime/maps.Map", "dirPtr")
                .is_some();
        let map_prefix = if swiss {
            [
                ("internal/abi.SwissMapType", "Key"),
                ("internal/abi.MapType", "Key"),
            ]
        } else {
            [
                ("internal/abi.OldMapType", "Key"),
                ("internal/abi.MapType", "Key"),
            ]
        };
        let map_key = f(&map_prefix)
            .or_else(|| f(&[("runtime.maptype", "key")]))
            .map_or(header, |l| l.offset);
        Some(DescriptorLayout {
            header,
            size: f(&[("internal/abi.Type", "Size_"), ("runtime._type", "size")])?.offset,
            kind: (kind.offset, kind.size),
            tflag: f(&[("internal/abi.Type", "TFlag"), ("runtime._type", "tflag")])?.offset,
            str_off: f(&[("internal/abi.Type", "Str"), ("runtime._type", "str")])?.offset,
            array_len: f(&[
                ("internal/abi.ArrayType", "Len"),
                ("runtime.arraytype", "len"),
            ])
            .map_or(header + 16, |l| l.offset),
            map_key,
            map_elem: map_key + 8,
            map_group: if swiss { swiss_map } else { classic_map }
                .map_or(map_key + 16, |l| l.offset),
            swiss,
            struct_fields: f(&[
                ("internal/abi.StructType", "Fields"),
                ("runtime.structtype", "fields"),
            ])
            .map_or(header + 8, |l| l.offset),
            field_size: layouts
                .size("internal/abi.StructField")
                .or_else(|| layouts.size("runtime.structfield"))
                .unwrap_or(24),
            field_name: f(&[
                ("internal/abi.StructField", "Name"),
                ("runtime.structfield", "name"),
            ])
            .map_or(0, |l| l.offset),
            field_typ: f(&[
                ("internal/abi.StructField", "Typ"),
                ("runtime.structfield", "typ"),
            ])
            .map_or(8, |l| l.offset),
            field_offset: f(&[
                ("internal/abi.StructField", "Offset"),
                ("runtime.structfield", "offset"),
            ])
            .map_or(16, |l| l.offset),
            iface_methods: f(&[
                ("internal/abi.InterfaceType", "Methods"),
                ("runtime.interfacetype", "mhdr"),
            ])
            .map_or(header + 8, |l| l.offset),
            itab_type: f(&[("internal/abi.ITab", "Type"), ("runtime.itab", "_type")])
                .map_or(8, |l| l.offset),
        })
    }
}

/// Builds index types from descriptors in `[types, etypes)`.
pub struct Synthesizer<'m, M: Memory + ?Sized> {
    mem: &'m M,
    layout: DescriptorLayout,
    types: u64,
    etypes: u64,
    done: HashMap<u64, Option<TypeId>>,
    /// Pointer types made for slice `array` fields, by element.
    pointers: HashMap<TypeId, TypeId>,
}

impl<'m, M: Memory + ?Sized> Synthesizer<'m, M> {
    pub fn new(mem: &'m M, layout: DescriptorLayout, types: u64, etypes: u64) -> Self {
        Synthesizer {
            mem,
            layout,
            types,
            etypes,
            done: HashMap::new(),
            pointers: HashMap::new(),
        }
    }

    fn in_types(&self, addr: u64) -> bool {
        self.types <= addr && addr < self.etypes && addr % 8 == 0
    }

    fn word(&self, addr: u64) -> Option<u64> {
        self.mem.read_u64(addr)
    }

    /// The descriptor's name as the runtime prints it.
    pub fn name(&self, rtype: u64) -> Option<String> {
        type_name(
            self.mem,
            rtype,
            self.types,
            self.layout.str_off,
            self.layout.tflag,
        )
    }

    /// The name of the descriptor at `addr`, if `addr` looks like one
    /// (candidates such as code references into the types section are
    /// sifted with it).
    fn plausible_name(&self, addr: u64) -> Option<String> {
        if !self.in_types(addr) {
            return None;
        }
        let l = &self.layout;
        let size = self.word(addr + l.size)?;
        let k = (self.mem.read_uint(addr + l.kind.0, l.kind.1)? & KIND_MASK) as u8;
        if k == 0 || k > kind::UNSAFE_POINTER || size > 1 << 40 {
            return None;
        }
        let off = self.mem.read_uint(addr + l.str_off, 4)?;
        if self.types + off >= self.etypes {
            return None;
        }
        self.name(addr)
            .filter(|n| !n.is_empty() && n.bytes().all(|b| (0x20..0x7f).contains(&b)))
    }

    /// The index type of the descriptor at `rtype`, made on first use.
    pub fn type_of(&mut self, index: &mut DwarfIndex, rtype: u64) -> Option<TypeId> {
        if let Some(&t) = self.done.get(&rtype) {
            return t;
        }
        let Some(name) = self.plausible_name(rtype) else {
            self.done.insert(rtype, None);
            return None;
        };
        let offset = rtype - self.types;
        // The runtime's own types come from the layout table (DWARF's view).
        if let Some(t) = index
            .type_named(&name)
            .filter(|_| name.starts_with("runtime."))
        {
            index.link_runtime_type(offset, t);
            self.done.insert(rtype, Some(t));
            return Some(t);
        }
        // A placeholder first: types refer to themselves through pointers
        // (named already: a map type made meanwhile takes its elements' names).
        let id = index.push_type(TypeInfo {
            name: name.clone(),
            ..placeholder()
        });
        self.done.insert(rtype, Some(id));
        let info = self.describe(index, rtype, name, offset);
        index.replace_type(id, info);
        Some(id)
    }

    fn describe(
        &mut self,
        index: &mut DwarfIndex,
        rtype: u64,
        name: String,
        offset: u64,
    ) -> TypeInfo {
        let l = self.layout.clone();
        let size = self.word(rtype + l.size).unwrap_or(0);
        let k = (self.mem.read_uint(rtype + l.kind.0, l.kind.1).unwrap_or(0) & KIND_MASK) as u8;
        let mut info = TypeInfo {
            name,
            kind: TypeKind::Unspecified,
            size: Some(size),
            target: None,
            go_kind: Some(k),
            go_elem: None,
            go_key: None,
            runtime_type: Some(offset),
            fields: Vec::new(),
        };
        let elem_at = |s: &mut Self, index: &mut DwarfIndex, at: u64| {
            let e = s.word(at)?;
            s.type_of(index, e)
        };
        match k {
            kind::BOOL..=kind::COMPLEX128 => {
                info.kind = TypeKind::Base {
                    encoding: match k {
                        kind::BOOL => 2,
                        2..=6 => 5,
                        7..=kind::UINTPTR => 7,
                        kind::FLOAT32 | kind::FLOAT64 => 4,
                        _ => 3,
                    },
                }
            }
            kind::ARRAY => {
                info.kind = TypeKind::Array {
                    count: self.word(rtype + l.array_len).unwrap_or(0),
                };
                info.target = elem_at(self, index, rtype + l.header);
            }
            kind::CHAN => {
                info.kind = TypeKind::Pointer;
                info.go_elem = elem_at(self, index, rtype + l.header);
            }
            kind::FUNC | kind::UNSAFE_POINTER => info.kind = TypeKind::Pointer,
            kind::PTR => {
                info.kind = TypeKind::Pointer;
                info.target = elem_at(self, index, rtype + l.header);
            }
            kind::INTERFACE => {
                let methods = self.word(rtype + l.iface_methods + 8).unwrap_or(0);
                info.kind = TypeKind::Typedef;
                info.target = index.type_named(if methods == 0 {
                    "runtime.eface"
                } else {
                    "runtime.iface"
                });
            }
            kind::STRING => {
                info.kind = TypeKind::Struct;
                let bytes = index.type_named("uint8").map(|u| self.pointer_to(index, u));
                let int = index.type_named("int");
                info.fields = vec![field("str", 0, bytes), field("len", 8, int)];
            }
            kind::SLICE => {
                info.kind = TypeKind::Struct;
                let elem = elem_at(self, index, rtype + l.header);
                info.go_elem = elem;
                let array = elem.map(|e| self.pointer_to(index, e));
                let int = index.type_named("int");
                info.fields = vec![
                    field("array", 0, array),
                    field("len", 8, int),
                    field("cap", 16, int),
                ];
            }
            kind::STRUCT => {
                info.kind = TypeKind::Struct;
                info.fields = self.struct_fields(index, rtype);
            }
            kind::MAP => {
                info.kind = TypeKind::Typedef;
                info.go_key = elem_at(self, index, rtype + l.map_key);
                info.go_elem = elem_at(self, index, rtype + l.map_elem);
                let group = elem_at(self, index, rtype + l.map_group);
                let header = self.map_header(index, info.go_key, info.go_elem, group);
                info.target = header.map(|h| self.pointer_to(index, h));
            }
            _ => {}
        }
        info
    }

    fn struct_fields(&mut self, index: &mut DwarfIndex, rtype: u64) -> Vec<Field> {
        let l = self.layout.clone();
        let (Some(ptr), Some(len)) = (
            self.word(rtype + l.struct_fields),
            self.word(rtype + l.struct_fields + 8),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for i in 0..len.min(MAX_FIELDS) {
            let at = ptr + i * l.field_size;
            let (Some(name_ptr), Some(typ), Some(offset)) = (
                self.word(at + l.field_name),
                self.word(at + l.field_typ),
                self.word(at + l.field_offset),
            ) else {
                break;
            };
            let (name, embedded) = name_bytes(self.mem, name_ptr).unwrap_or_default();
            out.push(Field {
                name,
                offset,
                ty: self.type_of(index, typ),
                embedded,
            });
        }
        out
    }

    /// `hash<K,V>` (classic) or `map<K,V>` (swiss), as the linker writes
    /// them into DWARF: the runtime header with its bucket/table pointers
    /// retyped for K and V.
    fn map_header(
        &mut self,
        index: &mut DwarfIndex,
        key: Option<TypeId>,
        elem: Option<TypeId>,
        group: Option<TypeId>,
    ) -> Option<TypeId> {
        let name_of = |t: Option<TypeId>, index: &DwarfIndex| {
            t.map_or("?".to_string(), |t| index.ty(t).name.clone())
        };
        let kv = format!("{},{}", name_of(key, index), name_of(elem, index));
        let group = group?;
        if self.layout.swiss {
            if let Some(t) = index.type_named(&format!("map<{kv}>")) {
                return Some(t);
            }
            let mut reference = copy_of(index, "internal/runtime/maps.groupsReference")?;
            reference.name = format!("groupReference<{kv}>");
            let data = self.pointer_to(index, group);
            retype(&mut reference, "data", data);
            let reference = index.push_type(reference);
            let mut table = copy_of(index, "internal/runtime/maps.table")?;
            table.name = format!("table<{kv}>");
            retype(&mut table, "groups", reference);
            let table = index.push_type(table);
            let mut map = copy_of(index, "internal/runtime/maps.Map")?;
            map.name = format!("map<{kv}>");
            let table_ptr = self.pointer_to(index, table);
            let dir = self.pointer_to(index, table_ptr);
            retype(&mut map, "dirPtr", dir);
            Some(index.push_type(map))
        } else {
            if let Some(t) = index.type_named(&format!("hash<{kv}>")) {
                return Some(t);
            }
            // The runtime's bucket type names its arrays as the compiler
            // does (topbits, elems); DWARF's bucket<K,V> says tophash, values.
            let mut bucket = index.ty(group).clone();
            bucket.name = format!("bucket<{kv}>");
            bucket.runtime_type = None;
            for f in &mut bucket.fields {
                match f.name.as_str() {
                    "topbits" => f.name = "tophash".into(),
                    "elems" => f.name = "values".into(),
                    _ => {}
                }
            }
            let bucket = index.push_type(bucket);
            let mut hash = copy_of(index, "runtime.hmap")?;
            hash.name = format!("hash<{kv}>");
            let buckets = self.pointer_to(index, bucket);
            retype(&mut hash, "buckets", buckets);
            retype(&mut hash, "oldbuckets", buckets);
            Some(index.push_type(hash))
        }
    }

    /// An unnamed pointer type to `target` (one per target).
    fn pointer_to(&mut self, index: &mut DwarfIndex, target: TypeId) -> TypeId {
        if let Some(&p) = self.pointers.get(&target) {
            return p;
        }
        let p = index.push_type(TypeInfo {
            name: format!("*{}", index.ty(target).name),
            kind: TypeKind::Pointer,
            size: Some(8),
            target: Some(target),
            go_kind: Some(kind::PTR),
            go_elem: None,
            go_key: None,
            runtime_type: None,
            fields: Vec::new(),
        });
        self.pointers.insert(target, p);
        p
    }
}

/// A type descriptor's name as the runtime prints it: `str` is a NameOff
/// from the types section to an `abi.Name` (flags byte, varint length,
/// bytes), stored with a leading '*' when TFlagExtraStar is set.
pub fn type_name<M: Memory + ?Sized>(
    mem: &M,
    rtype: u64,
    types: u64,
    str_off: u64,
    tflag_off: u64,
) -> Option<String> {
    let off = mem.read_uint(rtype + str_off, 4)?;
    let tflag = mem.read_uint(rtype + tflag_off, 1).unwrap_or(0);
    let name = name_bytes(mem, types + off)?.0;
    Some(if tflag & TFLAG_EXTRA_STAR != 0 {
        name.strip_prefix('*').unwrap_or(&name).to_string()
    } else {
        name
    })
}

/// An `abi.Name`: its text and whether the embedded flag is set.
fn name_bytes<M: Memory + ?Sized>(mem: &M, at: u64) -> Option<(String, bool)> {
    let flags = mem.read(at, 1)?[0];
    // The length is a varint; a name at the end of a mapping has fewer than 10 bytes after it.
    let p = at.checked_add(1)?;
    let head = mem
        .read(p, 10)
        .or_else(|| (1..10).rev().find_map(|n| mem.read(p, n)))?;
    let (len, used) = crate::input::varint::uvarint(head).ok()?;
    if len > 4096 {
        return None;
    }
    let bytes = mem.read(p + used as u64, len as usize)?;
    Some((
        String::from_utf8_lossy(bytes).into_owned(),
        flags & (1 << 3) != 0,
    ))
}

fn placeholder() -> TypeInfo {
    TypeInfo {
        name: String::new(),
        kind: TypeKind::Unspecified,
        size: None,
        target: None,
        go_kind: None,
        go_elem: None,
        go_key: None,
        runtime_type: None,
        fields: Vec::new(),
    }
}

fn field(name: &str, offset: u64, ty: Option<TypeId>) -> Field {
    Field {
        name: name.to_string(),
        offset,
        ty,
        embedded: false,
    }
}

fn copy_of(index: &DwarfIndex, name: &str) -> Option<TypeInfo> {
    let mut t = index.ty(index.underlying(index.type_named(name)?)).clone();
    t.runtime_type = None;
    Some(t)
}

fn retype(t: &mut TypeInfo, field: &str, ty: TypeId) {
    if let Some(f) = t.fields.iter_mut().find(|f| f.name == field) {
        f.ty = Some(ty);
    }
}
