//! Runtime layout tables: the runtime struct layouts, constants and global
//! locations rootpath reads, per Go version, for executables without DWARF.
//!
//! A table is generated from a DWARF build of the toolchain by `rootpath dev
//! runtime-table` (never typed by hand): every name the loader asked the
//! DWARF for, with the types those names need to lay out their fields. The
//! text format is in `formats/runtime-tables/README.md`. DWARF, when
//! present, always wins over a table.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::input::dwarf::{DwarfIndex, Field, TypeId, TypeInfo, TypeKind};
use crate::input::goruntime::GoVersion;

const MAGIC: &str = "rootpath-runtime-table 1";

/// The tables shipped in the binary, one per tested minor version.
const EMBEDDED: &[(u32, &str)] = &[
    (
        19,
        include_str!("../../../formats/runtime-tables/go1.19.txt"),
    ),
    (
        21,
        include_str!("../../../formats/runtime-tables/go1.21.txt"),
    ),
    (
        22,
        include_str!("../../../formats/runtime-tables/go1.22.txt"),
    ),
    (
        23,
        include_str!("../../../formats/runtime-tables/go1.23.txt"),
    ),
    (
        24,
        include_str!("../../../formats/runtime-tables/go1.24.txt"),
    ),
    (
        25,
        include_str!("../../../formats/runtime-tables/go1.25.txt"),
    ),
    (
        26,
        include_str!("../../../formats/runtime-tables/go1.26.txt"),
    ),
    (
        27,
        include_str!("../../../formats/runtime-tables/go1.27.txt"),
    ),
];

/// How a runtime global is found in a binary without symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// `runtime.firstmoduledata`: the word in the data sections that holds
    /// the pclntab's address (its first field, `pcHeader`).
    ModuleData,
    /// The `ordinal`-th RIP-relative operand of `function`'s code points
    /// `delta` bytes into the global (the runtime's code is the same in every
    /// program built by one toolchain).
    CodeRef {
        function: String,
        ordinal: u32,
        delta: u64,
    },
}

#[derive(Debug, Clone)]
pub struct TableGlobal {
    pub name: String,
    pub ty: Option<TypeId>,
    pub locator: Locator,
}

/// One version's table, parsed.
#[derive(Debug, Clone)]
pub struct Table {
    pub go_version: String,
    /// Types in table order: a type's id is its position (`TypeId` in the
    /// index built from the table).
    pub types: Vec<TypeInfo>,
    pub constants: Vec<(String, i64)>,
    pub globals: Vec<TableGlobal>,
}

impl Table {
    /// The shipped table for this version's minor release, if any.
    pub fn embedded(version: GoVersion) -> Option<Result<Table>> {
        if version.major != 1 {
            return None;
        }
        EMBEDDED
            .iter()
            .find(|(minor, _)| *minor == version.minor)
            .map(|(_, text)| Table::parse(text))
    }

    /// A layout index of the table's types and constants (no globals: those
    /// need the program's memory to be located).
    pub fn index(&self) -> DwarfIndex {
        let mut index = DwarfIndex::default();
        for t in &self.types {
            index.push_type(t.clone());
        }
        // DWARF may hold a name twice (a typedef and its struct): the name
        // means the one whose layout the table carries.
        for (i, t) in self.types.iter().enumerate() {
            let opaque = t.fields.is_empty() && t.target.is_none();
            if !opaque
                && index.type_named(&t.name).is_some_and(|other| {
                    let o = index.ty(other);
                    o.fields.is_empty() && o.target.is_none()
                })
            {
                index.prefer_name(TypeId(i as u32));
            }
        }
        for (name, value) in &self.constants {
            index.push_constant(name.clone(), *value);
        }
        index
    }

