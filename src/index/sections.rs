//! What the index's sections hold: the heap model (objects, edges, types,
//! roots, goroutines, sites) and its dominator tree, written and read back.

use std::borrow::Cow;

use super::codec::{Dec, DecResult, Enc, bytes_to_u32s, bytes_to_u64s};
use super::format::{Problem, Reader, Writer};
use crate::analysis::dominators::{Dominators, StoredDominators};
use crate::model::{
    AllocBucket, Edges, FrameRef, GcStamp, Goroutine, HeapModel, KeyKind, MapSlots, NameSource,
    ObjectId, Objects, Root, RootKind, Roots, Sites, SourceFrame, StackRootKind, StoredEdges,
    StoredObjects, TypeLayout, TypeNames, TypeRole, UNKNOWN_TYPE,
};

/// Section ids (formats/index.md lists them).
pub mod id {
    pub const IDENTITY: u32 = 1;
    pub const META: u32 = 2;
    pub const OBJ_LOW: u32 = 3;
    pub const OBJ_HIGH: u32 = 4;
    pub const OBJ_CLASS: u32 = 5;
    pub const SIZE_TABLE: u32 = 6;
    pub const ODD_SIZES: u32 = 7;
    pub const PAGE_REGIONS: u32 = 8;
    pub const PAGE_FIRST: u32 = 9;
    pub const EDGE_STARTS: u32 = 10;
    pub const EDGE_TARGETS: u32 = 11;
    pub const EDGE_OFFSETS: u32 = 12;
    pub const EDGE_AT_START: u32 = 13;
    pub const OBJECT_TYPES: u32 = 14;
    pub const TYPES: u32 = 15;
    pub const ROOTS: u32 = 16;
    pub const GOROUTINES: u32 = 17;
    pub const BUCKETS: u32 = 18;
    pub const OBJECT_BUCKET: u32 = 19;
    pub const DOM_IDOM: u32 = 20;
    pub const DOM_LEAVES: u32 = 21;
    pub const DOM_LEAF_SIZES: u32 = 22;
    pub const DOM_BIG_LEAVES: u32 = 23;
    pub const DOM_PACKED: u32 = 24;
    pub const DOM_WIDE: u32 = 25;
}

/// Writes every section of `model` and `doms`.
pub fn write(w: &mut Writer, model: &HeapModel, doms: &Dominators) -> std::io::Result<()> {
    w.section(id::META, &meta(model).buf, true)?;
    let o = model.objects.stored();
    w.u32s(id::OBJ_LOW, o.low.iter().copied())?;
    w.u32s(id::OBJ_HIGH, o.high.iter().flat_map(|&(a, b)| [a, b]))?;
    w.section(id::OBJ_CLASS, &o.class, false)?;
    w.u64s(id::SIZE_TABLE, o.sizes.iter().copied())?;
    w.u64s(
        id::ODD_SIZES,
        o.odd_sizes.iter().flat_map(|&(i, s)| [u64::from(i), s]),
    )?;
    w.u64s(
        id::PAGE_REGIONS,
        o.regions.iter().flat_map(|&(a, b, c)| [a, b, c]),
    )?;
    w.u32s(id::PAGE_FIRST, o.first.iter().copied())?;
    let (starts, targets, offsets, at_start) = model.edges.stored();
    w.u32s(id::EDGE_STARTS, starts.iter().copied())?;
    w.u32s(id::EDGE_TARGETS, targets.iter().map(|t| t.0))?;
    w.u32s(id::EDGE_OFFSETS, offsets.iter().copied())?;
    w.u64s(id::EDGE_AT_START, at_start.iter().copied())?;
    w.u32s(id::OBJECT_TYPES, model.object_types.iter().copied())?;
    w.section(id::TYPES, &types(&model.types).buf, true)?;
    w.section(id::ROOTS, &roots(&model.roots).buf, true)?;
    w.section(id::GOROUTINES, &goroutines(&model.goroutines).buf, true)?;
    w.section(id::BUCKETS, &buckets(&model.sites.buckets).buf, true)?;
    let ob = &model.sites.object_bucket;
    w.u32s(id::OBJECT_BUCKET, ob.iter().flat_map(|&(o, b)| [o.0, b]))?;
    let d = doms.stored();
    w.u32s(id::DOM_IDOM, d.idom.into_iter())?;
    w.u64s(id::DOM_LEAVES, d.leaves.into_iter())?;
    w.u32s(id::DOM_LEAF_SIZES, d.leaf_sizes.into_iter())?;
    let big = d.big_leaves.into_iter();
    w.u64s(id::DOM_BIG_LEAVES, big.flat_map(|(v, s)| [u64::from(v), s]))?;
    w.u64s(id::DOM_PACKED, d.packed_sizes.into_iter())?;
    let wide = d.wide_sizes.into_iter();
    w.u64s(
        id::DOM_WIDE,
        wide.flat_map(|(p, b, o)| [u64::from(p), b, o]),
    )?;
    Ok(())
}

