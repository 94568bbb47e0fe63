//! Object slots: each object record compactly (address, record offset,
//! size, flags), whether it starts with a header, and which are objects.

use rayon::prelude::*;

use crate::model::{Objects, ObjectsBuilder};

use super::layout::Layout;
use super::{HEADER_SIZE, MAX_ADDR, MAX_SMALL, PAGE};

/// One object record, compactly (24 bytes): enough to place it and to
/// find it again.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    /// The record's address: the start of the allocation slot.
    pub(super) addr: u64,
    /// File offset of the record's tag.
    pub(super) rec: u64,
    /// Its contents length (the slot size), see [`Slot::encode_len`].
    pub(super) len: u32,
    pub(super) flags: u8,
}

/// Marks a slot length stored in pages.
pub(super) const LEN_IN_PAGES: u32 = 1 << 31;

/// The record lists pointer fields.
pub(super) const HAS_FIELDS: u8 = 1;
/// Its first field is at offset 0 (so the first word is no header).
pub(super) const FIELD_AT_ZERO: u8 = 2;
/// The slot starts with an allocation header.
pub(super) const HEADER: u8 = 4;
/// A 32 KiB pointerful slot whose header-ness the size cannot tell (a small
/// object of the largest class has a header, a 4-page large object does not).
pub(super) const AMBIGUOUS: u8 = 8;
/// Span metadata, not an object.
pub(super) const PHANTOM: u8 = 16;

impl Slot {
    /// Slot sizes below 2 GiB as they are, larger ones (large objects: whole
    /// spans) in pages, up to 16 TiB; `None` for anything else.
    pub(super) fn encode_len(len: u64) -> Option<u32> {
        match u32::try_from(len) {
            Ok(l) if l < LEN_IN_PAGES => Some(l),
            _ if len % PAGE == 0 => u32::try_from(len / PAGE)
                .ok()
                .filter(|&p| p < LEN_IN_PAGES)
                .map(|p| p | LEN_IN_PAGES),
            _ => None,
        }
    }

    /// The slot size.
    pub(super) fn len(&self) -> u64 {
        if self.len & LEN_IN_PAGES != 0 {
            u64::from(self.len & !LEN_IN_PAGES) * PAGE
        } else {
            u64::from(self.len)
        }
    }

    /// Bytes of allocation header at the start of the slot.
    pub(super) fn header(&self) -> u64 {
        if self.flags & HEADER != 0 {
            HEADER_SIZE
        } else {
            0
        }
    }
}

/// Sorts the slots by address and settles what each is: repeats dropped,
/// 32 KiB slots' headers decided, span metadata (phantoms) removed.
pub(super) fn settle_slots(
    slots: &mut Vec<Slot>,
    ambiguous: usize,
    samples: &[(u64, u64)],
    layout: &Layout,
    warnings: &mut Vec<String>,
) {
    slots.par_sort_unstable_by_key(|s| s.addr);
    let before = slots.len();
    slots.dedup_by_key(|s| s.addr);
    if slots.len() < before {
        warnings.push(format!(
            "{} object records repeat an address already dumped: they were skipped",
            before - slots.len()
        ));
    }
    if ambiguous > 0 {
        let unsettled = settle_ambiguous(slots, samples);
        if unsettled > 0 {
            warnings.push(format!(
                "{unsettled} pointerful 32 KiB objects may or may not start with an allocation \
                 header (no allocation sample says): guessed from their first word"
            ));
        }
    }
    mark_phantoms(slots, layout);
    let odd_headers = slots
        .iter()
        .filter(|s| {
            layout.headers
                && s.flags & (FIELD_AT_ZERO | PHANTOM) == FIELD_AT_ZERO
                && s.len() > layout.heap_bits_max
                && s.len() < MAX_SMALL
        })
        .count();
    if odd_headers > 0 {
        warnings.push(format!(
            "{odd_headers} objects of 512 B-32 KiB list a pointer where their allocation header \
             should be: they were taken as header-less"
        ));
    }
    slots.retain(|s| s.flags & PHANTOM == 0);
}

