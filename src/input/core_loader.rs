//! Core + executable → heap model: DWARF layouts, spans, objects, and the
//! pointer edges between them (spans are independent, so both passes run in
//! parallel).

use rayon::prelude::*;

use crate::dump::CoreDump;
use crate::error::{Error, Result};
use crate::input::dwarf::{DwarfIndex, DwarfSections};
use crate::input::elf::{AddressSpace, Executable};
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::buckets::read_sites;
use crate::input::goruntime::globals::global_roots;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::pclntab::FuncTable;
use crate::input::goruntime::pointers::PointerMaps;
use crate::input::goruntime::rtypes::{DESCRIPTOR_TYPES, DescriptorLayout};
use crate::input::goruntime::span_index::SpanIndex;
use crate::input::goruntime::spans::{Span, Spans, read_spans};
use crate::input::goruntime::specials::{SpecialRoots, queued_roots};
use crate::input::goruntime::stack_roots::StackRootNamer;
use crate::input::goruntime::stacks::{
    Goroutine as StackGoroutine, ThreadRegs, read_goroutines, status_name, wait_reasons,
};
use crate::input::goruntime::tables::Locator;
use crate::input::goruntime::typing::alloc_calls::{AllocType, allocation_types};
use crate::input::goruntime::typing::ifaces::{InterfaceTypes, InterfaceWord};
use crate::input::goruntime::typing::{PieceSeed, ReleaseBytes, Typer};
use crate::input::goruntime::without_dwarf::{CodeIndex, index_without_dwarf};
use crate::model::Memory;
use crate::model::{
    EdgesBuilder, Goroutine, HeapModel, NameSource, ObjectId, ObjectParts, Objects, RootKind,
    Roots, RowBlock, SizeClasses, TypeChooser, Typing,
};
use rustc_hash::FxHashMap;

/// What the heap reader needs to know about the program.
struct HeapContext<'a> {
    exe: &'a Executable,
    bias: u64,
    version: GoVersion,
    /// The decoded code of a program without symbols, to name globals.
    code: Option<&'a CodeIndex>,
    /// Whether the executable's symbol table may name globals.
    symbols: bool,
    /// Registers of the core's threads (running goroutines' stacks).
    threads: &'a [ThreadRegs],
    /// Drops the core's resident pages (they need not count while an
    /// analysis runs inside the load; later reads fault them back).
    release_pages: Option<&'a dyn Fn()>,
    /// Drops the pages under a slice of the core's memory (a no-op for
    /// memory from elsewhere).
    release_slice: Option<ReleaseBytes<'a>>,
}

use crate::timing::Phases;

pub fn load(dump: &CoreDump) -> Result<HeapModel> {
    load_choosing_types(dump, None)
}

/// `load`, typing only the objects `choose` returns (see `TypeChooser`).
pub fn load_choosing_types(dump: &CoreDump, choose: Option<TypeChooser<'_>>) -> Result<HeapModel> {
    let (exe, version, version_warning) = checked_program(dump)?;
    let mut phases = Phases::new();
    let space = dump.address_space();
    // DWARF from the executable, else from its separate debug file, else
    // what the runtime's own records tell.
    let debug_file = dump.debug_file();
    let own = match (debug_file, dump.ignore_debug_info) {
        (_, true) => None,
        (Some(debug), false) => Some(DwarfSections::load(debug)?),
        (None, false) => DwarfSections::try_load(exe)?,
    };
    let (sections, index, code, names_from) = match own {
        Some(sections) => {
            let mut index = DwarfIndex::build(exe, &sections.dwarf())?;
            index.rebase(dump.exe_bias);
            let from = match debug_file {
                Some(d) => NameSource::DebugFile {
                    path: d.path().display().to_string(),
                },
                None => NameSource::Dwarf,
            };
            (sections, index, None, from)
        }
        None => {
            let (index, code) = index_without_dwarf(&space, exe, dump.exe_bias, version)?;
            (
                DwarfSections::empty(),
                index,
                Some(code),
                NameSource::RuntimeRecords,
            )
        }
    };
    let dwarf = sections.dwarf();
    phases.done("DWARF");
    let layouts = Layouts::new(&index);
    let threads = thread_regs(dump);
    let context = HeapContext {
        exe,
        bias: dump.exe_bias,
        version,
        code: code.as_ref(),
        symbols: !dump.ignore_debug_info,
        release_pages: Some(&|| dump.core.source().release_pages()),
        release_slice: Some(&|bytes| dump.core.source().release_slice(bytes)),
        threads: &threads,
    };
    let mut model = load_heap(
        &space,
        &layouts,
        &index,
        &dwarf,
        &context,
        &mut phases,
        choose,
    )?;
    model.warnings.extend(version_warning);
    // Every command answering from a cut-off core says so first.
    if let Some(cut) = dump.core.truncation() {
        model.warnings.insert(0, cut);
    }
    model.names_from = names_from;
    Ok(model)
}

