//! What a binary without DWARF or symbols still tells: the runtime's layout
//! from the embedded table of its Go version, `runtime.firstmoduledata`
//! from its pointer to the pclntab, the other runtime globals from the
//! runtime's own code, and the program's types from the runtime type
//! descriptors. The result is an index of the same shape DWARF gives, so
//! everything downstream reads it the same way.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::input::dwarf::{DwarfIndex, Global};
use crate::input::elf::code_refs::CodeRefs;
use crate::input::elf::{AddressSpace, Executable};
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::pclntab::FuncTable;
use crate::input::goruntime::rtypes::{DescriptorLayout, Synthesizer};
use crate::input::goruntime::tables::{Locator, Table};
use crate::model::Memory;

/// The program's code, decoded once: which functions refer to which
/// addresses (to name globals by their users).
pub struct CodeIndex {
    pub refs: CodeRefs,
    pub names: Vec<String>,
}

impl CodeIndex {
    pub fn build(space: &AddressSpace<'_>, funcs: &FuncTable<'_, '_>) -> CodeIndex {
        let ranges = funcs.ranges();
        let refs = CodeRefs::build(&ranges, |addr, len| space.read(addr, len));
        let names = (0..ranges.len())
            .map(|i| funcs.name_of_index(i).unwrap_or_default())
            .collect();
        CodeIndex { refs, names }
    }

    /// Names of the functions whose code refers to `[lo, hi)`, program
    /// code first (runtime users say little about what a global is).
    pub fn users(&self, lo: u64, hi: u64) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .refs
            .referrers(lo, hi)
            .into_iter()
            .filter_map(|f| self.names.get(f as usize).map(String::as_str))
            .collect();
        names.sort_by_key(|n| (is_runtime_function(n), *n));
        names.dedup();
        names
    }

    /// How a table finds `addr` (a runtime global of `size` bytes) in a
    /// program without symbols: the RIP-relative reference into it in the
    /// smallest runtime function that has one.
    pub fn locator_for(&self, addr: u64, size: u64) -> Option<Locator> {
        self.refs
            .referrers(addr, addr + size.max(1))
            .into_iter()
            .filter(|&f| {
                self.names
                    .get(f as usize)
                    .is_some_and(|n| is_runtime_function(n))
            })
            .filter_map(|f| {
                let targets = self.refs.targets_of(f);
                let ordinal = targets
                    .iter()
                    .position(|&t| addr <= t && t < addr + size.max(1))?;
                Some((targets.len(), f, ordinal, targets[ordinal] - addr))
            })
            .min_by_key(|&(n, f, _, _)| (n, self.names[f as usize].clone()))
            .map(|(_, f, ordinal, delta)| Locator::CodeRef {
                function: self.names[f as usize].clone(),
                ordinal: ordinal as u32,
                delta,
            })
    }
}

fn is_runtime_function(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/")
}

/// `runtime.firstmoduledata`: the data word holding the pclntab's address
/// (`moduledata.pcHeader`), followed by `funcnametab`, a slice into it.
pub fn find_moduledata(space: &AddressSpace<'_>, exe: &Executable, bias: u64) -> Option<u64> {
    // A position-independent build keeps it among the relocated read-only data.
    let pclntab = exe
        .section(".gopclntab")
        .or_else(|| exe.section(".data.rel.ro.gopclntab"))?;
    let (lo, hi) = (pclntab.addr + bias, pclntab.addr + bias + pclntab.size);
    // Go 1.27 gives the module data a section of its own.
    for name in [".go.module", ".noptrdata", ".data"] {
        let Some(section) = exe.section(name) else {
            continue;
        };
        let start = section.addr + bias;
        let Some(bytes) = space.read(start, section.size as usize) else {
            continue;
        };
        for (i, word) in bytes.chunks_exact(8).enumerate() {
            if u64::from_le_bytes(word.try_into().unwrap_or_default()) != lo {
                continue;
            }
            let at = start + i as u64 * 8;
            let names = space.read_u64(at + 8).unwrap_or(0);
            if lo <= names && names < hi {
                return Some(at);
            }
        }
    }
    None
}