/// The objects as Go sees them (after any allocation header); overlapping
/// slots (a corrupt dump) are dropped so that every address has at most one
/// object, and impossible ones too. `slots` keeps one slot per object, in id order.
pub(super) fn place_objects(slots: &mut Vec<Slot>, warnings: &mut Vec<String>) -> Objects {
    let mut last_end = 0u64;
    let mut overlapping = 0usize;
    let mut impossible = 0usize;
    slots.retain(|s| {
        // No process has memory in the top half of the address space.
        if s.addr.checked_add(s.len()).is_none_or(|end| end > MAX_ADDR) {
            impossible += 1;
            return false;
        }
        let h = s.header();
        let keep = s.addr + h >= last_end && s.len() > h;
        if keep {
            last_end = s.addr + s.len();
        } else {
            overlapping += 1;
        }
        keep
    });
    if overlapping > 0 {
        warnings.push(format!(
            "{overlapping} object records overlap others or are empty: they were skipped"
        ));
    }
    if impossible > 0 {
        warnings.push(format!(
            "{impossible} object records lie above {MAX_ADDR:#x}, where no process has memory: \
             they were skipped"
        ));
    }
    let mut builder = ObjectsBuilder::with_capacity(slots.len());
    for s in slots.iter() {
        let h = s.header();
        builder.push(s.addr + h, s.len() - h);
    }
    let objects = builder.finish();
    debug_assert_eq!(objects.len(), slots.len());

    objects
}

/// Decides the 32 KiB pointerful slots from alloc samples (their `obj` is
/// what `mallocgc` returned: slot + header, or the slot itself), where the
/// dump has them; the first-word guess stays for the rest, whose number is
/// returned.
fn settle_ambiguous(slots: &mut [Slot], samples: &[(u64, u64)]) -> usize {
    for &(obj, _) in samples {
        for addr in [obj, obj.wrapping_sub(HEADER_SIZE)] {
            if let Ok(i) = slots.binary_search_by_key(&addr, |s| s.addr) {
                let s = &mut slots[i];
                if s.flags & AMBIGUOUS != 0 {
                    if addr == obj {
                        s.flags &= !HEADER;
                    } else {
                        s.flags |= HEADER;
                    }
                    s.flags &= !AMBIGUOUS;
                }
            }
        }
    }
    slots.iter().filter(|s| s.flags & AMBIGUOUS != 0).count()
}

/// Marks the slots the runtime dumps past the end of a small span's objects
/// (its pointer bitmap and inline mark bits: `dumpobjs` walks the whole
/// span, but only slots below `nelems` can be free). Whether a span holds
/// pointers is not in the dump: a span in which some record lists pointer
/// fields does; one whose only records are the whole candidate tail is
/// taken to be an empty span with pointers.
fn mark_phantoms(slots: &mut [Slot], layout: &Layout) {
    let mut i = 0;
    while i < slots.len() {
        let (page, len) = (slots[i].addr / PAGE, slots[i].len());
        let mut j = i + 1;
        while j < slots.len() && slots[j].addr / PAGE == page && slots[j].len() == len {
            j += 1;
        }
        let group = &mut slots[i..j];
        i = j;
        let (scan_reserve, noscan_reserve) = layout.reserve(len);
        if scan_reserve == 0 || len == 0 {
            continue;
        }
        let n = PAGE / len;
        let nelems_scan = (PAGE - scan_reserve) / len;
        let nelems_noscan = (PAGE - noscan_reserve) / len;
        let index = |s: &Slot| (s.addr % PAGE) / len;
        let scan = group.iter().any(|s| s.flags & HAS_FIELDS != 0) || {
            let tail = group.iter().filter(|s| index(s) >= nelems_scan).count() as u64;
            tail == n - nelems_scan && tail as usize == group.len()
        };
        let limit = if scan { nelems_scan } else { nelems_noscan };
        for s in group.iter_mut() {
            if index(s) >= limit {
                s.flags |= PHANTOM;
            }
        }
    }
}