/// The executable and Go version of a core, refused when the executable is
/// another build or the version one rootpath cannot read; with a warning
/// for versions outside the tested matrix.
fn checked_program(dump: &CoreDump) -> Result<(&Executable, GoVersion, Option<String>)> {
    let exe = dump.require_exe()?;
    // Reading a core through another build's DWARF would give confident nonsense.
    if let crate::dump::BuildMatch::Differs { address, detail } = &dump.build_match {
        return Err(Error::ExeMismatch {
            exe: exe.path().to_path_buf(),
            detail: format!("{detail} (first difference at {address})"),
        });
    }
    let version = dump.go_version().ok_or_else(|| Error::NotGo {
        what: exe.path().display().to_string(),
        why: "it has no Go build information (.go.buildinfo)".into(),
    })?;
    let mut version_warning = None;
    match version.support() {
        crate::input::goruntime::Support::Tested => {}
        crate::input::goruntime::Support::Untested => {
            version_warning = Some(format!(
                "{version} is outside the tested matrix ({}): the answer may be partial",
                crate::input::goruntime::tested_matrix()
            ))
        }
        crate::input::goruntime::Support::Unsupported => {
            return Err(Error::UnsupportedGoVersion {
                version: version.to_string(),
            });
        }
    }
    Ok((exe, version, version_warning))
}

fn thread_regs(dump: &CoreDump) -> Vec<ThreadRegs> {
    dump.core
        .threads
        .iter()
        .map(|t| ThreadRegs {
            tid: t.tid as u64,
            pc: t.pc(),
            sp: t.sp(),
        })
        .collect()
}

/// `rootpath CORE dev-runtime-table`: the runtime layout table of the core's
/// Go version, from its executable's DWARF. Loads the heap with every name
/// lookup recorded, so the table carries exactly what a load needs, and
/// locates each runtime global by the runtime code that refers to it.
pub fn runtime_table(dump: &CoreDump) -> Result<String> {
    let (exe, version, _) = checked_program(dump)?;
    let sections = DwarfSections::load(exe)?;
    let dwarf = sections.dwarf();
    let mut index = DwarfIndex::build(exe, &dwarf)?;
    index.rebase(dump.exe_bias);
    index.record_queries();
    let space = dump.address_space();
    let layouts = Layouts::new(&index);
    let threads = thread_regs(dump);
    let context = HeapContext {
        exe,
        bias: dump.exe_bias,
        version,
        code: None,
        symbols: true,
        release_pages: None,
        release_slice: None,
        threads: &threads,
    };
    load_heap(
        &space,
        &layouts,
        &index,
        &dwarf,
        &context,
        &mut Phases::new(),
        None,
    )?;
    // What reading programs without DWARF needs beyond a load with it.
    let _ = DescriptorLayout::new(&layouts);
    for name in DESCRIPTOR_TYPES {
        let _ = index.type_named(name);
    }
    let funcs = FuncTable::new(&space, &layouts)?;
    let code = CodeIndex::build(&space, &funcs);
    let go = exe
        .build_info
        .as_ref()
        .map_or_else(|| version.to_string(), |b| b.go_version.clone());
    Ok(crate::input::goruntime::tables::export(
        &go,
        &index,
        &index.recorded_queries(),
        |name, addr, size| {
            if name == "runtime.firstmoduledata" {
                Some(Locator::ModuleData)
            } else {
                code.locator_for(addr, size)
            }
        },
    ))
}

