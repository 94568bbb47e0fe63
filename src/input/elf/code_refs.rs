//! Which functions' machine code refers to which global addresses.
//!
//! A stripped Go executable has no symbol for `runtime.mheap_` or a
//! package's globals, but its code still names them: Go on amd64 addresses
//! every global RIP-relative (`LEAQ runtime.mheap_(SB), AX` is
//! `lea rax, [rip+disp32]`; loads, stores and compares likewise). Decoding
//! each function's code and resolving those operands tells which functions
//! touch an address range, and lets a runtime global be found as "the k-th
//! RIP-relative reference in function F" once F is known from pclntab.
//!
//! Decoding is a linear sweep with `iced-x86`: Go keeps no data inside
//! functions (jump tables live in rodata) and pads them with INT3, so a
//! sweep from the entry stays in step with the real instructions.

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic};
use rayon::prelude::*;

use super::Executable;

/// The most code decoded for one function: a bogus end (overlapping or
/// corrupt function table) must not make one function cost gigabytes.
pub const MAX_FUNCTION_BYTES: usize = 16 << 20;

/// Decodes `code` as 64-bit code loaded at virtual address `ip` and appends
/// the absolute target of every RIP-relative memory operand to `out`, in
/// instruction order; LEA counts (it is how Go takes a global's address).
///
/// Bytes that decode to no valid instruction are skipped one at a time, so
/// the sweep resynchronises as early as possible. Hint NOPs (`nop [rip+x]`)
/// are left out: they name an address but never access it.
pub fn rip_targets(code: &[u8], ip: u64, out: &mut Vec<u64>) {
    let Ok(mut decoder) = Decoder::try_with_ip(64, code, ip, DecoderOptions::NONE) else {
        return;
    };
    let mut instr = Instruction::default();
    while decoder.can_decode() {
        let pos = decoder.position();
        decoder.decode_out(&mut instr);
        if instr.is_invalid() {
            // Resume at the next byte: an invalid prefix run may have eaten
            // the start of a valid instruction.
            let next = pos + 1;
            if decoder.set_position(next).is_err() {
                break;
            }
            decoder.set_ip(ip.wrapping_add(next as u64));
            continue;
        }
        if instr.is_ip_rel_memory_operand()
            && !matches!(instr.mnemonic(), Mnemonic::Nop | Mnemonic::Reservednop)
        {
            out.push(instr.ip_rel_memory_address());
        }
    }
}

/// The RIP-relative references of a set of functions, queryable both ways:
/// which functions refer into an address range, and what one function
/// refers to, in its instruction order.
///
/// Stored as one flat array of targets grouped by function (8 bytes per
/// reference) plus a target-sorted index into it (4 bytes per reference).
#[derive(Debug, Default, Clone)]
pub struct CodeRefs {
    /// Targets of function `f` are `targets[starts[f]..starts[f + 1]]`, in
    /// instruction order.
    targets: Vec<u64>,
    starts: Vec<u32>,
    /// Positions in `targets`, sorted by (target, position): a function's
    /// positions are contiguous, so ties come out in function order.
    by_target: Vec<u32>,
}

impl CodeRefs {
    /// Decodes every function, in parallel. `functions[i]` is the `[entry,
    /// end)` of function `i` (the index the queries answer with); `read(addr,
    /// len)` gives the code bytes at `addr` (fewer than `len` is accepted,
    /// `None` skips the function). Functions may overlap; each is decoded on
    /// its own and at most [`MAX_FUNCTION_BYTES`] of it. Functions beyond
    /// `u32::MAX`, or references beyond `u32::MAX` in all, are dropped.
    pub fn build<'a, R>(functions: &[(u64, u64)], read: R) -> CodeRefs
    where
        R: Fn(u64, usize) -> Option<&'a [u8]> + Sync,
    {
        let functions = &functions[..functions.len().min(u32::MAX as usize - 1)];
        let per_function: Vec<Vec<u64>> = functions
            .par_iter()
            .map(|&(entry, end)| {
                let len = end.saturating_sub(entry).min(MAX_FUNCTION_BYTES as u64) as usize;
                let mut out = Vec::new();
                if len > 0 {
                    if let Some(code) = read(entry, len) {
                        rip_targets(&code[..code.len().min(len)], entry, &mut out);
                    }
                }
                out
            })
            .collect();

        let total: usize = per_function.iter().map(Vec::len).sum();
        let total = total.min(u32::MAX as usize);
        let mut targets = Vec::with_capacity(total);
        let mut starts = Vec::with_capacity(per_function.len() + 1);
        starts.push(0u32);
        for refs in per_function {
            let room = total - targets.len();
            targets.extend_from_slice(&refs[..refs.len().min(room)]);
            starts.push(targets.len() as u32);
        }

        let mut keyed: Vec<(u64, u32)> = targets
            .iter()
            .enumerate()
            .map(|(pos, &t)| (t, pos as u32))
            .collect();
        keyed.par_sort_unstable();
        let by_target = keyed.into_iter().map(|(_, pos)| pos).collect();
        CodeRefs {
            targets,
            starts,
            by_target,
        }
    }

