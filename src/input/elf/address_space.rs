//! The target process's memory as rootpath can see it: the core's dumped
//! segments first, then the executable's read-only segments (text, rodata),
//! which cores usually omit. Reads never copy; absent memory reads as `None`.
//! A heap dump's memory (segments, stack frames, the executable) is layered
//! the same way ([`AddressSpace::layered`]); readers that only need bytes by
//! address take any [`Memory`].

use serde::Serialize;

use super::{CoreFile, Executable};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Core,
    Executable,
    /// A heap dump's records (data/bss segments, stack frames).
    HeapDump,
}

pub use crate::model::Memory;

#[derive(Debug, Clone, Copy)]
pub struct Region<'a> {
    pub start: u64,
    /// End of the mapping in the process (may extend past `data`).
    pub end: u64,
    pub data: &'a [u8],
    pub origin: Origin,
    pub writable: bool,
}

impl Region<'_> {
    fn data_end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

pub struct AddressSpace<'a> {
    /// Sorted by start, non-overlapping; only regions with bytes.
    regions: Vec<Region<'a>>,
    /// A core's mappings, with or without bytes: (start, end, dumped
    /// bytes, dumped bytes cut off the end of the file). Empty for heap dumps.
    mappings: Vec<(u64, u64, u64, u64)>,
}

impl<'a> AddressSpace<'a> {
    /// `exe_bias` is added to the executable's addresses (non-zero for PIE).
    pub fn new(core: &'a CoreFile, exe: Option<&'a Executable>, exe_bias: u64) -> Self {
        let mut regions: Vec<Region<'a>> = core
            .segments
            .iter()
            .filter(|s| s.filesz > 0)
            .map(|s| Region {
                start: s.vaddr,
                end: s.end(),
                data: core.segment_data(s),
                origin: Origin::Core,
                writable: s.writable,
            })
            .collect();
        regions.sort_by_key(|r| r.start);
        if let Some(exe) = exe {
            // Writable data in the file is only the program's initial state; the
            // core has the live one, so only read-only segments fill gaps.
            for seg in exe.segments.iter().filter(|s| !s.writable && s.filesz > 0) {
                let data = exe.segment_data(seg);
                let start = seg.vaddr.wrapping_add(exe_bias);
                fill_gaps(&mut regions, start, data, Origin::Executable, false);
            }
        }
        regions.retain(|r| !r.data.is_empty());
        regions.sort_by_key(|r| r.start);
        let mappings = core
            .segments
            .iter()
            .map(|s| (s.vaddr, s.end(), s.filesz, s.missing))
            .collect();
        AddressSpace { regions, mappings }
    }

    /// An address space from layers of memory, most authoritative first:
    /// each layer only fills the addresses earlier ones leave uncovered.
    pub fn layered(layers: impl IntoIterator<Item = Region<'a>>) -> Self {
        let mut regions = Vec::new();
        for layer in layers {
            if !layer.data.is_empty() {
                fill_gaps(
                    &mut regions,
                    layer.start,
                    layer.data,
                    layer.origin,
                    layer.writable,
                );
            }
        }
        AddressSpace {
            regions,
            mappings: Vec::new(),
        }
    }

    pub fn regions(&self) -> &[Region<'a>] {
        &self.regions
    }

    fn region(&self, addr: u64) -> Option<&Region<'a>> {
        let i = self.regions.partition_point(|r| r.start <= addr);
        let r = self.regions.get(i.checked_sub(1)?)?;
        (addr < r.data_end()).then_some(r)
    }

    /// `len` bytes at `addr`, if all of them are in one region.
    pub fn read(&self, addr: u64, len: usize) -> Option<&'a [u8]> {
        let r = self.region(addr)?;
        let off = (addr - r.start) as usize;
        r.data.get(off..off.checked_add(len)?)
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.region(addr).is_some()
    }

    /// Whether [start, end) lies inside the process's mappings, adjacent
    /// ones together (always true when they are unknown: heap dumps).
    pub fn mapped(&self, start: u64, end: u64) -> bool {
        if self.mappings.is_empty() {
            return true;
        }
        let mut cursor = start;
        for &(s, e, _, _) in &self.mappings {
            if cursor >= end {
                break;
            }
            if s <= cursor && cursor < e {
                cursor = e;
            }
        }
        cursor >= end
    }

    /// Why the byte at `addr` cannot be read: the core was cut short in its
    /// mapping, the kernel did not dump it, or no mapping holds it.
    pub fn why_absent(&self, addr: u64) -> String {
        let Some(&(start, end, dumped, missing)) = self
            .mappings
            .iter()
            .find(|&&(s, e, _, _)| s <= addr && addr < e)
        else {
            return format!(
                "no mapping of the process holds {addr:#x} (a corrupt pointer, or a core of \
                 another build)"
            );
        };
        if missing > 0 && addr >= start + dumped {
            format!(
                "the core is truncated: the mapping {start:#x}-{end:#x} lacks {missing} of its \
                 {} dumped bytes, {addr:#x} among them",
                dumped + missing
            )
        } else {
            format!(
                "the mapping {start:#x}-{end:#x} holding {addr:#x} was not dumped \
                 (coredump_filter)"
            )
        }
    }

    pub fn origin(&self, addr: u64) -> Option<Origin> {
        self.region(addr).map(|r| r.origin)
    }
}