    pub fn parse(text: &str) -> Result<Table> {
        let bad = |line: usize, what: &str| Error::RuntimeLayout {
            what: format!("runtime table line {}: {what}", line + 1),
        };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, l)) if l.trim() == MAGIC => {}
            _ => return Err(bad(0, "not a rootpath runtime table")),
        }
        let mut table = Table {
            go_version: String::new(),
            types: Vec::new(),
            constants: Vec::new(),
            globals: Vec::new(),
        };
        for (n, line) in lines {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.splitn(2, ' ');
            let tag = words.next().unwrap_or_default();
            let rest = words.next().unwrap_or_default();
            match tag {
                "go" => table.go_version = rest.to_string(),
                "const" => {
                    let (name, value) = rest.rsplit_once(' ').ok_or_else(|| bad(n, "const"))?;
                    let value = value.parse().map_err(|_| bad(n, "const value"))?;
                    table.constants.push((name.to_string(), value));
                }
                "type" => {
                    // type ID KIND SIZE GOKIND TARGET ELEM KEY NAME…
                    let f: Vec<&str> = rest.splitn(8, ' ').collect();
                    if f.len() < 7 {
                        return Err(bad(n, "type"));
                    }
                    let id: usize = f[0].parse().map_err(|_| bad(n, "type id"))?;
                    if id != table.types.len() {
                        return Err(bad(n, "type ids out of order"));
                    }
                    let kind = parse_kind(f[1]).ok_or_else(|| bad(n, "type kind"))?;
                    table.types.push(TypeInfo {
                        name: f.get(7).copied().unwrap_or_default().to_string(),
                        kind,
                        size: opt(f[2]),
                        target: opt(f[4]).map(|v| TypeId(v as u32)),
                        go_kind: opt(f[3]).map(|v| v as u8),
                        go_elem: opt(f[5]).map(|v| TypeId(v as u32)),
                        go_key: opt(f[6]).map(|v| TypeId(v as u32)),
                        runtime_type: None,
                        fields: Vec::new(),
                    });
                }
                "field" => {
                    // field OFFSET TYPE EMBEDDED NAME (of the last type)
                    let f: Vec<&str> = rest.splitn(4, ' ').collect();
                    let owner = table
                        .types
                        .last_mut()
                        .ok_or_else(|| bad(n, "field first"))?;
                    if f.len() < 4 {
                        return Err(bad(n, "field"));
                    }
                    owner.fields.push(Field {
                        name: f[3].to_string(),
                        offset: f[0].parse().map_err(|_| bad(n, "field offset"))?,
                        ty: opt(f[1]).map(|v| TypeId(v as u32)),
                        embedded: f[2] == "1",
                    });
                }
                "global" => {
                    // global NAME TYPE moduledata | global NAME TYPE code FUNC ORDINAL DELTA
                    let f: Vec<&str> = rest.split(' ').collect();
                    let locator = match f.get(2).copied() {
                        Some("moduledata") => Locator::ModuleData,
                        Some("code") if f.len() == 6 => Locator::CodeRef {
                            function: f[3].to_string(),
                            ordinal: f[4].parse().map_err(|_| bad(n, "ordinal"))?,
                            delta: f[5].parse().map_err(|_| bad(n, "delta"))?,
                        },
                        _ => return Err(bad(n, "global locator")),
                    };
                    table.globals.push(TableGlobal {
                        name: f[0].to_string(),
                        ty: opt(f[1]).map(|v| TypeId(v as u32)),
                        locator,
                    });
                }
                _ => return Err(bad(n, "unknown line")),
            }
        }
        let count = table.types.len();
        let dangling = table.types.iter().any(|t| {
            [t.target, t.go_elem, t.go_key]
                .into_iter()
                .chain(t.fields.iter().map(|f| f.ty))
                .flatten()
                .any(|id| id.0 as usize >= count)
        }) || table
            .globals
            .iter()
            .any(|g| g.ty.is_some_and(|id| id.0 as usize >= count));
        if dangling {
            return Err(bad(0, "a type reference points past the last type"));
        }
        Ok(table)
    }
}

fn opt(word: &str) -> Option<u64> {
    (word != "-").then(|| word.parse().ok()).flatten()
}

fn parse_kind(word: &str) -> Option<TypeKind> {
    Some(match word.split_once(':') {
        Some(("base", e)) => TypeKind::Base {
            encoding: e.parse().ok()?,
        },
        Some(("array", c)) => TypeKind::Array {
            count: c.parse().ok()?,
        },
        _ => match word {
            "ptr" => TypeKind::Pointer,
            "struct" => TypeKind::Struct,
            "typedef" => TypeKind::Typedef,
            "func" => TypeKind::Func,
            "unspecified" => TypeKind::Unspecified,
            _ => return None,
        },
    })
}

fn kind_word(kind: TypeKind) -> String {
    match kind {
        TypeKind::Base { encoding } => format!("base:{encoding}"),
        TypeKind::Array { count } => format!("array:{count}"),
        TypeKind::Pointer => "ptr".into(),
        TypeKind::Struct => "struct".into(),
        TypeKind::Typedef => "typedef".into(),
        TypeKind::Func => "func".into(),
        TypeKind::Unspecified => "unspecified".into(),
    }
}

/// Whether a looked-up name belongs in a runtime table: the runtime's own
/// types, globals and constants, and Go's predeclared types; never the
/// program's (they differ between programs of one toolchain).
pub fn is_runtime_name(name: &str) -> bool {
    let predeclared = !name.contains('.') && !name.contains('<') && !name.contains(' ');
    predeclared
        || ["runtime.", "internal/", "sync/atomic.", "unsafe."]
            .iter()
            .any(|p| name.starts_with(p))
            && !name.contains('<')
}

