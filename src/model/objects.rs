//! Heap objects as dense ids over address-sorted arrays: 12 bytes each, so
//! tens of millions fit comfortably. Sizes of 4 GiB and more go to a side
//! table. A page index makes `find` (address → object) a short search within
//! one page instead of a binary search over the whole heap.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub u32);

impl ObjectId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Granularity of the page index (the runtime's page size).
const PAGE_SHIFT: u32 = 13;
/// A gap this large between objects starts a new region of the index.
const REGION_GAP: u64 = 64 << 20;
/// Regions larger than this (2 TiB) are searched without an index.
const MAX_REGION_PAGES: u64 = 1 << 28;

#[derive(Default)]
pub struct Objects {
    /// Object addresses as Go sees them (after any allocation header), ascending.
    addrs: Vec<u64>,
    sizes: Vec<u32>,
    huge_sizes: HashMap<u32, u64>,
    index: PageIndex,
}

/// For each page of each address region: the first object that ends after
/// the page starts.
#[derive(Default)]
struct PageIndex {
    /// (first page number, offset into `first`), sorted.
    regions: Vec<(u64, u64, usize)>,
    first: Vec<u32>,
}

impl Objects {
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    pub fn ids(&self) -> impl ExactSizeIterator<Item = ObjectId> + use<> {
        (0..self.addrs.len() as u32).map(ObjectId)
    }

    pub fn addr(&self, id: ObjectId) -> u64 {
        self.addrs[id.index()]
    }

    pub fn size(&self, id: ObjectId) -> u64 {
        match self.sizes[id.index()] {
            u32::MAX => self
                .huge_sizes
                .get(&id.0)
                .copied()
                .unwrap_or(u64::from(u32::MAX)),
            s => u64::from(s),
        }
    }

    /// The object holding `addr` (its first byte up to, not including, its end).
    #[inline]
    pub fn find(&self, addr: u64) -> Option<ObjectId> {
        let page = addr >> PAGE_SHIFT;
        let r = self
            .index
            .regions
            .partition_point(|&(start, _, _)| start <= page)
            .checked_sub(1)?;
        let (start, end, offset) = self.index.regions[r];
        if page >= end {
            return None;
        }
        let (lo, hi) = if offset == usize::MAX {
            (0, self.addrs.len())
        } else {
            let slot = offset + (page - start) as usize;
            let lo = self.index.first[slot] as usize;
            (
                lo,
                (self.index.first[slot + 1] as usize + 1).min(self.addrs.len()),
            )
        };
        let i = lo
            + self.addrs[lo..hi]
                .partition_point(|&a| a <= addr)
                .checked_sub(1)?;
        let id = ObjectId(i as u32);
        (addr < self.addrs[i] + self.size(id).max(1)).then_some(id)
    }

    /// Objects from arrays already in address order, without overlaps:
    /// sizes of 4 GiB and more are `u32::MAX` in `sizes` and given in `huge`.
    pub fn from_sorted(addrs: Vec<u64>, sizes: Vec<u32>, huge: HashMap<u32, u64>) -> Objects {
        debug_assert_eq!(addrs.len(), sizes.len());
        debug_assert!(addrs.windows(2).all(|w| w[0] < w[1]));
        let mut objects = Objects {
            addrs,
            sizes,
            huge_sizes: huge,
            index: PageIndex::default(),
        };
        objects.build_index();
        objects
    }

    /// Address regions and pages of the lookup index (for diagnostics).
    pub fn index_shape(&self) -> (usize, usize) {
        (self.index.regions.len(), self.index.first.len())
    }

    pub fn total_bytes(&self) -> u64 {
        self.ids().map(|id| self.size(id)).sum()
    }

    fn build_index(&mut self) {
        let mut index = PageIndex::default();
        let n = self.addrs.len();
        let mut i = 0;
        while i < n {
            // A region: objects whose gaps are small.
            let start_page = self.addrs[i] >> PAGE_SHIFT;
            let mut j = i;
            let mut end = self.addrs[i] + self.size(ObjectId(i as u32)).max(1);
            while j + 1 < n && self.addrs[j + 1] < end.saturating_add(REGION_GAP) {
                j += 1;
                end = end.max(self.addrs[j] + self.size(ObjectId(j as u32)).max(1));
            }
            let end_page = (end - 1) >> PAGE_SHIFT;
            if end_page - start_page > MAX_REGION_PAGES {
                // An absurd extent (corrupt sizes): search it without an index.
                index.regions.push((start_page, end_page + 1, usize::MAX));
                i = j + 1;
                continue;
            }
            let offset = index.first.len();
            index.regions.push((start_page, end_page + 1, offset));
            // first[p]: the first object of the region ending after page p starts.
            let mut k = i;
            for page in start_page..=end_page + 1 {
                let page_start = page << PAGE_SHIFT;
                while k <= j && self.addrs[k] + self.size(ObjectId(k as u32)).max(1) <= page_start {
                    k += 1;
                }
                index.first.push(k.min(j) as u32);
            }
            i = j + 1;
        }
        self.index = index;
    }
}

/// Collects objects; `finish` sorts them (unless they came in order) into ids.
#[derive(Default)]
pub struct ObjectsBuilder {
    addrs: Vec<u64>,
    sizes: Vec<u64>,
}

impl ObjectsBuilder {
    pub fn with_capacity(n: usize) -> Self {
        ObjectsBuilder {
            addrs: Vec::with_capacity(n),
            sizes: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, addr: u64, size: u64) {
        self.addrs.push(addr);
        self.sizes.push(size);
    }

    pub fn finish(self) -> Objects {
        let ObjectsBuilder {
            mut addrs,
            mut sizes,
        } = self;
        if !addrs.windows(2).all(|w| w[0] < w[1]) {
            let mut items: Vec<(u64, u64)> =
                addrs.iter().copied().zip(sizes.iter().copied()).collect();
            items.sort_unstable_by_key(|&(a, _)| a);
            items.dedup_by_key(|&mut (a, _)| a);
            (addrs, sizes) = items.into_iter().unzip();
        }
        let mut huge = HashMap::new();
        let compact = sizes
            .into_iter()
            .enumerate()
            .map(|(i, size)| {
                compact_size(size).unwrap_or_else(|| {
                    huge.insert(i as u32, size);
                    u32::MAX
                })
            })
            .collect();
        Objects::from_sorted(addrs, compact, huge)
    }
}

/// A size as `Objects` stores it, or None for one of 4 GiB or more (kept in
/// the side table, with `u32::MAX` in its place).
pub fn compact_size(size: u64) -> Option<u32> {
    u32::try_from(size).ok().filter(|&s| s != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_resolves_interior_addresses() {
        let mut b = ObjectsBuilder::default();
        b.push(0x2000, 16);
        b.push(0x1000, 32);
        b.push(0x3000, 5 << 30);
        let o = b.finish();
        assert_eq!(o.len(), 3);
        assert_eq!(o.find(0x1000), Some(ObjectId(0)));
        assert_eq!(o.find(0x101f), Some(ObjectId(0)));
        assert_eq!(o.find(0x1020), None);
        assert_eq!(o.find(0x0fff), None);
        assert_eq!(o.find(0x2008), Some(ObjectId(1)));
        assert_eq!(o.size(ObjectId(2)), 5 << 30);
        assert_eq!(o.find(0x3000 + (4 << 30)), Some(ObjectId(2)));
        assert_eq!(o.find(0x3000 + (5 << 30)), None);
    }

    #[test]
    fn find_agrees_with_a_scan_across_regions_and_pages() {
        // Objects of mixed sizes in two far-apart regions, with gaps.
        let mut b = ObjectsBuilder::default();
        let mut all = Vec::new();
        for base in [0xc000_0000_00u64, 0x7f00_0000_0000] {
            let mut a = base;
            for i in 0..3000u64 {
                let size = [16, 48, 8192, 24, 40000][(i % 5) as usize];
                b.push(a, size);
                all.push((a, size));
                a += size + if i % 7 == 0 { 4096 } else { 0 };
            }
        }
        let o = b.finish();
        let scan = |addr: u64| all.iter().position(|&(a, s)| a <= addr && addr < a + s);
        for &(a, s) in all.iter().step_by(7) {
            for probe in [a, a + s / 2, a + s - 1, a + s, a.wrapping_sub(1)] {
                assert_eq!(
                    o.find(probe).map(|id| id.index()),
                    scan(probe),
                    "{probe:#x}"
                );
            }
        }
    }
}
