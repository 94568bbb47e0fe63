//! Roots and goroutines as a dump's own records name them: globals by place
//! in data/bss, stack slots by frame, defers, panics, finalizers, contexts.

use crate::input::goruntime::stack_roots::{panic_root, panicking_function};
use crate::input::goruntime::stacks::status_name;
use crate::input::heapdump::{StackFrame, text};
use crate::model::{
    Edges, FrameRef, Goroutine, ObjectId, Objects, Root, RootKind, SourceFrame, StackRootKind,
};

use super::layout::Layout;
use super::scan::{GoroutineRecord, RootRecords};

/// A frame as the dump names it, without the executable.
pub(super) fn plain_frame(f: &StackFrame<'_>) -> Option<SourceFrame> {
    Some(SourceFrame {
        function: text(f.name).into_owned(),
        file: None,
        line: None,
    })
}

/// A goroutine of the model from its record and frames; `frame` turns a
/// frame (with its depth) into a source frame, `created_by` names the pc of
/// the `go` statement.
pub(super) fn describe_goroutine(
    rr: &RootRecords<'_>,
    g: &GoroutineRecord<'_>,
    frame: impl Fn(&StackFrame<'_>, usize) -> Option<SourceFrame>,
    created_by: impl Fn(u64) -> Option<SourceFrame>,
) -> Goroutine {
    let state = status_name(g.status).to_string();
    let wait_reason = (state == "waiting")
        .then(|| text(g.wait_reason).into_owned())
        .filter(|r| !r.is_empty());
    Goroutine {
        id: g.goid,
        state,
        wait_reason,
        frames: rr
            .frames_of(g)
            .iter()
            .enumerate()
            .filter_map(|(i, f)| frame(f, i))
            .collect(),
        // The main goroutine is started by the runtime's assembly, not a `go` statement.
        created_by: (g.gopc != 0 && g.goid != 1)
            .then(|| created_by(g.gopc))
            .flatten(),
        problem: None,
    }
}

/// Roots named without the executable: globals by their place in the
/// segment, stack slots by frame, defers and panics by goroutine.
pub(super) fn build_roots(
    rr: &RootRecords<'_>,
    objects: &Objects,
    layout: &Layout,
    warnings: &mut Vec<String>,
) -> Vec<Root> {
    let mut roots = Vec::new();
    let find = |addr: u64| (addr != 0).then(|| objects.find(addr)).flatten();
    let on_stack = |goroutine: u64, function: &str, what: StackRootKind| FrameRef {
        goroutine,
        function: function.to_string(),
        what,
        ..FrameRef::default()
    };

    // Globals: one root per pointer word that holds a heap address (the
    // dump does not say which variable is where).
    for &(bss, addr, contents, fields) in &rr.segments {
        let section = if bss { "bss" } else { "data" };
        for f in fields {
            for off in layout.words(f) {
                if let Some(t) = layout.word(contents, off).and_then(find) {
                    roots.push(Root::new(
                        RootKind::Global,
                        format!("{section}+{off:#x}"),
                        Some(addr.wrapping_add(off)),
                        vec![(t, 0)],
                    ));
                }
            }
        }
    }

    // Stack frames: one root per frame (no DWARF here to split it by
    // variable), the pointer slots' offsets from the frame's sp.
    let mut outside = 0usize;
    let mut offs: Vec<u64> = Vec::new();
    for g in &rr.goroutines {
        for frame in rr.frames_of(g) {
            offs.clear();
            offs.extend(frame.fields.iter().flat_map(|f| layout.words(f)));
            offs.sort_unstable();
            offs.dedup();
            let mut targets = Vec::new();
            for &off in &offs {
                match layout.word(frame.contents, off) {
                    Some(v) => {
                        if let Some(t) = find(v) {
                            targets.push((t, off));
                        }
                    }
                    None => outside += 1,
                }
            }
            if !targets.is_empty() {
                let function = text(frame.name);
                let mut root = Root::new(
                    RootKind::Stack,
                    format!("goroutine {} {function}", g.goid),
                    Some(frame.sp),
                    targets,
                );
                root.frame = Some(on_stack(g.goid, &function, StackRootKind::Slot));
                roots.push(root);
            }
        }
    }
    if outside > 0 {
        warnings.push(format!(
            "{outside} stack pointer slots lie outside their frame's dumped contents: they were skipped"
        ));
    }

    // The function whose frame has this sp, for defers.
    let frame_at = |goid: u64, sp: u64| {
        rr.goroutines
            .iter()
            .filter(|g| g.goid == goid)
            .flat_map(|g| rr.frames_of(g))
            .find(|f| f.sp == sp)
            .map(|f| text(f.name).into_owned())
            .unwrap_or_default()
    };
    let mut unknown_goroutine = 0usize;
    // Defers on the chain: the deferred closure, and the defer record when
    // it is a heap object.
    for d in &rr.defers {
        let targets: Vec<(ObjectId, u64)> = [find(d.fn_val), find(d.addr)]
            .into_iter()
            .flatten()
            .map(|t| (t, 0))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let Some(g) = rr.goid(d.goroutine) else {
            unknown_goroutine += 1;
            continue;
        };
        let function = frame_at(g, d.sp);
        let mut root = Root::new(
            RootKind::Stack,
            format!("goroutine {g} {function} (defer)"),
            Some(d.addr),
            targets,
        );
        root.frame = Some(on_stack(g, &function, StackRootKind::Defer));
        roots.push(root);
    }
    // Panic values (an interface: type word, data word).
    for (i, p) in rr.panics.iter().enumerate() {
        let targets: Vec<(ObjectId, u64)> = [(p.arg_type, 0), (p.arg_data, layout.ptr)]
            .into_iter()
            .filter_map(|(a, off)| Some((find(a)?, off)))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let Some(g) = rr.goid(p.goroutine) else {
            unknown_goroutine += 1;
            continue;
        };
        // The chain lists a goroutine's panics newest first, as its frames.
        let nth = rr.panics[..i]
            .iter()
            .filter(|q| q.goroutine == p.goroutine)
            .count();
        let frames: Vec<String> = rr
            .goroutines
            .iter()
            .filter(|r| r.goid == g)
            .flat_map(|r| rr.frames_of(r))
            .map(|f| text(f.name).into_owned())
            .collect();
        let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
        let function = panicking_function(&frames, nth).unwrap_or_default();
        roots.push(panic_root(g, function, Some(p.addr), targets));
    }
    if unknown_goroutine > 0 {
        warnings.push(format!(
            "{unknown_goroutine} defer or panic records name a goroutine the dump does not have: \
             they were skipped"
        ));
    }
    roots
}

/// Roots that need no executable to name: saved context registers,
/// finalizers, queued finalizers, and other roots.
pub(super) fn runtime_roots(
    rr: &RootRecords<'_>,
    objects: &Objects,
    edges: &Edges,
    layout: &Layout,
) -> Vec<Root> {
    let mut roots = Vec::new();
    let find = |addr: u64| (addr != 0).then(|| objects.find(addr)).flatten();
    // The saved context register of a parked goroutine (scanstack scans it).
    for g in &rr.goroutines {
        if let Some(t) = find(g.ctxt) {
            let mut root = Root::new(
                RootKind::Other,
                format!("goroutine {} (context register)", g.goid),
                None,
                vec![(t, 0)],
            );
            root.frame = Some(FrameRef {
                goroutine: g.goid,
                ..FrameRef::default()
            });
            roots.push(root);
        }
    }
    // Finalizers waiting for their object: the object's referents are roots
    // (the collector scans it without marking it), and so is the closure.
    for f in &rr.finalizers {
        let object = find(f.obj);
        let object_addr = object.map_or(f.obj, |o| objects.addr(o));
        let mut targets: Vec<(ObjectId, u64)> = Vec::new();
        if let Some(obj) = object {
            targets.extend(edges.out(obj).map(|(t, off)| (t, u64::from(off))));
        }
        targets.extend(find(f.fn_val).map(|t| (t, 0)));
        if !targets.is_empty() {
            roots.push(Root::new(
                RootKind::Finalizer,
                format!("finalizer of {object_addr:#x}"),
                Some(object_addr),
                targets,
            ));
        }
    }
    // Queued finalizers: the closure and the object (a runtime.finalizer's
    // fn and arg words) keep both alive until the finalizer has run.
    for f in &rr.queued {
        let targets: Vec<(ObjectId, u64)> = [(f.fn_val, 0), (f.obj, layout.ptr)]
            .into_iter()
            .filter_map(|(a, off)| Some((find(a)?, off)))
            .collect();
        if !targets.is_empty() {
            roots.push(Root::new(
                RootKind::QueuedFinalizer,
                format!("queued finalizer of {:#x}", f.obj),
                Some(f.obj),
                targets,
            ));
        }
    }
    // Never written by the runtime; kept for other writers.
    for &(description, to) in &rr.other {
        if let Some(t) = find(to) {
            roots.push(Root::new(
                RootKind::Other,
                text(description).into_owned(),
                None,
                vec![(t, 0)],
            ));
        }
    }
    roots
}
