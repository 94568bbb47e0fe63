//! Pointer edges in compressed sparse rows: for object i, its outgoing
//! edges are `targets[starts[i]..starts[i+1]]`, each with the byte offset in
//! the source object where the pointer sits (from which a field name derives).

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::ObjectId;
use crate::error::{Error, Result};

/// Row starts are 32-bit (objects ids are too): a heap may hold this many
/// pointers at most, and the builder refuses more.
const MAX_EDGES: u64 = u32::MAX as u64;

#[derive(Default)]
pub struct Edges {
    starts: Vec<u32>,
    targets: Vec<ObjectId>,
    offsets: Vec<u32>,
    /// One bit per edge, when the reader knew: whether the pointer holds
    /// its target's first address (rather than an interior one).
    at_start: Vec<u64>,
}

impl Edges {
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    fn range(&self, from: ObjectId) -> std::ops::Range<usize> {
        let i = from.index();
        match (self.starts.get(i), self.starts.get(i + 1)) {
            (Some(&s), Some(&e)) if s <= e && e as usize <= self.targets.len() => {
                s as usize..e as usize
            }
            _ => 0..0,
        }
    }

    /// Outgoing edges of `from`: (target, byte offset of the pointer in `from`).
    pub fn out(&self, from: ObjectId) -> impl Iterator<Item = (ObjectId, u32)> + '_ {
        let r = self.range(from);
        self.targets[r.clone()]
            .iter()
            .copied()
            .zip(self.offsets[r].iter().copied())
    }

    /// Where `from`'s edges sit in `all_targets()` (for walks that keep a
    /// position per object instead of re-slicing).
    pub fn row(&self, from: ObjectId) -> std::ops::Range<usize> {
        self.range(from)
    }

    /// Whether edge `i` (an index into `all_targets()`) points at its
    /// target's first address; None when the reader did not record it.
    #[inline]
    pub fn points_at_start(&self, i: usize) -> Option<bool> {
        self.at_start.get(i / 64).map(|w| w & (1 << (i % 64)) != 0)
    }

    /// Every edge's target, row after row.
    pub fn all_targets(&self) -> &[ObjectId] {
        &self.targets
    }

    pub fn targets(&self, from: ObjectId) -> &[ObjectId] {
        &self.targets[self.range(from)]
    }

    /// Byte offsets of `from`'s pointers, parallel to `targets(from)`.
    pub fn offsets(&self, from: ObjectId) -> &[u32] {
        &self.offsets[self.range(from)]
    }
}

/// The arrays of `Edges` as a persistent index stores them.
pub struct StoredEdges {
    pub starts: Vec<u32>,
    pub targets: Vec<u32>,
    pub offsets: Vec<u32>,
    pub at_start: Vec<u64>,
}

impl Edges {
    /// Row starts, targets (as u32), offsets and start bits, for writing an index.
    pub fn stored(&self) -> (&[u32], &[ObjectId], &[u32], &[u64]) {
        (&self.starts, &self.targets, &self.offsets, &self.at_start)
    }

    /// Edges from stored arrays for `objects` objects, after checking that
    /// every row and target is in range.
    pub fn from_stored(s: StoredEdges, objects: usize) -> std::result::Result<Edges, String> {
        let e = s.targets.len();
        if s.starts.len() != objects + 1 || s.offsets.len() != e {
            return Err("edge arrays of the wrong lengths".into());
        }
        if s.starts.first() != Some(&0) || s.starts.last().map(|&l| l as usize) != Some(e) {
            return Err("edge rows do not cover the edges".into());
        }
        if !s.starts.par_windows(2).all(|w| w[0] <= w[1]) {
            return Err("edge rows out of order".into());
        }
        if s.targets.par_iter().any(|&t| t as usize >= objects) {
            return Err("edge to no object".into());
        }
        if !s.at_start.is_empty() && s.at_start.len() != e.div_ceil(64) {
            return Err("edge start bits of the wrong length".into());
        }
        Ok(Edges {
            starts: s.starts,
            targets: s.targets.into_iter().map(ObjectId).collect(),
            offsets: s.offsets,
            at_start: s.at_start,
        })
    }
}

/// Appends rows in object order. Past `MAX_EDGES` edges it stores no more
/// but keeps counting, and `finish` fails.
pub struct EdgesBuilder {
    edges: Edges,
    /// The last row's end, in 64 bits.
    end: u64,
}

impl EdgesBuilder {
    pub fn with_capacity(objects: usize, edges: usize) -> Self {
        let mut starts = Vec::with_capacity(objects + 1);
        starts.push(0);
        EdgesBuilder {
            edges: Edges {
                starts,
                targets: Vec::with_capacity(edges),
                offsets: Vec::with_capacity(edges),
                at_start: Vec::new(),
            },
            end: 0,
        }
    }