/// The model, and its dominators when asked for, from a checked index
/// file; every value that indexes something is checked against what it
/// indexes.
pub fn read(r: &Reader, with_dominators: bool) -> Result<(HeapModel, Option<Dominators>), Problem> {
    let damaged = Problem::Damaged;
    let u32s = |id| {
        r.section(id)
            .and_then(|b| bytes_to_u32s(b).map_err(damaged))
    };
    let u64s = |id| {
        r.section(id)
            .and_then(|b| bytes_to_u64s(b).map_err(damaged))
    };
    let narrow = |v: u64| u32::try_from(v).map_err(|_| Problem::Damaged("id over 32 bits".into()));
    let objects = Objects::from_stored(StoredObjects {
        low: Cow::Owned(u32s(id::OBJ_LOW)?),
        high: Cow::Owned(pairs(&u32s(id::OBJ_HIGH)?)?),
        class: Cow::Borrowed(r.section(id::OBJ_CLASS)?),
        sizes: Cow::Owned(u64s(id::SIZE_TABLE)?),
        odd_sizes: Cow::Owned(
            pairs(&u64s(id::ODD_SIZES)?)?
                .into_iter()
                .map(|(i, s)| Ok((narrow(i)?, s)))
                .collect::<Result<Vec<_>, Problem>>()?,
        ),
        regions: Cow::Owned(triples(&u64s(id::PAGE_REGIONS)?)?),
        first: Cow::Owned(u32s(id::PAGE_FIRST)?),
    })
    .map_err(damaged)?;
    let n = objects.len();
    let edges = Edges::from_stored(
        StoredEdges {
            starts: u32s(id::EDGE_STARTS)?,
            targets: u32s(id::EDGE_TARGETS)?,
            offsets: u32s(id::EDGE_OFFSETS)?,
            at_start: u64s(id::EDGE_AT_START)?,
        },
        n,
    )
    .map_err(damaged)?;
    let mut model = HeapModel::new(objects, edges, Roots::default(), Vec::new());
    decode(r, id::META, |d| read_meta(d, &mut model))?;
    model.types = decode(r, id::TYPES, read_types)?;
    model.roots = decode(r, id::ROOTS, read_roots)?;
    model.goroutines = decode(r, id::GOROUTINES, |d| d.vec(8, read_goroutine))?;
    model.sites.buckets = decode(r, id::BUCKETS, |d| d.vec(8, read_bucket))?;
    let object_types = u32s(id::OBJECT_TYPES)?;
    let types = model.types.len();
    if object_types.len() != n
        || object_types
            .iter()
            .any(|&t| t != UNKNOWN_TYPE && t as usize >= types)
    {
        return Err(Problem::Damaged("object types out of range".into()));
    }
    model.object_types = object_types;
    let ob = pairs(&u32s(id::OBJECT_BUCKET)?)?;
    let buckets = model.sites.buckets.len();
    if ob
        .iter()
        .any(|&(o, b)| o as usize >= n || b as usize >= buckets)
    {
        return Err(Problem::Damaged("sampled object out of range".into()));
    }
    model.sites.object_bucket = ob.into_iter().map(|(o, b)| (ObjectId(o), b)).collect();
    let bad_root = model.roots.iter().any(|r| {
        r.targets.iter().any(|&(t, _)| t.index() >= n)
            || r.type_index.is_some_and(|t| t as usize >= types)
    });
    if bad_root {
        return Err(Problem::Damaged("root names no object or type".into()));
    }
    if !with_dominators {
        return Ok((model, None));
    }
    let nodes = crate::analysis::retention::node_count(&model);
    let doms = Dominators::from_stored(
        StoredDominators {
            idom: u32s(id::DOM_IDOM)?,
            leaves: u64s(id::DOM_LEAVES)?,
            leaf_sizes: u32s(id::DOM_LEAF_SIZES)?,
            big_leaves: pairs(&u64s(id::DOM_BIG_LEAVES)?)?
                .into_iter()
                .map(|(v, s)| Ok((narrow(v)?, s)))
                .collect::<Result<_, Problem>>()?,
            packed_sizes: u64s(id::DOM_PACKED)?,
            wide_sizes: triples(&u64s(id::DOM_WIDE)?)?
                .into_iter()
                .map(|(p, b, o)| Ok((narrow(p)?, b, o)))
                .collect::<Result<_, Problem>>()?,
        },
        nodes,
    )
    .map_err(damaged)?;
    Ok((model, Some(doms)))
}