/// The allocated slots of a span: below `freeindex`, or marked in the
/// allocation bits (`None` when the core lacks them: then only the former).
fn allocated_slots<'s>(span: &Span, bits: Option<&'s [u8]>) -> impl Iterator<Item = u64> + use<'s> {
    let (nelems, freeindex) = (span.nelems, span.freeindex);
    (0..nelems).filter(move |&slot| {
        slot < freeindex
            || bits.is_some_and(|b| {
                b.get((slot / 8) as usize)
                    .is_some_and(|v| v & (1 << (slot % 8)) != 0)
            })
    })
}

fn alloc_bits<'a>(space: &AddressSpace<'a>, span: &Span) -> Option<&'a [u8]> {
    space.read(span.alloc_bits, span.nelems.div_ceil(8) as usize)
}

/// What filling one span's share of the object arrays leaves for the
/// whole heap's tables, by object id.
#[derive(Default)]
struct SpanFill {
    /// Where the high half of the addresses is (first object) or changes.
    high: Vec<(u32, u32)>,
    /// Sizes without a class.
    odd: Vec<(u32, u64)>,
}

/// Fills one span's objects (addresses as Go sees them, size classes) into
/// its share of the object arrays; `first` is its first object's id and
/// `class` its objects' size class (None: their size goes to the side map).
fn fill_span(
    space: &AddressSpace<'_>,
    span: &Span,
    first: u32,
    class: Option<u8>,
    low: &mut [u32],
    classes: &mut [u8],
) -> SpanFill {
    let header = if span.has_header { 8 } else { 0 };
    let size = span.object_size();
    let mut fill = SpanFill::default();
    let slots = allocated_slots(span, alloc_bits(space, span));
    for (i, slot) in slots.take(low.len()).enumerate() {
        let addr = span.base + slot * span.elemsize + header;
        let id = first + i as u32;
        low[i] = addr as u32;
        let high = (addr >> 32) as u32;
        if fill.high.last().is_none_or(|&(_, h)| h != high) {
            fill.high.push((id, high));
        }
        classes[i] = class.unwrap_or_else(|| {
            fill.odd.push((id, size));
            SizeClasses::ODD
        });
    }
    fill
}