    /// Adds the next object's edges.
    pub fn push_row(&mut self, row: impl IntoIterator<Item = (ObjectId, u32)>) {
        let row = row.into_iter();
        if self.end > MAX_EDGES {
            self.end += row.count() as u64;
            return;
        }
        let before = self.edges.targets.len();
        for (t, o) in row {
            self.edges.targets.push(t);
            self.edges.offsets.push(o);
        }
        self.end += (self.edges.targets.len() - before) as u64;
        if let Ok(end) = u32::try_from(self.end) {
            self.edges.starts.push(end);
        }
    }

    /// Appends a block of rows given as per-object counts and flat edges.
    pub fn push_rows(&mut self, counts: &[u32], targets: &[ObjectId], offsets: &[u32]) {
        let start = self.end;
        self.end += counts.iter().map(|&c| u64::from(c)).sum::<u64>();
        // Within the limit, so is every row's end.
        let Ok(mut end) = u32::try_from(start) else {
            return;
        };
        if self.end > MAX_EDGES {
            return;
        }
        self.edges.targets.extend_from_slice(targets);
        self.edges.offsets.extend_from_slice(offsets);
        for &c in counts {
            end += c;
            self.edges.starts.push(end);
        }
    }

    /// Appends blocks of rows of consecutive objects, with whether each edge
    /// points at its target's start (use it for every row or none), the
    /// blocks copied into place in parallel.
    pub fn push_blocks(&mut self, blocks: &[RowBlock<'_>]) {
        let edges: usize = blocks.iter().map(|b| b.targets.len()).sum();
        let rows: usize = blocks.iter().map(|b| b.counts.len()).sum();
        let start = self.end;
        self.end += edges as u64;
        if self.end > MAX_EDGES {
            return;
        }
        let first = self.edges.targets.len();
        let e = &mut self.edges;
        e.targets.reserve(edges);
        e.offsets.reserve(edges);
        e.starts.reserve(rows);
        // Each block's share of the spare room, in block order.
        let mut shares = Vec::with_capacity(blocks.len());
        let mut rest_t = &mut e.targets.spare_capacity_mut()[..edges];
        let mut rest_o = &mut e.offsets.spare_capacity_mut()[..edges];
        let mut rest_s = &mut e.starts.spare_capacity_mut()[..rows];
        let mut end = start as u32;
        for b in blocks {
            let (t, rt) = std::mem::take(&mut rest_t).split_at_mut(b.targets.len());
            let (o, ro) = std::mem::take(&mut rest_o).split_at_mut(b.targets.len());
            let (s, rs) = std::mem::take(&mut rest_s).split_at_mut(b.counts.len());
            shares.push((b, t, o, s, end));
            (rest_t, rest_o, rest_s) = (rt, ro, rs);
            end += b.targets.len() as u32;
        }
        shares.into_par_iter().for_each(|(b, t, o, s, mut end)| {
            copy_into(t, b.targets);
            copy_into(o, b.offsets);
            for (slot, &c) in s.iter_mut().zip(b.counts) {
                end += c;
                slot.write(end);
            }
        });
        // SAFETY: every slot up to these lengths was written above (the
        // shares cover exactly `edges` and `rows` slots).
        unsafe {
            e.targets.set_len(first + edges);
            e.offsets.set_len(first + edges);
            e.starts.set_len(e.starts.len() + rows);
        }
        e.at_start.resize((first + edges).div_ceil(64), 0);
        let mut i = first;
        for b in blocks {
            for &s in b.at_start {
                if s {
                    e.at_start[i / 64] |= 1 << (i % 64);
                }
                i += 1;
            }
        }
    }

    /// The edges, or an error when there are more than row starts can
    /// index.
    pub fn finish(self) -> Result<Edges> {
        if self.end > MAX_EDGES {
            return Err(Error::HeapTooLarge { pointers: self.end });
        }
        Ok(self.edges)
    }
}

/// Rows of consecutive objects: per-object edge counts and flat edges.
pub struct RowBlock<'a> {
    pub counts: &'a [u32],
    pub targets: &'a [ObjectId],
    pub offsets: &'a [u32],
    /// Whether each edge points at its target's start.
    pub at_start: &'a [bool],
}

