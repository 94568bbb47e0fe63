//! Turns unwound goroutines into named roots: each live pointer slot is
//! attributed to the DWARF variable that owns it (or to its offset in the
//! frame when none does), with the frame's source line; deferred closures
//! and panic values become roots of their goroutine too.

use std::collections::BTreeMap;

use gimli::{EndianSlice, LittleEndian};

use crate::input::dwarf::{DwarfIndex, FrameVar, TypeId};
use crate::input::elf::AddressSpace;
use crate::input::goruntime::pclntab::FuncTable;
use crate::input::goruntime::stacks::{Frame, Goroutine};
use crate::input::goruntime::typing::PieceSeed;
use crate::model::Memory;
use crate::model::{
    FrameRef, ObjectId, Objects, Root, RootKind, STACK_OBJECT, StackRootKind, UNNAMED_SLOTS,
};

pub struct StackRootNamer<'a, 'd> {
    pub index: &'a DwarfIndex,
    pub dwarf: &'a gimli::Dwarf<EndianSlice<'d, LittleEndian>>,
}

impl StackRootNamer<'_, '_> {
    pub fn roots(
        &self,
        space: &AddressSpace<'_>,
        funcs: &FuncTable<'_, '_>,
        objects: &Objects,
        g: &Goroutine,
        seeds: &mut Vec<PieceSeed>,
    ) -> Vec<Root> {
        let mut out = Vec::new();
        for frame in &g.frames {
            self.frame_roots(space, funcs, objects, g, frame, &mut out, seeds);
        }
        for d in &g.defers {
            let function = funcs
                .find(d.pc)
                .and_then(|f| funcs.name(f))
                .unwrap_or_default();
            let targets: Vec<(ObjectId, u64)> = [d.closure, d.record]
                .into_iter()
                .filter_map(|v| Some((objects.find(v)?, 0)))
                .collect();
            if !targets.is_empty() {
                let mut root = Root::new(
                    RootKind::Stack,
                    format!("goroutine {} {function} (defer)", g.id),
                    Some(d.record),
                    targets,
                );
                root.frame = Some(FrameRef {
                    goroutine: g.id,
                    function,
                    what: StackRootKind::Defer,
                    ..FrameRef::default()
                });
                out.push(root);
            }
        }
        self.stack_object_roots(space, funcs, objects, g, &mut out);
        let functions: Vec<&str> = g.frames.iter().map(|f| f.function.as_str()).collect();
        for (nth, &v) in g.panic_values.iter().enumerate() {
            if let Some(t) = objects.find(v) {
                let function = panicking_function(&functions, nth).unwrap_or_default();
                out.push(panic_root(g.id, function, None, vec![(t, 0)]));
            }
        }
        out
    }

    /// Address-taken locals are scanned when a live pointer (a slot, the
    /// panic chain, another scanned stack object) points into them.
    fn stack_object_roots(
        &self,
        space: &AddressSpace<'_>,
        funcs: &FuncTable<'_, '_>,
        objects: &Objects,
        g: &Goroutine,
        out: &mut Vec<Root>,
    ) {
        let (lo, hi) = g.stack;
        let on_stack = |v: u64| lo <= v && v < hi;
        let all: Vec<(usize, &crate::input::goruntime::stacks::StackObject)> = g
            .frames
            .iter()
            .enumerate()
            .flat_map(|(i, f)| f.stack_objects.iter().map(move |o| (i, o)))
            .collect();
        if all.is_empty() {
            return;
        }
        let mut work: Vec<u64> = g.stack_pointers.clone();
        // Deferred closures and records may live on the stack too (as the GC follows them).
        work.extend(
            g.defers
                .iter()
                .flat_map(|d| [d.closure, d.record])
                .filter(|&v| on_stack(v)),
        );
        for f in &g.frames {
            work.extend(
                f.pointer_slots
                    .iter()
                    .filter_map(|&s| space.read_u64(s))
                    .filter(|&v| on_stack(v)),
            );
        }
        let mut scanned = vec![false; all.len()];
        let mut found: BTreeMap<usize, Vec<(ObjectId, u64)>> = BTreeMap::new();
        while let Some(p) = work.pop() {
            let Some(k) = all
                .iter()
                .position(|(_, o)| o.addr <= p && p < o.addr + o.size.max(1))
            else {
                continue;
            };
            if std::mem::replace(&mut scanned[k], true) {
                continue;
            }
            let obj = all[k].1;
            for &off in &obj.pointers {
                let Some(v) = space.read_u64(obj.addr + off) else {
                    continue;
                };
                if on_stack(v) {
                    work.push(v);
                } else if let Some(t) = objects.find(v) {
                    found.entry(k).or_default().push((t, off));
                }
            }
        }
        for (k, targets) in found {
            let (fi, obj) = all[k];
            let frame = &g.frames[fi];
            let vars = self
                .index
                .function_at(frame.pc)
                .map(|f| self.index.frame_variables(self.dwarf, f, frame.pc))
                .unwrap_or_default();
            let rel = (obj.addr as i64).wrapping_sub(frame.fp as i64);
            let owner = vars.iter().find(|v| {
                v.cfa_offset.wrapping_sub(v.piece_offset as i64) <= rel
                    && rel < v.cfa_offset + v.size as i64
            });
            let variable = owner.map(|v| v.name.split('.').next().unwrap_or(&v.name).to_string());
            // A local that starts where the object does types its pointers.
            let declared = vars
                .iter()
                .find(|v| v.piece_offset == 0 && v.cfa_offset == rel && !v.name.contains('.'))
                .and_then(|v| v.ty)
                .map(|t| self.index.ty(t).name.clone());
            // A live slot may name the same variable: the name says which root this is.
            let label = match &variable {
                Some(v) => format!("{v} {STACK_OBJECT}"),
                None => STACK_OBJECT.to_string(),
            };
            let function = owner
                .and_then(|v| v.inlined.clone())
                .unwrap_or_else(|| shown_function(funcs, frame));
            let mut root = Root::new(
                RootKind::Stack,
                format!("goroutine {} {function} {label}", g.id),
                Some(obj.addr),
                targets,
            );
            root.type_name = declared;
            let (file, line) = frame_position(funcs, frame.pc);
            root.frame = Some(FrameRef {
                goroutine: g.id,
                function,
                variable,
                file,
                line,
                what: StackRootKind::Slot,
            });
            out.push(root);
        }
    }