fn load_heap(
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    index: &DwarfIndex,
    dwarf: &gimli::Dwarf<gimli::EndianSlice<'_, gimli::LittleEndian>>,
    context: &HeapContext<'_>,
    phases: &mut Phases,
    choose: Option<TypeChooser<'_>>,
) -> Result<HeapModel> {
    let version = context.version;
    let spans = read_spans(space, layouts, version)?;
    let mut warnings = spans.warnings.clone();

    // Objects are built in place: count each span's allocated slots, then
    // fill every span's share of the final arrays in parallel.
    let mut counts: Vec<(usize, bool)> = spans
        .spans
        .par_iter()
        .map(|s| {
            let bits = alloc_bits(space, s);
            (
                allocated_slots(s, bits).count(),
                bits.is_some() || s.freeindex >= s.nelems,
            )
        })
        .collect();
    // Object ids follow span order; overlapping spans would break that, and
    // only a corrupt core has them.
    let mut last_end = 0u64;
    let mut overlapping = 0usize;
    for (span, (n, _)) in spans.spans.iter().zip(counts.iter_mut()) {
        if *n == 0 {
            continue;
        }
        if span.base < last_end {
            overlapping += *n;
            *n = 0;
        } else {
            last_end = span.base + span.nelems * span.elemsize;
        }
    }
    if overlapping > 0 {
        warnings.push(format!(
            "{overlapping} objects overlap others (corrupt span data) and were dropped"
        ));
    }
    let missing_bits = counts.iter().filter(|(_, ok)| !ok).count();
    if missing_bits > 0 {
        warnings.push(format!(
            "allocation bits of {missing_bits} spans are missing from the core: only their slots below freeindex are counted"
        ));
    }
    // Each span's objects are a run of consecutive ids.
    let total: usize = counts.iter().map(|&(n, _)| n).sum();
    let mut span_ids: Vec<std::ops::Range<u32>> = Vec::with_capacity(counts.len());
    let mut next = 0u32;
    for &(n, _) in &counts {
        span_ids.push(next..next + n as u32);
        next += n as u32;
    }
    // A span's objects share one size: classes are given span by span.
    let mut sizes = SizeClasses::default();
    let span_classes: Vec<Option<u8>> = spans
        .spans
        .iter()
        .zip(&counts)
        .map(|(span, &(n, _))| {
            if n == 0 {
                None
            } else {
                sizes.class_of(span.object_size())
            }
        })
        .collect();
    let mut low = vec![0u32; total];
    let mut class = vec![0u8; total];
    let mut shares = Vec::with_capacity(counts.len());
    let (mut rest_l, mut rest_c) = (&mut low[..], &mut class[..]);
    for &(n, _) in &counts {
        let (l, rl) = rest_l.split_at_mut(n);
        let (c, rc) = rest_c.split_at_mut(n);
        shares.push((l, c));
        (rest_l, rest_c) = (rl, rc);
    }
    let fills: Vec<SpanFill> = spans
        .spans
        .par_iter()
        .zip(shares.into_par_iter())
        .zip(span_ids.par_iter().zip(span_classes.par_iter()))
        .map(|((span, (l, c)), (ids, &span_class))| {
            fill_span(space, span, ids.start, span_class, l, c)
        })
        .collect();
    let mut parts = ObjectParts {
        low,
        high: Vec::new(),
        class,
        sizes,
        odd_sizes: FxHashMap::default(),
    };
    for fill in fills {
        parts.high.extend(fill.high);
        parts.odd_sizes.extend(fill.odd);
    }
    let objects = Objects::from_parts(parts);
    phases.done(&format!(
        "objects (index regions, pages: {:?})",
        objects.index_shape()
    ));

    let maps = PointerMaps::new(space, layouts, version, spans.page_size)?;
    let finder = SpanIndex::new(&spans.spans, &span_ids, spans.page_size, |s| {
        allocated_slots(s, alloc_bits(space, s))
    });
    let iface_types = layouts
        .index
        .global("runtime.firstmoduledata")
        .and_then(|md| InterfaceTypes::new(space, layouts, md.addr, itab_range(context)));
    let (edges, unreadable, mut interfaces) = build_edges(
        space,
        &spans,
        &span_ids,
        &objects,
        finder.as_ref(),
        &maps,
        iface_types.as_ref(),
    )?;
    drop(finder);
    phases.done("edges");
    if unreadable > 0 {
        warnings.push(format!(
            "pointer maps of {unreadable} objects cannot be read (memory missing from the core, or a corrupt type descriptor): their outgoing references are unknown"
        ));
    }
    // An interface in data or bss: a scalar type word, then a pointer word.
    let mut last_pointer = 0u64;
    let mut roots = Roots {
        roots: global_roots(
            space,
            layouts,
            index,
            context.symbols.then_some(context.exe),
            context.bias,
            &objects,
            &mut warnings,
            |at, value| {
                let Some(it) = &iface_types else { return };
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
        &objects,
        &edges,
        &mut warnings,
        &mut finalized_types,
        &mut profiled,
    );
    let sites = read_sites(space, layouts, &funcs, &profiled, &mut warnings);
    let allocated = iface_types.as_ref().map_or_else(Vec::new, |it| {
        allocation_types(space, &funcs, &sites, version, it.types())
    });
    roots.roots.extend(special_roots);
    let queued = queued_roots(
        space,
        layouts,
        &objects,
        &mut warnings,
        &mut finalized_types,
    );
    roots.roots.extend(queued);
    let namer = StackRootNamer { index, dwarf };
    let mut stack_seeds = Vec::new();
    let reasons = wait_reasons(space, layouts);
    let mut goroutines = Vec::new();
    for g in read_goroutines(space, layouts, &funcs, context.threads)? {
        if let Some(problem) = &g.problem {
            warnings.push(format!("goroutine {}: {problem}", g.id));
        }
        if let Some(it) = &iface_types {
            stack_interfaces(it, &g, &objects, &mut interfaces);
        }
        roots
            .roots
            .extend(namer.roots(space, &funcs, &objects, &g, &mut stack_seeds));
        goroutines.push(describe_goroutine(&funcs, &reasons, &g));
    }

    phases.done("roots and goroutines");
    let mut model = HeapModel::before_typing(objects, edges, roots, warnings);
    model.goroutines = goroutines;
    model.sites = sites;
    let release = || {
        if let Some(release) = context.release_pages {
            release();
        }
    };
    let typing = match choose {
        Some(choose) => {
            let typing = choose(&model, &release);
            phases.done("analysis choosing what to type");
            typing
        }
        None => Typing::All,
    };
    let mut model_partial = false;
    let seeds = TypeSeeds {
        spans: &spans.spans,
        span_ids: &span_ids,
        stack_seeds: &stack_seeds,
        finalized_types: &finalized_types,
        interfaces: &interfaces,
        allocated: &allocated,
    };
    let (objects, edges, roots) = (&model.objects, &model.edges, &model.roots);
    let new_typer = || Typer::new(space, layouts, index, dwarf, &funcs, objects).with_edges(edges);
    let mut typer = new_typer();
    match typing {
        Typing::Only(ids) => {
            typer = typer.restrict_to(&ids);
            seeds.type_heap(&mut typer, space, index, (objects, roots), Some(&ids));
            phases.done("types of the chosen objects");
            if ids.iter().all(|&id| typer.is_typed_wholly(id)) {
                model_partial = true;
            } else {
                // Some chosen object needs evidence from elsewhere in the heap.
                typer = new_typer();
                seeds.type_heap(&mut typer, space, index, (objects, roots), None);
                phases.done("types (all objects: a chosen one needed them)");
            }
        }
        Typing::All => {
            seeds.type_heap(&mut typer, space, index, (objects, roots), None);
            phases.done("types");
        }
        // The other work reads the untyped model on a thread of its own
        // while this one types (both only read it).
        Typing::AllAlongside(work) => {
            // Two analyses at once hold more memory: let the core's pages
            // go, and typing's large waves drop what they pass again (it
            // reads them back from the page cache).
            release();
            if let Some(release_slice) = context.release_slice {
                typer = typer.releasing_passed_memory(release_slice);
            }
            let untyped = &model;
            std::thread::scope(|scope| {
                let other = scope.spawn(move || work(untyped));
                seeds.type_heap(&mut typer, space, index, (objects, roots), None);
                if let Err(panic) = other.join() {
                    std::panic::resume_unwind(panic);
                }
            });
            phases.done("types (alongside other work)");
        }
    }
    // Roots' own types, to name the pointer inside a global or variable.
    let roots = &mut model.roots;
    for r in roots.roots.iter_mut() {
        if let Some(ty) = r.type_name.as_deref().and_then(|n| index.type_named(n)) {
            r.type_index = Some(typer.intern_type(ty));
        }
    }
    let (types, object_types) = typer.finish();
    if let Some(code) = context.code {
        describe_unnamed_globals(roots, code, &types, &object_types);
    }
    model.types = types;
    model.object_types = object_types;
    model.types_partial = model_partial;
    Ok(model)
}

/// What object typing starts from, beyond the heap itself.
struct TypeSeeds<'l> {
    spans: &'l [Span],
    span_ids: &'l [std::ops::Range<u32>],
    stack_seeds: &'l [PieceSeed],
    /// (object, *ptrtype) pairs from finalizer records.
    finalized_types: &'l [(u64, u64)],
    /// Interface values in the heap, globals and stacks.
    interfaces: &'l [InterfaceWord],
    /// Sampled objects' types from their allocation calls.
    allocated: &'l [AllocType],
}

impl TypeSeeds<'_> {
    /// Types the heap (or, restricted, the `chosen` objects): exact types
    /// first (allocation headers and large spans, Go ≥1.22), then what typed
    /// roots point at.
    fn type_heap(
        &self,
        typer: &mut Typer<'_, '_, '_>,
        space: &AddressSpace<'_>,
        index: &DwarfIndex,
        (objects, roots): (&Objects, &Roots),
        chosen: Option<&[ObjectId]>,
    ) {
        let seed_span = |typer: &mut Typer<'_, '_, '_>, span: &Span, ids: std::ops::Range<u32>| {
            if span.has_header {
                for id in ids.map(ObjectId) {
                    if let Some(rtype) = space.read_u64(objects.addr(id) - 8) {
                        typer.seed_runtime_type(id, rtype);
                    }
                }
            } else if span.large_type != 0 && !ids.is_empty() {
                typer.seed_runtime_type(ObjectId(ids.start), span.large_type);
            }
        };
        match chosen {
            None => {
                for (span, ids) in self.spans.iter().zip(self.span_ids) {
                    seed_span(typer, span, ids.clone());
                }
            }
            Some(chosen) => {
                for &id in chosen {
                    // Spans hold consecutive ids in span order.
                    let s = self.span_ids.partition_point(|r| r.end <= id.0);
                    if let (Some(span), Some(ids)) = (self.spans.get(s), self.span_ids.get(s)) {
                        if ids.contains(&id.0) {
                            let one = if span.has_header {
                                id.0..id.0 + 1
                            } else {
                                ids.clone()
                            };
                            seed_span(typer, span, one);
                        }
                    }
                }
            }
        }
        for a in self.allocated {
            typer.seed_allocation(a);
        }
        typer.drain();
        for g in &index.globals {
            if let Some(ty) = g.ty {
                typer.seed_root(g.addr, ty);
            }
        }
        for seed in self.stack_seeds {
            typer.seed_pieces(seed);
        }
        typer.seed_interfaces(self.interfaces);
        for &(ptr, ot) in self.finalized_types {
            typer.seed_pointer_type(ptr, ot);
        }
        // Finalizer and cleanup closures.
        for r in roots.iter().filter(|r| {
            matches!(
                r.kind,
                RootKind::Finalizer | RootKind::Cleanup | RootKind::QueuedFinalizer
            )
        }) {
            for &(t, _) in &r.targets {
                typer.seed_closure(objects.addr(t));
            }
        }
    }
}