/// The index of a program without DWARF: the version's runtime table, its
/// globals located in this program, and every type descriptor the program
/// refers to. Also returns the decoded code, for naming globals.
pub fn index_without_dwarf(
    space: &AddressSpace<'_>,
    exe: &Executable,
    bias: u64,
    version: GoVersion,
) -> Result<(DwarfIndex, CodeIndex)> {
    let table = Table::embedded(version).ok_or_else(|| Error::NoDebugInfo {
        exe: exe.path().to_path_buf(),
        detail: format!("and rootpath has no runtime layout table for {version}"),
    })??;
    let mut index = table.index();
    let md = find_moduledata(space, exe, bias).ok_or_else(|| Error::NoDebugInfo {
        exe: exe.path().to_path_buf(),
        detail: "and runtime.firstmoduledata (the word holding the pclntab's address) is not in its data"
            .to_string(),
    })?;
    let md_type = table
        .globals
        .iter()
        .find(|g| g.locator == Locator::ModuleData)
        .and_then(|g| g.ty);
    index.push_globals([Global {
        name: "runtime.firstmoduledata".into(),
        addr: md,
        ty: md_type,
    }]);
    let (code, globals, descriptor_layout, bounds) = {
        let layouts = Layouts::new(&index);
        let funcs = FuncTable::new(space, &layouts)?;
        let code = CodeIndex::build(space, &funcs);
        let by_name: HashMap<&str, u32> = code
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i as u32))
            .collect();
        let mut globals = Vec::new();
        for g in &table.globals {
            let Locator::CodeRef {
                function,
                ordinal,
                delta,
            } = &g.locator
            else {
                continue;
            };
            let addr = by_name
                .get(function.as_str())
                .and_then(|&f| code.refs.targets_of(f).get(*ordinal as usize))
                .map(|&t| t.wrapping_sub(*delta));
            if let Some(addr) = addr {
                globals.push(Global {
                    name: g.name.clone(),
                    addr,
                    ty: g.ty,
                });
            }
        }
        let md_field = |name: &str| {
            layouts
                .field("runtime.moduledata", name)
                .map(|f| (f.offset, f.size))
        };
        let read = |f: Option<(u64, u64)>, extra: u64| {
            f.and_then(|(off, size)| space.read_uint(md + off + extra, size.min(8)))
        };
        let types = read(md_field("types"), 0);
        let etypes = read(md_field("etypes"), 0);
        let typelinks = read(md_field("typelinks"), 0).zip(read(md_field("typelinks"), 8));
        let itablinks = read(md_field("itablinks"), 0).zip(read(md_field("itablinks"), 8));
        (
            code,
            globals,
            DescriptorLayout::new(&layouts),
            (types, etypes, typelinks, itablinks),
        )
    };
    index.push_globals(globals);
    if let (Some(layout), (Some(types), Some(etypes), typelinks, itablinks)) =
        (descriptor_layout, bounds)
    {
        let itab_type = layout.itab_type;
        let mut synth = Synthesizer::new(space, layout, types, etypes);
        let mut seeds: Vec<u64> = Vec::new();
        if let Some((ptr, len)) = typelinks {
            if let Some(bytes) = space.read(ptr, (len.min(1 << 22) * 4) as usize) {
                seeds.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|c| types + u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
                );
            }
        }
        if let Some((ptr, len)) = itablinks {
            for i in 0..len.min(1 << 22) {
                if let Some(t) = space
                    .read_u64(ptr + i * 8)
                    .and_then(|itab| space.read_u64(itab + itab_type))
                {
                    seeds.push(t);
                }
            }
        }
        // Code takes a type's address to allocate it (`new(T)` passes the
        // descriptor to mallocgc): every type the program can allocate is
        // referred to from code.
        let lo = code.refs.referrers(types, etypes);
        for f in lo {
            seeds.extend(
                code.refs
                    .targets_of(f)
                    .iter()
                    .filter(|&&t| types <= t && t < etypes),
            );
        }
        seeds.sort_unstable();
        seeds.dedup();
        for s in seeds {
            synth.type_of(&mut index, s);
        }
    }
    Ok((index, code))
}
