//! A heap dump read with the executable that wrote it: roots named by DWARF
//! variable, goroutines with source lines, and object types, the same way
//! the core loader derives them (`exe_check` refuses another build;
//! `dump_memory` is the memory they read).

use crate::error::Result;
use crate::input::dwarf::{DwarfIndex, DwarfSections};
use crate::input::elf::Executable;
use crate::input::elf::address_space::{AddressSpace, Memory};
use crate::input::goruntime::globals::GlobalRootSet;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::pclntab::{FUNCDATA_STACK_OBJECTS, FuncTable};
use crate::input::goruntime::stack_roots::StackRootNamer;
use crate::input::goruntime::stacks::{
    Defer as StackDefer, Frame as StackFrameInfo, Goroutine as StackGoroutine, stack_objects,
};
use crate::input::goruntime::typing::Typer;
use crate::input::heapdump::text;
use crate::model::{Edges, Goroutine, ObjectId, Objects, Root, RootKind, TypeNames};

use super::dump_memory::{DumpMemory, layered_statics, loaded_writable};
use super::exe_check::{Checked, check_frames};
use super::{
    GoroutineRecord, HEADER, Layout, MAX_ADDR, PTR, RootRecords, Slot, describe_goroutine,
    object_at, plain_frame, runtime_roots,
};

/// The heap as the first pass built it.
pub(super) struct Heap<'h> {
    pub bytes: &'h [u8],
    /// Object slots in object id order.
    pub slots: &'h [Slot],
    pub objects: &'h Objects,
    pub edges: &'h Edges,
    pub layout: &'h Layout,
}

/// What the executable adds to the model.
pub(super) struct Typed {
    pub roots: Vec<Root>,
    pub goroutines: Vec<Goroutine>,
    pub types: TypeNames,
    pub object_types: Vec<u32>,
    /// `runtime.MemProfileRate` from the dump's data segments (absent when
    /// it lives in noptrdata, which dumps do not record: the executable's
    /// initial value would be wrong).
    pub mem_profile_rate: Option<u64>,
}

/// An executable with its DWARF read and indexed: what loading a dump with
/// it needs, kept to load several dumps of one program (fuzzing, tests).
pub struct ExeInfo<'e> {
    exe: &'e Executable,
    sections: DwarfSections<'e>,
    /// At the load bias of the last dump loaded with it.
    index: DwarfIndex,
}

impl<'e> ExeInfo<'e> {
    /// Reads and indexes the executable's DWARF (an error without DWARF).
    pub fn new(exe: &'e Executable) -> Result<ExeInfo<'e>> {
        let sections = DwarfSections::load(exe)?;
        let index = DwarfIndex::build(exe, &sections.dwarf())?;
        Ok(ExeInfo {
            exe,
            sections,
            index,
        })
    }

    pub fn executable(&self) -> &'e Executable {
        self.exe
    }
}

