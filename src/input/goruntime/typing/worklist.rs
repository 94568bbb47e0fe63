//! The work queue of typing: objects to walk go in waves, each in address
//! order; a large wave drops the pages of memory it has walked past.

use crate::input::elf::address_space::Memory;
use crate::model::ObjectId;
use crate::model::id_order::{BITMAP_FROM, sort_ids, take_set_bits};

use super::Typer;
use super::evidence::NAME_MASK;

/// Objects still to walk: a list, and once that list would outgrow a bitmap
/// of all objects, the bitmap. A large wave is walked in object order with
/// each object once either way (`order_wave`), so the bitmap changes nothing
/// but the memory a large heap's waves hold (a bit per object, not 4 bytes
/// per queued entry).
pub(super) struct WorkSet {
    list: Vec<u32>,
    bits: Vec<u64>,
    in_bits: bool,
    objects: usize,
}

impl WorkSet {
    pub(super) fn new(objects: usize) -> Self {
        WorkSet {
            list: Vec::new(),
            bits: Vec::new(),
            in_bits: false,
            objects,
        }
    }

    /// Past this many entries a list holds more than the bitmap; never
    /// below the size from which `order_wave` takes the bitmap path itself.
    pub(super) fn limit(&self) -> usize {
        (self.objects / 32).max(BITMAP_FROM)
    }

    pub(super) fn push(&mut self, o: u32) {
        if !self.in_bits {
            self.list.push(o);
            if self.list.len() <= self.limit() {
                return;
            }
            self.bits.resize(self.objects.div_ceil(64), 0);
            for &x in &self.list {
                self.bits[x as usize / 64] |= 1 << (x % 64);
            }
            self.list = Vec::new();
            self.in_bits = true;
            return;
        }
        if let Some(w) = self.bits.get_mut(o as usize / 64) {
            *w |= 1 << (o % 64);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        !self.in_bits && self.list.is_empty()
    }
}

/// How far a wave walks past memory before dropping its pages, and how
/// much it keeps just behind the walk.
const RELEASE_STEP: u64 = 32 << 20;
const RELEASE_MARGIN: u64 = 1 << 20;

/// Drops the resident pages under a slice of the dump's memory.
pub type ReleaseBytes<'r> = &'r dyn Fn(&[u8]);

/// The memory region a wave is walking and how much of it was released.
struct Passed<'s> {
    start: u64,
    data: &'s [u8],
    released_to: u64,
}