    /// The number of functions (the exclusive bound of function indices).
    pub fn function_count(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The number of references of all functions together.
    pub fn reference_count(&self) -> usize {
        self.targets.len()
    }

    /// The distinct functions whose code refers to any address in `[lo,
    /// hi)`, sorted by index.
    pub fn referrers(&self, lo: u64, hi: u64) -> Vec<u32> {
        let first = self
            .by_target
            .partition_point(|&p| self.targets[p as usize] < lo);
        let last = self
            .by_target
            .partition_point(|&p| self.targets[p as usize] < hi)
            .max(first);
        let mut functions: Vec<u32> = self.by_target[first..last]
            .iter()
            .map(|&p| self.function_at(p))
            .collect();
        functions.sort_unstable();
        functions.dedup();
        functions
    }

    /// The RIP-relative targets of `function`, in instruction order (empty
    /// for an index out of range).
    pub fn targets_of(&self, function: u32) -> &[u64] {
        let f = function as usize;
        match (self.starts.get(f), self.starts.get(f + 1)) {
            (Some(&a), Some(&b)) => &self.targets[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The function whose group in `targets` holds position `pos`: the last
    /// function starting at or before it (empty groups start there too).
    fn function_at(&self, pos: u32) -> u32 {
        (self.starts.partition_point(|&s| s <= pos) - 1) as u32
    }
}

/// Reads code from the executable's file: the bytes at virtual address
/// `addr` in an executable loadable segment, up to `len` of them and never
/// past the segment's file bytes. Addresses are the link-time ones (a
/// position-independent executable's are unrelocated), as in its symbol
/// table and pclntab.
pub fn exe_code_reader<'a>(
    exe: &'a Executable,
) -> impl Fn(u64, usize) -> Option<&'a [u8]> + Sync + 'a {
    move |addr, len| {
        let seg = exe
            .segments
            .iter()
            .find(|s| s.executable && addr >= s.vaddr && addr - s.vaddr < s.filesz)?;
        let data = exe.segment_data(seg);
        let from = usize::try_from(addr - seg.vaddr).ok()?;
        let rest = data.get(from..)?;
        Some(&rest[..rest.len().min(len)])
    }
}

/// The `[entry, end)` of every function symbol (STT_FUNC with a size) of an
/// executable that still has its symbol table, in address order, with the
/// symbol's index in `exe.symbols`.
pub fn function_symbols(exe: &Executable) -> (Vec<(u64, u64)>, Vec<usize>) {
    const STT_FUNC: u8 = 2;
    exe.symbols
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == STT_FUNC && s.size > 0)
        .map(|(i, s)| ((s.addr, s.addr.saturating_add(s.size)), i))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn targets(code: &[u8], ip: u64) -> Vec<u64> {
        let mut out = Vec::new();
        rip_targets(code, ip, &mut out);
        out
    }

    const IP: u64 = 0x40_1000;
    /// lea rax, [rip+0x10]: 7 bytes.
    const LEA: [u8; 7] = [0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00];
    /// mov rcx, [rip-0x20]: 7 bytes.
    const MOV: [u8; 7] = [0x48, 0x8b, 0x0d, 0xe0, 0xff, 0xff, 0xff];
    /// cmp byte ptr [rip+0x100], 0: 7 bytes, the immediate after the
    /// displacement, so the target is relative to the end of the immediate.
    const CMP: [u8; 7] = [0x80, 0x3d, 0x00, 0x01, 0x00, 0x00, 0x00];

    #[test]
    fn lea_mov_cmp_targets() {
        assert_eq!(targets(&LEA, IP), vec![IP + 7 + 0x10]);
        assert_eq!(targets(&MOV, IP), vec![IP + 7 - 0x20]);
        assert_eq!(targets(&CMP, IP), vec![IP + 7 + 0x100]);

        // movq $8, [rip+0x10]: a 4-byte immediate after the displacement.
        let movq = [0x48, 0xc7, 0x05, 0x10, 0, 0, 0, 0x08, 0, 0, 0];
        assert_eq!(targets(&movq, IP), vec![IP + 11 + 0x10]);

        let mut code = Vec::new();
        code.extend_from_slice(&LEA);
        code.extend_from_slice(&[0x48, 0x89, 0xc3]); // mov rbx, rax: no memory operand
        code.extend_from_slice(&MOV);
        code.extend_from_slice(&CMP);
        code.extend_from_slice(&[0xcc, 0xcc, 0xcc]); // INT3 padding
        assert_eq!(
            targets(&code, IP),
            vec![IP + 7 + 0x10, IP + 17 - 0x20, IP + 24 + 0x100]
        );
    }

    #[test]
    fn invalid_bytes_are_skipped() {
        let mut code = Vec::new();
        code.extend_from_slice(&LEA);
        code.extend_from_slice(&[0x06, 0x07, 0x0f, 0x0b, 0x62]); // push es, pop es (invalid in 64-bit), ud2, lone EVEX byte
        let cmp_at = code.len() as u64;
        code.extend_from_slice(&CMP);
        assert_eq!(
            targets(&code, IP),
            vec![IP + 7 + 0x10, IP + cmp_at + 7 + 0x100]
        );
        // Only invalid bytes, and lone prefixes.
        assert!(targets(&[0x06; 40], IP).is_empty());
        assert!(targets(&[0x66, 0x67, 0xf0, 0x48], IP).is_empty());
    }

    #[test]
    fn truncated_code_and_extreme_addresses() {
        for cut in 0..LEA.len() {
            assert!(targets(&LEA[..cut], IP).is_empty(), "cut at {cut}");
        }
        // Targets wrap around the address space rather than panic.
        assert_eq!(
            targets(&LEA, u64::MAX - 3),
            vec![(u64::MAX - 3).wrapping_add(0x17)]
        );
        assert_eq!(targets(&MOV, 0), vec![0u64.wrapping_sub(0x19)]);
        // nop dword ptr [rip+0]: names an address, never touches it.
        assert!(targets(&[0x0f, 0x1f, 0x05, 0, 0, 0, 0], IP).is_empty());
    }

    #[test]
    fn code_refs_queries() {
        // Three functions in one buffer; the middle one has no code.
        let mut code = Vec::new();
        code.extend_from_slice(&LEA); // f0 @0: → 0x17
        code.extend_from_slice(&CMP); // f0 @7: → 0x10e
        code.extend_from_slice(&MOV); // f2 @14: → 0x1
        code.extend_from_slice(&LEA); // f2 @21: → 0x2c
        let base = 0x1000u64;
        let read = |addr: u64, len: usize| {
            let from = usize::try_from(addr.checked_sub(base)?).ok()?;
            let rest = code.get(from..)?;
            Some(&rest[..rest.len().min(len)])
        };
        let functions = [
            (base, base + 14),
            (base + 14, base + 14), // empty
            (base + 14, base + 28),
            (base + 7, base + 21),    // overlaps f0 and f2
            (base + 100, base + 200), // no bytes
            (base + 21, u64::MAX),    // huge: capped, reads what exists
            (base + 28, base),        // end before entry
        ];
        let refs = CodeRefs::build(&functions, read);
        assert_eq!(refs.function_count(), functions.len());
        assert_eq!(refs.targets_of(0), &[base + 0x17, base + 7 + 0x107]);
        assert!(refs.targets_of(1).is_empty());
        assert_eq!(refs.targets_of(2), &[base + 21 - 0x20, base + 28 + 0x10]);
        assert_eq!(refs.targets_of(3), &[base + 7 + 0x107, base + 21 - 0x20]);
        assert!(refs.targets_of(4).is_empty());
        assert_eq!(refs.targets_of(5), &[base + 28 + 0x10]);
        assert!(refs.targets_of(6).is_empty());
        assert!(refs.targets_of(7).is_empty());
        assert!(refs.targets_of(u32::MAX).is_empty());
        assert_eq!(refs.reference_count(), 7);

        assert_eq!(refs.referrers(base + 0x17, base + 0x18), vec![0]);
        assert_eq!(refs.referrers(base + 0x2c, base + 0x2d), vec![2, 5]);
        assert_eq!(refs.referrers(base + 0x10e, base + 0x10f), vec![0, 3]);
        assert_eq!(refs.referrers(0, u64::MAX), vec![0, 2, 3, 5]);
        assert!(refs.referrers(base + 0x18, base + 0x2c).is_empty());
        assert!(refs.referrers(base + 0x2c, base + 0x2c).is_empty());
        assert!(refs.referrers(u64::MAX, 0).is_empty());

        let empty = CodeRefs::build(&[], read);
        assert_eq!(empty.function_count(), 0);
        assert!(empty.referrers(0, u64::MAX).is_empty());
        assert!(empty.targets_of(0).is_empty());
        assert!(CodeRefs::default().referrers(0, u64::MAX).is_empty());
    }

    /// The go1.25 fixture executable (read through its symbol table, so a
    /// rebuilt fixture with new addresses still passes).
    #[test]
    fn real_executable() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures/go1.25/scenarios.zst");
        let exe = Executable::open(&path).expect("fixture executable opens");
        let (functions, symbol_of) = function_symbols(&exe);
        assert!(functions.len() > 1000, "{} functions", functions.len());

        let started = std::time::Instant::now();
        let refs = CodeRefs::build(&functions, exe_code_reader(&exe));
        let elapsed = started.elapsed();
        println!(
            "CodeRefs::build: {} functions, {} references, {:.1} ms",
            refs.function_count(),
            refs.reference_count(),
            elapsed.as_secs_f64() * 1e3
        );

        let function = |name: &str| {
            let sym = exe
                .symbol(name)
                .unwrap_or_else(|| panic!("no symbol {name}"));
            let f = symbol_of
                .iter()
                .position(|&i| exe.symbols[i].name == name && exe.symbols[i].addr == sym.addr)
                .unwrap_or_else(|| panic!("{name} is not a function symbol"));
            f as u32
        };
        let name_of = |f: u32| exe.symbols[symbol_of[f as usize]].name.as_str();

        // LEAQ runtime.mheap_(SB), AX in runtime.mallocinit.
        let mheap = exe.symbol("runtime.mheap_").expect("runtime.mheap_");
        let mallocinit = function("runtime.mallocinit");
        assert!(
            refs.targets_of(mallocinit).contains(&mheap.addr),
            "runtime.mallocinit refers to runtime.mheap_ at {:#x}",
            mheap.addr
        );
        let users = refs.referrers(mheap.addr, mheap.addr + mheap.size);
        assert!(users.contains(&mallocinit));
        assert!(
            users.len() > 10,
            "{} referrers of runtime.mheap_",
            users.len()
        );

        // main.setupGlobals stores to and loads from main.gPtr.
        let gptr = exe.symbol("main.gPtr").expect("main.gPtr");
        let users: Vec<&str> = refs
            .referrers(gptr.addr, gptr.addr + gptr.size.max(1))
            .into_iter()
            .map(name_of)
            .collect();
        assert!(users.contains(&"main.setupGlobals"), "{users:?}");
        assert!(users.iter().all(|n| n.starts_with("main.")), "{users:?}");

        // Every target of every function is in the executable's image or
        // nearby (TLS-free Go code addresses only its own data).
        let lo = exe.segments.iter().map(|s| s.vaddr).min().unwrap();
        let hi = exe.segments.iter().map(|s| s.end()).max().unwrap();
        let outside = (0..refs.function_count() as u32)
            .flat_map(|f| refs.targets_of(f).iter().copied())
            .filter(|&t| t < lo || t >= hi)
            .count();
        assert!(
            outside * 1000 <= refs.reference_count(),
            "{outside} of {} targets outside the image",
            refs.reference_count()
        );
    }
}