fn copy_into<T: Copy>(to: &mut [MaybeUninit<T>], from: &[T]) {
    for (slot, &x) in to.iter_mut().zip(from) {
        slot.write(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_order() {
        let mut b = EdgesBuilder::with_capacity(3, 3);
        b.push_row([(ObjectId(2), 0), (ObjectId(1), 8)]);
        b.push_rows(&[0, 1], &[ObjectId(0)], &[16]);
        let e = b.finish().expect("edges");
        assert_eq!(e.len(), 3);
        assert_eq!(
            e.out(ObjectId(0)).collect::<Vec<_>>(),
            vec![(ObjectId(2), 0), (ObjectId(1), 8)]
        );
        assert_eq!(e.targets(ObjectId(1)), &[] as &[ObjectId]);
        assert_eq!(
            e.out(ObjectId(2)).collect::<Vec<_>>(),
            vec![(ObjectId(0), 16)]
        );
        assert_eq!(e.targets(ObjectId(3)), &[] as &[ObjectId]);
        assert_eq!(e.points_at_start(0), None);
    }

    #[test]
    fn start_bits_follow_the_edges() {
        let mut b = EdgesBuilder::with_capacity(2, 70);
        let targets: Vec<ObjectId> = (0..70).map(ObjectId).collect();
        let starts: Vec<bool> = (0..70).map(|i| i % 3 == 0).collect();
        let block = |r: std::ops::Range<usize>, count: &'static [u32]| RowBlock {
            counts: count,
            targets: &targets[r.clone()],
            offsets: &[0; 60][..r.len()],
            at_start: &starts[r],
        };
        b.push_blocks(&[block(0..60, &[60])]);
        b.push_blocks(&[block(60..70, &[10])]);
        let e = b.finish().expect("edges");
        for i in 0..70 {
            assert_eq!(e.points_at_start(i), Some(i % 3 == 0), "{i}");
        }
    }

    #[test]
    fn blocks_copied_in_parallel_equal_rows_pushed_one_by_one() {
        // Blocks of 0–40 objects with 0–3 edges each, some empty.
        let mut blocks = Vec::new();
        for b in 0..50u32 {
            let counts: Vec<u32> = (0..(b * 7) % 41).map(|i| (i * b + 1) % 4).collect();
            let n: u32 = counts.iter().sum();
            let targets: Vec<ObjectId> = (0..n).map(|i| ObjectId(i * 31 + b)).collect();
            let offsets: Vec<u32> = (0..n).map(|i| 8 * i).collect();
            let at_start: Vec<bool> = (0..n).map(|i| (i + b) % 3 == 0).collect();
            blocks.push((counts, targets, offsets, at_start));
        }
        let total_rows: usize = blocks.iter().map(|b| b.0.len()).sum();
        let mut one = EdgesBuilder::with_capacity(total_rows, 0);
        let mut all = EdgesBuilder::with_capacity(0, 0);
        one.push_row([(ObjectId(9), 0)]);
        all.push_row([(ObjectId(9), 0)]);
        // The first edge (pushed alone) records no start: false.
        let mut want_starts = vec![false];
        for (c, t, o, a) in &blocks {
            let mut k = 0;
            for &n in c {
                let n = n as usize;
                one.push_row(t[k..k + n].iter().copied().zip(o[k..k + n].iter().copied()));
                k += n;
            }
            want_starts.extend_from_slice(a);
        }
        let rows: Vec<RowBlock<'_>> = blocks
            .iter()
            .map(|(c, t, o, a)| RowBlock {
                counts: c,
                targets: t,
                offsets: o,
                at_start: a,
            })
            .collect();
        let (first, second) = rows.split_at(20);
        all.push_blocks(first);
        all.push_blocks(second);
        let (one, all) = (one.finish().expect("edges"), all.finish().expect("edges"));
        assert!(all.len() > 500, "{} edges", all.len());
        assert_eq!(one.starts, all.starts);
        assert_eq!(one.targets, all.targets);
        assert_eq!(one.offsets, all.offsets);
        for (i, &want) in want_starts.iter().enumerate() {
            assert_eq!(all.points_at_start(i), Some(want), "{i}");
        }
    }

    /// Row counts stand in for rows too large to build here.
    #[test]
    fn more_edges_than_starts_can_index_fail() {
        let mut b = EdgesBuilder::with_capacity(2, 0);
        b.push_rows(&[u32::MAX], &[], &[]);
        assert!(b.end <= MAX_EDGES);
        b.push_row([(ObjectId(0), 0)]);
        b.push_blocks(&[RowBlock {
            counts: &[1],
            targets: &[ObjectId(0)],
            offsets: &[0],
            at_start: &[true],
        }]);
        match b.finish() {
            Err(Error::HeapTooLarge { pointers }) => assert_eq!(pointers, MAX_EDGES + 2),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted {} edges", MAX_EDGES + 2),
        }
        let mut b = EdgesBuilder::with_capacity(2, 0);
        b.push_rows(&[u32::MAX, 1], &[], &[]);
        let e = b.finish().err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("heap too large: 4294967296 pointers, more than 4,294,967,295")
        );
    }
}
