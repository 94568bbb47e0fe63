//! Goroutine stacks as roots: every goroutine of `runtime.allgs` that is not
//! dead is unwound from its saved context (`g.sched`, or `g.syscallsp/pc` in
//! a syscall) with the pclntab's SP deltas, and each frame's live pointer
//! slots come from its stack maps (FUNCDATA locals/args pointer maps indexed
//! by PCDATA_StackMapIndex), exactly the slots the GC scans.

use crate::error::Result;
use crate::input::elf::AddressSpace;
use crate::input::goruntime::layout::{FieldLoc, Layouts};
use crate::input::goruntime::pclntab::{
    FUNCDATA_ARGS_POINTER_MAPS, FUNCDATA_LOCALS_POINTER_MAPS, FUNCDATA_STACK_OBJECTS, FuncTable,
    PCDATA_STACK_MAP_INDEX,
};
use crate::model::Memory;

const PTR: u64 = 8;
const MAX_FRAMES: usize = 100_000;
const G_SCAN: u64 = 0x1000;

/// The runtime's wait reason strings (`runtime.waitReasonStrings`), read
/// from the target's memory: the enum's order changes between versions.
pub fn wait_reasons(space: &AddressSpace<'_>, layouts: &Layouts<'_>) -> Vec<String> {
    let index = layouts.index;
    let Some(g) = index.global("runtime.waitReasonStrings") else {
        return Vec::new();
    };
    let len =
        g.ty.and_then(|t| match index.ty(index.underlying(t)).kind {
            crate::input::dwarf::TypeKind::Array { count } => Some(count),
            _ => None,
        })
        .unwrap_or(0)
        .min(1024);
    (0..len)
        .map(|i| {
            let at = g.addr + i * 16;
            let text = space
                .read_u64(at)
                .zip(space.read_u64(at + 8))
                .and_then(|(p, n)| space.read(p, n.min(256) as usize));
            text.map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// `runtime._G*` status values (stable since Go 1.x).
pub fn status_name(status: u64) -> &'static str {
    match status & !G_SCAN {
        0 => "idle",
        1 => "runnable",
        2 => "running",
        3 => "syscall",
        4 => "waiting",
        5 => "moribund",
        6 => "dead",
        7 => "enqueue",
        8 => "copystack",
        9 => "preempted",
        _ => "unknown",
    }
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub function: String,
    pub pc: u64,
    pub sp: u64,
    /// The frame's top (the caller's SP); Go's DWARF CFA.
    pub fp: u64,
    /// Stack addresses of live pointer slots.
    pub pointer_slots: Vec<u64>,
    /// Address-taken locals (FUNCDATA_StackObjects): scanned only when
    /// something live points into them, as the GC does.
    pub stack_objects: Vec<StackObject>,
}

#[derive(Debug, Clone)]
pub struct StackObject {
    pub addr: u64,
    pub size: u64,
    /// Offsets of its pointer words.
    pub pointers: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct Goroutine {
    pub id: u64,
    pub addr: u64,
    pub status: u64,
    pub wait_reason: u64,
    /// pc of the `go` statement that created it.
    pub creation_pc: u64,
    pub frames: Vec<Frame>,
    /// Pending deferred calls: (pc of the deferring function, closure pointer, record address).
    pub defers: Vec<Defer>,
    /// Values of panics in progress (the `any` data word).
    pub panic_values: Vec<u64>,
    /// Stack bounds [lo, hi).
    pub stack: (u64, u64),
    /// Pointers into the stack the GC starts stack-object scanning from
    /// besides live slots (the `_panic` chain head).
    pub stack_pointers: Vec<u64>,
    /// Why unwinding stopped early, if it did.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Defer {
    /// Return pc into the function that deferred the call.
    pub pc: u64,
    /// The deferred closure (`_defer.fn`).
    pub closure: u64,
    /// The `_defer` record itself (heap-allocated on some versions).
    pub record: u64,
}

struct DeferFields {
    head: FieldLoc,
    pc: FieldLoc,
    closure: FieldLoc,
    link: FieldLoc,
}

struct PanicFields {
    head: FieldLoc,
    arg_data: FieldLoc,
    link: FieldLoc,
}

const MAX_CHAIN: usize = 100_000;

struct GFields {
    goid: FieldLoc,
    status: FieldLoc,
    sched_sp: FieldLoc,
    sched_pc: FieldLoc,
    syscallsp: FieldLoc,
    syscallpc: FieldLoc,
    waitreason: FieldLoc,
    gopc: FieldLoc,
    m: FieldLoc,
    stack_lo: FieldLoc,
    stack_hi: FieldLoc,
    m_procid: FieldLoc,
}

/// A thread's registers as the core recorded them.
#[derive(Debug, Clone, Copy)]
pub struct ThreadRegs {
    pub tid: u64,
    pub pc: u64,
    pub sp: u64,
}

/// Offsets in a Linux x86-64 `ucontext_t`: mcontext gregs start at 40;
/// REG_RSP is greg 15, REG_RIP greg 16.
const UC_RSP: u64 = 40 + 15 * 8;
const UC_RIP: u64 = 40 + 16 * 8;

pub fn read_goroutines(
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    funcs: &FuncTable<'_, '_>,
    threads: &[ThreadRegs],
) -> Result<Vec<Goroutine>> {
    let g = |p: &str| layouts.require_field("runtime.g", p);
    let f = GFields {
        goid: g("goid")?,
        status: layouts
            .field_any("runtime.g", &["atomicstatus.value", "atomicstatus"])
            .ok_or_else(|| crate::error::Error::RuntimeLayout {
                what: "field runtime.g.atomicstatus".into(),
            })?,
        sched_sp: g("sched.sp")?,
        sched_pc: g("sched.pc")?,
        syscallsp: g("syscallsp")?,
        syscallpc: g("syscallpc")?,
        waitreason: g("waitreason")?,
        gopc: g("gopc")?,
        m: g("m")?,
        stack_lo: g("stack.lo")?,
        stack_hi: g("stack.hi")?,
        m_procid: layouts.require_field("runtime.m", "procid")?,
    };
    let defer_fields = DeferFields {
        head: g("_defer")?,
        pc: layouts.require_field("runtime._defer", "pc")?,
        closure: layouts.require_field("runtime._defer", "fn")?,
        link: layouts.require_field("runtime._defer", "link")?,
    };
    let panic_fields = PanicFields {
        head: g("_panic")?,
        arg_data: layouts.require_field("runtime._panic", "arg.data")?,
        link: layouts.require_field("runtime._panic", "link")?,
    };
    let allgs = layouts.require_global("runtime.allgs")?;
    let (Some(array), Some(len)) = (space.read_u64(allgs), space.read_u64(allgs + 8)) else {
        return Err(crate::error::Error::MissingMemory {
            what: "runtime.allgs".into(),
            addr: allgs,
            cause: space.why_absent(allgs),
        });
    };
    let len = len.min(1 << 26);
    let Some(ptrs) = space.read(array, (len * PTR) as usize) else {
        return Err(crate::error::Error::MissingMemory {
            what: format!("the allgs array ({len} goroutines)"),
            addr: array,
            cause: space.why_absent(array),
        });
    };
    // Go ≥1.26 parks the goroutines of dead extra Ms (cgo) in their own state.
    let dead_extra = layouts.constant("runtime._Gdeadextra").map(|v| v as u64);
    let mut out = Vec::new();
    for chunk in ptrs.chunks_exact(8) {
        let gp = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let rd = |loc: FieldLoc| space.read_uint(gp + loc.offset, loc.size);
        let Some(status) = rd(f.status) else { continue };
        let plain = status & !G_SCAN;
        if plain == 0 || plain == 6 || Some(plain) == dead_extra {
            continue; // idle or dead: nothing on the stack counts
        }
        // As the runtime's traceback: a syscall context wins when there is one.
        let syscall_sp = rd(f.syscallsp).unwrap_or(0);
        let (mut sp, mut pc) = if syscall_sp != 0 {
            (syscall_sp, rd(f.syscallpc).unwrap_or(0))
        } else {
            (rd(f.sched_sp).unwrap_or(0), rd(f.sched_pc).unwrap_or(0))
        };
        // Saved contexts hold return addresses; thread registers the exact pc.
        let mut exact_pc = false;
        if sp == 0 && plain == 2 {
            // Running: its context is in the registers of the thread it runs on.
            let procid =
                rd(f.m).and_then(|m| space.read_uint(m + f.m_procid.offset, f.m_procid.size));
            if let Some(t) = procid.and_then(|id| threads.iter().find(|t| t.tid == id)) {
                (sp, pc) = (t.sp, t.pc);
                exact_pc = true;
            }
        }
        let stack = (rd(f.stack_lo).unwrap_or(0), rd(f.stack_hi).unwrap_or(0));
        let mut goroutine = Goroutine {
            id: rd(f.goid).unwrap_or(0),
            addr: gp,
            status,
            wait_reason: rd(f.waitreason).unwrap_or(0),
            creation_pc: rd(f.gopc).unwrap_or(0),
            frames: Vec::new(),
            defers: Vec::new(),
            panic_values: Vec::new(),
            stack,
            stack_pointers: Vec::new(),
            problem: None,
        };
        let mut d = rd(defer_fields.head).unwrap_or(0);
        for _ in 0..MAX_CHAIN {
            if d == 0 {
                break;
            }
            let rdd = |loc: FieldLoc| space.read_uint(d + loc.offset, loc.size);
            goroutine.defers.push(Defer {
                pc: rdd(defer_fields.pc).unwrap_or(0),
                closure: rdd(defer_fields.closure).unwrap_or(0),
                record: d,
            });
            d = rdd(defer_fields.link).unwrap_or(0);
        }
        let mut p = rd(panic_fields.head).unwrap_or(0);
        if p != 0 {
            goroutine.stack_pointers.push(p);
        }
        for _ in 0..MAX_CHAIN {
            if p == 0 {
                break;
            }
            if let Some(v) = space.read_u64(p + panic_fields.arg_data.offset) {
                goroutine.panic_values.push(v);
            }
            p = space.read_u64(p + panic_fields.link.offset).unwrap_or(0);
        }
        if sp == 0 || pc == 0 {
            goroutine.problem = Some(format!(
                "goroutine {} is {} without a saved context; its stack is not scanned",
                goroutine.id,
                status_name(status)
            ));
        } else {
            unwind(space, funcs, sp, pc, exact_pc, stack, &mut goroutine);
        }
        out.push(goroutine);
    }
    Ok(out)
}

/// Walks frames from (sp, pc). A thread stopped in a signal handler runs on
/// the signal stack: frames there are walked through but not scanned, and
/// the kernel's signal frame (found where a handler returns into
/// `runtime.sigreturn*`) gives the interrupted context on the goroutine stack.
fn unwind(
    space: &AddressSpace<'_>,
    funcs: &FuncTable<'_, '_>,
    mut sp: u64,
    mut pc: u64,
    exact_pc: bool,
    stack: (u64, u64),
    g: &mut Goroutine,
) {
    // Is `pc` exactly where the frame stopped (signal) rather than a return address?
    let mut exact = exact_pc;
    // The caller of sigpanic stopped at a faulting instruction; the GC treats
    // it as dead unless it can resume at a deferreturn.
    let mut after_sigpanic = false;
    // asyncPreempt and its caller hold pointers in spilled registers: the GC
    // scans both conservatively.
    let mut conservative = false;
    for _ in 0..MAX_FRAMES {
        let Some(func) = funcs.find(pc) else {
            g.problem = Some(format!("no function at pc {pc:#x}"));
            return;
        };
        let name = funcs.name(func).unwrap_or_default();
        let Some(delta) = funcs.sp_delta(func, pc) else {
            g.problem = Some(format!("no SP delta for {name} at {pc:#x}"));
            return;
        };
        let fp = sp.wrapping_add(delta as u64).wrapping_add(PTR);
        let mut frame = Frame {
            function: name.clone(),
            pc,
            sp,
            fp,
            pointer_slots: Vec::new(),
            stack_objects: Vec::new(),
        };
        // Stack maps are indexed at the call instruction, not the return address.
        let target = if exact || pc == func.entry {
            pc
        } else {
            pc - 1
        };
        let dead = after_sigpanic && !funcs.has_deferreturn(func);
        let index = funcs
            .pcdata(func, PCDATA_STACK_MAP_INDEX, target)
            .unwrap_or(-1)
            .max(0) as u64;
        // varp: below the return address and the saved frame pointer.
        let mut varp = fp - PTR;
        if varp > sp {
            varp -= PTR;
        }
        if varp > sp {
            if let Some(map) = funcs.funcdata(func, FUNCDATA_LOCALS_POINTER_MAPS) {
                scan_map(
                    space,
                    map,
                    index,
                    |nbit| varp.wrapping_sub(nbit * PTR),
                    &mut frame.pointer_slots,
                );
            }
        }
        if funcs.args_size(func).is_some_and(|a| a > 0) {
            if let Some(map) = funcs.funcdata(func, FUNCDATA_ARGS_POINTER_MAPS) {
                scan_map(space, map, index, |_| fp, &mut frame.pointer_slots);
            }
        }
        if let Some(records) = funcs.funcdata(func, FUNCDATA_STACK_OBJECTS) {
            frame.stack_objects = stack_objects(space, funcs.rodata, records, varp, fp, sp);
        }
        let preempt = name == "runtime.asyncPreempt";
        if preempt || conservative {
            // Every word of the frame that could be a pointer is one.
            frame.pointer_slots = (sp..fp.saturating_sub(PTR)).step_by(PTR as usize).collect();
            frame.stack_objects.clear();
        }
        conservative = preempt;
        if dead {
            frame.pointer_slots.clear();
            frame.stack_objects.clear();
        }
        let on_own_stack = stack.0 <= sp && sp < stack.1;
        if !on_own_stack {
            frame.pointer_slots.clear();
        }
        if on_own_stack || g.frames.is_empty() {
            g.frames.push(frame);
        }
        if matches!(
            name.as_str(),
            "runtime.goexit" | "runtime.mstart" | "runtime.rt0_go" | "runtime.mstart0"
        ) {
            return;
        }
        let Some(ret) = space.read_u64(fp - PTR) else {
            g.problem = Some(format!("return address of {name} not in the core"));
            return;
        };
        if ret == 0 {
            return;
        }
        if funcs
            .find(ret)
            .and_then(|f| funcs.name(f))
            .is_some_and(|n| n.starts_with("runtime.sigreturn"))
        {
            let (Some(rsp), Some(rip)) = (space.read_u64(fp + UC_RSP), space.read_u64(fp + UC_RIP))
            else {
                g.problem = Some("signal frame not in the core".into());
                return;
            };
            (pc, sp) = (rip, rsp);
            // The interrupted pc is not a return address.
            exact = true;
            after_sigpanic = false;
            continue;
        }
        // A frame that sigpanic was injected into stopped at the faulting
        // instruction, not after a call.
        after_sigpanic = name == "runtime.sigpanic";
        exact = after_sigpanic;
        pc = ret;
        sp = fp;
    }
    g.problem = Some("too many frames".into());
}

/// A frame's stack object records (FUNCDATA_StackObjects): a count, then
/// {off, size, ptrdata int32; gcdataoff uint32} each; `off` is from varp
/// when negative, from argp (= fp on amd64) otherwise; the pointer mask is
/// at rodata+gcdataoff.
pub(crate) fn stack_objects(
    space: &AddressSpace<'_>,
    rodata: u64,
    records: u64,
    varp: u64,
    argp: u64,
    sp: u64,
) -> Vec<StackObject> {
    let n = space.read_u64(records).unwrap_or(0).min(4096);
    let mut out = Vec::new();
    for i in 0..n {
        let r = records.wrapping_add(8 + i * 16);
        let (Some(off), Some(size), Some(ptrdata), Some(gcdataoff)) = (
            space.read_uint(r, 4),
            space.read_uint(r + 4, 4),
            space.read_uint(r + 8, 4),
            space.read_uint(r + 12, 4),
        ) else {
            break;
        };
        let off = off as u32 as i32 as i64;
        let base = if off >= 0 { argp } else { varp };
        let addr = (base as i64).wrapping_add(off) as u64;
        if addr < sp {
            continue;
        }
        // A negative ptrdata (Go ≤1.23) marks a GC program: too rare on stacks to run it.
        let ptrdata = ptrdata as u32 as i32;
        if ptrdata < 0 {
            continue;
        }
        let words = ptrdata as u64 / PTR;
        let mask = space
            .read(rodata.wrapping_add(gcdataoff), words.div_ceil(8) as usize)
            .unwrap_or(&[]);
        let pointers = (0..words)
            .filter(|w| {
                mask.get((w / 8) as usize)
                    .is_some_and(|b| (b >> (w % 8)) & 1 != 0)
            })
            .map(|w| w * PTR)
            .collect();
        out.push(StackObject {
            addr,
            size: u64::from(size as u32),
            pointers,
        });
    }
    out
}

/// Reads a `runtime.stackmap` {n, nbit int32; bytedata} and records the
/// addresses of the set bits of bitmap `index`; `base(nbit)` is the address
/// of the bitmap's first word.
fn scan_map(
    space: &AddressSpace<'_>,
    map: u64,
    index: u64,
    base: impl Fn(u64) -> u64,
    out: &mut Vec<u64>,
) {
    let (Some(n), Some(nbit)) = (space.read_uint(map, 4), space.read_uint(map + 4, 4)) else {
        return;
    };
    let (n, nbit) = (n as u32 as i32, nbit as u32 as i32);
    if n <= 0 || nbit <= 0 || index >= n as u64 {
        return;
    }
    let nbit = nbit as u64;
    let row = nbit.div_ceil(8);
    let Some(bits) = space.read(map + 8 + index * row, row as usize) else {
        return;
    };
    let start = base(nbit);
    for i in 0..nbit {
        if (bits[(i / 8) as usize] >> (i % 8)) & 1 != 0 {
            out.push(start + i * PTR);
        }
    }
}