/// Roots, goroutines and types from the dump and its executable.
pub(super) fn load(
    info: &mut ExeInfo<'_>,
    checked: &Checked,
    rr: &RootRecords<'_>,
    heap: &Heap<'_>,
    warnings: &mut Vec<String>,
) -> Result<Typed> {
    let bias = checked.bias;
    let exe = info.exe;
    let dwarf = info.sections.dwarf();
    let index = &mut info.index;
    index.rebase(bias.wrapping_sub(index.bias));
    let index = &*index;
    let layouts = Layouts::new(index);

    // The dump's own memory first, then the executable's segments.
    let writable = loaded_writable(exe, bias);
    let statics = layered_statics(exe, rr, &writable, bias);
    let funcs = FuncTable::new(&statics, &layouts)?;
    check_frames(exe, &funcs, rr)?;

    let objects = heap.objects;
    let mem = DumpMemory {
        bytes: heap.bytes,
        slots: heap.slots,
        objects,
        statics: &statics,
    };

    // Roots: globals by DWARF variable, stacks by frame variable.
    let mut roots = global_roots(exe, index, rr, heap, bias);
    let namer = StackRootNamer {
        index,
        dwarf: &dwarf,
    };
    let stack_lo = layouts.field("runtime.g", "stack.lo");
    let stack_hi = layouts.field("runtime.g", "stack.hi");
    let mut stack_seeds = Vec::new();
    let mut unknown_goroutine = 0usize;
    let mut stacks: Vec<StackGoroutine> = rr
        .goroutines
        .iter()
        .map(|g| {
            let bounds = match (stack_lo, stack_hi) {
                (Some(lo), Some(hi)) => mem
                    .read_uint(g.addr.wrapping_add(lo.offset), lo.size)
                    .zip(mem.read_uint(g.addr.wrapping_add(hi.offset), hi.size)),
                _ => None,
            };
            stack_goroutine(&funcs, &statics, rr, g, heap.layout, bounds)
        })
        .collect();
    for d in &rr.defers {
        match rr.goids.get(&d.goroutine) {
            Some(&i) => stacks[i].defers.push(StackDefer {
                pc: d.pc,
                closure: d.fn_val,
                record: d.addr,
            }),
            None => unknown_goroutine += 1,
        }
    }
    for p in &rr.panics {
        match rr.goids.get(&p.goroutine) {
            Some(&i) => stacks[i].panic_values.push(p.arg_data),
            None => unknown_goroutine += 1,
        }
    }
    if unknown_goroutine > 0 {
        warnings.push(format!(
            "{unknown_goroutine} defer or panic records name a goroutine the dump does not have: \
             they were skipped"
        ));
    }
    for g in &stacks {
        roots.extend(namer.roots(&statics, &funcs, objects, g, &mut stack_seeds));
    }
    roots.extend(runtime_roots(rr, objects, heap.edges, heap.layout));

    let goroutines = rr
        .goroutines
        .iter()
        .map(|g| {
            describe_goroutine(
                rr,
                g,
                |f, depth| {
                    funcs
                        .source_frame(f.pc, depth > 0)
                        .or_else(|| plain_frame(f))
                },
                |pc| funcs.source_frame(pc, true),
            )
        })
        .collect();

    // Types, from the same seeds as a core's, exact ones first.
    let mut typer = Typer::new(&mem, &layouts, index, &dwarf, &funcs, objects);
    for (i, s) in heap.slots.iter().enumerate() {
        if s.flags & HEADER != 0
            && let Some((contents, _)) = object_at(heap.bytes, s.rec)
            && let Some(rtype) = heap.layout.word(contents, 0)
        {
            typer.seed_runtime_type(ObjectId(i as u32), rtype);
        }
    }
    typer.drain();
    for g in &index.globals {
        if let Some(ty) = g.ty {
            typer.seed_root(g.addr, ty);
        }
    }
    for seed in &stack_seeds {
        typer.seed_pieces(seed);
    }
    for f in rr.finalizers.iter().chain(&rr.queued) {
        let obj = objects.find(f.obj).map_or(f.obj, |o| objects.addr(o));
        typer.seed_pointer_type(obj, f.ot);
    }
    for r in roots
        .iter()
        .filter(|r| matches!(r.kind, RootKind::Finalizer | RootKind::QueuedFinalizer))
    {
        for &(t, _) in &r.targets {
            typer.seed_closure(objects.addr(t));
        }
    }
    // Roots' own types, to name the pointer inside a global or variable.
    for r in roots.iter_mut() {
        if let Some(ty) = r.type_name.as_deref().and_then(|n| index.type_named(n)) {
            r.type_index = Some(typer.intern_type(ty));
        }
    }
    let (types, object_types) = typer.finish();
    Ok(Typed {
        roots,
        goroutines,
        types,
        object_types,
        mem_profile_rate: index
            .global("runtime.MemProfileRate")
            .filter(|g| {
                rr.segments.iter().any(|&(_, addr, contents, _)| {
                    g.addr >= addr && g.addr - addr + 8 <= contents.len() as u64
                })
            })
            .and_then(|g| mem.read_u64(g.addr)),
    })
}

