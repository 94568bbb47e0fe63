//! Heap objects as dense ids over address-sorted arrays: 5 bytes each (the
//! low half of the address and a size class), so tens of millions fit
//! comfortably. The high halves of addresses change a handful of times over
//! a heap and sit in a short table; sizes are a few hundred distinct values
//! (a span's objects share one), with any beyond the table in a side map. A
//! page index makes `find` (address → object) a short search within one page
//! instead of a binary search over the whole heap.

use rustc_hash::FxHashMap;

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
/// The size class meaning "see `odd_sizes`".
const ODD_SIZE: u8 = SizeClasses::ODD;

#[derive(Default)]
pub struct Objects {
    /// Low 32 bits of the addresses as Go sees them (after any allocation
    /// header), ascending with the high halves.
    low: Vec<u32>,
    /// (first id, high 32 bits of its address and the following ones'),
    /// ascending; the first entry is for id 0.
    high: Vec<(u32, u32)>,
    /// Each object's size as an index into `sizes`, or `ODD_SIZE`.
    class: Vec<u8>,
    sizes: SizeClasses,
    /// Sizes of objects whose class is `ODD_SIZE`.
    odd_sizes: FxHashMap<u32, u64>,
    index: PageIndex,
}

/// The distinct object sizes that have a class (at most 255).
#[derive(Default, Clone)]
pub struct SizeClasses {
    sizes: Vec<u64>,
    classes: FxHashMap<u64, u8>,
}

impl SizeClasses {
    /// The class of an object whose size is in `ObjectParts::odd_sizes`.
    pub const ODD: u8 = u8::MAX;

    /// The class of `size`, given one if there is room; `None`: the object's
    /// size goes to the side map.
    pub fn class_of(&mut self, size: u64) -> Option<u8> {
        if let Some(&c) = self.classes.get(&size) {
            return Some(c);
        }
        let c = u8::try_from(self.sizes.len())
            .ok()
            .filter(|&c| c != ODD_SIZE)?;
        self.sizes.push(size);
        self.classes.insert(size, c);
        Some(c)
    }
}

/// For each page of each address region: the first object that ends after
/// the page starts.
#[derive(Default)]
struct PageIndex {
    /// (first page number, offset into `first`), sorted.
    regions: Vec<(u64, u64, usize)>,
    first: Vec<u32>,
}

/// The arrays of `Objects` for a caller that fills them itself (in parallel,
/// span by span): see [`Objects::from_parts`].
pub struct ObjectParts {
    pub low: Vec<u32>,
    pub high: Vec<(u32, u32)>,
    pub class: Vec<u8>,
    pub sizes: SizeClasses,
    pub odd_sizes: FxHashMap<u32, u64>,
}

impl Objects {
    pub fn len(&self) -> usize {
        self.low.len()
    }

    pub fn is_empty(&self) -> bool {
        self.low.is_empty()
    }

    pub fn ids(&self) -> impl ExactSizeIterator<Item = ObjectId> + use<> {
        (0..self.low.len() as u32).map(ObjectId)
    }

    #[inline]
    pub fn addr(&self, id: ObjectId) -> u64 {
        u64::from(self.high_of(id.0)) << 32 | u64::from(self.low[id.index()])
    }

    #[inline]
    fn high_of(&self, id: u32) -> u32 {
        match self.high.as_slice() {
            [(_, h)] => *h,
            all => {
                let k = all.partition_point(|&(first, _)| first <= id);
                all[k.saturating_sub(1)].1
            }
        }
    }

    #[inline]
    pub fn size(&self, id: ObjectId) -> u64 {
        match self.class[id.index()] {
            ODD_SIZE => self.odd_sizes.get(&id.0).copied().unwrap_or(0),
            c => self.sizes.sizes[usize::from(c)],
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
            (0, self.len())
        } else {
            let slot = offset + (page - start) as usize;
            let lo = self.index.first[slot] as usize;
            (
                lo,
                (self.index.first[slot + 1] as usize + 1).min(self.len()),
            )
        };
        // The last object in lo..hi starting at or before `addr`.
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.addr(ObjectId(mid as u32)) <= addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let id = ObjectId(lo.checked_sub(1)? as u32);
        (addr < self.addr(id) + self.size(id).max(1)).then_some(id)
    }

