//! Roots the runtime keeps outside stacks and globals, as `markroot` scans them:
//! - span specials: a finalizer's closure and the referents of the object it
//!   is set on (not the object itself), a cleanup's function and argument
//!   (Go ≥1.24), a weak handle's own cell (never the weakly held object);
//! - queued finalizers (`runtime.allfin` blocks) and queued cleanups
//!   (`runtime.gcCleanups.all` blocks, Go ≥1.25).

use crate::error::Result;
use crate::input::dwarf::DwarfIndex;
use crate::input::elf::AddressSpace;
use crate::input::goruntime::layout::{FieldLoc, Layouts};
use crate::input::goruntime::spans::Span;
use crate::model::Memory;
use crate::model::{Edges, ObjectId, Objects, Root, RootKind};

const PTR: u64 = 8;
const MAX_CHAIN: usize = 1 << 22;

/// Resolves the pointer words at `offsets` inside the block at `base`.
fn targets_at(
    space: &AddressSpace<'_>,
    objects: &Objects,
    base: u64,
    offsets: &[u64],
) -> Vec<(ObjectId, u64)> {
    offsets
        .iter()
        .filter_map(|&off| Some((objects.find(space.read_u64(base + off)?)?, off)))
        .collect()
}

/// Pointer offsets of a runtime struct's field, relative to the struct.
fn field_pointers(index: &DwarfIndex, type_name: &str, field: &str) -> Option<Vec<u64>> {
    let ty = index.underlying(index.type_named(type_name)?);
    let f = index.ty(ty).fields.iter().find(|f| f.name == field)?;
    Some(
        index
            .pointer_offsets(f.ty?)
            .into_iter()
            .map(|o| o + f.offset)
            .collect(),
    )
}

pub struct SpecialRoots<'l> {
    layouts: &'l Layouts<'l>,
    next: FieldLoc,
    offset: FieldLoc,
    kind: FieldLoc,
    finalizer_kind: Option<u64>,
    cleanup_kind: Option<u64>,
    weak_kind: Option<u64>,
    profile_kind: Option<u64>,
    profile_bucket: Option<FieldLoc>,
}

impl<'l> SpecialRoots<'l> {
    pub fn new(layouts: &'l Layouts<'l>) -> Result<Self> {
        Ok(SpecialRoots {
            layouts,
            next: layouts.require_field("runtime.special", "next")?,
            offset: layouts.require_field("runtime.special", "offset")?,
            kind: layouts.require_field("runtime.special", "kind")?,
            finalizer_kind: Some(layouts.require_constant("runtime._KindSpecialFinalizer")? as u64),
            cleanup_kind: layouts
                .constant("runtime._KindSpecialCleanup")
                .map(|v| v as u64),
            weak_kind: layouts
                .constant("runtime._KindSpecialWeakHandle")
                .map(|v| v as u64),
            profile_kind: layouts
                .constant("runtime._KindSpecialProfile")
                .map(|v| v as u64),
            profile_bucket: layouts.field("runtime.specialprofile", "b"),
        })
    }

    /// Roots from the specials of every span; sampled objects and their
    /// profile bucket addresses go to `profiled`.
    #[allow(clippy::too_many_arguments)]
    pub fn collect(
        &self,
        space: &AddressSpace<'_>,
        spans: &[Span],
        objects: &Objects,
        edges: &Edges,
        warnings: &mut Vec<String>,
        typed: &mut Vec<(u64, u64)>,
        profiled: &mut Vec<(ObjectId, u64)>,
    ) -> Vec<Root> {
        let index = self.layouts.index;
        let fin_fn = self.layouts.field("runtime.specialfinalizer", "fn");
        let fin_ot = self.layouts.field("runtime.specialfinalizer", "ot");
        let cleanup_ptrs = field_pointers(index, "runtime.specialCleanup", "cleanup")
            .or_else(|| field_pointers(index, "runtime.specialCleanup", "fn"))
            .unwrap_or_default();
        let weak_handle = self.layouts.field("runtime.specialWeakHandle", "handle");
        let mut roots = Vec::new();
        let mut broken = 0;
        for span in spans.iter().filter(|s| s.specials != 0) {
            let mut sp = span.specials;
            for _ in 0..MAX_CHAIN {
                if sp == 0 {
                    break;
                }
                let rd = |loc: FieldLoc| space.read_uint(sp + loc.offset, loc.size);
                let (Some(next), Some(offset), Some(kind)) =
                    (rd(self.next), rd(self.offset), rd(self.kind))
                else {
                    broken += 1;
                    break;
                };
                // The object the special is attached to (its slot, as gcScanFinalizer computes).
                let slot = span.base + offset / span.elemsize * span.elemsize;
                let object = objects
                    .find(span.base + offset)
                    .or_else(|| objects.find(slot));
                let object_addr = object.map_or(span.base + offset, |o| objects.addr(o));
                if Some(kind) == self.finalizer_kind {
                    let mut targets: Vec<(ObjectId, u64)> = Vec::new();
                    if let Some(obj) = object {
                        // The object's referents are roots; the object itself is not.
                        targets.extend(edges.out(obj).map(|(t, off)| (t, u64::from(off))));
                    }
                    if let Some(loc) = fin_fn {
                        targets.extend(targets_at(space, objects, sp, &[loc.offset]));
                    }
                    // SetFinalizer recorded the object's pointer type.
                    if let Some(ot) = fin_ot.and_then(|l| space.read_u64(sp + l.offset)) {
                        typed.push((object_addr, ot));
                    }
                    roots.push(Root::new(
                        RootKind::Finalizer,
                        format!("finalizer of {object_addr:#x}"),
                        Some(object_addr),
                        targets,
                    ));
                } else if Some(kind) == self.cleanup_kind {
                    let targets = targets_at(space, objects, sp, &cleanup_ptrs);
                    roots.push(Root::new(
                        RootKind::Cleanup,
                        format!("cleanup of {object_addr:#x}"),
                        Some(object_addr),
                        targets,
                    ));
                } else if Some(kind) == self.profile_kind {
                    // mProf_Malloc attaches it at the pointer mallocgc returned.
                    if let (Some(obj), Some(loc)) = (object, self.profile_bucket)
                        && let Some(bucket) = space.read_u64(sp + loc.offset)
                    {
                        profiled.push((obj, bucket));
                    }
                } else if Some(kind) == self.weak_kind {
                    if let Some(loc) = weak_handle {
                        let targets = targets_at(space, objects, sp, &[loc.offset]);
                        roots.push(Root::new(
                            RootKind::Other,
                            format!("weak handle of {object_addr:#x}"),
                            Some(object_addr),
                            targets,
                        ));
                    }
                }
                sp = next;
            }
        }
        if broken > 0 {
            warnings.push(format!("{broken} span special lists could not be read: finalizer and cleanup roots may be missing"));
        }
        roots
    }
}

