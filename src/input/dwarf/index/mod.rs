//! One pass over every DIE into compact, name-indexed tables. Go's DWARF is
//! flat (types, globals and functions at unit level), so a depth-first walk
//! that remembers the enclosing type or function is enough.

mod layout;
mod lookup;
mod walk;

use std::collections::HashMap;

use gimli::{EndianSlice, LittleEndian};

use crate::error::{Error, Result};
use crate::input::elf::Executable;
use walk::Pending;

pub(crate) use walk::{name, unit_ref};

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

    pub(super) fn note_query(&self, name: &str) {
        if let Some(set) = self.recorder.as_ref().and_then(|r| r.lock().ok()).as_mut() {
            set.insert(name.to_string());
        }
    }
}
