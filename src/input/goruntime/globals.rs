//! Global roots: the data and bss sections of every module, scanned with the
//! module's own pointer masks (`moduledata.gcdatamask`/`gcbssmask`, as the
//! GC's markrootBlock does), named by the DWARF variable that owns each word.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::input::dwarf::DwarfIndex;
use crate::input::elf::AddressSpace;
use crate::input::elf::Executable;
use crate::input::goruntime::layout::Layouts;
use crate::model::Memory;
use crate::model::{ObjectId, Objects, Root, RootKind};

const PTR: u64 = 8;
/// Bound on the module list, against a corrupt `next` chain.
const MAX_MODULES: usize = 1024;

pub fn global_roots(
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    index: &DwarfIndex,
    exe: Option<&Executable>,
    bias: u64,
    objects: &Objects,
    warnings: &mut Vec<String>,
    // Sees every pointer word (address, value), in address order.
    mut each_word: impl FnMut(u64, u64),
) -> Result<Vec<Root>> {
    let md = "runtime.moduledata";
    let f = |name: &str| layouts.require_field(md, name);
    let (data, edata, bss, ebss) = (f("data")?, f("edata")?, f("bss")?, f("ebss")?);
    let (datamask, bssmask, next) = (f("gcdatamask")?, f("gcbssmask")?, f("next")?);
    let mask_n = layouts.require_field("runtime.bitvector", "n")?;
    let mask_bytes = layouts.require_field("runtime.bitvector", "bytedata")?;

    let mut named = GlobalRootSet::new(index, exe, bias);
    let mut sections = Vec::new();
    let mut module = layouts.require_global("runtime.firstmoduledata")?;
    for _ in 0..MAX_MODULES {
        if module == 0 {
            break;
        }
        let rd = |loc: crate::input::goruntime::layout::FieldLoc| {
            space.read_uint(module + loc.offset, loc.size)
        };
        for (start, end) in [(data, edata), (bss, ebss)] {
            if let (Some(start), Some(end)) = (rd(start), rd(end)) {
                sections.push((start, end));
            }
        }
        module = rd(next).unwrap_or(0);
    }
    named.name_static_pointees(&sections, &|a| space.read_u64(a));
    let mut module = layouts.require_global("runtime.firstmoduledata")?;
    for _ in 0..MAX_MODULES {
        if module == 0 {
            break;
        }
        let rd = |loc: crate::input::goruntime::layout::FieldLoc| {
            space.read_uint(module + loc.offset, loc.size)
        };
        for (section, start, end, mask) in
            [("data", data, edata, datamask), ("bss", bss, ebss, bssmask)]
        {
            let (Some(start), Some(end)) = (rd(start), rd(end)) else {
                warnings.push(format!(
                    "module at {module:#x}: {section} bounds unreadable"
                ));
                continue;
            };
            let nbits = space.read_uint(module + mask.offset + mask_n.offset, mask_n.size);
            let bytes = space.read_u64(module + mask.offset + mask_bytes.offset);
            let (Some(nbits), Some(bytes)) = (nbits, bytes) else {
                warnings.push(format!(
                    "module at {module:#x}: {section} pointer mask unreadable"
                ));
                continue;
            };
            let words = ((end.saturating_sub(start)) / PTR).min(nbits);
            let Some(bits) = space.read(bytes, words.div_ceil(8) as usize) else {
                warnings.push(format!(
                    "module at {module:#x}: {section} pointer mask is not in the core"
                ));
                continue;
            };
            for w in 0..words {
                if (bits[(w / 8) as usize] >> (w % 8)) & 1 == 0 {
                    continue;
                }
                let at = start + w * PTR;
                let Some(value) = space.read_u64(at) else {
                    continue;
                };
                each_word(at, value);
                let Some(target) = objects.find(value) else {
                    continue;
                };
                named.add(at, section, at - start, target);
            }
        }
        module = rd(next).unwrap_or(0);
    }
    Ok(named.finish())
}

