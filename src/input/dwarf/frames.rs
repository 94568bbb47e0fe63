//! Variables of a function's frame from DWARF: where each lives relative to
//! the frame's CFA at a given pc (Go describes stack slots as
//! `DW_OP_call_frame_cfa` plus an offset, in plain expressions or, for
//! optimised code, in location lists with pieces).

use gimli::{
    AttributeValue, DebuggingInformationEntry, EndianSlice, LittleEndian, Unit, constants as dw,
};

use super::TypeId;
use super::index::{DwarfIndex, Function, name, unit_ref};

type R<'a> = EndianSlice<'a, LittleEndian>;

#[derive(Debug, Clone)]
pub struct FrameVar {
    pub name: String,
    /// Offset from the CFA (the frame's top) of this piece.
    pub cfa_offset: i64,
    pub size: u64,
    /// Offset of this piece within the variable.
    pub piece_offset: u64,
    pub ty: Option<TypeId>,
    pub is_param: bool,
    pub decl_line: Option<u64>,
}

impl DwarfIndex {
    /// Stack-resident variables of `func` at `pc` (register-only ones are skipped).
    pub fn frame_variables(
        &self,
        dwarf: &gimli::Dwarf<R<'_>>,
        func: &Function,
        pc: u64,
    ) -> Vec<FrameVar> {
        // Location lists are at link addresses.
        let pc = pc.wrapping_sub(self.bias);
        let mut out = Vec::new();
        let walked = self.for_each_variable(dwarf, func, |unit, entry| {
            let is_param = entry.tag() == dw::DW_TAG_formal_parameter;
            let Some(var_name) = name(dwarf, unit, entry) else {
                return Ok(());
            };
            let ty = self.variable_type(unit, entry);
            let size = ty.and_then(|t| self.size_of(t)).unwrap_or(8);
            let decl_line = entry
                .attr_value(dw::DW_AT_decl_line)
                .and_then(|v| v.udata_value());
            let Some(location) = entry.attr_value(dw::DW_AT_location) else {
                return Ok(());
            };
            let expr = match location {
                AttributeValue::Exprloc(e) => Some(e.0.slice()),
                other => match dwarf.attr_locations_offset(unit, other)? {
                    Some(offset) => {
                        let mut list = dwarf.locations(unit, offset)?;
                        let mut found = None;
                        while let Some(e) = list.next()? {
                            if e.range.begin <= pc && pc < e.range.end {
                                found = Some(e.data.0.slice());
                                break;
                            }
                        }
                        found
                    }
                    None => None,
                },
            };
            let Some(expr) = expr else { return Ok(()) };
            for (cfa_offset, piece_offset, piece_size) in stack_pieces(expr, size) {
                out.push(FrameVar {
                    name: var_name.clone(),
                    cfa_offset,
                    size: piece_size,
                    piece_offset,
                    ty,
                    is_param,
                    decl_line,
                });
            }
            Ok(())
        });
        if walked.is_err() { Vec::new() } else { out }
    }

    /// Variables a closure function captured, with their offsets in the
    /// closure context (DW_AT_go_closure_offset, Go ≥1.23). By-reference
    /// captures are named "&x" and typed *T.
    pub fn closure_variables(
        &self,
        dwarf: &gimli::Dwarf<R<'_>>,
        func: &Function,
    ) -> Vec<(String, u64, TypeId)> {
        let mut out = Vec::new();
        let walked = self.for_each_variable(dwarf, func, |unit, entry| {
            let offset = entry
                .attr_value(super::go_attrs::GO_CLOSURE_OFFSET)
                .and_then(|v| v.udata_value());
            if let (Some(offset), Some(n), Some(ty)) = (
                offset,
                name(dwarf, unit, entry),
                self.variable_type(unit, entry),
            ) {
                out.push((n, offset, ty));
            }
            Ok(())
        });
        if walked.is_err() { Vec::new() } else { out }
    }

    fn variable_type(
        &self,
        unit: &Unit<R<'_>>,
        entry: &DebuggingInformationEntry<R<'_>>,
    ) -> Option<TypeId> {
        entry
            .attr_value(dw::DW_AT_type)
            .and_then(|v| unit_ref(unit, v))
            .and_then(|off| self.type_at_offset(off))
    }