/// Finalizers waiting to run (`runtime.allfin` blocks) and, on Go ≥1.25,
/// cleanups waiting to run (`runtime.gcCleanups.all` blocks).
pub fn queued_roots(
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    objects: &Objects,
    warnings: &mut Vec<String>,
    typed: &mut Vec<(u64, u64)>,
) -> Vec<Root> {
    let index = layouts.index;
    let ot_field = layouts.field("runtime.finalizer", "ot");
    let mut roots = Vec::new();
    let block_type = ["runtime.finBlock", "runtime.finblock"]
        .into_iter()
        .find(|t| index.type_named(t).is_some());
    if let (Some(bt), Some(allfin)) = (block_type, index.global("runtime.allfin")) {
        let f = |name| layouts.field(bt, name);
        let fin_size = layouts.size("runtime.finalizer").unwrap_or(40);
        let ptrs: Vec<u64> = ["fn", "arg"]
            .into_iter()
            .filter_map(|n| layouts.field("runtime.finalizer", n).map(|l| l.offset))
            .collect();
        if let (Some(alllink), Some(cnt), Some(fin)) = (f("alllink"), f("cnt"), f("fin")) {
            let mut block = space.read_u64(allfin.addr).unwrap_or(0);
            let mut n = 0;
            while block != 0 && n < MAX_CHAIN {
                let count = space.read_uint(block + cnt.offset, 4).unwrap_or(0);
                for i in 0..count.min(fin.size / fin_size.max(1)) {
                    let entry = block + fin.offset + i * fin_size;
                    let targets = targets_at(space, objects, entry, &ptrs);
                    let arg = space
                        .read_u64(entry + ptrs.get(1).copied().unwrap_or(PTR))
                        .unwrap_or(0);
                    if let Some(ot) = ot_field.and_then(|l| space.read_u64(entry + l.offset)) {
                        typed.push((arg, ot));
                    }
                    roots.push(Root::new(
                        RootKind::QueuedFinalizer,
                        format!("queued finalizer of {arg:#x}"),
                        Some(arg),
                        targets,
                    ));
                }
                block = space.read_u64(block + alllink.offset).unwrap_or(0);
                n += 1;
            }
        } else {
            warnings.push(format!(
                "{bt} has an unknown layout: queued finalizers are not roots"
            ));
        }
    }
    // Go ≥1.25 queues cleanups in blocks of cleanupFn.
    if let (Some(queue), Some(all)) = (
        index.global("runtime.gcCleanups"),
        layouts.field("runtime.cleanupQueue", "all"),
    ) {
        let alllink = layouts.field("runtime.cleanupBlockHeader", "alllink");
        let count = layouts.field("runtime.cleanupBlockHeader", "n");
        let cleanups = layouts.field("runtime.cleanupBlock", "cleanups");
        // Entries are cleanupFn records (1.26+) or bare *funcval (1.25): the
        // array's element type in DWARF says which.
        let elem = index
            .type_named("runtime.cleanupBlock")
            .map(|t| index.underlying(t))
            .and_then(|t| {
                index
                    .ty(t)
                    .fields
                    .iter()
                    .find(|f| f.name == "cleanups")
                    .and_then(|f| f.ty)
            })
            .and_then(|a| index.ty(index.underlying(a)).target);
        let fn_size = elem.and_then(|e| index.size_of(e)).unwrap_or(PTR);
        let ptrs = elem
            .map(|e| index.pointer_offsets(e))
            .unwrap_or_else(|| vec![0]);
        if let (Some(alllink), Some(count), Some(cleanups)) = (alllink, count, cleanups) {
            let mut block = space.read_u64(queue.addr + all.offset).unwrap_or(0);
            let mut n = 0;
            while block != 0 && n < MAX_CHAIN {
                let len = space.read_uint(block + count.offset, 4).unwrap_or(0);
                for i in 0..len.min(cleanups.size / fn_size.max(1)) {
                    let entry = block + cleanups.offset + i * fn_size;
                    let targets = targets_at(space, objects, entry, &ptrs);
                    roots.push(Root::new(
                        RootKind::Cleanup,
                        "queued cleanup".to_string(),
                        Some(entry),
                        targets,
                    ));
                }
                block = space.read_u64(block + alllink.offset).unwrap_or(0);
                n += 1;
            }
        }
    }
    roots.retain(|r| !r.targets.is_empty());
    roots
}
