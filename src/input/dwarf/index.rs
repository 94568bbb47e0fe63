//! One pass over every DIE into compact, name-indexed tables. Go's DWARF is
//! flat (types, globals and functions at unit level), so a depth-first walk
//! that remembers the enclosing type or function is enough.

use std::collections::HashMap;

use gimli::{
    AttributeValue, DebuggingInformationEntry, EndianSlice, LittleEndian, Unit, constants as dw,
};

use super::go_attrs;
use crate::error::{Error, Result};
use crate::input::elf::Executable;

type R<'a> = EndianSlice<'a, LittleEndian>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Base { encoding: u8 },
    Pointer,
    Struct,
    Array { count: u64 },
    Typedef,
    Func,
    Unspecified,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub offset: u64,
    pub ty: Option<TypeId>,
    pub embedded: bool,
}

#[derive(Debug, Clone)]
pub struct TypeInfo {
    pub name: String,
    pub kind: TypeKind,
    pub size: Option<u64>,
    /// Pointee, array element, typedef target.
    pub target: Option<TypeId>,
    /// Go's reflect.Kind (DW_AT_go_kind).
    pub go_kind: Option<u8>,
    /// Slice/chan element or map value (DW_AT_go_elem), map key (DW_AT_go_key).
    pub go_elem: Option<TypeId>,
    pub go_key: Option<TypeId>,
    /// Address of the runtime type descriptor (DW_AT_go_runtime_type).
    pub runtime_type: Option<u64>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct Global {
    pub name: String,
    pub addr: u64,
    pub ty: Option<TypeId>,
}

#[derive(Debug, Clone, Copy)]
pub struct Constant {
    pub value: i64,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub low_pc: u64,
    pub high_pc: u64,
    /// Section offset of the subprogram DIE, to read its variables on demand.
    pub die: usize,
    /// Section offset of its unit's header.
    pub unit: usize,
}

#[derive(Default)]
pub struct DwarfIndex {
    pub types: Vec<TypeInfo>,
    type_by_name: HashMap<String, TypeId>,
    type_by_runtime: HashMap<u64, TypeId>,
    /// Sorted by address.
    pub globals: Vec<Global>,
    global_by_name: HashMap<String, usize>,
    constants: HashMap<String, Constant>,
    /// DIE section offset → type, for types referenced by variables read later.
    type_by_offset: HashMap<usize, TypeId>,
    /// Sorted by low_pc.
    pub functions: Vec<Function>,
    /// Load bias applied by `rebase` (DWARF's own ranges stay at link addresses).
    pub bias: u64,
    /// Names asked for by `type_named`, `global` and `constant`, when on:
    /// what the runtime layout tables must carry (`rootpath dev runtime-table`).
    recorder: Option<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    /// Section offsets of the units that hold functions, sorted: where a
    /// cross-unit reference (an inlined call's abstract origin) points.
    pub(crate) unit_starts: std::sync::OnceLock<Vec<usize>>,
}

/// References seen during the walk, resolved once every type has an id.
#[derive(Default)]
struct Pending {
    offset_to_type: HashMap<usize, TypeId>,
    type_refs: Vec<(TypeId, Slot, usize)>,
    global_refs: Vec<(usize, usize)>,
}

#[derive(Clone, Copy)]
enum Slot {
    Target,
    Elem,
    Key,
    Field(usize),
}

impl DwarfIndex {
    pub fn build(exe: &Executable, dwarf: &gimli::Dwarf<R<'_>>) -> Result<DwarfIndex> {
        let bad = |e: gimli::Error| Error::malformed(exe.path(), format!("bad DWARF: {e}"));
        let mut index = DwarfIndex::default();
        let mut pending = Pending::default();
        let mut units = dwarf.units();
        while let Some(header) = units.next().map_err(bad)? {
            let unit = dwarf.unit(header).map_err(bad)?;
            index.walk_unit(dwarf, &unit, &mut pending).map_err(bad)?;
        }
        index.resolve(pending);
        index.index_globals();
        index.functions.sort_by_key(|f| f.low_pc);
        Ok(index)
    }