/// Decodes a whole structured section.
fn decode<T>(r: &Reader, id: u32, f: impl FnOnce(&mut Dec) -> DecResult<T>) -> Result<T, Problem> {
    let mut d = Dec::new(r.section(id)?);
    let value = f(&mut d).map_err(Problem::Damaged)?;
    d.finish().map_err(Problem::Damaged)?;
    Ok(value)
}

fn pairs<T: Copy>(v: &[T]) -> Result<Vec<(T, T)>, Problem> {
    if v.len() % 2 != 0 {
        return Err(Problem::Damaged("pair array of odd length".into()));
    }
    Ok(v.chunks_exact(2).map(|c| (c[0], c[1])).collect())
}

fn triples<T: Copy>(v: &[T]) -> Result<Vec<(T, T, T)>, Problem> {
    if v.len() % 3 != 0 {
        return Err(Problem::Damaged("triple array of wrong length".into()));
    }
    Ok(v.chunks_exact(3).map(|c| (c[0], c[1], c[2])).collect())
}

fn meta(model: &HeapModel) -> Enc {
    let mut e = Enc::default();
    e.len(model.warnings.len());
    for w in &model.warnings {
        e.str(w);
    }
    match &model.names_from {
        NameSource::Dwarf => e.u8(0),
        NameSource::DebugFile { path } => {
            e.u8(1);
            e.str(path);
        }
        NameSource::RuntimeRecords => e.u8(2),
        NameSource::HeapDump => e.u8(3),
    }
    e.bool(model.types_partial);
    e.opt_str(model.unseen_holders);
    let s = &model.sites;
    e.opt_u64(s.rate);
    e.bool(s.inlined_frames);
    e.opt(s.last_gc, |e, g| {
        e.u64(g.num_gc);
        e.u64(g.unix_nanos);
    });
    e
}

fn read_meta(d: &mut Dec, model: &mut HeapModel) -> DecResult<()> {
    model.warnings = d.vec(8, Dec::str)?;
    model.names_from = match d.u8()? {
        0 => NameSource::Dwarf,
        1 => NameSource::DebugFile { path: d.str()? },
        2 => NameSource::RuntimeRecords,
        3 => NameSource::HeapDump,
        k => return Err(format!("name source {k}")),
    };
    model.types_partial = d.bool()?;
    // The loaders' notes are static text; one leaked copy per process.
    model.unseen_holders = d.opt_str()?.map(|s| &*Box::leak(s.into_boxed_str()));
    model.sites.rate = d.opt_u64()?;
    model.sites.inlined_frames = d.bool()?;
    model.sites.last_gc = d.opt(|d| {
        Ok(GcStamp {
            num_gc: d.u64()?,
            unix_nanos: d.u64()?,
        })
    })?;
    Ok(())
}

