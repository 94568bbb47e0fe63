//! Lookups by name and address: types, globals (sorted by address),
//! constants and functions, and the load bias that moves their addresses.

use super::{DwarfIndex, Function, Global, TypeId, TypeInfo};

impl DwarfIndex {
    pub(super) fn index_globals(&mut self) {
        self.globals.sort_by_key(|g| g.addr);
        self.global_by_name = self
            .globals
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.clone(), i))
            .collect();
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

    pub fn function_at(&self, pc: u64) -> Option<&Function> {
        let i = self.functions.partition_point(|f| f.low_pc <= pc);
        let f = self.functions.get(i.checked_sub(1)?)?;
        (pc < f.high_pc).then_some(f)
    }
}
