//! Typing a core's objects: the seeds (runtime-recorded types, typed roots,
//! interface values, allocation calls, finalizers) fed to the typer in order.

use crate::input::dwarf::DwarfIndex;
use crate::input::elf::AddressSpace;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::pclntab::FuncTable;
use crate::input::goruntime::spans::Span;
use crate::input::goruntime::typing::alloc_calls::AllocType;
use crate::input::goruntime::typing::ifaces::InterfaceWord;
use crate::input::goruntime::typing::{PieceSeed, Typer};
use crate::input::goruntime::without_dwarf::CodeIndex;
use crate::model::{HeapModel, Memory, ObjectId, Objects, RootKind, Roots, Typing};
use crate::timing::Phases;

use super::HeapContext;

/// Types the model as `typing` asks: all objects, only the chosen ones (all
/// after all when a chosen one needs evidence from elsewhere), or all while
/// other work reads the untyped model on a thread of its own.
pub(super) fn type_objects(
    model: &mut HeapModel,
    typing: Typing<'_>,
    seeds: &TypeSeeds<'_>,
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    index: &DwarfIndex,
    dwarf: &gimli::Dwarf<gimli::EndianSlice<'_, gimli::LittleEndian>>,
    funcs: &FuncTable<'_, '_>,
    context: &HeapContext<'_>,
    release: &dyn Fn(),
    phases: &mut Phases,
) {
    let mut model_partial = false;
    let (objects, edges, roots) = (&model.objects, &model.edges, &model.roots);
    let new_typer = || Typer::new(space, layouts, index, dwarf, funcs, objects).with_edges(edges);
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
            let untyped = &*model;
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
}

/// What object typing starts from, beyond the heap itself.
pub(super) struct TypeSeeds<'l> {
    pub(super) spans: &'l [Span],
    pub(super) span_ids: &'l [std::ops::Range<u32>],
    pub(super) stack_seeds: &'l [PieceSeed],
    /// (object, *ptrtype) pairs from finalizer records.
    pub(super) finalized_types: &'l [(u64, u64)],
    /// Interface values in the heap, globals and stacks.
    pub(super) interfaces: &'l [InterfaceWord],
    /// Sampled objects' types from their allocation calls.
    pub(super) allocated: &'l [AllocType],
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