/// Writes the table of the names `wanted` (types, globals, constants) as
/// `index` describes them. `locate` finds each global's locator; a global it
/// cannot locate is left out with a comment saying so.
pub fn export(
    go_version: &str,
    index: &DwarfIndex,
    wanted: &[String],
    locate: impl Fn(&str, u64, u64) -> Option<Locator>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MAGIC}");
    let _ = writeln!(
        out,
        "# Generated by `rootpath dev runtime-table` from a DWARF build; do not edit."
    );
    let _ = writeln!(out, "go {go_version}");
    let wanted: Vec<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|n| is_runtime_name(n))
        .collect();
    let mut constants: BTreeMap<&str, i64> = BTreeMap::new();
    let mut roots: Vec<TypeId> = Vec::new();
    let mut globals = Vec::new();
    for name in &wanted {
        if let Some(ty) = index.type_named(name) {
            roots.push(ty);
        }
        if let Some(v) = index.constant(name) {
            constants.insert(name, v);
        }
        if let Some(g) = index.global(name) {
            if let Some(t) = g.ty {
                roots.push(t);
            }
            globals.push(g.clone());
        }
    }
    // Named structs reached only through pointers are written without their
    // fields: the loader never walks into them by name.
    let named_roots: std::collections::HashSet<TypeId> = roots.iter().copied().collect();
    let mut order: Vec<TypeId> = Vec::new();
    let mut table_id: HashMap<TypeId, usize> = HashMap::new();
    let mut opaque: std::collections::HashSet<TypeId> = Default::default();
    let mut stack: Vec<(TypeId, bool)> = roots.iter().rev().map(|&t| (t, true)).collect();
    while let Some((ty, full)) = stack.pop() {
        if table_id.contains_key(&ty) {
            if full && opaque.remove(&ty) {
                // Seen first behind a pointer, now needed whole.
                push_refs(index, ty, &named_roots, &mut stack);
            }
            continue;
        }
        table_id.insert(ty, order.len());
        order.push(ty);
        if full {
            push_refs(index, ty, &named_roots, &mut stack);
        } else {
            opaque.insert(ty);
        }
    }
    let id = |t: Option<TypeId>| -> String {
        t.and_then(|t| table_id.get(&t))
            .map_or("-".to_string(), |i| i.to_string())
    };
    let num = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    for (i, &ty) in order.iter().enumerate() {
        let t = index.ty(ty);
        let whole = !opaque.contains(&ty);
        let _ = writeln!(
            out,
            "type {i} {} {} {} {} {} {} {}",
            kind_word(t.kind),
            num(t.size.or_else(|| index.size_of(ty))),
            num(t.go_kind.map(u64::from)),
            id(t.target.filter(|_| whole)),
            id(t.go_elem.filter(|_| whole)),
            id(t.go_key.filter(|_| whole)),
            t.name
        );
        if whole {
            for f in &t.fields {
                let _ = writeln!(
                    out,
                    "field {} {} {} {}",
                    f.offset,
                    id(f.ty),
                    u8::from(f.embedded),
                    f.name
                );
            }
        }
    }
    for (name, v) in constants {
        let _ = writeln!(out, "const {name} {v}");
    }
    for g in globals {
        let size = g.ty.and_then(|t| index.size_of(t)).unwrap_or(1);
        match locate(&g.name, g.addr, size) {
            Some(Locator::ModuleData) => {
                let _ = writeln!(out, "global {} {} moduledata", g.name, id(g.ty));
            }
            Some(Locator::CodeRef {
                function,
                ordinal,
                delta,
            }) => {
                let _ = writeln!(
                    out,
                    "global {} {} code {function} {ordinal} {delta}",
                    g.name,
                    id(g.ty)
                );
            }
            None => {
                let _ = writeln!(out, "# global {}: no runtime code refers to it", g.name);
            }
        }
    }
    out
}

/// Queues what a type's layout depends on: field, element and target types
/// in full, except named structs behind pointers (opaque unless asked for).
fn push_refs(
    index: &DwarfIndex,
    ty: TypeId,
    named_roots: &std::collections::HashSet<TypeId>,
    stack: &mut Vec<(TypeId, bool)>,
) {
    let t = index.ty(ty);
    let behind_pointer = matches!(t.kind, TypeKind::Pointer);
    let mut refs: Vec<(TypeId, bool)> = t
        .fields
        .iter()
        .filter_map(|f| f.ty)
        .map(|f| (f, true))
        .collect();
    for r in [t.target, t.go_elem, t.go_key].into_iter().flatten() {
        let pointee_struct = matches!(index.ty(index.underlying(r)).kind, TypeKind::Struct);
        let full = !(behind_pointer || t.go_elem == Some(r) || t.go_key == Some(r))
            || !pointee_struct
            || named_roots.contains(&r);
        refs.push((r, full));
    }
    stack.extend(refs.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::goruntime::version::TESTED_MINORS;

    /// A version joins the matrix with its table and its fixtures (NEW_GO_VERSION.md):
    /// the list, the tables and testdata/fixtures must not drift apart.
    #[test]
    fn every_tested_version_has_a_table_and_fixtures() {
        let shipped: Vec<u32> = EMBEDDED.iter().map(|(minor, _)| *minor).collect();
        assert_eq!(shipped, TESTED_MINORS, "embedded tables vs TESTED_MINORS");
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures");
        for &minor in TESTED_MINORS {
            let table = Table::embedded(GoVersion::new(1, minor, 0));
            assert!(
                matches!(table, Some(Ok(_))),
                "go1.{minor}: no embedded table, or it does not parse"
            );
            let dir = fixtures.join(format!("go1.{minor}"));
            for file in ["core.zst", "heap.dump.zst", "truth.json"] {
                assert!(dir.join(file).exists(), "{} has no {file}", dir.display());
            }
        }
    }
}
