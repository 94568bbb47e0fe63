//! Pointer edges in compressed sparse rows: for object i, its outgoing
//! edges are `targets[starts[i]..starts[i+1]]`, each with the byte offset in
//! the source object where the pointer sits (from which a field name derives).

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

    /// Like `push_rows`, with whether each edge points at its target's
    /// start. Use it for every block or none.
    pub fn push_rows_with_starts(
        &mut self,
        counts: &[u32],
        targets: &[ObjectId],
        offsets: &[u32],
        at_start: &[bool],
    ) {
        let first = self.edges.targets.len();
        self.push_rows(counts, targets, offsets);
        if self.end > MAX_EDGES {
            return;
        }
        let bits = &mut self.edges.at_start;
        bits.resize(self.edges.targets.len().div_ceil(64), 0);
        for (k, &s) in at_start.iter().enumerate() {
            if s {
                let i = first + k;
                bits[i / 64] |= 1 << (i % 64);
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
        b.push_rows_with_starts(&[60], &targets[..60], &[0; 60], &starts[..60]);
        b.push_rows_with_starts(&[10], &targets[60..], &[0; 10], &starts[60..]);
        let e = b.finish().expect("edges");
        for i in 0..70 {
            assert_eq!(e.points_at_start(i), Some(i % 3 == 0), "{i}");
        }
    }

    /// Row counts stand in for rows too large to build here.
    #[test]
    fn more_edges_than_starts_can_index_fail() {
        let mut b = EdgesBuilder::with_capacity(2, 0);
        b.push_rows(&[u32::MAX], &[], &[]);
        assert!(b.end <= MAX_EDGES);
        b.push_row([(ObjectId(0), 0)]);
        b.push_rows_with_starts(&[1], &[ObjectId(0)], &[0], &[true]);
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
