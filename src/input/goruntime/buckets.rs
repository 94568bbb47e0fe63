//! The memory profile as the runtime keeps it: buckets (one allocation stack
//! and size each, with counts published at the end of each GC cycle) chained
//! from `runtime.mbuckets`, and the profile specials that tie each sampled
//! object to its bucket.

use std::collections::HashMap;

use crate::input::elf::AddressSpace;
use crate::input::goruntime::layout::{FieldLoc, Layouts};
use crate::input::goruntime::pclntab::FuncTable;
use crate::model::{AllocBucket, GcStamp, Memory, ObjectId, Sites, SourceFrame};

/// Longest stack we believe: the runtime's own limit (`debug.profstackdepth`)
/// is 1024 at most.
const MAX_STACK: u64 = 1024;
/// More buckets than this means we are walking garbage.
const MAX_BUCKETS: usize = 10_000_000;

struct BucketLayout {
    allnext: FieldLoc,
    size: FieldLoc,
    nstk: FieldLoc,
    header: u64,
    allocs: FieldLoc,
    frees: FieldLoc,
}

impl BucketLayout {
    fn new(layouts: &Layouts<'_>) -> Option<Self> {
        Some(BucketLayout {
            allnext: layouts.field("runtime.bucket", "allnext")?,
            size: layouts.field("runtime.bucket", "size")?,
            nstk: layouts.field("runtime.bucket", "nstk")?,
            header: layouts.size("runtime.bucket")?,
            allocs: layouts.field("runtime.memRecord", "active.allocs")?,
            frees: layouts.field("runtime.memRecord", "active.frees")?,
        })
    }
}

/// Reads every memory-profile bucket and the bucket of each sampled object.
/// `profiled` holds (object, bucket address) pairs from the profile specials.
pub fn read_sites(
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    funcs: &FuncTable<'_, '_>,
    profiled: &[(ObjectId, u64)],
    warnings: &mut Vec<String>,
) -> Sites {
    let rate = layouts
        .index
        .global("runtime.MemProfileRate")
        .and_then(|g| space.read_u64(g.addr));
    let Some(layout) = BucketLayout::new(layouts) else {
        if !profiled.is_empty() {
            warnings.push(
                "the runtime's profile bucket layout is not in DWARF: allocation sites are unknown"
                    .into(),
            );
        }
        return Sites {
            rate,
            last_gc: last_gc(space, layouts),
            ..Sites::default()
        };
    };
    let mut reader = BucketReader {
        space,
        funcs,
        layout,
        frames: HashMap::new(),
        index: HashMap::new(),
        buckets: Vec::new(),
        unreadable: 0,
    };
    // Every memory bucket, including those whose objects are all freed.
    let head = layouts
        .index
        .global("runtime.mbuckets")
        .and_then(|g| space.read_u64(g.addr))
        .unwrap_or(0);
    let mut b = head;
    while b != 0 && reader.buckets.len() < MAX_BUCKETS {
        if reader.index.contains_key(&b) {
            break; // a cycle: corrupt chain
        }
        if reader.bucket(b).is_none() {
            break;
        }
        b = space
            .read_u64(b + reader.layout.allnext.offset)
            .unwrap_or(0);
    }
    let mut object_bucket: Vec<(ObjectId, u32)> = profiled
        .iter()
        .filter_map(|&(obj, bucket)| Some((obj, reader.bucket(bucket)?)))
        .collect();
    object_bucket.sort_unstable();
    if reader.unreadable > 0 {
        warnings.push(format!(
            "{} memory profile buckets could not be read from the core: some allocation sites are missing",
            reader.unreadable
        ));
    }
    Sites {
        buckets: reader.buckets,
        object_bucket,
        rate,
        inlined_frames: true,
        last_gc: last_gc(space, layouts),
    }
}

/// The GC cycle that published the buckets' counts (`runtime.memstats`).
fn last_gc(space: &AddressSpace<'_>, layouts: &Layouts<'_>) -> Option<GcStamp> {
    let memstats = layouts.index.global("runtime.memstats")?.addr;
    let num = layouts.field("runtime.mstats", "numgc")?;
    let unix = layouts.field("runtime.mstats", "last_gc_unix")?;
    Some(GcStamp {
        num_gc: space.read_uint(memstats + num.offset, num.size)?,
        unix_nanos: space.read_uint(memstats + unix.offset, unix.size)?,
    })
}

struct BucketReader<'r, 'a, 's> {
    space: &'r AddressSpace<'a>,
    funcs: &'r FuncTable<'a, 's>,
    layout: BucketLayout,
    /// Symbolized pcs: stacks share most of their frames.
    frames: HashMap<u64, SourceFrame>,
    /// Bucket address → index, or None for one that could not be read.
    index: HashMap<u64, Option<u32>>,
    buckets: Vec<AllocBucket>,
    unreadable: usize,
}

impl BucketReader<'_, '_, '_> {
    /// Index of the bucket at `addr`, reading it the first time.
    fn bucket(&mut self, addr: u64) -> Option<u32> {
        if let Some(&i) = self.index.get(&addr) {
            return i;
        }
        let i = match self.read(addr) {
            Some(bucket) => {
                self.buckets.push(bucket);
                Some(self.buckets.len() as u32 - 1)
            }
            None => {
                self.unreadable += 1;
                None
            }
        };
        self.index.insert(addr, i);
        i
    }

    fn read(&mut self, addr: u64) -> Option<AllocBucket> {
        let l = &self.layout;
        let space = self.space;
        let size = space.read_uint(addr + l.size.offset, l.size.size)?;
        let nstk = space.read_uint(addr + l.nstk.offset, l.nstk.size)?;
        if nstk > MAX_STACK {
            return None;
        }
        let stk = addr + l.header;
        let pcs: Vec<u64> = space
            .read(stk, (nstk * 8) as usize)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        let record = stk + nstk * 8;
        let allocs = space.read_uint(record + l.allocs.offset, l.allocs.size)?;
        let frees = space.read_uint(record + l.frees.offset, l.frees.size)?;
        let stack = pcs
            .iter()
            .map(|&pc| {
                self.frames
                    .entry(pc)
                    .or_insert_with(|| {
                        self.funcs.logical_frame(pc).unwrap_or_else(|| SourceFrame {
                            function: format!("{pc:#x}"),
                            file: None,
                            line: None,
                        })
                    })
                    .clone()
            })
            .collect();
        Some(AllocBucket {
            id: addr,
            size,
            stack,
            pcs,
            allocs,
            frees,
        })
    }
}
