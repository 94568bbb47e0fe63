//! Allocation sites: the heap profile's buckets (an allocation stack and its
//! counts) and which object each sampled allocation became.

use serde::Serialize;

use super::{ObjectId, SourceFrame};

/// One bucket of the memory profile: objects of one size allocated from one stack.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AllocBucket {
    /// The bucket's address in the process: what allocation samples refer to.
    pub id: u64,
    /// Allocation size of every object in the bucket (the size class).
    pub size: u64,
    /// The allocation stack, innermost first.
    pub stack: Vec<SourceFrame>,
    /// Allocations and frees as of the last completed GC cycle.
    pub allocs: u64,
    pub frees: u64,
}

/// Buckets, and the bucket of each sampled object.
#[derive(Debug, Clone, Default)]
pub struct Sites {
    pub buckets: Vec<AllocBucket>,
    /// (object, index into `buckets`), sorted by object id. An object may
    /// appear more than once (a tiny block holding several sampled allocations).
    pub object_bucket: Vec<(ObjectId, u32)>,
}

impl Sites {
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The buckets of the samples that became `obj`.
    pub fn buckets_of(&self, obj: ObjectId) -> impl Iterator<Item = &AllocBucket> {
        let start = self.object_bucket.partition_point(|&(o, _)| o < obj);
        self.object_bucket[start..]
            .iter()
            .take_while(move |&&(o, _)| o == obj)
            .filter_map(|&(_, b)| self.buckets.get(b as usize))
    }
}
