//! A core's roots and goroutines: globals (by DWARF variable, symbol or
//! code reference), finalizers and cleanups, goroutine stacks, and sites.

use crate::error::Result;
use crate::input::dwarf::DwarfIndex;
use crate::input::elf::AddressSpace;
use crate::input::goruntime::buckets::read_sites;
use crate::input::goruntime::globals::global_roots;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::pclntab::FuncTable;
use crate::input::goruntime::spans::Spans;
use crate::input::goruntime::specials::{SpecialRoots, queued_roots};
use crate::input::goruntime::stack_roots::StackRootNamer;
use crate::input::goruntime::stacks::{
    Goroutine as StackGoroutine, read_goroutines, status_name, wait_reasons,
};
use crate::input::goruntime::typing::PieceSeed;
use crate::input::goruntime::typing::alloc_calls::{AllocType, allocation_types};
use crate::input::goruntime::typing::ifaces::{InterfaceTypes, InterfaceWord};
use crate::model::{Edges, Goroutine, Memory, Objects, Roots, Sites};

use super::HeapContext;

/// The roots, goroutines and allocation sites of a core, and what they
/// tell typing.
pub(super) struct RootsFound<'f, 'a> {
    pub(super) roots: Roots,
    pub(super) goroutines: Vec<Goroutine>,
    pub(super) sites: Sites,
    /// The program's functions, for typing closures.
    pub(super) funcs: FuncTable<'a, 'f>,
    /// Stack variables' types, with the stack pieces that hold them.
    pub(super) stack_seeds: Vec<PieceSeed>,
    /// (object, *ptrtype) pairs from finalizer records.
    pub(super) finalized_types: Vec<(u64, u64)>,
    /// Sampled objects' types from their allocation calls.
    pub(super) allocated: Vec<AllocType>,
}

/// Roots (globals, finalizers and cleanups, queued finalizers, goroutine
/// stacks), goroutines and allocation sites; interface values found in
/// globals and on stacks are added to `interfaces`.
pub(super) fn find_roots<'f, 'a>(
    space: &'f AddressSpace<'a>,
    layouts: &'f Layouts<'_>,
    index: &DwarfIndex,
    dwarf: &gimli::Dwarf<gimli::EndianSlice<'_, gimli::LittleEndian>>,
    context: &HeapContext<'_>,
    spans: &Spans,
    objects: &Objects,
    edges: &Edges,
    iface_types: Option<&InterfaceTypes<'_, AddressSpace<'_>>>,
    interfaces: &mut Vec<InterfaceWord>,
    warnings: &mut Vec<String>,
) -> Result<RootsFound<'f, 'a>> {
    let version = context.version;
    // An interface in data or bss: a scalar type word, then a pointer word.
    let mut last_pointer = 0u64;
    let mut roots = Roots {
        roots: global_roots(
            space,
            layouts,
            index,
            context.symbols.then_some(context.exe),
            context.bias,
            objects,
            warnings,
            |at, value| {
                let Some(it) = iface_types else { return };
                let after_pointer = last_pointer == at.wrapping_sub(8);
                last_pointer = at;
                if after_pointer || objects.find(value).is_none() {
                    return;
                }
                if let Some((rtype, itab)) = space
                    .read_u64(at.wrapping_sub(8))
                    .and_then(|t| it.rtype_of(t))
                {
                    interfaces.push(InterfaceWord {
                        data_at: at,
                        rtype,
                        loose: true,
                        itab,
                    });
                }
            },
        )?,
    };
    let funcs = FuncTable::new(space, layouts)?;
    let specials = SpecialRoots::new(layouts)?;
    // (object, *ptrtype) pairs from finalizer records, for typing.
    let mut finalized_types = Vec::new();
    let mut profiled = Vec::new();
    let special_roots = specials.collect(
        space,
        &spans.spans,
        objects,
        edges,
        warnings,
        &mut finalized_types,
        &mut profiled,
    );
    let sites = read_sites(space, layouts, &funcs, &profiled, warnings);
    let allocated = iface_types.map_or_else(Vec::new, |it| {
        allocation_types(space, &funcs, &sites, version, it.types())
    });
    roots.roots.extend(special_roots);
    let queued = queued_roots(space, layouts, objects, warnings, &mut finalized_types);
    roots.roots.extend(queued);
    let namer = StackRootNamer { index, dwarf };
    let mut stack_seeds = Vec::new();
    let reasons = wait_reasons(space, layouts);
    let mut goroutines = Vec::new();
    for g in read_goroutines(space, layouts, &funcs, context.threads)? {
        if let Some(problem) = &g.problem {
            warnings.push(format!("goroutine {}: {problem}", g.id));
        }
        if let Some(it) = iface_types {
            stack_interfaces(it, &g, objects, interfaces);
        }
        roots
            .roots
            .extend(namer.roots(space, &funcs, objects, &g, &mut stack_seeds));
        goroutines.push(describe_goroutine(&funcs, &reasons, &g));
    }

    Ok(RootsFound {
        roots,
        goroutines,
        sites,
        funcs,
        stack_seeds,
        finalized_types,
        allocated,
    })
}

fn describe_goroutine(
    funcs: &FuncTable<'_, '_>,
    reasons: &[String],
    g: &StackGoroutine,
) -> Goroutine {
    let state = status_name(g.status).to_string();
    let wait_reason = (state == "waiting")
        .then(|| reasons.get(g.wait_reason as usize).cloned())
        .flatten()
        .filter(|r| !r.is_empty());
    Goroutine {
        id: g.id,
        state,
        wait_reason,
        frames: g
            .frames
            .iter()
            .enumerate()
            .filter_map(|(i, f)| funcs.source_frame(f.pc, i > 0))
            .collect(),
        // The main goroutine is started by the runtime's assembly, not a `go` statement.
        created_by: (g.creation_pc != 0 && g.id != 1)
            .then(|| funcs.source_frame(g.creation_pc, true))
            .flatten(),
        problem: g.problem.clone(),
    }
}

/// Interface values among a goroutine's live pointer slots. Frames the
/// runtime scans conservatively (an async preemption and the function it
/// interrupted) hold words that are not known to be pointers: skipped.
fn stack_interfaces(
    it: &InterfaceTypes<'_, AddressSpace<'_>>,
    g: &StackGoroutine,
    objects: &Objects,
    out: &mut Vec<InterfaceWord>,
) {
    let mut conservative = false;
    for f in &g.frames {
        let preempt = f.function == "runtime.asyncPreempt";
        if !(preempt || conservative) {
            it.pairs_in_slots(&f.pointer_slots, |v| objects.find(v).is_some(), out);
        }
        conservative = preempt;
    }
}

/// The executable's read-only data, where the linker puts static itabs.
pub(super) fn itab_range(context: &HeapContext<'_>) -> (u64, u64) {
    [".rodata", ".data.rel.ro"]
        .iter()
        .filter_map(|n| context.exe.section(n))
        .map(|s| (s.addr + context.bias, s.addr + context.bias + s.size))
        .fold((u64::MAX, 0), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)))
}
