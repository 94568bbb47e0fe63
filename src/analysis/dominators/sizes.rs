//! Retained sizes: bytes and objects per node that is no leaf, packed in one
//! word each, with the few too large to pack kept exact on the side.

use rustc_hash::FxHashMap;

/// Retained bytes and objects by the place of a node that is no leaf,
/// packed in one word (bytes in the high 40 bits, objects in the low 24):
/// one array for both. Nodes
/// over either limit (keeping a terabyte or 16 million objects alive: the
/// top of the tree) are `WIDE` there and exact in `wide`.
pub(super) struct Sizes {
    pub(super) packed: Vec<u64>,
    pub(super) wide: FxHashMap<u32, (u64, u64)>,
}

const OBJECT_BITS: u32 = 24;
const OBJECT_MASK: u64 = (1 << OBJECT_BITS) - 1;
const WIDE: u64 = u64::MAX;

impl Sizes {
    #[inline]
    pub(super) fn get(&self, d: usize) -> (u64, u64) {
        match self.packed.get(d) {
            Some(&WIDE) => self.wide.get(&(d as u32)).copied().unwrap_or((0, 0)),
            Some(&p) => (p >> OBJECT_BITS, p & OBJECT_MASK),
            None => (0, 0),
        }
    }

    #[inline]
    pub(super) fn add(&mut self, d: usize, bytes: u64, objects: u64) {
        let p = self.packed[d];
        if p != WIDE {
            let b = (p >> OBJECT_BITS).saturating_add(bytes);
            let o = (p & OBJECT_MASK).saturating_add(objects);
            // The low bits all set would read as WIDE.
            if b >> (64 - OBJECT_BITS) == 0 && o < OBJECT_MASK {
                self.packed[d] = b << OBJECT_BITS | o;
                return;
            }
        }
        self.add_wide(d, bytes, objects);
    }

    #[cold]
    fn add_wide(&mut self, d: usize, bytes: u64, objects: u64) {
        let (b, o) = self.get(d);
        self.wide.insert(
            d as u32,
            (b.saturating_add(bytes), o.saturating_add(objects)),
        );
        self.packed[d] = WIDE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_past_the_packed_limits_stay_exact() {
        let mut s = Sizes {
            packed: vec![0; 4],
            wide: FxHashMap::default(),
        };
        s.add(0, 100, 2);
        s.add(0, 28, 1);
        assert_eq!(s.get(0), (128, 3));
        // A terabyte and more, 16 million objects and more.
        s.add(1, (1 << 40) - 1, 1);
        assert_eq!(s.get(1), ((1 << 40) - 1, 1));
        s.add(1, 1, 0);
        assert_eq!(s.get(1), (1 << 40, 1));
        s.add(2, 8, OBJECT_MASK - 1);
        assert_eq!(s.get(2), (8, OBJECT_MASK - 1));
        s.add(2, 8, 1);
        assert_eq!(s.get(2), (16, OBJECT_MASK));
        // Wide into wide, wide into narrow.
        let (b, o) = s.get(1);
        s.add(2, b, o);
        assert_eq!(s.get(2), (16 + (1 << 40), OBJECT_MASK + 1));
        let (b, o) = s.get(2);
        s.add(3, b, o);
        s.add(3, u64::MAX, 0);
        assert_eq!(s.get(3), (u64::MAX, OBJECT_MASK + 1));
        assert_eq!(s.get(0), (128, 3));
        assert_eq!(s.get(4), (0, 0));
    }
}
