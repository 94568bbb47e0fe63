//! The executable side of the fuzz targets `exe` and `pclntab`: a real Go
//! executable's DWARF (decompressed) and .gopclntab bytes changed as an
//! input says, then every reader that takes them (DWARF index, frame
//! variables, closure captures, type layouts, the pclntab function table).
//! Shared with tests/bad_input.rs, which replays the regression inputs.

use gimli::SectionId;
use rootpath::input::dwarf::{DwarfIndex, DwarfSections, TypeId};
use rootpath::input::elf::Executable;
use rootpath::input::elf::address_space::{AddressSpace, Origin, Region};
use rootpath::input::goruntime::layout::Layouts;
use rootpath::input::goruntime::pclntab::{
    FUNCDATA_LOCALS_POINTER_MAPS, FUNCDATA_STACK_OBJECTS, FuncTable, PCDATA_STACK_MAP_INDEX,
};

/// The sections a record can name (others stay as the executable has them).
const TARGETS: [SectionId; 4] = [
    SectionId::DebugInfo,
    SectionId::DebugAbbrev,
    SectionId::DebugLine,
    SectionId::DebugLocLists,
];
/// Record: section (1), operation (1), offset (4, modulo the section's
/// length), value (8). The fifth section choice is .gopclntab in the file.
pub const RECORD: usize = 14;

/// One executable, its DWARF sections decompressed, and where its
/// .gopclntab sits in the file.
pub struct ExeBase {
    pub bytes: Vec<u8>,
    pub dwarf: Vec<(SectionId, Vec<u8>)>,
    pub pclntab: std::ops::Range<usize>,
}

impl ExeBase {
    pub fn of(bytes: Vec<u8>) -> Option<ExeBase> {
        let source = rootpath::input::Source::from_bytes("base".as_ref(), &bytes).ok()?;
        let exe = Executable::parse(source).ok()?;
        let dwarf = DwarfSections::load(&exe)
            .ok()?
            .parts()
            .map(|(id, d)| (id, d.to_vec()))
            .collect();
        let s = exe.section(".gopclntab")?;
        let pclntab = s.offset as usize..(s.offset + s.size) as usize;
        Some(ExeBase {
            bytes,
            dwarf,
            pclntab,
        })
    }

    /// Copies of the file and of the DWARF sections with the input's
    /// records applied; the number of records applied.
    pub fn mutate(&self, input: &[u8]) -> (Vec<u8>, Vec<(SectionId, Vec<u8>)>, usize) {
        let mut file = self.bytes.clone();
        let mut dwarf = self.dwarf.clone();
        let mut applied = 0;
        for r in input.chunks_exact(RECORD) {
            let which = usize::from(r[0]) % (TARGETS.len() + 1);
            let target: &mut [u8] = if which == TARGETS.len() {
                &mut file[self.pclntab.clone()]
            } else {
                match dwarf.iter_mut().find(|(id, _)| *id == TARGETS[which]) {
                    Some((_, d)) => d,
                    None => continue,
                }
            };
            if target.is_empty() {
                continue;
            }
            let at = u32::from_le_bytes([r[2], r[3], r[4], r[5]]) as usize % target.len();
            let value = u64::from_le_bytes(r[6..14].try_into().unwrap_or_default());
            let width = match r[1] % 4 {
                0 | 1 => 1,
                2 => 4,
                _ => 8,
            };
            let end = (at + width).min(target.len());
            let bytes = value.to_le_bytes();
            for (i, b) in target[at..end].iter_mut().enumerate() {
                *b = if r[1] % 4 == 1 {
                    *b ^ bytes[i]
                } else {
                    bytes[i]
                };
            }
            applied += 1;
        }
        (file, dwarf, applied)
    }
}

/// Everything the loaders ask of an executable's DWARF, then of its
/// pclntab; how many sampled functions the table named (0 when refused).
pub fn run_readers(exe: &Executable, sections: &DwarfSections<'_>) -> usize {
    let dwarf = sections.dwarf();
    let Ok(index) = DwarfIndex::build(exe, &dwarf) else {
        return 0;
    };
    query_index(&index, &dwarf);
    let space = exe_space(exe, None);
    query_pclntab(&space, &index)
}

pub fn query_index(
    index: &DwarfIndex,
    dwarf: &gimli::Dwarf<gimli::EndianSlice<'_, gimli::LittleEndian>>,
) {
    for i in 0..index.types.len() {
        let id = TypeId(i as u32);
        let _ = index.size_of(id);
        let _ = index.pointer_offsets(id);
        let _ = index.pointer_fields(id);
        let _ = index.underlying(id);
    }
    // Frame variables of a spread of functions at their entry and middle.
    let step = (index.functions.len() / 64).max(1);
    for f in index.functions.iter().step_by(step) {
        for pc in [
            f.low_pc,
            f.low_pc + (f.high_pc.saturating_sub(f.low_pc)) / 2,
        ] {
            let _ = index.frame_variables(dwarf, f, pc);
            let _ = index.function_at(pc);
        }
        let _ = index.closure_variables(dwarf, f);
    }
}

/// The executable's segments as memory, with `pclntab` (address, bytes)
/// laid over them first when given.
pub fn exe_space<'a>(exe: &'a Executable, pclntab: Option<(u64, &'a [u8])>) -> AddressSpace<'a> {
    let region = |start: u64, data: &'a [u8]| Region {
        start,
        end: start.saturating_add(data.len() as u64),
        data,
        origin: Origin::Executable,
        writable: false,
    };
    let mut layers: Vec<Region<'a>> = pclntab.map(|(a, d)| region(a, d)).into_iter().collect();
    for seg in exe.segments.iter().filter(|s| s.filesz > 0) {
        layers.push(region(seg.vaddr, exe.segment_data(seg)));
    }
    AddressSpace::layered(layers)
}

/// Every query of the function table over a spread of its functions; how
/// many of them it named.
pub fn query_pclntab(space: &AddressSpace<'_>, index: &DwarfIndex) -> usize {
    let layouts = Layouts::new(index);
    let Ok(funcs) = FuncTable::new(space, &layouts) else {
        return 0;
    };
    let mut named = 0;
    let ranges = funcs.ranges();
    let step = (ranges.len() / 256).max(1);
    for (i, &(lo, hi)) in ranges.iter().enumerate().step_by(step) {
        named += usize::from(funcs.name_of_index(i).is_some());
        for pc in [lo, lo + hi.saturating_sub(lo) / 2, hi.saturating_sub(1)] {
            let _ = funcs.source_frame(pc, true);
            let _ = funcs.logical_frame(pc);
            let Some(f) = funcs.find(pc) else { continue };
            let _ = funcs.name(f);
            let _ = funcs.file_line(f, pc);
            let _ = funcs.func_id(f);
            let _ = funcs.args_size(f);
            let _ = funcs.has_deferreturn(f);
            let _ = funcs.sp_delta(f, pc);
            let _ = funcs.pcdata(f, PCDATA_STACK_MAP_INDEX, pc);
            let _ = funcs.funcdata(f, FUNCDATA_LOCALS_POINTER_MAPS);
            let _ = funcs.funcdata(f, FUNCDATA_STACK_OBJECTS);
        }
    }
    named
}