/// Words and integers come from the trait's defaults over `read`.
impl Memory for AddressSpace<'_> {
    #[inline]
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        AddressSpace::read(self, addr, len)
    }

    fn run_containing(&self, addr: u64) -> Option<(u64, &[u8])> {
        self.region(addr).map(|r| (r.start, r.data))
    }
}

/// Inserts the parts of [start, start+data.len()) no region covers yet.
fn fill_gaps<'a>(
    regions: &mut Vec<Region<'a>>,
    start: u64,
    data: &'a [u8],
    origin: Origin,
    writable: bool,
) {
    let end = start.saturating_add(data.len() as u64);
    let mut cursor = start;
    let mut pieces = Vec::new();
    for r in regions.iter() {
        let (rs, re) = (r.start, r.data_end());
        if re <= cursor || rs >= end {
            continue;
        }
        if rs > cursor {
            pieces.push((cursor, rs));
        }
        cursor = cursor.max(re);
    }
    if cursor < end {
        pieces.push((cursor, end));
    }
    for (s, e) in pieces {
        let off = (s - start) as usize;
        regions.push(Region {
            start: s,
            end: e,
            data: &data[off..off + (e - s) as usize],
            origin,
            writable,
        });
    }
    regions.sort_by_key(|r| r.start);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(start: u64, data: &[u8]) -> Region<'_> {
        Region {
            start,
            end: start + data.len() as u64,
            data,
            origin: Origin::Core,
            writable: true,
        }
    }

    #[test]
    fn executable_fills_only_gaps() {
        static CORE_A: [u8; 4] = [1; 4];
        static CORE_B: [u8; 4] = [2; 4];
        static EXE: [u8; 16] = [9; 16];
        let mut regions = vec![region(104, &CORE_A), region(110, &CORE_B)];
        fill_gaps(&mut regions, 100, &EXE, Origin::Executable, false);
        let space = AddressSpace {
            regions,
            mappings: Vec::new(),
        };
        assert_eq!(space.read(100, 4), Some(&EXE[..4]));
        assert_eq!(space.read(104, 4), Some(&CORE_A[..]));
        assert_eq!(space.read(108, 2), Some(&EXE[8..10]));
        assert_eq!(space.read(110, 4), Some(&CORE_B[..]));
        assert_eq!(space.read(114, 2), Some(&EXE[14..16]));
        assert_eq!(space.origin(114), Some(Origin::Executable));
        assert_eq!(space.read(116, 1), None);
        // Reads never straddle two regions.
        assert_eq!(space.read(102, 4), None);
    }

    #[test]
    fn layers_fill_what_earlier_ones_leave() {
        static DUMP: [u8; 4] = [1; 4];
        static FRAME: [u8; 2] = [2; 2];
        static EXE: [u8; 16] = [9; 16];
        let layer = |start, data: &'static [u8], origin| Region {
            start,
            end: start + data.len() as u64,
            data,
            origin,
            writable: origin != Origin::Executable,
        };
        let space = AddressSpace::layered([
            layer(104, &DUMP, Origin::HeapDump),
            layer(300, &FRAME, Origin::HeapDump),
            layer(100, &EXE, Origin::Executable),
            layer(0, &[], Origin::Executable),
        ]);
        assert_eq!(space.read(100, 4), Some(&EXE[..4]));
        assert_eq!(space.read(104, 4), Some(&DUMP[..]));
        assert_eq!(space.origin(105), Some(Origin::HeapDump));
        assert_eq!(space.read(108, 8), Some(&EXE[8..]));
        assert_eq!(Memory::read_u64(&space, 108), Some(0x0909_0909_0909_0909));
        assert_eq!(Memory::read_uint(&space, 300, 2), Some(0x0202));
        assert_eq!(Memory::read_uint(&space, 300, 3), None);
        assert_eq!(space.read(302, 1), None);
        assert_eq!(space.regions().len(), 4);
    }
}