/// Global roots being collected: one per DWARF variable (or, without one,
/// per symbol, or per pointer word labelled by its place in the section).
pub(crate) struct GlobalRootSet<'a> {
    index: &'a DwarfIndex,
    exe: Option<&'a Executable>,
    /// Load bias of a position-independent executable (symbols are unbiased).
    bias: u64,
    named: BTreeMap<String, Root>,
    /// Static values named through the pointers to them, by start address.
    pointees: Vec<StaticPointee>,
}

/// A value in data or bss that no DWARF variable covers, named after the
/// named pointer global that points at it: `var registry = &Registry{…}`
/// makes the compiler lay the Registry out statically, under no name.
struct StaticPointee {
    start: u64,
    end: u64,
    /// The pointer's name: paths read `main.registry.byName`.
    name: String,
    /// The pointer's pointee type.
    type_name: String,
}

impl<'a> GlobalRootSet<'a> {
    pub(crate) fn new(index: &'a DwarfIndex, exe: Option<&'a Executable>, bias: u64) -> Self {
        GlobalRootSet {
            index,
            exe,
            bias,
            named: BTreeMap::new(),
            pointees: Vec::new(),
        }
    }

    /// Names the static values that named pointer globals point at (in one
    /// of `sections`, outside every DWARF variable) after those pointers;
    /// `read_word` reads the program's memory.
    pub(crate) fn name_static_pointees(
        &mut self,
        sections: &[(u64, u64)],
        read_word: &dyn Fn(u64) -> Option<u64>,
    ) {
        let index = self.index;
        let in_sections = |a: u64| sections.iter().any(|&(s, e)| s <= a && a < e);
        for g in &index.globals {
            let Some(ptr) = g.ty.map(|t| index.underlying(t)) else {
                continue;
            };
            let ptr = index.ty(ptr);
            let (crate::input::dwarf::TypeKind::Pointer, Some(pointee)) = (&ptr.kind, ptr.target)
            else {
                continue;
            };
            let Some(size) = index.size_of(pointee).filter(|&s| s > 0) else {
                continue;
            };
            let Some(start) = read_word(g.addr).filter(|&v| in_sections(v)) else {
                continue;
            };
            if index.global_at(start).is_some() {
                continue; // a named variable's address (`&x`)
            }
            self.pointees.push(StaticPointee {
                start,
                end: start.saturating_add(size),
                name: g.name.clone(),
                type_name: index.ty(pointee).name.clone(),
            });
        }
        // Several pointers to one value: the first by name names it.
        self.pointees
            .sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.name.cmp(&b.name)));
        self.pointees.dedup_by_key(|p| p.start);
    }

    fn pointee_at(&self, at: u64) -> Option<&StaticPointee> {
        let i = self.pointees.partition_point(|p| p.start <= at);
        self.pointees.get(i.checked_sub(1)?).filter(|p| at < p.end)
    }

    /// The pointer word at `at` (`offset` into `section`) points at `target`.
    pub(crate) fn add(&mut self, at: u64, section: &str, offset: u64, target: ObjectId) {
        let index = self.index;
        let (name, base, ty) = match index.global_at(at) {
            Some(g) => (
                g.name.clone(),
                g.addr,
                g.ty.map(|t| index.ty(t).name.clone()),
            ),
            None => match self.pointee_at(at) {
                Some(p) => (p.name.clone(), p.start, Some(p.type_name.clone())),
                None => match self
                    .exe
                    .and_then(|e| e.symbol_at(at.wrapping_sub(self.bias)))
                    .filter(|s| s.kind == 1 && s.size > 0)
                {
                    Some(s) => (s.name.clone(), s.addr.wrapping_add(self.bias), None),
                    // A pointer word nothing claims: label it by place.
                    None => (format!("{section}+{offset:#x}"), at, None),
                },
            },
        };
        self.named
            .entry(name.clone())
            .or_insert_with(|| {
                let mut root = Root::new(RootKind::Global, name, Some(base), Vec::new());
                root.type_name = ty;
                root
            })
            .targets
            .push((target, at.wrapping_sub(base)));
    }

    pub(crate) fn finish(self) -> Vec<Root> {
        self.named.into_values().collect()
    }
}
