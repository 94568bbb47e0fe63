//! A heap dump's memory as the runtime structures need it: object records
//! by address, then data/bss and stack frames, then the executable's segments.

use std::borrow::Cow;

use crate::input::elf::Executable;
use crate::input::elf::address_space::{AddressSpace, Memory, Origin, Region};

use super::HEADER_SIZE;
use super::edges::object_at;
use super::scan::RootRecords;
use super::slots::Slot;
use crate::model::Objects;

/// Heap objects from their records, everything else from the layered
/// segments: what the typer reads.
pub(super) struct DumpMemory<'m, 'a> {
    pub(super) bytes: &'a [u8],
    /// Object slots, in object id order.
    pub(super) slots: &'m [Slot],
    pub(super) objects: &'m Objects,
    pub(super) statics: &'m AddressSpace<'a>,
}

impl DumpMemory<'_, '_> {
    /// The slot holding `addr`: found through the objects' page index (an
    /// allocation header is in the slot, before its object).
    #[inline]
    fn slot(&self, addr: u64) -> Option<&Slot> {
        let id = self
            .objects
            .find(addr)
            .or_else(|| self.objects.find(addr.checked_add(HEADER_SIZE)?))?;
        let s = self.slots.get(id.index())?;
        (addr.wrapping_sub(s.addr) < s.len()).then_some(s)
    }
}

impl Memory for DumpMemory<'_, '_> {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        if let Some(s) = self.slot(addr) {
            let (contents, _) = object_at(self.bytes, s.rec)?;
            let off = usize::try_from(addr - s.addr).ok()?;
            return contents.get(off..off.checked_add(len)?);
        }
        self.statics.read(addr, len)
    }
}

/// The executable's writable segments as loaded: a PIE's relative
/// relocations applied (runtime structures such as `firstmoduledata` and
/// type descriptors hold absolute addresses).
pub(super) fn loaded_writable<'e>(exe: &'e Executable, bias: u64) -> Vec<(u64, Cow<'e, [u8]>)> {
    let mut relocs: Vec<(u64, u64)> = Vec::new();
    if bias != 0 {
        for s in exe
            .sections
            .iter()
            .filter(|s| s.name == ".rela" || s.name == ".rela.dyn")
        {
            let Some(data) = exe.section_data(&s.name) else {
                continue;
            };
            for e in data.chunks_exact(24) {
                let word =
                    |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or_default());
                // R_X86_64_RELATIVE: the word is the load bias plus the addend.
                if word(8) & 0xffff_ffff == u64::from(goblin::elf::reloc::R_X86_64_RELATIVE) {
                    relocs.push((word(0), word(16)));
                }
            }
        }
        relocs.sort_unstable();
    }
    exe.segments
        .iter()
        .filter(|s| s.writable && s.filesz > 0)
        .map(|seg| {
            let data = exe.segment_data(seg);
            let end = seg.vaddr + data.len() as u64;
            let start = relocs.partition_point(|&(at, _)| at < seg.vaddr);
            let mine: Vec<_> = relocs[start..]
                .iter()
                .take_while(|&&(at, _)| at < end)
                .collect();
            let data = if mine.is_empty() {
                Cow::Borrowed(data)
            } else {
                let mut owned = data.to_vec();
                for &&(at, addend) in &mine {
                    let off = (at - seg.vaddr) as usize;
                    if let Some(w) = owned.get_mut(off..off + 8) {
                        w.copy_from_slice(&addend.wrapping_add(bias).to_le_bytes());
                    }
                }
                Cow::Owned(owned)
            };
            (seg.vaddr.wrapping_add(bias), data)
        })
        .collect()
}

/// The dump's own memory first (data/bss segments, stack frames), then the
/// executable's segments as loaded (`writable` from `loaded_writable`).
pub(super) fn layered_statics<'a>(
    exe: &'a Executable,
    rr: &RootRecords<'a>,
    writable: &'a [(u64, Cow<'a, [u8]>)],
    bias: u64,
) -> AddressSpace<'a> {
    fn region(start: u64, data: &[u8], origin: Origin, writable: bool) -> Region<'_> {
        Region {
            start,
            end: start.saturating_add(data.len() as u64),
            data,
            origin,
            writable,
        }
    }
    let mut layers: Vec<Region<'_>> = Vec::new();
    for &(_, addr, contents, _) in &rr.segments {
        layers.push(region(addr, contents, Origin::HeapDump, true));
    }
    for f in &rr.frames {
        layers.push(region(f.sp, f.contents, Origin::HeapDump, true));
    }
    for (start, data) in writable {
        layers.push(region(*start, data, Origin::Executable, true));
    }
    for seg in exe.segments.iter().filter(|s| !s.writable && s.filesz > 0) {
        let start = seg.vaddr.wrapping_add(bias);
        layers.push(region(
            start,
            exe.segment_data(seg),
            Origin::Executable,
            false,
        ));
    }
    AddressSpace::layered(layers)
}