struct SpanEdges {
    counts: Vec<u32>,
    targets: Vec<ObjectId>,
    offsets: Vec<u32>,
    /// Whether each pointer holds its target's first address.
    at_start: Vec<bool>,
    /// Interface values whose data word points at an object.
    interfaces: Vec<InterfaceWord>,
    unreadable: usize,
}

fn build_edges(
    space: &AddressSpace<'_>,
    spans: &Spans,
    span_ids: &[std::ops::Range<u32>],
    objects: &Objects,
    finder: Option<&SpanIndex>,
    maps: &PointerMaps<'_, '_>,
    iface_types: Option<&InterfaceTypes<'_, AddressSpace<'_>>>,
) -> Result<(crate::model::Edges, usize, Vec<InterfaceWord>)> {
    let find = |v: u64| match finder {
        Some(f) => f.find_with_start(v),
        None => objects.find(v).map(|o| (o, objects.addr(o) == v)),
    };
    // Spans go in batches of about a million objects: each batch's rows are
    // built in parallel, appended, and their buffers reused by the next
    // batch, so the whole heap's edges are never held twice.
    const BATCH_OBJECTS: u32 = 1 << 20;
    let mut builder = EdgesBuilder::with_capacity(objects.len(), objects.len());
    let mut unreadable = 0;
    let mut interfaces = Vec::new();
    let mut first = 0;
    while first < spans.spans.len() {
        let mut last = first;
        let start_id = span_ids[first].start;
        while last < spans.spans.len() && span_ids[last].end - start_id <= BATCH_OBJECTS {
            last += 1;
        }
        let last = last.max(first + 1);
        let rows: Vec<SpanEdges> = spans.spans[first..last]
            .par_iter()
            .zip(span_ids[first..last].par_iter())
            .map(|(span, ids)| {
                span_edges(
                    space,
                    spans.page_size,
                    span,
                    ids,
                    objects,
                    &find,
                    maps,
                    iface_types,
                )
            })
            .collect();
        let blocks: Vec<RowBlock<'_>> = rows
            .iter()
            .map(|r| RowBlock {
                counts: &r.counts,
                targets: &r.targets,
                offsets: &r.offsets,
                at_start: &r.at_start,
            })
            .collect();
        builder.push_blocks(&blocks);
        unreadable += rows.iter().map(|r| r.unreadable).sum::<usize>();
        for r in &rows {
            interfaces.extend_from_slice(&r.interfaces);
        }
        first = last;
    }
    Ok((builder.finish()?, unreadable, interfaces))
}

