//! Heap objects as dense ids over address-sorted arrays: 12 bytes each, so
//! tens of millions fit comfortably. Sizes of 4 GiB and more go to a side table.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub u32);

impl ObjectId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Default)]
pub struct Objects {
    /// Object addresses as Go sees them (after any allocation header), ascending.
    addrs: Vec<u64>,
    sizes: Vec<u32>,
    huge_sizes: HashMap<u32, u64>,
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
    pub fn find(&self, addr: u64) -> Option<ObjectId> {
        let i = self.addrs.partition_point(|&a| a <= addr).checked_sub(1)?;
        let id = ObjectId(i as u32);
        (addr < self.addrs[i] + self.size(id).max(1)).then_some(id)
    }

    pub fn total_bytes(&self) -> u64 {
        self.ids().map(|id| self.size(id)).sum()
    }
}

/// Collects objects in any order; `finish` sorts them into ids.
#[derive(Default)]
pub struct ObjectsBuilder {
    items: Vec<(u64, u64)>,
}

impl ObjectsBuilder {
    pub fn with_capacity(n: usize) -> Self {
        ObjectsBuilder {
            items: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, addr: u64, size: u64) {
        self.items.push((addr, size));
    }

    pub fn finish(mut self) -> Objects {
        self.items.sort_unstable_by_key(|&(a, _)| a);
        self.items.dedup_by_key(|&mut (a, _)| a);
        let mut objects = Objects {
            addrs: Vec::with_capacity(self.items.len()),
            sizes: Vec::with_capacity(self.items.len()),
            huge_sizes: HashMap::new(),
        };
        for (i, (addr, size)) in self.items.into_iter().enumerate() {
            objects.addrs.push(addr);
            match u32::try_from(size) {
                Ok(s) if s != u32::MAX => objects.sizes.push(s),
                _ => {
                    objects.sizes.push(u32::MAX);
                    objects.huge_sizes.insert(i as u32, size);
                }
            }
        }
        objects
    }
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
    }
}
