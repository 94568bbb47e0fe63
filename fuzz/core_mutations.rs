//! Structure-aware changes to a real core, shared by the `core` fuzz target
//! and the regression test (tests/bad_input.rs): the input is a list of
//! 16-byte records, each replacing one aligned word of the core's dumped
//! memory, so every input is a fixture core with some words changed.
//!
//! Record: `[region, mode, _, _, offset: u32 LE, value: u64 LE]`.
//! - region (mod 3): 0 the Go heap arena (objects, span heap bits, stacks),
//!   1 other writable memory (runtime globals, mspan structs, allgs, g's,
//!   profile buckets, specials), 2 any dumped segment.
//! - offset: the word, modulo the region's words.
//! - mode (mod 5): 0 set `value`; 1 xor `value`; 2 add `value as i8`;
//!   3 a pointer into the heap arena (`value` modulo its length), which
//!   makes a header word or a span field point at plausible memory;
//!   4 a pointer into another region (`value` modulo all dumped bytes).

/// Where a core's dumped words are: (vaddr, file offset, length) per
/// segment, split by region.
pub struct CoreLayout {
    pub heap: Vec<(u64, usize, usize)>,
    pub other: Vec<(u64, usize, usize)>,
    pub all: Vec<(u64, usize, usize)>,
}

const HEAP_LO: u64 = 0xc000_0000_00;
const HEAP_HI: u64 = 0xc100_0000_00;

impl CoreLayout {
    /// Reads the PT_LOAD headers of an ELF64 little-endian core.
    pub fn of(core: &[u8]) -> Option<CoreLayout> {
        let u16_at = |o: usize| Some(u16::from_le_bytes(core.get(o..o + 2)?.try_into().ok()?));
        let u32_at = |o: usize| Some(u32::from_le_bytes(core.get(o..o + 4)?.try_into().ok()?));
        let u64_at = |o: usize| Some(u64::from_le_bytes(core.get(o..o + 8)?.try_into().ok()?));
        let phoff = usize::try_from(u64_at(0x20)?).ok()?;
        let phnum = usize::from(u16_at(0x38)?);
        let mut layout = CoreLayout {
            heap: Vec::new(),
            other: Vec::new(),
            all: Vec::new(),
        };
        for i in 0..phnum {
            let ph = phoff + 56 * i;
            if u32_at(ph)? != 1 {
                continue;
            }
            let flags = u32_at(ph + 4)?;
            let off = usize::try_from(u64_at(ph + 8)?).ok()?;
            let vaddr = u64_at(ph + 16)?;
            let filesz = usize::try_from(u64_at(ph + 32)?).ok()?;
            let len = filesz.min(core.len().saturating_sub(off)) / 8 * 8;
            if len == 0 {
                continue;
            }
            let seg = (vaddr, off, len);
            layout.all.push(seg);
            if (HEAP_LO..HEAP_HI).contains(&vaddr) {
                layout.heap.push(seg);
            } else if flags & 2 != 0 {
                layout.other.push(seg);
            }
        }
        Some(layout)
    }

    fn pick(segs: &[(u64, usize, usize)], at: u64) -> Option<(u64, usize, usize)> {
        let total: u64 = segs.iter().map(|s| (s.2 / 8) as u64).sum();
        let mut word = at.checked_rem(total)?;
        for &(vaddr, off, len) in segs {
            let words = (len / 8) as u64;
            if word < words {
                return Some((vaddr + word * 8, off + (word * 8) as usize, len));
            }
            word -= words;
        }
        None
    }

    /// Applies the records of `input` to `core` (a copy of the fixture);
    /// returns the (file offset, old word) pairs, to undo them.
    pub fn apply(&self, core: &mut [u8], input: &[u8]) -> Vec<(usize, [u8; 8])> {
        let mut undo = Vec::new();
        for rec in input.chunks_exact(16).take(64) {
            let region = match rec[0] % 3 {
                0 => &self.heap,
                1 => &self.other,
                _ => &self.all,
            };
            let offset = u64::from(u32::from_le_bytes([rec[4], rec[5], rec[6], rec[7]]));
            let value = u64::from_le_bytes(rec[8..16].try_into().unwrap_or_default());
            let Some((_, at, _)) = Self::pick(region, offset) else {
                continue;
            };
            let Some(word) = core.get_mut(at..at + 8) else {
                continue;
            };
            let old: [u8; 8] = word.try_into().unwrap_or_default();
            let current = u64::from_le_bytes(old);
            let new = match rec[1] % 5 {
                0 => value,
                1 => current ^ value,
                2 => current.wrapping_add(value as u8 as i8 as i64 as u64),
                3 => Self::pick(&self.heap, value / 8).map_or(value, |p| p.0),
                _ => Self::pick(&self.all, value / 8).map_or(value, |p| p.0),
            };
            word.copy_from_slice(&new.to_le_bytes());
            undo.push((at, old));
        }
        undo
    }
}
