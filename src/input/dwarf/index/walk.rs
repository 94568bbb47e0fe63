//! The walk over every DIE: types with their fields and array lengths,
//! package-level variables, constants and functions, references resolved last.

use std::collections::HashMap;

use gimli::{AttributeValue, DebuggingInformationEntry, Unit, constants as dw};

use super::{Constant, DwarfIndex, Field, Function, Global, R, TypeId, TypeInfo, TypeKind};
use crate::input::dwarf::go_attrs;

/// References seen during the walk, resolved once every type has an id.
#[derive(Default)]
pub(super) struct Pending {
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
    pub(super) fn walk_unit(
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

    pub(super) fn resolve(&mut self, pending: Pending) {
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