/// Global roots: each pointer word of the data and bss segments that holds
/// a heap address, grouped by the DWARF variable (or symbol) that owns it.
fn global_roots(
    exe: &Executable,
    index: &DwarfIndex,
    rr: &RootRecords<'_>,
    heap: &Heap<'_>,
    bias: u64,
) -> Vec<Root> {
    let mut named = GlobalRootSet::new(index, Some(exe), bias);
    let sections: Vec<(u64, u64)> = rr
        .segments
        .iter()
        .map(|&(_, start, contents, _)| (start, start.wrapping_add(contents.len() as u64)))
        .collect();
    let read_word = |a: u64| {
        rr.segments.iter().find_map(|&(_, start, contents, _)| {
            let off = a.checked_sub(start)?;
            (off < contents.len() as u64)
                .then(|| heap.layout.word(contents, off))
                .flatten()
        })
    };
    named.name_static_pointees(&sections, &read_word);
    for &(bss, start, contents, fields) in &rr.segments {
        let section = if bss { "bss" } else { "data" };
        for f in fields {
            for off in heap.layout.words(f) {
                let target = heap
                    .layout
                    .word(contents, off)
                    .filter(|&v| v != 0)
                    .and_then(|v| heap.objects.find(v));
                if let Some(target) = target {
                    named.add(start.wrapping_add(off), section, off, target);
                }
            }
        }
    }
    named.finish()
}

/// A dump goroutine as the stack root namer wants it: frames with their
/// frame pointer (the caller's sp: the top of the frame's contents) and
/// live pointer slots as addresses. The dump lists a callee's argument
/// slots in its caller's record (they are the caller's outgoing-argument
/// area); like a core's unwinder, they are given to the callee here.
fn stack_goroutine(
    funcs: &FuncTable<'_, '_>,
    statics: &AddressSpace<'_>,
    rr: &RootRecords<'_>,
    g: &GoroutineRecord<'_>,
    layout: &Layout,
    bounds: Option<(u64, u64)>,
) -> StackGoroutine {
    let records = rr.frames_of(g);
    // Bytes of arguments each frame's function takes (in its caller's frame).
    let arglen: Vec<u64> = records
        .iter()
        .map(|f| {
            funcs
                .find(f.pc)
                .and_then(|func| funcs.args_size(func))
                .unwrap_or(0)
        })
        .collect();
    let mut frames: Vec<StackFrameInfo> = records
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let fp = f.sp.saturating_add(f.contents.len() as u64);
            let child_args = if i == 0 { 0 } else { arglen[i - 1] };
            let mut pointer_slots: Vec<u64> = f
                .fields
                .iter()
                .flat_map(|fd| layout.words(fd))
                .filter(|&off| off >= child_args)
                .map(|off| f.sp.wrapping_add(off))
                .collect();
            if let Some(caller) = records.get(i + 1) {
                pointer_slots.extend(
                    caller
                        .fields
                        .iter()
                        .flat_map(|fd| layout.words(fd))
                        .filter(|&off| off < arglen[i])
                        .map(|off| caller.sp.wrapping_add(off)),
                );
            }
            pointer_slots.sort_unstable();
            pointer_slots.dedup();
            let stack_objects = funcs
                .find(f.pc)
                .and_then(|func| funcs.funcdata(func, FUNCDATA_STACK_OBJECTS))
                .map(|records| {
                    // varp: below the return address and the saved frame pointer.
                    let mut varp = fp.saturating_sub(PTR);
                    if varp > f.sp {
                        varp -= PTR;
                    }
                    stack_objects(statics, funcs.rodata, records, varp, fp, f.sp)
                })
                .unwrap_or_default();
            StackFrameInfo {
                function: text(f.name).into_owned(),
                pc: f.pc,
                sp: f.sp,
                fp,
                pointer_slots,
                stack_objects,
            }
        })
        .collect();
    // Frames at impossible addresses (a corrupt dump) name nothing.
    frames.retain(|f| f.sp != 0 && f.fp < MAX_ADDR);
    let stack = bounds.unwrap_or_else(|| {
        (
            frames.iter().map(|f| f.sp).min().unwrap_or(0),
            frames.iter().map(|f| f.fp).max().unwrap_or(0),
        )
    });
    StackGoroutine {
        id: g.goid,
        addr: g.addr,
        status: g.status,
        wait_reason: 0,
        creation_pc: g.gopc,
        frames,
        defers: Vec::new(),
        panic_values: Vec::new(),
        stack,
        stack_pointers: if g.panic != 0 {
            vec![g.panic]
        } else {
            Vec::new()
        },
        problem: None,
    }
}
