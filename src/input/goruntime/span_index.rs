//! Address → object by span arithmetic, as the runtime finds objects
//! (`spanOf`, `objIndex`): page → span, slot = offset / elemsize, then the
//! slot's rank among the span's allocated slots. Its tables (a few bytes per
//! page and per slot) stay in cache where a search over the object arrays
//! misses on every lookup: this is what resolving tens of millions of
//! pointers while building edges needs.

use rayon::prelude::*;

use super::spans::Span;
use crate::model::ObjectId;

/// Heaps spread over more pages than this (sparse arenas far apart) are not
/// indexed: callers fall back to `Objects::find`.
const MAX_PAGES: u64 = 1 << 26;

#[derive(Clone, Copy)]
struct Entry {
    base: u64,
    elemsize: u64,
    /// Bytes of allocation header before each object.
    header: u64,
    nelems: u64,
    first_id: u32,
    /// Index of the span's first word in `bits` / `ranks`.
    word: u32,
}

pub struct SpanIndex {
    first_page: u64,
    page_shift: u32,
    /// Per page: 1 + index into `entries`, or 0.
    pages: Vec<u32>,
    entries: Vec<Entry>,
    /// Allocated slots, 64 per word, span after span.
    bits: Vec<u64>,
    /// Allocated slots of the span before each word.
    ranks: Vec<u32>,
}

impl SpanIndex {
    /// `allocated(span)` gives a span's allocated slots in ascending order
    /// (the same ones its objects were made from); `ids[i]` are span i's
    /// object ids. None when the heap is too sparse to index.
    pub fn new<I>(
        spans: &[Span],
        ids: &[std::ops::Range<u32>],
        page_size: u64,
        allocated: impl Fn(&Span) -> I + Sync,
    ) -> Option<SpanIndex>
    where
        I: Iterator<Item = u64>,
    {
        if !page_size.is_power_of_two() {
            return None;
        }
        let page_shift = page_size.trailing_zeros();
        let used: Vec<usize> = (0..spans.len()).filter(|&i| !ids[i].is_empty()).collect();
        let first_page = used.first().map_or(0, |&i| spans[i].base >> page_shift);
        let last_page = used
            .iter()
            .map(|&i| (spans[i].end(page_size) - 1) >> page_shift)
            .max()?;
        if last_page - first_page >= MAX_PAGES {
            return None;
        }
        let mut pages = vec![0u32; (last_page - first_page + 1) as usize];
        let mut entries = Vec::with_capacity(used.len());
        let mut words = 0u64;
        for &i in &used {
            let s = &spans[i];
            if s.elemsize == 0 || s.nelems == 0 {
                return None;
            }
            entries.push(Entry {
                base: s.base,
                elemsize: s.elemsize,
                header: if s.has_header { 8 } else { 0 },
                nelems: s.nelems,
                first_id: ids[i].start,
                word: u32::try_from(words).ok()?,
            });
            words += s.nelems.div_ceil(64);
            let n = entries.len() as u32;
            let (p0, p1) = (s.base >> page_shift, (s.end(page_size) - 1) >> page_shift);
            for p in p0..=p1 {
                pages[(p - first_page) as usize] = n;
            }
        }
        let mut bits = vec![0u64; words as usize];
        let mut ranks = vec![0u32; words as usize];
        let mut shares = Vec::with_capacity(entries.len());
        let (mut rest_b, mut rest_r) = (&mut bits[..], &mut ranks[..]);
        for &i in &used {
            let n = spans[i].nelems.div_ceil(64) as usize;
            let (b, rb) = rest_b.split_at_mut(n);
            let (r, rr) = rest_r.split_at_mut(n);
            shares.push((i, b, r));
            (rest_b, rest_r) = (rb, rr);
        }
        shares.into_par_iter().for_each(|(i, b, r)| {
            for slot in allocated(&spans[i]) {
                if let Some(w) = b.get_mut((slot / 64) as usize) {
                    *w |= 1 << (slot % 64);
                }
            }
            let mut rank = 0u32;
            for (w, r) in b.iter().zip(r.iter_mut()) {
                *r = rank;
                rank += w.count_ones();
            }
        });
        Some(SpanIndex {
            first_page,
            page_shift,
            pages,
            entries,
            bits,
            ranks,
        })
    }

    /// The object holding `addr`: inside an allocated slot, past its header.
    #[inline]
    pub fn find(&self, addr: u64) -> Option<ObjectId> {
        self.find_with_start(addr).map(|(id, _)| id)
    }

    /// `find`, and whether `addr` is the object's first address.
    #[inline]
    pub fn find_with_start(&self, addr: u64) -> Option<(ObjectId, bool)> {
        let page = (addr >> self.page_shift).checked_sub(self.first_page)?;
        let e = match *self.pages.get(usize::try_from(page).ok()?)? {
            0 => return None,
            n => &self.entries[n as usize - 1],
        };
        let off = addr.checked_sub(e.base)?;
        let slot = off / e.elemsize;
        let within = off - slot * e.elemsize;
        if slot >= e.nelems || within < e.header {
            return None;
        }
        let w = e.word as usize + (slot / 64) as usize;
        let word = self.bits[w];
        let bit = 1u64 << (slot % 64);
        if word & bit == 0 {
            return None;
        }
        let rank = self.ranks[w] + (word & (bit - 1)).count_ones();
        Some((ObjectId(e.first_id + rank), within == e.header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectsBuilder;

    fn span(base: u64, npages: u64, elemsize: u64, nelems: u64, has_header: bool) -> Span {
        Span {
            base,
            npages,
            elemsize,
            nelems,
            freeindex: 0,
            alloc_bits: 0,
            spanclass: 0,
            specials: 0,
            large_type: 0,
            has_header,
        }
    }

    #[test]
    fn agrees_with_a_search_over_the_objects() {
        // Three spans (one with headers, one large), some slots free.
        let spans = vec![
            span(0x10000, 1, 48, 170, false),
            span(0x12000, 2, 1152, 14, true),
            span(0x20000, 3, 3 * 8192, 1, false),
        ];
        let allocated = |s: &Span| -> Vec<u64> {
            (0..s.nelems)
                .filter(|slot| slot % 3 != 1 || s.nelems == 1)
                .collect()
        };
        let mut b = ObjectsBuilder::default();
        let mut ids = Vec::new();
        let mut next = 0u32;
        for s in &spans {
            let slots = allocated(s);
            for &slot in &slots {
                let h = if s.has_header { 8 } else { 0 };
                b.push(s.base + slot * s.elemsize + h, s.elemsize - h);
            }
            ids.push(next..next + slots.len() as u32);
            next += slots.len() as u32;
        }
        let objects = b.finish();
        let index =
            SpanIndex::new(&spans, &ids, 8192, |s| allocated(s).into_iter()).expect("index");
        for addr in (0xfff0..0x26010).step_by(4) {
            let want = objects.find(addr);
            assert_eq!(index.find(addr), want, "{addr:#x}");
            assert_eq!(
                index.find_with_start(addr).map(|(_, s)| s),
                want.map(|o| objects.addr(o) == addr),
                "{addr:#x}"
            );
        }
    }
}