    /// Objects from arrays filled by the caller, in address order without
    /// overlaps: `high` names where the high half of the addresses changes
    /// (it may repeat a value; it must start at id 0 when there are objects),
    /// and each object's size is `sizes`' class `class[i]`, or for
    /// `ODD_SIZE` the entry of `odd_sizes`.
    pub fn from_parts(parts: ObjectParts) -> Objects {
        let ObjectParts {
            low,
            high,
            class,
            sizes,
            odd_sizes,
        } = parts;
        debug_assert_eq!(low.len(), class.len());
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(high.len());
        for (first, h) in high {
            if merged.last().is_none_or(|&(_, last)| last != h) {
                merged.push((first, h));
            }
        }
        let mut objects = Objects {
            low,
            high: merged,
            class,
            sizes,
            odd_sizes,
            index: PageIndex::default(),
        };
        debug_assert!(
            (1..objects.len())
                .all(|i| objects.addr(ObjectId(i as u32 - 1)) < objects.addr(ObjectId(i as u32)))
        );
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

    fn end(&self, i: usize) -> u64 {
        let id = ObjectId(i as u32);
        self.addr(id) + self.size(id).max(1)
    }

    fn build_index(&mut self) {
        let mut index = PageIndex::default();
        let n = self.len();
        let mut i = 0;
        while i < n {
            // A region: objects whose gaps are small.
            let start_page = self.addr(ObjectId(i as u32)) >> PAGE_SHIFT;
            let mut j = i;
            let mut end = self.end(i);
            while j + 1 < n && self.addr(ObjectId(j as u32 + 1)) < end.saturating_add(REGION_GAP) {
                j += 1;
                end = end.max(self.end(j));
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
                while k <= j && self.end(k) <= page_start {
                    k += 1;
                }
                index.first.push(k.min(j) as u32);
            }
            i = j + 1;
        }
        self.index = index;
    }
}

/// The arrays of `Objects`, index included, as a persistent index stores
/// them (`from_stored` checks them before they are used).
pub struct StoredObjects<'a> {
    pub low: std::borrow::Cow<'a, [u32]>,
    pub high: std::borrow::Cow<'a, [(u32, u32)]>,
    pub class: std::borrow::Cow<'a, [u8]>,
    pub sizes: std::borrow::Cow<'a, [u64]>,
    /// (id, size), sorted by id.
    pub odd_sizes: std::borrow::Cow<'a, [(u32, u64)]>,
    /// (first page, end page, offset into `first` or u64::MAX: no index).
    pub regions: std::borrow::Cow<'a, [(u64, u64, u64)]>,
    pub first: std::borrow::Cow<'a, [u32]>,
}