    /// Calls `visit` for every variable and parameter DIE inside `func`.
    fn for_each_variable<'a>(
        &self,
        dwarf: &gimli::Dwarf<R<'a>>,
        func: &Function,
        mut visit: impl FnMut(&Unit<R<'a>>, &DebuggingInformationEntry<R<'a>>) -> gimli::Result<()>,
    ) -> gimli::Result<()> {
        let header = dwarf
            .debug_info
            .header_from_offset(gimli::DebugInfoOffset(func.unit))?;
        let unit = dwarf.unit(header)?;
        let Some(die) = gimli::DebugInfoOffset(func.die).to_unit_offset(&unit.header) else {
            return Ok(());
        };
        let mut entries = unit.entries_at_offset(die)?;
        let mut start_depth = None;
        while let Some(entry) = entries.next_dfs()? {
            let depth = entry.depth();
            match start_depth {
                None => start_depth = Some(depth),
                Some(d) if depth <= d => break,
                _ => {}
            }
            if matches!(
                entry.tag(),
                dw::DW_TAG_variable | dw::DW_TAG_formal_parameter
            ) {
                visit(&unit, entry)?;
            }
        }
        Ok(())
    }
}

/// The stack-resident pieces of a location expression: (CFA offset, offset
/// in the variable, size). Register pieces and anything unknown are skipped.
fn stack_pieces(expr: &[u8], var_size: u64) -> Vec<(i64, u64, u64)> {
    // Go emits DWARF 4 expressions for 64-bit targets.
    let encoding = gimli::Encoding {
        address_size: 8,
        format: gimli::Format::Dwarf32,
        version: 4,
    };
    let mut input = gimli::EndianSlice::new(expr, gimli::LittleEndian);
    let mut pieces = Vec::new();
    let mut piece_offset = 0u64;
    // The location being described: Some(offset from CFA) when on the stack.
    let mut at: Option<i64> = None;
    let mut stack: Vec<i64> = Vec::new();
    let mut described = false;
    while !input.is_empty() {
        let Ok(op) = gimli::Operation::parse(&mut input, encoding) else {
            return pieces;
        };
        match op {
            gimli::Operation::CallFrameCFA => {
                at = Some(0);
                stack.clear();
                described = true;
            }
            // Go's frame base is the CFA.
            gimli::Operation::FrameOffset { offset } => {
                at = Some(offset);
                described = true;
            }
            gimli::Operation::SignedConstant { value } => stack.push(value),
            gimli::Operation::Plus => {
                if let (Some(base), Some(n)) = (at, stack.pop()) {
                    at = base.checked_add(n);
                }
            }
            gimli::Operation::PlusConstant { value } => {
                at = at.and_then(|b| b.checked_add_unsigned(value));
            }
            gimli::Operation::Register { .. } => {
                at = None;
                described = true;
            }
            gimli::Operation::Piece {
                size_in_bits,
                bit_offset: None,
            } if size_in_bits % 8 == 0 => {
                let size = size_in_bits / 8;
                if let Some(off) = at {
                    pieces.push((off, piece_offset, size));
                }
                piece_offset = piece_offset.saturating_add(size);
                at = None;
                described = false;
            }
            _ => return pieces, // an operation Go does not emit for stack slots
        }
    }
    if described {
        if let Some(off) = at {
            pieces.push((off, piece_offset, var_size.saturating_sub(piece_offset)));
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_stack_locations() {
        // DW_OP_call_frame_cfa; DW_OP_consts -24; DW_OP_plus
        assert_eq!(
            stack_pieces(&[0x9c, 0x11, 0x68, 0x22], 8),
            vec![(-24, 0, 8)]
        );
        // a slice: pointer in a register, len and cap on the stack
        let expr = [
            0x50, 0x93, 8, 0x9c, 0x11, 0x70, 0x22, 0x93, 8, 0x9c, 0x11, 0x78, 0x22, 0x93, 8,
        ];
        assert_eq!(stack_pieces(&expr, 24), vec![(-16, 8, 8), (-8, 16, 8)]);
        // DW_OP_fbreg 16
        assert_eq!(stack_pieces(&[0x91, 0x10], 16), vec![(16, 0, 16)]);
        assert!(stack_pieces(&[0x50], 8).is_empty());
    }
}