fn types(t: &TypeNames) -> Enc {
    let mut e = Enc::default();
    e.len(t.len());
    for (name, layout) in t.entries() {
        e.str(name);
        e.opt(layout, |e, l| {
            e.u64(l.elem_size);
            e.u64(l.count);
            e.len(l.fields.len());
            for (off, path) in &l.fields {
                e.u32(*off);
                e.str(path);
            }
            match &l.role {
                TypeRole::Plain => e.u8(0),
                TypeRole::MapHeader => e.u8(1),
                TypeRole::MapEntries(m) => {
                    e.u8(2);
                    for v in [m.entries, m.key_offset, m.key_stride, m.value_offset] {
                        e.u64(v);
                    }
                    e.u64(m.value_stride);
                    e.u64(m.value_size);
                    let (k, w) = match m.key {
                        KeyKind::String => (0, 0),
                        KeyKind::Int(w) => (1, w),
                        KeyKind::Uint(w) => (2, w),
                        KeyKind::Bool => (3, 0),
                        KeyKind::Pointer => (4, 0),
                        KeyKind::Other => (5, 0),
                    };
                    e.u8(k);
                    e.u8(w);
                }
                TypeRole::MapInternal => e.u8(3),
                TypeRole::Chan => e.u8(4),
                TypeRole::Closure => e.u8(5),
            }
        });
    }
    e
}

fn read_types(d: &mut Dec) -> DecResult<TypeNames> {
    let entries = d.vec(9, |d| {
        let name = d.str()?;
        let layout = d.opt(|d| {
            let elem_size = d.u64()?;
            let count = d.u64()?;
            let fields = d.vec(12, |d| Ok((d.u32()?, d.str()?.into_boxed_str())))?;
            let role = match d.u8()? {
                0 => TypeRole::Plain,
                1 => TypeRole::MapHeader,
                2 => {
                    let mut v = [0u64; 6];
                    for x in &mut v {
                        *x = d.u64()?;
                    }
                    let (k, w) = (d.u8()?, d.u8()?);
                    let key = match k {
                        0 => KeyKind::String,
                        1 => KeyKind::Int(w),
                        2 => KeyKind::Uint(w),
                        3 => KeyKind::Bool,
                        4 => KeyKind::Pointer,
                        5 => KeyKind::Other,
                        k => return Err(format!("map key kind {k}")),
                    };
                    TypeRole::MapEntries(MapSlots {
                        entries: v[0],
                        key_offset: v[1],
                        key_stride: v[2],
                        value_offset: v[3],
                        value_stride: v[4],
                        value_size: v[5],
                        key,
                    })
                }
                3 => TypeRole::MapInternal,
                4 => TypeRole::Chan,
                5 => TypeRole::Closure,
                k => return Err(format!("type role {k}")),
            };
            Ok(TypeLayout {
                elem_size,
                count,
                fields,
                role,
            })
        })?;
        Ok((name, layout))
    })?;
    TypeNames::from_entries(entries).ok_or_else(|| "a type name listed twice".into())
}

const ROOT_KINDS: [RootKind; 6] = [
    RootKind::Global,
    RootKind::Stack,
    RootKind::Finalizer,
    RootKind::Cleanup,
    RootKind::QueuedFinalizer,
    RootKind::Other,
];
const STACK_KINDS: [StackRootKind; 3] = [
    StackRootKind::Slot,
    StackRootKind::Defer,
    StackRootKind::Panic,
];

fn roots(roots: &Roots) -> Enc {
    let mut e = Enc::default();
    e.len(roots.len());
    for r in roots.iter() {
        e.u8(ROOT_KINDS.iter().position(|&k| k == r.kind).unwrap_or(5) as u8);
        e.str(&r.name);
        e.opt_u64(r.addr);
        e.len(r.targets.len());
        for &(t, off) in &r.targets {
            e.u32(t.0);
            e.u64(off);
        }
        e.opt(r.frame.as_ref(), |e, f| {
            e.u64(f.goroutine);
            e.str(&f.function);
            e.opt_str(f.variable.as_deref());
            e.opt_str(f.file.as_deref());
            e.opt_u32(f.line);
            e.u8(STACK_KINDS.iter().position(|&k| k == f.what).unwrap_or(0) as u8);
        });
        e.opt_str(r.type_name.as_deref());
        e.opt_u32(r.type_index);
    }
    e
}

