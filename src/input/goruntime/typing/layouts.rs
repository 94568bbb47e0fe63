//! The model's type layouts, for naming edges: labelled pointer fields,
//! closure captures, and the roles and slot geometry of map internals.

use crate::input::dwarf::{DwarfIndex, TypeId, TypeKind};
use crate::model::{KeyKind, MapSlots, TypeLayout, TypeRole};

/// The layout the model keeps for naming edges: labelled pointer fields of
/// one element, and the role of runtime-internal containers.
pub(super) fn layout_of(index: &DwarfIndex, ty: TypeId, count: u64) -> TypeLayout {
    let t = index.ty(index.underlying(ty));
    let name = index.ty(ty).name.as_str();
    let mut fields: Vec<(u32, Box<str>)> = index
        .pointer_fields(ty)
        .into_iter()
        .filter_map(|(o, p)| Some((u32::try_from(o).ok()?, p.into_boxed_str())))
        .collect();
    // The runtime's own (non-generic) map types appear when a header or a
    // runtime pointer typed the object first.
    let generic_internal = matches!(
        name,
        "runtime.bmap"
            | "runtime.mapextra"
            | "internal/runtime/maps.table"
            | "*internal/runtime/maps.table"
            | "internal/runtime/maps.groupsReference"
    );
    let role = if name.starts_with("hash<")
        || (name.starts_with("map<") && t.fields.iter().any(|f| f.name == "dirPtr"))
        || matches!(name, "runtime.hmap" | "internal/runtime/maps.Map")
    {
        TypeRole::MapHeader
    } else if generic_internal {
        TypeRole::MapInternal
    } else if name.starts_with("bucket<") {
        classic_bucket_slots(index, ty).map_or(TypeRole::MapInternal, TypeRole::MapEntries)
    } else if name.starts_with("noalg.map.group[") {
        swiss_group_slots(index, ty).map_or(TypeRole::MapInternal, TypeRole::MapEntries)
    } else if name.starts_with("table<")
        || name.starts_with("*table<")
        || name.starts_with("groupReference<")
    {
        TypeRole::MapInternal
    } else if name.starts_with("hchan<") || name == "runtime.hchan" {
        if let Some(buf) = t.fields.iter().find(|f| f.name == "buf") {
            fields.retain(|(o, _)| u64::from(*o) != buf.offset);
            fields.push((buf.offset as u32, "<chan buffer>".into()));
        }
        TypeRole::Chan
    } else {
        TypeRole::Plain
    };
    TypeLayout {
        elem_size: index.size_of(ty).unwrap_or(0),
        count,
        fields,
        role,
    }
}

pub(super) fn closure_layout(
    index: &DwarfIndex,
    captured: Vec<(u64, String, Option<TypeId>)>,
) -> TypeLayout {
    let mut fields = Vec::new();
    for (off, label, ty) in captured {
        match ty {
            Some(ty) => {
                for (o, p) in index.pointer_fields(ty) {
                    if let Ok(o) = u32::try_from(off + o) {
                        fields.push((o, format!("{label}{p}").into_boxed_str()));
                    }
                }
            }
            None => {
                if let Ok(o) = u32::try_from(off) {
                    fields.push((o, label.into_boxed_str()));
                }
            }
        }
    }
    TypeLayout {
        elem_size: 0,
        count: 1,
        fields,
        role: TypeRole::Closure,
    }
}

fn key_kind(index: &DwarfIndex, ty: TypeId) -> KeyKind {
    let t = index.ty(index.underlying(ty));
    let size = index.size_of(ty).unwrap_or(0) as u8;
    match index.ty(ty).go_kind.or(t.go_kind) {
        Some(24) => KeyKind::String,
        Some(1) => KeyKind::Bool,
        Some(2..=6) => KeyKind::Int(size),
        Some(7..=12) => KeyKind::Uint(size),
        Some(22 | 26) => KeyKind::Pointer,
        _ if t.kind == TypeKind::Pointer => KeyKind::Pointer,
        _ => KeyKind::Other,
    }
}

/// Classic `bucket<K,V>` {tophash [8]uint8; keys [8]K; values [8]V; overflow}.
fn classic_bucket_slots(index: &DwarfIndex, ty: TypeId) -> Option<MapSlots> {
    let t = index.ty(index.underlying(ty));
    let keys = t.fields.iter().find(|f| f.name == "keys")?;
    let values = t.fields.iter().find(|f| f.name == "values")?;
    let key_ty = index.ty(index.underlying(keys.ty?)).target?;
    let value_ty = index.ty(index.underlying(values.ty?)).target?;
    let entries = match index.ty(index.underlying(keys.ty?)).kind {
        TypeKind::Array { count } => count,
        _ => 8,
    };
    Some(MapSlots {
        entries,
        key_offset: keys.offset,
        key_stride: index.size_of(key_ty)?,
        value_offset: values.offset,
        value_stride: index.size_of(value_ty)?,
        value_size: index.size_of(value_ty)?,
        key: key_kind(index, key_ty),
    })
}

/// Swiss `group[K]V` {ctrl uint64; slots [8]struct{key K; elem V}}.
fn swiss_group_slots(index: &DwarfIndex, ty: TypeId) -> Option<MapSlots> {
    let t = index.ty(index.underlying(ty));
    let slots = t.fields.iter().find(|f| f.name == "slots")?;
    let arr = index.ty(index.underlying(slots.ty?));
    let entries = match arr.kind {
        TypeKind::Array { count } => count,
        _ => return None,
    };
    let slot_ty = arr.target?;
    let slot = index.ty(index.underlying(slot_ty));
    let key = slot.fields.iter().find(|f| f.name == "key")?;
    let elem = slot.fields.iter().find(|f| f.name == "elem")?;
    let stride = index.size_of(slot_ty)?;
    Some(MapSlots {
        entries,
        key_offset: slots.offset + key.offset,
        key_stride: stride,
        value_offset: slots.offset + elem.offset,
        value_stride: stride,
        value_size: index.size_of(elem.ty?)?,
        key: key_kind(index, key.ty?),
    })
}