impl<'a, 'd, 's, M: Memory + ?Sized> Typer<'a, 'd, 's, M> {
    /// Runs propagation until nothing changes. Work goes in waves, each
    /// sorted by address, so big heaps are walked with locality rather than
    /// in the random order pointers lead to.
    pub fn drain(&mut self) {
        let mut wave = WorkSet::new(self.typed.len());
        let mut bitmap: Vec<u64> = Vec::new();
        // The memory run of the last walked object: waves go in address
        // order, so the next object is nearly always in it (a lookup per
        // object was a fifth of typing).
        let mut run: Option<(u64, &'s [u8])> = None;
        while !self.queue.is_empty() {
            // The emptied set of the previous wave collects the next one.
            std::mem::swap(&mut wave, &mut self.queue);
            if wave.in_bits {
                let mut passed = None;
                take_set_bits(&mut wave.bits, |o| {
                    self.walk_object(o, &mut run);
                    self.release_passed(o, run, &mut passed);
                });
                self.release_rest(passed);
                wave.in_bits = false;
            } else {
                let mut list = std::mem::take(&mut wave.list);
                self.order_wave(&mut list, &mut bitmap);
                for &o in &list {
                    self.walk_object(o, &mut run);
                }
                list.clear();
                wave.list = list;
            }
        }
    }

    /// Walks one queued object's contents with the type it holds now.
    fn walk_object(&mut self, o: u32, run: &mut Option<(u64, &'s [u8])>) {
        let obj = ObjectId(o);
        let name = self.typed[obj.index()] & NAME_MASK;
        let Some(&pair) = self
            .pair_of_name
            .get(name as usize)
            .filter(|&&p| p != u32::MAX)
        else {
            return; // typed since by name or layout alone
        };
        let (ty, count, _) = self.pairs[pair as usize];
        let (elem, has_pointers) = self.type_facts(ty);
        if !has_pointers {
            return;
        }
        let addr = self.objects.addr(obj);
        let size = self.objects.size(obj);
        let count = size
            .checked_div(elem)
            .map_or(1, |fit| count.min(fit).max(1));
        let in_run = |(start, data): (u64, &'s [u8])| {
            let off = usize::try_from(addr.checked_sub(start)?).ok()?;
            data.get(off..off.checked_add(size as usize)?)
        };
        let mem = match run.and_then(in_run) {
            Some(m) => Some(m),
            None => {
                *run = self.space.run_containing(addr);
                run.and_then(in_run)
                    .or_else(|| self.space.read(addr, size as usize))
            }
        };
        self.current_mem = mem.map(|m| (addr, m));
        self.current_row = self
            .edges
            .map(|e| (addr, e.offsets(obj), e.targets(obj), e.row(obj).start));
        self.row_cursor.set(0);
        self.walk_value(addr, ty, count);
        self.current_mem = None;
        self.current_row = None;
    }

    /// Puts a wave in object order. Large waves go through a bitmap of all
    /// objects (linear, and it drops duplicates: each object is walked once,
    /// with the type it holds now, the best one assigned).
    fn order_wave(&self, wave: &mut Vec<u32>, bitmap: &mut Vec<u64>) {
        if wave.len() > 64 {
            sort_ids(wave, self.typed.len(), bitmap);
        }
    }

    /// Releases what the walk has left behind once it is `RELEASE_STEP`
    /// past the last release, or all the rest of a region it has left.
    fn release_passed(
        &self,
        o: u32,
        run: Option<(u64, &'s [u8])>,
        passed: &mut Option<Passed<'s>>,
    ) {
        let (Some(release), Some((start, data))) = (self.release_behind, run) else {
            return;
        };
        match passed {
            Some(p) if p.start == start => {
                // An object walked without reading its memory may lie
                // past the run: nothing to say about the run then.
                let addr = self.objects.addr(ObjectId(o));
                if addr < start || addr - start >= data.len() as u64 {
                    return;
                }
                let to = addr.saturating_sub(RELEASE_MARGIN);
                if to >= p.released_to + RELEASE_STEP {
                    let range = (p.released_to - start) as usize..(to - start) as usize;
                    if let Some(bytes) = data.get(range) {
                        release(bytes);
                    }
                    p.released_to = to;
                }
            }
            _ => {
                self.release_rest(passed.take());
                *passed = Some(Passed {
                    start,
                    data,
                    released_to: start,
                });
            }
        }
    }

    fn release_rest(&self, passed: Option<Passed<'s>>) {
        if let (Some(release), Some(p)) = (self.release_behind, passed) {
            if let Some(bytes) = p.data.get((p.released_to - p.start) as usize..) {
                release(bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(w: &WorkSet) -> Vec<u32> {
        if !w.in_bits {
            let mut l = w.list.clone();
            l.sort_unstable();
            l.dedup();
            return l;
        }
        (0..w.objects as u32)
            .filter(|&o| w.bits[o as usize / 64] & (1 << (o % 64)) != 0)
            .collect()
    }

    #[test]
    fn a_work_set_turns_into_a_bitmap_past_its_limit_and_keeps_every_member() {
        let objects = 1 << 20; // limit: 32768 entries
        let mut w = WorkSet::new(objects);
        assert!(w.is_empty());
        let mut want = std::collections::BTreeSet::new();
        // Spread, repeated, out of order.
        for i in 0..40_000u32 {
            let o = (i.wrapping_mul(2_654_435_761) % objects as u32) | 1;
            w.push(o);
            want.insert(o);
            if i < 32_768 {
                assert!(!w.in_bits, "switched at {i}");
            }
        }
        assert!(w.in_bits);
        assert!(w.list.is_empty());
        assert!(!w.is_empty());
        assert_eq!(members(&w), want.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_small_heap_switches_only_where_waves_use_a_bitmap_anyway() {
        let w = WorkSet::new(1000);
        assert_eq!(w.limit(), BITMAP_FROM);
    }
}
