//! Core + executable → heap model: DWARF layouts, spans, objects, and the
//! pointer edges between them (spans are independent, so both passes run in
//! parallel).
//!
//! `load_heap` reads top to bottom: spans, then `objects`, `edges`, `roots`
//! (with goroutines and sites), then `types`, as the caller's chooser asks.

mod edges;
mod objects;
mod roots;
mod types;

use crate::error::{Error, Result};
use crate::input::core_dump::{BuildMatch, CoreDump};
use crate::input::dwarf::{DwarfIndex, DwarfSections};
use crate::input::elf::{AddressSpace, Executable};
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::pclntab::FuncTable;
use crate::input::goruntime::rtypes::{DESCRIPTOR_TYPES, DescriptorLayout};
use crate::input::goruntime::spans::read_spans;
use crate::input::goruntime::stacks::ThreadRegs;
use crate::input::goruntime::tables::Locator;
use crate::input::goruntime::typing::ReleaseBytes;
use crate::input::goruntime::typing::ifaces::InterfaceTypes;
use crate::input::goruntime::without_dwarf::{CodeIndex, index_without_dwarf};
use crate::model::{HeapModel, NameSource, TypeChooser, Typing};
use crate::timing::Phases;

use edges::read_edges;
use objects::place_objects;
use roots::{RootsFound, find_roots, itab_range};
use types::{TypeSeeds, type_objects};

/// What the heap reader needs to know about the program.
pub(super) struct HeapContext<'a> {
    pub(super) exe: &'a Executable,
    pub(super) bias: u64,
    pub(super) version: GoVersion,
    /// The decoded code of a program without symbols, to name globals.
    pub(super) code: Option<&'a CodeIndex>,
    /// Whether the executable's symbol table may name globals.
    pub(super) symbols: bool,
    /// Registers of the core's threads (running goroutines' stacks).
    pub(super) threads: &'a [ThreadRegs],
    /// Drops the core's resident pages (they need not count while an
    /// analysis runs inside the load; later reads fault them back).
    pub(super) release_pages: Option<&'a dyn Fn()>,
    /// Drops the pages under a slice of the core's memory (a no-op for
    /// memory from elsewhere).
    pub(super) release_slice: Option<ReleaseBytes<'a>>,
}

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
    if let BuildMatch::Differs { address, detail } = &dump.build_match {
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

/// The heap model of a core, step by step.
fn load_heap(
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    index: &DwarfIndex,
    dwarf: &gimli::Dwarf<gimli::EndianSlice<'_, gimli::LittleEndian>>,
    context: &HeapContext<'_>,
    phases: &mut Phases,
    choose: Option<TypeChooser<'_>>,
) -> Result<HeapModel> {
    let spans = read_spans(space, layouts, context.version)?;
    let mut warnings = spans.warnings.clone();

    let (objects, span_ids) = place_objects(space, &spans, &mut warnings);
    phases.done(&format!(
        "objects (index regions, pages: {:?})",
        objects.index_shape()
    ));

    let iface_types = layouts
        .index
        .global("runtime.firstmoduledata")
        .and_then(|md| InterfaceTypes::new(space, layouts, md.addr, itab_range(context)));
    let (edges, mut interfaces) = read_edges(
        space,
        layouts,
        context.version,
        &spans,
        &span_ids,
        &objects,
        iface_types.as_ref(),
        &mut warnings,
    )?;
    phases.done("edges");

    let RootsFound {
        roots,
        goroutines,
        sites,
        funcs,
        stack_seeds,
        finalized_types,
        allocated,
    } = find_roots(
        space,
        layouts,
        index,
        dwarf,
        context,
        &spans,
        &objects,
        &edges,
        iface_types.as_ref(),
        &mut interfaces,
        &mut warnings,
    )?;
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
    let seeds = TypeSeeds {
        spans: &spans.spans,
        span_ids: &span_ids,
        stack_seeds: &stack_seeds,
        finalized_types: &finalized_types,
        interfaces: &interfaces,
        allocated: &allocated,
    };
    type_objects(
        &mut model, typing, &seeds, space, layouts, index, dwarf, &funcs, context, &release, phases,
    );
    Ok(model)
}
