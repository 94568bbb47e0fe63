//! DWARF of a Go executable: sections (zlib-compressed by Go's linker),
//! then one pass over all DIEs into compact tables of types, globals,
//! constants and functions that the runtime layer queries by name.

mod frames;
mod index;
mod sections;

pub use frames::FrameVar;
pub use index::{Constant, DwarfIndex, Field, Function, Global, TypeId, TypeInfo, TypeKind};
pub use sections::DwarfSections;

/// Go's DWARF extensions (cmd/internal/dwarf).
pub(crate) mod go_attrs {
    use gimli::DwAt;
    pub const GO_KIND: DwAt = DwAt(0x2900);
    pub const GO_KEY: DwAt = DwAt(0x2901);
    pub const GO_ELEM: DwAt = DwAt(0x2902);
    pub const GO_EMBEDDED_FIELD: DwAt = DwAt(0x2903);
    pub const GO_RUNTIME_TYPE: DwAt = DwAt(0x2904);
    pub const GO_CLOSURE_OFFSET: DwAt = DwAt(0x2907);
}
