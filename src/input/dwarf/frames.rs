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
    /// The function inlined at the pc whose variable this is (DWARF's
    /// inlined subroutines); None for the frame's own function.
    pub inlined: Option<String>,
}

/// An inlined call being walked: its DIE depth and function, and whether it
/// covers the pc asked about.
struct InlinedScope {
    depth: isize,
    function: Option<String>,
    covers_pc: bool,
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
        let walked = self.for_each_frame_variable(dwarf, func, pc, |unit, entry, inlined| {
            let is_param = entry.tag() == dw::DW_TAG_formal_parameter;
            // Inlined variables name their abstract origin for name and type.
            let origin = self.abstract_origin(dwarf, unit, entry);
            let named = |u: &Unit<R<'_>>, e: &DebuggingInformationEntry<R<'_>>| {
                name(dwarf, u, e).map(|n| (n, self.variable_type(u, e)))
            };
            let Some((var_name, ty)) = named(unit, entry).or_else(|| {
                let (u, off) = origin.as_ref()?;
                named(u, &u.entry(*off).ok()?)
            }) else {
                return Ok(());
            };
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
                    inlined: inlined.map(str::to_string),
                });
            }
            Ok(())
        });
        if walked.is_err() { Vec::new() } else { out }
    }

    /// The unit and entry an inlined DIE's DW_AT_abstract_origin refers to.
    fn abstract_origin<'a>(
        &self,
        dwarf: &gimli::Dwarf<R<'a>>,
        unit: &Unit<R<'a>>,
        entry: &DebuggingInformationEntry<R<'a>>,
    ) -> Option<(Unit<R<'a>>, gimli::UnitOffset)> {
        let target = unit_ref(unit, entry.attr_value(dw::DW_AT_abstract_origin)?)?;
        let starts = self.unit_starts.get_or_init(|| {
            let mut s: Vec<usize> = self.functions.iter().map(|f| f.unit).collect();
            s.sort_unstable();
            s.dedup();
            s
        });
        let at = starts[..starts.partition_point(|&u| u <= target)].last()?;
        let header = dwarf
            .debug_info
            .header_from_offset(gimli::DebugInfoOffset(*at))
            .ok()?;
        let offset = gimli::DebugInfoOffset(target).to_unit_offset(&header)?;
        Some((dwarf.unit(header).ok()?, offset))
    }

    /// The function an inlined subroutine DIE stands for.
    fn inlined_function<'a>(
        &self,
        dwarf: &gimli::Dwarf<R<'a>>,
        unit: &Unit<R<'a>>,
        entry: &DebuggingInformationEntry<R<'a>>,
    ) -> Option<String> {
        let (u, off) = self.abstract_origin(dwarf, unit, entry)?;
        name(dwarf, &u, &u.entry(off).ok()?)
    }

    /// Calls `visit` for every variable and parameter DIE of `func` live in
    /// scope at `pc` (a link address): its own, and those of the calls
    /// inlined there (with the inlined function's name); variables of
    /// inlined calls elsewhere in the function are left out.
    fn for_each_frame_variable<'a>(
        &self,
        dwarf: &gimli::Dwarf<R<'a>>,
        func: &Function,
        pc: u64,
        mut visit: impl FnMut(
            &Unit<R<'a>>,
            &DebuggingInformationEntry<R<'a>>,
            Option<&str>,
        ) -> gimli::Result<()>,
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
        let mut scopes: Vec<InlinedScope> = Vec::new();
        while let Some(entry) = entries.next_dfs()? {
            let depth = entry.depth();
            match start_depth {
                None => start_depth = Some(depth),
                Some(d) if depth <= d => break,
                _ => {}
            }
            while scopes.last().is_some_and(|s| s.depth >= depth) {
                scopes.pop();
            }
            if entry.tag() == dw::DW_TAG_inlined_subroutine {
                let mut covers_pc = false;
                let mut ranges = dwarf.die_ranges(&unit, entry)?;
                // Frames below the top stand at return addresses: the call
                // is the instruction before.
                let call = pc.saturating_sub(1);
                while let Some(r) = ranges.next()? {
                    covers_pc |= r.begin <= call && call < r.end;
                }
                let covers_pc = covers_pc && scopes.last().is_none_or(|s| s.covers_pc);
                scopes.push(InlinedScope {
                    depth,
                    function: covers_pc
                        .then(|| self.inlined_function(dwarf, &unit, entry))
                        .flatten(),
                    covers_pc,
                });
                continue;
            }
            if scopes.last().is_some_and(|s| !s.covers_pc) {
                continue;
            }
            if matches!(
                entry.tag(),
                dw::DW_TAG_variable | dw::DW_TAG_formal_parameter
            ) {
                let inlined = scopes.last().and_then(|s| s.function.as_deref());
                visit(&unit, entry, inlined)?;
            }
        }
        Ok(())
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
