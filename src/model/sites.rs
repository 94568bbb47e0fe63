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
    /// The allocation stack, innermost first, one frame per logical call
    /// (see `Sites::inlined_frames`).
    pub stack: Vec<SourceFrame>,
    /// The return pcs the runtime recorded, when the input has them (cores).
    pub pcs: Vec<u64>,
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
    /// `runtime.MemProfileRate` as the process had it, when readable: on
    /// average one sample per this many allocated bytes (1 = every object).
    pub rate: Option<u64>,
    /// Whether inlined calls have frames of their own named after the inlined
    /// function (cores); heap dumps name every frame after its physical function.
    pub inlined_frames: bool,
    /// The GC cycle whose end published the buckets' counts.
    pub last_gc: Option<GcStamp>,
}

/// A completed GC cycle: profiles publish their counts when one ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GcStamp {
    /// Completed cycles (`MemStats.NumGC`).
    pub num_gc: u64,
    /// Wall-clock end of the last cycle, ns since 1970 (`MemStats.LastGC`).
    pub unix_nanos: u64,
}

/// A heap profile from outside the dump (pprof's view of the same buckets),
/// reduced to what joining needs.
#[derive(Debug, Clone, Default)]
pub struct AllocProfile {
    /// What it was read from, for messages ("heap.out (profile.proto)").
    pub source: String,
    /// Sampling period in bytes (MemProfileRate); 0 when the profile does not say.
    pub period: u64,
    /// Whether counts are pprof's estimates (scaled for sampling) rather than
    /// raw sample counts.
    pub scaled: bool,
    /// When it was written (profile.proto), ns since 1970.
    pub time_nanos: Option<u64>,
    /// The GC cycle it describes, when the profile says (legacy text).
    pub last_gc: Option<GcStamp>,
    pub samples: Vec<ProfiledStack>,
}

/// One sample: an allocation stack and size with its in-use figures.
#[derive(Debug, Clone, Default)]
pub struct ProfiledStack {
    /// Logical frames, innermost first (inlined calls expanded).
    pub frames: Vec<SourceFrame>,
    /// Code address of each frame's call (return pc − 1; 0 when unknown),
    /// parallel to `frames`.
    pub frame_addresses: Vec<u64>,
    /// Size of each object (the sample's "bytes" label).
    pub object_size: Option<u64>,
    pub inuse_objects: i64,
    pub inuse_bytes: i64,
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

/// pprof's estimate of the true count and bytes of a heap sample of `count`
/// objects totalling `size` bytes, sampled on average every `rate` bytes:
/// each is divided by `1 - exp(-avg/rate)`, the probability that an object
/// of the average size is sampled. `runtime/pprof.scaleHeapSample` computes
/// the same (Go 1.27 passes it the object size instead of the total).
pub fn scale_heap_sample(count: i64, size: i64, rate: i64) -> (i64, i64) {
    if count == 0 || size == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        // Every allocation was sampled (1), or the rate is unknown (< 1).
        return (count, size);
    }
    let scale = sample_weight(size as f64 / count as f64, rate as u64);
    // `as` saturates, as Go's conversion does for these magnitudes.
    ((count as f64 * scale) as i64, (size as f64 * scale) as i64)
}

/// How many allocations of `size` bytes one sample stands for when about one
/// per `rate` bytes is sampled: the inverse of its chance to be sampled,
/// `1 - exp(-size/rate)`.
pub fn sample_weight(size: f64, rate: u64) -> f64 {
    1.0 / (1.0 - (-size / rate as f64).exp())
}
