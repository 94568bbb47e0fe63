//! Putting sets of dense ids (objects, graph nodes) in increasing order, so
//! walks over them read their per-id arrays front to back instead of at
//! random: waves of object typing, levels of breadth-first searches.

/// Sets of at least this many ids are ordered through a bitmap of all ids.
pub const BITMAP_FROM: usize = 1 << 14;

/// Sorts `ids` (ids below `universe`). Small sets by comparison; large ones
/// through `bitmap` (one bit per id, all clear, reused between calls):
/// linear, and each id comes out once.
pub fn sort_ids(ids: &mut Vec<u32>, universe: usize, bitmap: &mut Vec<u64>) {
    if ids.len() < BITMAP_FROM {
        ids.sort_unstable();
        return;
    }
    bitmap.resize(universe.div_ceil(64), 0);
    for &v in ids.iter() {
        bitmap[v as usize / 64] |= 1 << (v % 64);
    }
    ids.clear();
    take_set_bits(bitmap, |v| ids.push(v));
}

/// Calls `f` with each id whose bit is set, in increasing order, clearing
/// the bits as it goes (the bitmap is all clear afterwards).
pub fn take_set_bits(bitmap: &mut [u64], mut f: impl FnMut(u32)) {
    for (i, word) in bitmap.iter_mut().enumerate() {
        let mut w = std::mem::take(word);
        while w != 0 {
            f((i * 64) as u32 + w.trailing_zeros());
            w &= w - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_are_sorted_and_large_ones_sorted_once_each() {
        let mut bitmap = Vec::new();
        let mut small = vec![9, 3, 3, 7];
        sort_ids(&mut small, 10, &mut bitmap);
        assert_eq!(small, vec![3, 3, 7, 9]);
        let mut large: Vec<u32> = (0..BITMAP_FROM as u32 * 2).rev().map(|i| i / 2).collect();
        sort_ids(&mut large, BITMAP_FROM, &mut bitmap);
        assert_eq!(large, (0..BITMAP_FROM as u32).collect::<Vec<_>>());
        assert!(bitmap.iter().all(|&w| w == 0), "the bitmap is left clear");
    }
}
