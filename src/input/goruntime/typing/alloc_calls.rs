//! The type an allocation call passed: a sampled object's profile bucket
//! records the return address of the call into the runtime's allocator
//! (`runtime.newobject`, `makeslice`, `growslice`…), and the caller's code
//! just before it loads the type descriptor's address into the argument
//! register (`LEAQ type:T(SB), AX`). Only a load in the same basic block,
//! not overwritten before the call, counts.

use std::collections::{HashMap, HashSet};

use iced_x86::{
    Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess,
    OpKind, Register,
};

use crate::input::elf::AddressSpace;
use crate::input::elf::code_refs::MAX_FUNCTION_BYTES;
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::pclntab::FuncTable;
use crate::model::{ObjectId, Sites};

/// What the allocator was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocated {
    /// One value of the type (`new(T)`).
    One,
    /// A slice's backing array of elements of the type.
    Elements,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocType {
    pub object: ObjectId,
    pub rtype: u64,
    pub what: Allocated,
}

/// The allocator entry points whose type argument is the object's type,
/// and the register that argument travels in (Go's register ABI).
fn entry(name: &str, version: GoVersion) -> Option<(Register, Allocated)> {
    Some(match name {
        "runtime.newobject" => (Register::RAX, Allocated::One),
        "runtime.makeslice" | "runtime.makeslice64" | "runtime.makeslicecopy" => {
            (Register::RAX, Allocated::Elements)
        }
        // growslice(et, old, cap) until 1.20, then (oldPtr, newLen, oldCap, num, et).
        "runtime.growslice" if version.at_least(20) => (Register::RSI, Allocated::Elements),
        "runtime.growslice" => (Register::RAX, Allocated::Elements),
        // Go 1.26 allocates `new(T)` through size-specialised functions
        // (size, typ, needzero); the tiny ones share blocks.
        n if n.starts_with("runtime.mallocgcSmallScanNoHeaderSC")
            || n.starts_with("runtime.mallocgcSmallNoScanSC") =>
        {
            (Register::RBX, Allocated::One)
        }
        _ => return None,
    })
}

fn is_runtime(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/")
}

/// The allocation type of every sampled object whose call site says it.
/// `types` bounds the descriptors a load may name.
pub fn allocation_types(
    space: &AddressSpace<'_>,
    funcs: &FuncTable<'_, '_>,
    sites: &Sites,
    version: GoVersion,
    types: (u64, u64),
) -> Vec<AllocType> {
    if sites.object_bucket.is_empty() {
        return Vec::new();
    }
    let ranges = funcs.ranges();
    // Per bucket: the call's type, found once per call site.
    let mut by_site: HashMap<u64, Option<(u64, Allocated)>> = HashMap::new();
    let mut by_bucket: Vec<Option<(u64, Allocated)>> = Vec::with_capacity(sites.buckets.len());
    for b in &sites.buckets {
        let call = (|| {
            // The innermost program frame called the allocator (the
            // runtime's own frames, recorded or not, sit above it).
            let (ret, caller) = b.pcs.iter().find_map(|&pc| {
                let f = funcs.find(pc)?;
                (!is_runtime(&funcs.name(f)?)).then_some((pc, f))
            })?;
            *by_site.entry(ret).or_insert_with(|| {
                let end = ranges
                    .get(
                        ranges
                            .partition_point(|&(e, _)| e <= caller.entry)
                            .checked_sub(1)?,
                    )
                    .map(|&(_, end)| end)?;
                let len = end
                    .saturating_sub(caller.entry)
                    .min(MAX_FUNCTION_BYTES as u64);
                let code = space.read(caller.entry, len as usize)?;
                let (callee, regs) = loaded_before_call(code, caller.entry, ret)?;
                let (reg, what) = entry(&funcs.name(funcs.find(callee)?)?, version)?;
                let t = regs.iter().find(|(r, _)| *r == reg)?.1?;
                (types.0 <= t && t < types.1).then_some((t, what))
            })
        })();
        by_bucket.push(call);
    }
    // A tiny block holds several sampled allocations: no one type is its.
    let mut count: HashMap<ObjectId, u32> = HashMap::new();
    for &(o, _) in &sites.object_bucket {
        *count.entry(o).or_default() += 1;
    }
    sites
        .object_bucket
        .iter()
        .filter(|(o, _)| count.get(o) == Some(&1))
        .filter_map(|&(object, b)| {
            let (rtype, what) = (*by_bucket.get(b as usize)?)?;
            Some(AllocType {
                object,
                rtype,
                what,
            })
        })
        .collect()
}

/// Registers an allocator takes its type in.
const TRACKED: [Register; 3] = [Register::RAX, Register::RBX, Register::RSI];

/// The direct call that returns to `ret`: its target, and the address each
/// tracked register holds there when a `LEA reg, [rip+X]` earlier in the
/// same basic block set it and nothing wrote the register since.
fn loaded_before_call(
    code: &[u8],
    ip: u64,
    ret: u64,
) -> Option<(u64, [(Register, Option<u64>); 3])> {
    let mut decoder = Decoder::try_with_ip(64, code, ip, DecoderOptions::NONE).ok()?;
    let mut instrs = Vec::new();
    let mut labels = HashSet::new();
    let mut indirect = false;
    let mut instr = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut instr);
        if instr.is_invalid() {
            return None; // out of step: nothing to say
        }
        match instr.flow_control() {
            FlowControl::ConditionalBranch | FlowControl::UnconditionalBranch
                if instr.op0_kind() == OpKind::NearBranch64 =>
            {
                labels.insert(instr.near_branch_target());
            }
            FlowControl::IndirectBranch => indirect = true,
            _ => {}
        }
        instrs.push(instr);
    }
    let mut info = InstructionInfoFactory::new();
    let mut known: [(Register, Option<u64>); 3] = TRACKED.map(|r| (r, None));
    // Whether each register was loaded by the instruction just before.
    let mut just_loaded = [false; 3];
    for instr in &instrs {
        if labels.contains(&instr.ip()) {
            known = TRACKED.map(|r| (r, None));
        }
        if instr.next_ip() == ret {
            if instr.mnemonic() != Mnemonic::Call || instr.op0_kind() != OpKind::NearBranch64 {
                return None;
            }
            // A jump table's targets are unknown: then only a load right
            // before the call is in its block for sure.
            if indirect {
                for (k, loaded) in known.iter_mut().zip(just_loaded) {
                    if !loaded {
                        k.1 = None;
                    }
                }
            }
            return Some((instr.near_branch_target(), known));
        }
        just_loaded = [false; 3];
        if instr.flow_control() == FlowControl::Call {
            known = TRACKED.map(|r| (r, None));
            continue;
        }
        let used = info.info(instr).used_registers().to_vec();
        for (i, (reg, value)) in known.iter_mut().enumerate() {
            if instr.mnemonic() == Mnemonic::Lea
                && instr.op0_kind() == OpKind::Register
                && instr.op0_register() == *reg
                && instr.is_ip_rel_memory_operand()
            {
                *value = Some(instr.ip_rel_memory_address());
                just_loaded[i] = true;
                continue;
            }
            let writes = used.iter().any(|r| {
                r.register().full_register() == *reg
                    && matches!(
                        r.access(),
                        OpAccess::Write
                            | OpAccess::CondWrite
                            | OpAccess::ReadWrite
                            | OpAccess::ReadCondWrite
                    )
            });
            if writes {
                *value = None;
            }
        }
    }
    None
}
