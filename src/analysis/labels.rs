//! Naming edges: the field, index, map key or channel slot a pointer sits
//! in, derived on demand from the source object's type layout (and, for map
//! keys, from memory when the input can read it).

use crate::model::{HeapModel, KeyKind, MapSlots, Memory, ObjectId, TypeLayout, TypeRole};

/// What kind of step an edge is, for collapsing runtime internals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeLabel {
    /// ".next", "[3]", "[2].p", "<closure>.x", "+0x18" when nothing better is known.
    Field(String),
    /// A map value (or a field inside an inline value): "{\"key\"}.a".
    MapValue { key: Option<String>, rest: String },
    /// A map key object.
    MapKey { key: Option<String> },
    /// From a channel to its buffer.
    ChanBuffer,
}

impl EdgeLabel {
    pub fn render(&self) -> String {
        match self {
            EdgeLabel::Field(f) => f.clone(),
            EdgeLabel::MapValue { key, rest } => {
                format!("{{{}}}{rest}", key.as_deref().unwrap_or("?"))
            }
            EdgeLabel::MapKey { key } => format!("<key>{{{}}}", key.as_deref().unwrap_or("?")),
            EdgeLabel::ChanBuffer => "<chan buffer>".to_string(),
        }
    }
}

pub fn layout_of(model: &HeapModel, id: ObjectId) -> Option<&TypeLayout> {
    model.types.layout(*model.object_types.get(id.index())?)
}

/// The role of an object's type (Plain when untyped).
pub fn role_of(model: &HeapModel, id: ObjectId) -> TypeRole {
    layout_of(model, id).map_or(TypeRole::Plain, |l| l.role.clone())
}

/// The field path of byte `offset` in a value laid out as `layout`:
/// "[3]" for array elements, then the field (".next"), "+0x18" if unknown.
pub fn field_at(layout: &TypeLayout, offset: u64) -> String {
    let (index, within) = if layout.elem_size > 0 {
        (offset / layout.elem_size, offset % layout.elem_size)
    } else {
        (0, offset)
    };
    let prefix = if layout.count > 1 {
        format!("[{index}]")
    } else {
        String::new()
    };
    let field = layout
        .fields
        .iter()
        .find(|(o, _)| u64::from(*o) == within)
        .map_or_else(|| format!("+{within:#x}"), |(_, p)| p.to_string());
    format!("{prefix}{field}")
}

/// Names the pointer at byte `offset` of object `from`.
pub fn edge_label(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    from: ObjectId,
    offset: u64,
) -> EdgeLabel {
    let Some(layout) = layout_of(model, from) else {
        return EdgeLabel::Field(format!("+{offset:#x}"));
    };
    let (index, within) = if layout.elem_size > 0 {
        (offset / layout.elem_size, offset % layout.elem_size)
    } else {
        (0, offset)
    };
    let field = layout
        .fields
        .iter()
        .find(|(o, _)| u64::from(*o) == within)
        .map(|(_, p)| p.to_string());
    match &layout.role {
        TypeRole::Chan if field.as_deref() == Some("<chan buffer>") => EdgeLabel::ChanBuffer,
        TypeRole::MapEntries(slots) => map_entry_label(
            model,
            memory,
            from,
            slots,
            layout.elem_size,
            index,
            within,
            field.as_deref(),
        ),
        _ => EdgeLabel::Field(field_at(layout, offset)),
    }
}

#[allow(clippy::too_many_arguments)]
fn map_entry_label(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    from: ObjectId,
    slots: &MapSlots,
    elem_size: u64,
    group: u64,
    within: u64,
    field: Option<&str>,
) -> EdgeLabel {
    let base = model.objects.addr(from) + group * elem_size;
    // Swiss groups interleave key and value in one slot; classic buckets keep
    // all keys, then all values.
    let interleaved = slots.value_offset < slots.key_offset + slots.key_stride;
    let (entry, is_value) = if interleaved {
        let start = slots.key_offset.min(slots.value_offset);
        let stride = slots.key_stride.max(1);
        let in_slot = within.saturating_sub(start) % stride;
        (
            within.saturating_sub(start) / stride,
            in_slot >= slots.value_offset - start,
        )
    } else if within >= slots.value_offset {
        (
            (within - slots.value_offset) / slots.value_stride.max(1),
            true,
        )
    } else {
        (
            within.saturating_sub(slots.key_offset) / slots.key_stride.max(1),
            false,
        )
    };
    let key_addr = base + slots.key_offset + entry * slots.key_stride;
    let key = memory.and_then(|m| render_key(m, key_addr, slots.key));
    if is_value {
        EdgeLabel::MapValue {
            key,
            rest: value_suffix(field),
        }
    } else {
        EdgeLabel::MapKey { key }
    }
}

/// The part of a bucket/group field path inside the value: ".slots[3].elem.a" → ".a".
fn value_suffix(field: Option<&str>) -> String {
    let Some(f) = field else { return String::new() };
    for marker in [".elem", ".values"] {
        if let Some(i) = f.find(marker) {
            let rest = &f[i + marker.len()..];
            // Skip the entry index of classic buckets: ".values[3].a" → ".a".
            let rest = match rest.strip_prefix('[') {
                Some(r) => r.find(']').map_or(r, |j| &r[j + 1..]),
                None => rest,
            };
            return rest.to_string();
        }
    }
    String::new()
}

fn render_key(memory: &dyn Memory, addr: u64, kind: KeyKind) -> Option<String> {
    let word = |a: u64| {
        let b = memory.read(a, 8)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    };
    match kind {
        KeyKind::String => {
            let (ptr, len) = (word(addr)?, word(addr + 8)?);
            let bytes = memory.read(ptr, len.min(64) as usize)?;
            let mut text = format!("{:?}", String::from_utf8_lossy(&bytes));
            if len > 64 {
                text.insert(text.len() - 1, '…');
            }
            Some(text)
        }
        KeyKind::Int(size) => {
            let b = memory.read(addr, size as usize)?;
            Some(match size {
                1 => (b[0] as i8).to_string(),
                2 => i16::from_le_bytes(b.try_into().ok()?).to_string(),
                4 => i32::from_le_bytes(b.try_into().ok()?).to_string(),
                8 => i64::from_le_bytes(b.try_into().ok()?).to_string(),
                _ => return None,
            })
        }
        KeyKind::Uint(size) => {
            let b = memory.read(addr, size as usize)?;
            let mut v = [0u8; 8];
            v[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
            Some(u64::from_le_bytes(v).to_string())
        }
        KeyKind::Bool => Some((memory.read(addr, 1)?[0] != 0).to_string()),
        KeyKind::Pointer => Some(format!("{:#x}", word(addr)?)),
        KeyKind::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::value_suffix;

    #[test]
    fn value_suffixes() {
        assert_eq!(value_suffix(Some(".slots[3].elem")), "");
        assert_eq!(value_suffix(Some(".slots[3].elem.a")), ".a");
        assert_eq!(value_suffix(Some(".slots[3].elem.b[2]")), ".b[2]");
        assert_eq!(value_suffix(Some(".values[5]")), "");
        assert_eq!(value_suffix(Some(".values[5].a")), ".a");
        assert_eq!(value_suffix(None), "");
    }
}
