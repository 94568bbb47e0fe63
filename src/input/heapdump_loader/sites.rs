//! Allocation sites from a heap dump's memory profile records: the buckets
//! with their stacks, and the bucket of each sampled object.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::input::heapdump::text;
use crate::model::{AllocBucket, ObjectId, Objects, Sites, SourceFrame};

use super::scan::RootRecords;

/// Buckets of the memory profile and the bucket of each sampled object.
pub(super) fn build_sites(rr: &RootRecords<'_>, objects: &Objects) -> Sites {
    let mut index: HashMap<u64, u32> = HashMap::with_capacity(rr.buckets.len());
    let mut buckets = Vec::with_capacity(rr.buckets.len());
    for b in &rr.buckets {
        index.entry(b.addr).or_insert_with(|| {
            buckets.push(AllocBucket {
                id: b.addr,
                size: b.size,
                stack: b
                    .frames
                    .iter()
                    .map(|f| {
                        let file = text(f.file);
                        SourceFrame {
                            function: text(f.func).into_owned(),
                            file: (file != "?" && !file.is_empty()).then(|| file.into_owned()),
                            line: u32::try_from(f.line).ok().filter(|&l| l > 0),
                        }
                    })
                    .collect(),
                pcs: Vec::new(),
                allocs: b.allocs,
                frees: b.frees,
            });
            (buckets.len() - 1) as u32
        });
    }
    // A sample's object is what mallocgc returned: after any allocation
    // header, or inside a tiny block.
    let mut object_bucket: Vec<(ObjectId, u32)> = rr
        .samples
        .iter()
        .filter_map(|&(obj, bucket)| Some((objects.find(obj)?, *index.get(&bucket)?)))
        .collect();
    object_bucket.par_sort_unstable();
    Sites {
        buckets,
        object_bucket,
        rate: None,
        inlined_frames: false,
        last_gc: None,
    }
}