    fn index_globals(&mut self) {
        self.globals.sort_by_key(|g| g.addr);
        self.global_by_name = self
            .globals
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.clone(), i))
            .collect();
    }

    /// Adds a type described by something other than DWARF (a runtime
    /// layout table, a runtime type descriptor); its references must
    /// already name ids of this index.
    pub fn push_type(&mut self, info: TypeInfo) -> TypeId {
        let id = TypeId(self.types.len() as u32);
        if !info.name.is_empty() {
            self.type_by_name.entry(info.name.clone()).or_insert(id);
        }
        if let Some(rt) = info.runtime_type {
            self.type_by_runtime.entry(rt).or_insert(id);
        }
        self.types.push(info);
        id
    }

    /// Fills in a type pushed earlier as a placeholder (types may refer to
    /// each other in cycles).
    pub fn replace_type(&mut self, id: TypeId, info: TypeInfo) {
        if !info.name.is_empty() {
            self.type_by_name.entry(info.name.clone()).or_insert(id);
        }
        if let Some(rt) = info.runtime_type {
            self.type_by_runtime.entry(rt).or_insert(id);
        }
        self.types[id.0 as usize] = info;
    }

    /// Makes `id` the type its name means.
    pub fn prefer_name(&mut self, id: TypeId) {
        let name = self.types[id.0 as usize].name.clone();
        self.type_by_name.insert(name, id);
    }

    /// Ties a runtime type descriptor to a type already in the index.
    pub fn link_runtime_type(&mut self, addr: u64, id: TypeId) {
        self.type_by_runtime.entry(addr).or_insert(id);
    }

    pub fn push_constant(&mut self, name: String, value: i64) {
        self.constants.insert(name, Constant { value });
    }

    pub fn push_globals(&mut self, globals: impl IntoIterator<Item = Global>) {
        self.globals.extend(globals);
        self.index_globals();
    }

    pub fn constants(&self) -> impl Iterator<Item = (&str, i64)> {
        self.constants.iter().map(|(n, c)| (n.as_str(), c.value))
    }

    /// From now on, remember every name looked up.
    pub fn record_queries(&mut self) {
        self.recorder = Some(Default::default());
    }

    pub fn recorded_queries(&self) -> Vec<String> {
        self.recorder
            .as_ref()
            .and_then(|r| r.lock().ok().map(|set| set.iter().cloned().collect()))
            .unwrap_or_default()
    }

    fn note_query(&self, name: &str) {
        if let Some(set) = self.recorder.as_ref().and_then(|r| r.lock().ok()).as_mut() {
            set.insert(name.to_string());
        }
    }

    fn walk_unit(
        &mut self,
        dwarf: &gimli::Dwarf<R<'_>>,
        unit: &Unit<R<'_>>,
        pending: &mut Pending,
    ) -> gimli::Result<()> {
        let mut entries = unit.entries();
        // The struct or array whose children we are reading, with its depth.
        let mut parent: Option<(TypeId, isize)> = None;
        while let Some(entry) = entries.next_dfs()? {
            let depth = entry.depth();
            if parent.is_some_and(|(_, d)| depth <= d) {
                parent = None;
            }
            let offset = section_offset(unit, entry);
            match entry.tag() {
                dw::DW_TAG_base_type
                | dw::DW_TAG_pointer_type
                | dw::DW_TAG_structure_type
                | dw::DW_TAG_array_type
                | dw::DW_TAG_typedef
                | dw::DW_TAG_subroutine_type
                | dw::DW_TAG_unspecified_type => {
                    let id = self.add_type(dwarf, unit, entry, offset, pending)?;
                    if entry.has_children() {
                        parent = Some((id, depth));
                    }
                }
                dw::DW_TAG_member => {
                    if let Some((owner, _)) = parent {
                        self.add_field(dwarf, unit, entry, owner, pending)?;
                    }
                }
                dw::DW_TAG_subrange_type => {
                    if let Some((owner, _)) = parent {
                        let count = match entry.attr_value(dw::DW_AT_count) {
                            Some(v) => v.udata_value(),
                            None => entry
                                .attr_value(dw::DW_AT_upper_bound)
                                .and_then(|v| v.udata_value())
                                .and_then(|u| u.checked_add(1)),
                        };
                        if let Some(count) = count {
                            self.types[owner.0 as usize].kind = TypeKind::Array { count };
                        }
                    }
                }
                dw::DW_TAG_variable if depth == 1 => {
                    // Package-level variables sit directly under the unit.
                    let Some(name) = name(dwarf, unit, entry) else {
                        continue;
                    };
                    let Some(addr) = static_address(entry) else {
                        continue;
                    };
                    if let Some(off) = type_ref(unit, entry) {
                        pending.global_refs.push((self.globals.len(), off));
                    }
                    self.globals.push(Global {
                        name,
                        addr,
                        ty: None,
                    });
                }
                dw::DW_TAG_constant => {
                    let Some(name) = name(dwarf, unit, entry) else {
                        continue;
                    };
                    let value = match entry.attr_value(dw::DW_AT_const_value) {
                        Some(AttributeValue::Sdata(v)) => v,
                        Some(AttributeValue::Udata(v)) => v as i64,
                        Some(AttributeValue::Data1(v)) => i64::from(v),
                        Some(AttributeValue::Data2(v)) => i64::from(v),
                        Some(AttributeValue::Data4(v)) => i64::from(v),
                        Some(AttributeValue::Data8(v)) => v as i64,
                        _ => continue,
                    };
                    self.constants.insert(name, Constant { value });
                }
                dw::DW_TAG_subprogram => {
                    let Some(name) = name(dwarf, unit, entry) else {
                        continue;
                    };
                    let Some(low_pc) = entry
                        .attr_value(dw::DW_AT_low_pc)
                        .and_then(|v| dwarf.attr_address(unit, v).ok().flatten())
                    else {
                        continue;
                    };
                    let high_pc = match entry.attr_value(dw::DW_AT_high_pc) {
                        Some(v @ (AttributeValue::Addr(_) | AttributeValue::DebugAddrIndex(_))) => {
                            dwarf.attr_address(unit, v).ok().flatten().unwrap_or(low_pc)
                        }
                        Some(v) => low_pc + v.udata_value().unwrap_or(0),
                        None => low_pc,
                    };
                    self.functions.push(Function {
                        name,
                        low_pc,
                        high_pc,
                        die: offset,
                        unit: unit.header.offset().0,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn add_type(
        &mut self,
        dwarf: &gimli::Dwarf<R<'_>>,
        unit: &Unit<R<'_>>,
        entry: &DebuggingInformationEntry<R<'_>>,
        offset: usize,
        pending: &mut Pending,
    ) -> gimli::Result<TypeId> {
        let id = TypeId(self.types.len() as u32);
        let kind = match entry.tag() {
            dw::DW_TAG_base_type => TypeKind::Base {
                encoding: match entry.attr_value(dw::DW_AT_encoding) {
                    Some(AttributeValue::Encoding(e)) => e.0,
                    _ => 0,
                },
            },
            dw::DW_TAG_pointer_type => TypeKind::Pointer,
            dw::DW_TAG_structure_type => TypeKind::Struct,
            dw::DW_TAG_array_type => TypeKind::Array { count: 0 },
            dw::DW_TAG_typedef => TypeKind::Typedef,
            dw::DW_TAG_subroutine_type => TypeKind::Func,
            _ => TypeKind::Unspecified,
        };
        for (attr, slot) in [
            (dw::DW_AT_type, Slot::Target),
            (go_attrs::GO_ELEM, Slot::Elem),
            (go_attrs::GO_KEY, Slot::Key),
        ] {
            if let Some(off) = entry.attr_value(attr).and_then(|v| unit_ref(unit, v)) {
                pending.type_refs.push((id, slot, off));
            }
        }
        let info = TypeInfo {
            name: name(dwarf, unit, entry).unwrap_or_default(),
            kind,
            size: entry
                .attr_value(dw::DW_AT_byte_size)
                .and_then(|v| v.udata_value()),
            target: None,
            go_kind: entry
                .attr_value(go_attrs::GO_KIND)
                .and_then(|v| v.udata_value())
                .map(|k| k as u8),
            go_elem: None,
            go_key: None,
            runtime_type: entry
                .attr_value(go_attrs::GO_RUNTIME_TYPE)
                .and_then(|v| match v {
                    AttributeValue::Addr(a) => Some(a),
                    other => other.udata_value(),
                }),
            fields: Vec::new(),
        };
        if !info.name.is_empty() {
            // The first definition of a name wins; Go emits each named type once.
            self.type_by_name.entry(info.name.clone()).or_insert(id);
        }
        if let Some(rt) = info.runtime_type {
            self.type_by_runtime.insert(rt, id);
        }
        self.types.push(info);
        pending.offset_to_type.insert(offset, id);
        Ok(id)
    }

    fn add_field(
        &mut self,
        dwarf: &gimli::Dwarf<R<'_>>,
        unit: &Unit<R<'_>>,
        entry: &DebuggingInformationEntry<R<'_>>,
        owner: TypeId,
        pending: &mut Pending,
    ) -> gimli::Result<()> {
        let fields = &mut self.types[owner.0 as usize].fields;
        if let Some(off) = type_ref(unit, entry) {
            pending
                .type_refs
                .push((owner, Slot::Field(fields.len()), off));
        }
        fields.push(Field {
            name: name(dwarf, unit, entry).unwrap_or_default(),
            offset: entry
                .attr_value(dw::DW_AT_data_member_location)
                .and_then(|v| v.udata_value())
                .unwrap_or(0),
            ty: None,
            embedded: entry
                .attr_value(go_attrs::GO_EMBEDDED_FIELD)
                .is_some_and(|v| matches!(v, AttributeValue::Flag(true))),
        });
        Ok(())
    }

    fn resolve(&mut self, pending: Pending) {
        for (id, slot, off) in pending.type_refs {
            let target = pending.offset_to_type.get(&off).copied();
            let t = &mut self.types[id.0 as usize];
            match slot {
                Slot::Target => t.target = target,
                Slot::Elem => t.go_elem = target,
                Slot::Key => t.go_key = target,
                Slot::Field(i) => {
                    if let Some(f) = t.fields.get_mut(i) {
                        f.ty = target;
                    }
                }
            }
        }
        for (g, off) in pending.global_refs {
            self.globals[g].ty = pending.offset_to_type.get(&off).copied();
        }
        self.type_by_offset = pending.offset_to_type;
    }

    /// Moves every code and data address by `bias`: a position-independent
    /// executable runs at its link addresses plus the load bias.
    pub fn rebase(&mut self, bias: u64) {
        if bias == 0 {
            return;
        }
        self.bias = self.bias.wrapping_add(bias);
        for g in &mut self.globals {
            g.addr = g.addr.wrapping_add(bias);
        }
        for f in &mut self.functions {
            f.low_pc = f.low_pc.wrapping_add(bias);
            f.high_pc = f.high_pc.wrapping_add(bias);
        }
    }

    pub fn ty(&self, id: TypeId) -> &TypeInfo {
        &self.types[id.0 as usize]
    }

    pub fn type_at_offset(&self, offset: usize) -> Option<TypeId> {
        self.type_by_offset.get(&offset).copied()
    }

    pub fn type_named(&self, name: &str) -> Option<TypeId> {
        self.note_query(name);
        self.type_by_name.get(name).copied()
    }

    pub fn type_of_runtime_type(&self, addr: u64) -> Option<TypeId> {
        self.type_by_runtime.get(&addr).copied()
    }

    pub fn global(&self, name: &str) -> Option<&Global> {
        self.note_query(name);
        self.global_by_name.get(name).map(|&i| &self.globals[i])
    }

    /// The global whose storage holds `addr`, using the type size for extent.
    pub fn global_at(&self, addr: u64) -> Option<&Global> {
        let i = self.globals.partition_point(|g| g.addr <= addr);
        let g = self.globals.get(i.checked_sub(1)?)?;
        let size = g.ty.and_then(|t| self.size_of(t)).unwrap_or(1).max(1);
        (addr < g.addr + size).then_some(g)
    }

    pub fn constant(&self, name: &str) -> Option<i64> {
        self.note_query(name);
        self.constants.get(name).map(|c| c.value)
    }

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

    pub fn function_at(&self, pc: u64) -> Option<&Function> {
        let i = self.functions.partition_point(|f| f.low_pc <= pc);
        let f = self.functions.get(i.checked_sub(1)?)?;
        (pc < f.high_pc).then_some(f)
    }
}

fn section_offset(unit: &Unit<R<'_>>, entry: &DebuggingInformationEntry<R<'_>>) -> usize {
    entry.offset().to_unit_section_offset(unit).0
}

pub(crate) fn unit_ref(unit: &Unit<R<'_>>, value: AttributeValue<R<'_>>) -> Option<usize> {
    match value {
        AttributeValue::UnitRef(o) => Some(o.to_unit_section_offset(unit).0),
        AttributeValue::DebugInfoRef(o) => Some(o.0),
        _ => None,
    }
}

fn type_ref(unit: &Unit<R<'_>>, entry: &DebuggingInformationEntry<R<'_>>) -> Option<usize> {
    unit_ref(unit, entry.attr_value(dw::DW_AT_type)?)
}

pub(crate) fn name(
    dwarf: &gimli::Dwarf<R<'_>>,
    unit: &Unit<R<'_>>,
    entry: &DebuggingInformationEntry<R<'_>>,
) -> Option<String> {
    let value = entry.attr_value(dw::DW_AT_name)?;
    let s = dwarf.attr_string(unit, value).ok()?;
    Some(String::from_utf8_lossy(s.slice()).into_owned())
}

/// A DW_OP_addr location: the variable lives at a fixed address.
fn static_address(entry: &DebuggingInformationEntry<R<'_>>) -> Option<u64> {
    let AttributeValue::Exprloc(expr) = entry.attr_value(dw::DW_AT_location)? else {
        return None;
    };
    let bytes = expr.0.slice();
    if bytes.len() == 9 && bytes[0] == gimli::constants::DW_OP_addr.0 {
        Some(u64::from_le_bytes(bytes[1..9].try_into().ok()?))
    } else {
        None
    }
}