/// One span's edges: per-object counts and flat (target, offset) lists.
fn span_edges(
    space: &AddressSpace<'_>,
    page_size: u64,
    span: &Span,
    ids: &std::ops::Range<u32>,
    objects: &Objects,
    find: &(impl Fn(u64) -> Option<(ObjectId, bool)> + Sync),
    maps: &PointerMaps<'_, '_>,
    iface_types: Option<&InterfaceTypes<'_, AddressSpace<'_>>>,
) -> SpanEdges {
    let mut out = SpanEdges {
        counts: Vec::with_capacity(ids.len()),
        targets: Vec::new(),
        offsets: Vec::new(),
        at_start: Vec::new(),
        interfaces: Vec::new(),
        unreadable: 0,
    };
    // The span's memory, read once (objects never leave their span).
    let base = span.base;
    let memory = space.read(base, (span.npages * page_size) as usize);
    for id in ids.clone().map(ObjectId) {
        let (addr, size) = (objects.addr(id), objects.size(id));
        let before = out.targets.len();
        // The offset after the last pointer word: an interface's type
        // word is no pointer word.
        let mut after_pointer = u64::MAX;
        let ok = maps.for_each_pointer(span, memory, addr, size, |off| {
            let at = addr + off;
            let value = match memory {
                Some(m) => {
                    let i = (at - base) as usize;
                    match m.get(i..i + 8) {
                        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or_default()),
                        None => return,
                    }
                }
                None => match space.read_u64(at) {
                    Some(v) => v,
                    None => return,
                },
            };
            let type_word_is_pointer = after_pointer == off;
            after_pointer = off + 8;
            // Pointers into the object itself keep nothing else alive.
            if value.wrapping_sub(addr) < size {
                return;
            }
            if let Some((target, at_start)) = find(value) {
                if let (Some(it), false, true) = (iface_types, type_word_is_pointer, off >= 8) {
                    let before = match memory {
                        Some(m) => m
                            .get((at - 8 - base) as usize..(at - base) as usize)
                            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())),
                        None => space.read_u64(at - 8),
                    };
                    if let Some((rtype, itab)) = before.and_then(|t| it.rtype_of(t)) {
                        // Two words of one object: one value.
                        out.interfaces.push(InterfaceWord {
                            data_at: at,
                            rtype,
                            loose: false,
                            itab,
                        });
                    }
                }
                out.targets.push(target);
                out.offsets.push(off as u32);
                out.at_start.push(at_start);
            }
        });
        if !ok {
            out.unreadable += 1;
        }
        out.counts.push((out.targets.len() - before) as u32);
    }
    out
}

