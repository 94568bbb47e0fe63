//! Runtime struct layouts and constants, read from the executable's DWARF by
//! name. A field or constant the runtime no longer has reads as absent; one
//! rootpath cannot work without is an error naming it.

use crate::error::{Error, Result};
use crate::input::dwarf::DwarfIndex;

/// Where a field sits in its struct, and how wide it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLoc {
    pub offset: u64,
    pub size: u64,
}

/// Looks up layouts in one executable's DWARF.
pub struct Layouts<'d> {
    pub index: &'d DwarfIndex,
}

impl<'d> Layouts<'d> {
    pub fn new(index: &'d DwarfIndex) -> Self {
        Layouts { index }
    }

    /// A field's location, following a dotted path through nested structs
    /// ("state.s" for the state byte inside mSpanStateBox).
    pub fn field(&self, type_name: &str, path: &str) -> Option<FieldLoc> {
        let index = self.index;
        let mut ty = index.underlying(index.type_named(type_name)?);
        let mut offset = 0;
        let mut size = index.size_of(ty)?;
        for part in path.split('.') {
            let f = index.ty(ty).fields.iter().find(|f| f.name == part)?;
            offset += f.offset;
            ty = index.underlying(f.ty?);
            size = index.size_of(ty)?;
        }
        Some(FieldLoc { offset, size })
    }

    pub fn require_field(&self, type_name: &str, path: &str) -> Result<FieldLoc> {
        self.field(type_name, path)
            .ok_or_else(|| missing(format!("field {type_name}.{path}")))
    }

    /// The first of several historical names of a field that exists.
    pub fn field_any(&self, type_name: &str, paths: &[&str]) -> Option<FieldLoc> {
        paths.iter().find_map(|p| self.field(type_name, p))
    }

    pub fn size(&self, type_name: &str) -> Option<u64> {
        self.index.size_of(self.index.type_named(type_name)?)
    }

    pub fn constant(&self, name: &str) -> Option<i64> {
        self.index.constant(name)
    }

    pub fn require_constant(&self, name: &str) -> Result<i64> {
        self.constant(name)
            .ok_or_else(|| missing(format!("constant {name}")))
    }

    pub fn require_global(&self, name: &str) -> Result<u64> {
        self.index
            .global(name)
            .map(|g| g.addr)
            .ok_or_else(|| missing(format!("variable {name}")))
    }
}

fn missing(what: String) -> Error {
    Error::RuntimeLayout { what }
}