fn read_roots(d: &mut Dec) -> DecResult<Roots> {
    let roots = d.vec(20, |d| {
        let kind = *ROOT_KINDS.get(usize::from(d.u8()?)).ok_or("root kind")?;
        let name = d.str()?;
        let addr = d.opt_u64()?;
        let targets = d.vec(12, |d| Ok((ObjectId(d.u32()?), d.u64()?)))?;
        let frame = d.opt(|d| {
            Ok(FrameRef {
                goroutine: d.u64()?,
                function: d.str()?,
                variable: d.opt_str()?,
                file: d.opt_str()?,
                line: d.opt_u32()?,
                what: *STACK_KINDS
                    .get(usize::from(d.u8()?))
                    .ok_or("stack root kind")?,
            })
        })?;
        Ok(Root {
            frame,
            type_name: d.opt_str()?,
            type_index: d.opt_u32()?,
            ..Root::new(kind, name, addr, targets)
        })
    })?;
    Ok(Roots { roots })
}

fn frame(e: &mut Enc, f: &SourceFrame) {
    e.str(&f.function);
    e.opt_str(f.file.as_deref());
    e.opt_u32(f.line);
}

fn read_frame(d: &mut Dec) -> DecResult<SourceFrame> {
    Ok(SourceFrame {
        function: d.str()?,
        file: d.opt_str()?,
        line: d.opt_u32()?,
    })
}

fn goroutines(gs: &[Goroutine]) -> Enc {
    let mut e = Enc::default();
    e.len(gs.len());
    for g in gs {
        e.u64(g.id);
        e.str(&g.state);
        e.opt_str(g.wait_reason.as_deref());
        e.len(g.frames.len());
        for f in &g.frames {
            frame(&mut e, f);
        }
        e.opt(g.created_by.as_ref(), frame);
        e.opt_str(g.problem.as_deref());
    }
    e
}

fn read_goroutine(d: &mut Dec) -> DecResult<Goroutine> {
    Ok(Goroutine {
        id: d.u64()?,
        state: d.str()?,
        wait_reason: d.opt_str()?,
        frames: d.vec(10, read_frame)?,
        created_by: d.opt(read_frame)?,
        problem: d.opt_str()?,
    })
}

fn buckets(bs: &[AllocBucket]) -> Enc {
    let mut e = Enc::default();
    e.len(bs.len());
    for b in bs {
        e.u64(b.id);
        e.u64(b.size);
        e.len(b.stack.len());
        for f in &b.stack {
            frame(&mut e, f);
        }
        e.len(b.pcs.len());
        for &pc in &b.pcs {
            e.u64(pc);
        }
        e.u64(b.allocs);
        e.u64(b.frees);
    }
    e
}

fn read_bucket(d: &mut Dec) -> DecResult<AllocBucket> {
    Ok(AllocBucket {
        id: d.u64()?,
        size: d.u64()?,
        stack: d.vec(10, read_frame)?,
        pcs: d.vec(8, Dec::u64)?,
        allocs: d.u64()?,
        frees: d.u64()?,
    })
}

/// A new field in the model must be added to the index: this stops compiling.
#[allow(dead_code)]
fn every_field_is_stored(m: HeapModel, s: Sites) {
    let HeapModel {
        objects: _,
        edges: _,
        roots: _,
        types: _,
        object_types: _,
        goroutines: _,
        sites: _,
        warnings: _,
        names_from: _,
        types_partial: _,
        unseen_holders: _,
    } = m;
    let Sites {
        buckets: _,
        object_bucket: _,
        rate: _,
        inlined_frames: _,
        last_gc: _,
    } = s;
}
