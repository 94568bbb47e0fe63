//! Runtime type descriptors as typing reads them: where their fields are,
//! their DWARF type, their own name, and whether an interface boxes them.

use crate::input::dwarf::{DwarfIndex, TypeId};
use crate::input::elf::address_space::Memory;
use crate::input::goruntime::layout::{FieldLoc, Layouts};
use crate::input::goruntime::rtypes::kind;

use super::{PTR, Typer};

pub(super) struct RuntimeTypeLayout {
    str_off: FieldLoc,
    tflag: FieldLoc,
    types_base: u64,
    pub(super) itab_type: u64,
    pub(super) hchan_buf: u64,
    pub(super) hchan_dataqsiz: u64,
}

impl RuntimeTypeLayout {
    /// All or nothing: without any one of these, runtime types are not read.
    pub(super) fn locate<M: Memory + ?Sized>(
        space: &M,
        layouts: &Layouts<'_>,
        index: &DwarfIndex,
    ) -> Option<RuntimeTypeLayout> {
        let str_off = layouts
            .field("internal/abi.Type", "Str")
            .or_else(|| layouts.field("runtime._type", "str"));
        let tflag = layouts
            .field("internal/abi.Type", "TFlag")
            .or_else(|| layouts.field("runtime._type", "tflag"));
        let types_field = layouts.field("runtime.moduledata", "types");
        let md = index.global("runtime.firstmoduledata").map(|g| g.addr);
        let types_base = match (md, types_field) {
            (Some(md), Some(f)) => space.read_u64(md + f.offset),
            _ => None,
        };
        let itab_type = layouts
            .field("internal/abi.ITab", "Type")
            .or_else(|| layouts.field("runtime.itab", "_type"))
            .map(|f| f.offset);
        let hchan_buf = layouts.field("runtime.hchan", "buf").map(|f| f.offset);
        let hchan_dataqsiz = layouts.field("runtime.hchan", "dataqsiz").map(|f| f.offset);
        Some(RuntimeTypeLayout {
            str_off: str_off?,
            tflag: tflag?,
            types_base: types_base?,
            itab_type: itab_type?,
            hchan_buf: hchan_buf?,
            hchan_dataqsiz: hchan_dataqsiz?,
        })
    }
}

/// Type descriptors' kind (offset, size), pointer-bytes and size offsets.
pub(super) fn descriptor_fields(layouts: &Layouts<'_>) -> Option<(u64, u64, u64, u64)> {
    let f = |t: &str, n: &str| layouts.field(t, n);
    let kind = f("internal/abi.Type", "Kind_").or_else(|| f("runtime._type", "kind"))?;
    let ptrdata = f("internal/abi.Type", "PtrBytes").or_else(|| f("runtime._type", "ptrdata"))?;
    let size = f("internal/abi.Type", "Size_").or_else(|| f("runtime._type", "size"))?;
    Some((kind.offset, kind.size.min(8), ptrdata.offset, size.offset))
}

impl<'a, 'd, 's, M: Memory + ?Sized> Typer<'a, 'd, 's, M> {
    /// The DWARF type of a runtime type descriptor. DW_AT_go_runtime_type
    /// holds the descriptor's offset from `moduledata.types`.
    pub(super) fn dwarf_type_of(&self, rtype: u64) -> Option<TypeId> {
        let base = self.rt.as_ref().map_or(0, |rt| rt.types_base);
        rtype
            .checked_sub(base)
            .and_then(|off| self.index.type_of_runtime_type(off))
            .or_else(|| self.index.type_of_runtime_type(rtype))
    }

    /// Whether `data` is the start of an object that a boxed value of the
    /// type fills (more than half of it, as its allocation would).
    pub(super) fn fills_box(&self, rtype: u64, data: u64) -> bool {
        let Some((_, _, _, size_at)) = self.descriptor_fields else {
            return false;
        };
        let (Some(size), Some(o)) = (self.space.read_u64(rtype + size_at), self.object_at(data))
        else {
            return false;
        };
        self.descriptor_is_direct(rtype) == Some(false)
            && size <= self.objects.size(o)
            && size * 2 > self.objects.size(o)
    }

    /// Whether an interface holding this type keeps the value in its data
    /// word (pointer-shaped types: pointers, maps, channels, funcs, and
    /// structs or arrays of exactly one such word) rather than boxed.
    pub(super) fn descriptor_is_direct(&self, rtype: u64) -> Option<bool> {
        let (kind_at, kind_size, ptrdata_at, size_at) = self.descriptor_fields?;
        let k = (self.space.read_uint(rtype + kind_at, kind_size)? & 0x1f) as u8;
        let size = self.space.read_u64(rtype + size_at)?;
        let ptrdata = self.space.read_u64(rtype + ptrdata_at)?;
        Some(
            matches!(
                k,
                kind::PTR | kind::UNSAFE_POINTER | kind::MAP | kind::CHAN | kind::FUNC
            ) || (size == PTR && ptrdata == PTR),
        )
    }

    /// The runtime's own name for a type descriptor (for types DWARF lacks).
    pub(super) fn runtime_type_name(&self, rtype: u64) -> Option<String> {
        let rt = self.rt.as_ref()?;
        crate::input::goruntime::rtypes::type_name(
            self.space,
            rtype,
            rt.types_base,
            rt.str_off.offset,
            rt.tflag.offset,
        )
    }
}