/// Globals without a name ("bss+0x1a0") are labelled by what they hold and
/// who uses them: "bss+0x1a0 (*main.Cache, used by main.init, main.handle)".
fn describe_unnamed_globals(
    roots: &mut Roots,
    code: &CodeIndex,
    types: &crate::model::TypeNames,
    object_types: &[u32],
) {
    const SHOWN_USERS: usize = 3;
    for root in roots.roots.iter_mut() {
        let unnamed = root.kind == RootKind::Global
            && (root.name.starts_with("data+") || root.name.starts_with("bss+"));
        let Some(addr) = root.addr.filter(|_| unnamed) else {
            continue;
        };
        let mut parts = Vec::new();
        if let Some(&(target, _)) = root.targets.first() {
            if let Some(name) = object_types
                .get(target.index())
                .and_then(|&t| types.name(t))
            {
                parts.push(format!("*{name}"));
            }
        }
        let users = code.users(addr, addr + 8);
        if !users.is_empty() {
            let mut list = users[..users.len().min(SHOWN_USERS)].join(", ");
            if users.len() > SHOWN_USERS {
                list.push_str(&format!(" and {} more", users.len() - SHOWN_USERS));
            }
            parts.push(format!("used by {list}"));
        }
        if !parts.is_empty() {
            root.name = format!("{} ({})", root.name, parts.join(", "));
        }
    }
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
fn itab_range(context: &HeapContext<'_>) -> (u64, u64) {
    [".rodata", ".data.rel.ro"]
        .iter()
        .filter_map(|n| context.exe.section(n))
        .map(|s| (s.addr + context.bias, s.addr + context.bias + s.size))
        .fold((u64::MAX, 0), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)))
}