    fn frame_roots(
        &self,
        space: &AddressSpace<'_>,
        funcs: &FuncTable<'_, '_>,
        objects: &Objects,
        g: &Goroutine,
        frame: &Frame,
        out: &mut Vec<Root>,
        seeds: &mut Vec<PieceSeed>,
    ) {
        let targets: Vec<(u64, ObjectId)> = frame
            .pointer_slots
            .iter()
            .filter_map(|&slot| Some((slot, objects.find(space.read_u64(slot)?)?)))
            .collect();
        if targets.is_empty() {
            return;
        }
        let vars: Vec<FrameVar> = self
            .index
            .function_at(frame.pc)
            .map(|f| self.index.frame_variables(self.dwarf, f, frame.pc))
            .unwrap_or_default();
        let (file, line) = frame_position(funcs, frame.pc);
        // Each typed variable, with where its stack-resident pieces are, seeds typing.
        type PieceKey<'v> = (Option<&'v str>, &'v str, TypeId);
        let mut pieces: BTreeMap<PieceKey<'_>, Vec<(u64, u64, u64)>> = BTreeMap::new();
        for v in &vars {
            if let Some(ty) = v.ty {
                let addr = (frame.fp as i64 + v.cfa_offset) as u64;
                let key = (v.inlined.as_deref(), v.name.as_str(), ty);
                pieces
                    .entry(key)
                    .or_default()
                    .push((v.piece_offset, v.size, addr));
            }
        }
        seeds.extend(
            pieces
                .into_iter()
                .map(|((_, _, ty), pieces)| PieceSeed { ty, pieces }),
        );
        // Group slots by the variable that owns them: the frame's function's
        // own, or one of a call inlined where the frame stands.
        type VarKey = Option<(Option<String>, String)>;
        let mut by_var: BTreeMap<VarKey, (u64, Vec<(ObjectId, u64)>)> = BTreeMap::new();
        let mut var_types: BTreeMap<(Option<String>, String), String> = BTreeMap::new();
        for (slot, target) in targets {
            let rel = (slot as i64).wrapping_sub(frame.fp as i64);
            let var = vars
                .iter()
                .find(|v| v.cfa_offset <= rel && rel < v.cfa_offset + v.size as i64);
            let (key, base, offset) = match var {
                Some(v) => {
                    let base = (frame.fp as i64).wrapping_add(v.cfa_offset) as u64;
                    let base = base.wrapping_sub(v.piece_offset);
                    // Go 1.27 names the parts of a split aggregate "buf.ptr", "buf.len":
                    // the root is the source variable.
                    let source = v.name.split('.').next().unwrap_or(&v.name);
                    let key = (v.inlined.clone(), source.to_string());
                    if source == v.name {
                        if let Some(t) = v.ty {
                            var_types.insert(key.clone(), self.index.ty(t).name.clone());
                        }
                    }
                    (Some(key), base, slot.wrapping_sub(base))
                }
                None => (None, frame.sp, slot.wrapping_sub(frame.sp)),
            };
            by_var
                .entry(key)
                .or_insert_with(|| (base, Vec::new()))
                .1
                .push((target, offset));
        }
        let shown = shown_function(funcs, frame);
        for (key, (base, targets)) in by_var {
            let (inlined, variable) = key.clone().unzip();
            let function = inlined.flatten().unwrap_or_else(|| shown.clone());
            let label = match &variable {
                Some(v) => v.clone(),
                None => UNNAMED_SLOTS.to_string(),
            };
            let mut root = Root::new(
                RootKind::Stack,
                format!("goroutine {} {function} {label}", g.id),
                Some(base),
                targets,
            );
            root.type_name = key.and_then(|k| var_types.get(&k).cloned());
            root.frame = Some(FrameRef {
                goroutine: g.id,
                function,
                variable,
                file: file.clone(),
                line,
                what: StackRootKind::Slot,
            });
            out.push(root);
        }
    }
}