impl Objects {
    /// Borrowed arrays for writing an index.
    pub fn stored(&self) -> StoredObjects<'_> {
        let mut odd: Vec<(u32, u64)> = self.odd_sizes.iter().map(|(&i, &s)| (i, s)).collect();
        odd.sort_unstable();
        StoredObjects {
            low: self.low.as_slice().into(),
            high: self.high.as_slice().into(),
            class: self.class.as_slice().into(),
            sizes: self.sizes.sizes.as_slice().into(),
            odd_sizes: odd.into(),
            regions: self
                .index
                .regions
                .iter()
                .map(|&(s, e, o)| (s, e, if o == usize::MAX { u64::MAX } else { o as u64 }))
                .collect::<Vec<_>>()
                .into(),
            first: self.index.first.as_slice().into(),
        }
    }

    /// Objects from stored arrays, after checking everything a lookup
    /// indexes with (a damaged file gives an error, never a panic later).
    pub fn from_stored(s: StoredObjects<'_>) -> Result<Objects, String> {
        let n = s.low.len();
        if s.class.len() != n || u32::try_from(n).is_err() {
            return Err("object arrays of different lengths".into());
        }
        if n > 0 && s.high.first().is_none_or(|&(f, _)| f != 0) {
            return Err("address table does not start at the first object".into());
        }
        if !s.high.windows(2).all(|w| w[0].0 < w[1].0)
            || s.high.iter().any(|&(f, _)| f as usize >= n.max(1))
        {
            return Err("address table out of order".into());
        }
        if s.sizes.len() >= usize::from(ODD_SIZE) {
            return Err("too many size classes".into());
        }
        let classes = s.sizes.len();
        if s.class
            .iter()
            .any(|&c| c != ODD_SIZE && usize::from(c) >= classes)
        {
            return Err("size class out of range".into());
        }
        if s.odd_sizes.iter().any(|&(i, _)| i as usize >= n) {
            return Err("odd size of no object".into());
        }
        let mut regions = Vec::with_capacity(s.regions.len());
        for &(start, end, offset) in s.regions.iter() {
            if start >= end {
                return Err("empty page-index region".into());
            }
            let offset = if offset == u64::MAX {
                usize::MAX
            } else {
                // `find` reads first[offset + (page - start) + 1] for pages below `end`.
                let last = offset
                    .checked_add(end - start)
                    .ok_or("page index overflow")?;
                if last >= s.first.len() as u64 {
                    return Err("page-index region past its table".into());
                }
                offset as usize
            };
            regions.push((start, end, offset));
        }
        if !regions.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err("page-index regions out of order".into());
        }
        if s.first.iter().any(|&f| f as usize >= n.max(1)) {
            return Err("page index names no object".into());
        }
        let mut table = SizeClasses::default();
        for &size in s.sizes.iter() {
            if table
                .classes
                .insert(size, table.sizes.len() as u8)
                .is_some()
            {
                return Err("size class listed twice".into());
            }
            table.sizes.push(size);
        }
        Ok(Objects {
            low: s.low.into_owned(),
            high: s.high.into_owned(),
            class: s.class.into_owned(),
            sizes: table,
            odd_sizes: s.odd_sizes.iter().copied().collect(),
            index: PageIndex {
                regions,
                first: s.first.into_owned(),
            },
        })
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
        let mut parts = ObjectParts {
            low: Vec::with_capacity(addrs.len()),
            high: Vec::new(),
            class: Vec::with_capacity(addrs.len()),
            sizes: SizeClasses::default(),
            odd_sizes: FxHashMap::default(),
        };
        for (i, (&addr, &size)) in addrs.iter().zip(sizes.iter()).enumerate() {
            parts.low.push(addr as u32);
            let high = (addr >> 32) as u32;
            if parts.high.last().is_none_or(|&(_, h)| h != high) {
                parts.high.push((i as u32, high));
            }
            parts
                .class
                .push(parts.sizes.class_of(size).unwrap_or_else(|| {
                    parts.odd_sizes.insert(i as u32, size);
                    ODD_SIZE
                }));
        }
        Objects::from_parts(parts)
    }
}

/// A size in 32 bits, or None for one of 4 GiB or more (which callers keep
/// in a side table, with `u32::MAX` in its place).
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

    #[test]
    fn addresses_across_4gib_boundaries_and_sizes_past_the_class_table_stay_exact() {
        // 300 distinct sizes (more than the 255 classes) around two 4 GiB
        // boundaries, one object straddling the second.
        let mut b = ObjectsBuilder::default();
        let mut all = Vec::new();
        let mut a = 0xc0_ffff_0000u64;
        for i in 0..600u64 {
            let size = 16 + 8 * (i % 300);
            all.push((a, size));
            b.push(a, size);
            a += size + 8;
            if i == 400 {
                a = 0xc1_ffff_fff0;
            }
        }
        let o = b.finish();
        assert_eq!(o.len(), all.len());
        for (i, &(addr, size)) in all.iter().enumerate() {
            let id = ObjectId(i as u32);
            assert_eq!((o.addr(id), o.size(id)), (addr, size), "object {i}");
            assert_eq!(o.find(addr), Some(id));
            assert_eq!(o.find(addr + size - 1), Some(id));
            assert_eq!(o.find(addr + size), None, "gap after object {i}");
        }
        assert!(o.addr(ObjectId(400)) < 1 << 40 && o.addr(ObjectId(401)) > 0xc1_ffff_ffff - 16);
        assert_eq!(o.total_bytes(), all.iter().map(|&(_, s)| s).sum::<u64>());
    }
}