/// The function that raised the `nth` panic of a goroutine's chain (the
/// newest first), given its frames innermost first: each panic in progress
/// has a `runtime.gopanic` frame, and the first frame below it outside the
/// runtime (`runtime.panicmem`, `sigpanic` and the like raise panics for the
/// code they interrupted) is the code that panicked.
pub fn panicking_function<'f>(functions: &[&'f str], nth: usize) -> Option<&'f str> {
    let gopanic: Vec<usize> = functions
        .iter()
        .enumerate()
        .filter(|(_, f)| **f == "runtime.gopanic")
        .map(|(i, _)| i)
        .collect();
    let at = *gopanic.get(nth).or(gopanic.last())?;
    functions[at + 1..]
        .iter()
        .copied()
        .find(|f| !f.starts_with("runtime."))
}

/// The root of a panic value, named by the function that panicked.
pub fn panic_root(
    goroutine: u64,
    function: &str,
    addr: Option<u64>,
    targets: Vec<(ObjectId, u64)>,
) -> Root {
    let name = if function.is_empty() {
        format!("goroutine {goroutine} (panic value)")
    } else {
        format!("goroutine {goroutine} {function} (panic value)")
    };
    let mut root = Root::new(RootKind::Stack, name, addr, targets);
    root.frame = Some(FrameRef {
        goroutine,
        function: function.to_string(),
        what: StackRootKind::Panic,
        ..FrameRef::default()
    });
    root
}

/// The function a frame's roots are named by. A `go` statement whose
/// callee takes arguments runs a wrapper (`main.main.gowrap1`, Go ≥1.22)
/// that the callee is usually inlined into: the wrapper is shown as the
/// function it started, the one inlined where the frame stands.
fn shown_function(funcs: &FuncTable<'_, '_>, frame: &Frame) -> String {
    if is_go_wrapper(&frame.function) {
        if let Some(started) = funcs.logical_frame(frame.pc) {
            return started.function;
        }
    }
    frame.function.clone()
}

/// `main.main.gowrap1`, `main.(*Pool).start.gowrap2`: the closure the
/// compiler makes for a `go` statement.
fn is_go_wrapper(function: &str) -> bool {
    function
        .rsplit_once('.')
        .and_then(|(_, last)| last.strip_prefix("gowrap"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Source file and line where a frame stands (the call, for return addresses).
fn frame_position(funcs: &FuncTable<'_, '_>, pc: u64) -> (Option<String>, Option<u32>) {
    funcs
        .source_frame(pc, true)
        .map_or((None, None), |f| (f.file, f.line))
}

#[cfg(test)]
mod tests {
    use super::{is_go_wrapper, panicking_function};

    #[test]
    fn go_statement_wrappers_are_recognised() {
        assert!(is_go_wrapper("main.main.gowrap1"));
        assert!(is_go_wrapper("main.(*Pool).start.gowrap12"));
        assert!(!is_go_wrapper("main.gowrapper"));
        assert!(!is_go_wrapper("main.main.gowrap"));
        assert!(!is_go_wrapper("main.main.func1"));
    }

    #[test]
    fn a_panic_is_raised_by_the_code_below_gopanic() {
        let frames = [
            "main.panicHolder.func1",
            "runtime.gopanic",
            "main.panicHolder",
            "runtime.goexit",
        ];
        assert_eq!(panicking_function(&frames, 0), Some("main.panicHolder"));
        // A fault: the runtime raises the panic for the code it interrupted.
        let fault = [
            "runtime.gopanic",
            "runtime.panicmem",
            "runtime.sigpanic",
            "main.deref",
            "main.main",
        ];
        assert_eq!(panicking_function(&fault, 0), Some("main.deref"));
        // A panic in a deferred call during another: newest first.
        let nested = [
            "runtime.gopanic",
            "main.cleanup",
            "runtime.gopanic",
            "main.work",
        ];
        assert_eq!(panicking_function(&nested, 0), Some("main.cleanup"));
        assert_eq!(panicking_function(&nested, 1), Some("main.work"));
        assert_eq!(panicking_function(&["main.main"], 0), None);
    }
}
