//! The runtime's function table (pclntab) as `runtime.firstmoduledata` holds
//! it (format of Go ≥1.18): function lookup by pc, names, and the pc-value
//! tables for stack deltas and stack-map indexes. Needs no DWARF.

use crate::error::Result;
use crate::input::elf::AddressSpace;
use crate::input::goruntime::layout::{FieldLoc, Layouts};
use crate::model::Memory;

/// abi.PCDATA_* and abi.FUNCDATA_* table numbers (stable since Go 1.12).
pub const PCDATA_STACK_MAP_INDEX: u32 = 1;
pub const FUNCDATA_ARGS_POINTER_MAPS: u32 = 0;
pub const FUNCDATA_LOCALS_POINTER_MAPS: u32 = 1;
pub const FUNCDATA_STACK_OBJECTS: u32 = 2;
pub const PCDATA_INL_TREE_INDEX: u32 = 2;
pub const FUNCDATA_INL_TREE: u32 = 3;

/// Where an inlined call's name sits in `runtime.inlinedCall` (func_ up to
/// 1.19, nameOff from 1.20), and the record's size.
#[derive(Clone, Copy)]
struct InlineLayout {
    name_off: u64,
    size: u64,
}

struct FuncFields {
    entry_off: FieldLoc,
    name_off: FieldLoc,
    args: FieldLoc,
    deferreturn: FieldLoc,
    pcsp: FieldLoc,
    pcfile: FieldLoc,
    pcln: FieldLoc,
    cu_offset: FieldLoc,
    npcdata: FieldLoc,
    func_id: FieldLoc,
    nfuncdata: FieldLoc,
    /// pcdata offsets follow the fixed part of `_func`, then funcdata offsets.
    size: u64,
}

/// One module's function table.
pub struct FuncTable<'a, 's> {
    space: &'s AddressSpace<'a>,
    text: u64,
    gofunc: u64,
    /// Base of `gcdataoff` in stack object records.
    pub rodata: u64,
    funcnametab: u64,
    cutab: u64,
    filetab: u64,
    pctab: u64,
    pclntable: u64,
    /// (entry offset, func offset) pairs, sorted by entry; last is a sentinel.
    ftab: Vec<(u32, u32)>,
    fields: FuncFields,
    inline: Option<InlineLayout>,
}

#[derive(Debug, Clone, Copy)]
pub struct Func {
    /// Address of the `_func` record.
    addr: u64,
    pub entry: u64,
}

impl<'a, 's> FuncTable<'a, 's> {
    pub fn new(space: &'s AddressSpace<'a>, layouts: &Layouts<'_>) -> Result<Self> {
        let md = layouts.require_global("runtime.firstmoduledata")?;
        let mf = |name: &str| layouts.require_field("runtime.moduledata", name);
        let word = |off: u64| md.checked_add(off).and_then(|a| space.read_u64(a));
        let read_ptr = |loc: FieldLoc| word(loc.offset).unwrap_or(0);
        let slice_len = |loc: FieldLoc| word(loc.offset.saturating_add(8)).unwrap_or(0);
        let ftab_loc = mf("ftab")?;
        let ftab_ptr = read_ptr(ftab_loc);
        let n = slice_len(ftab_loc).min(1 << 24);
        let ftab = match space.read(ftab_ptr, (n * 8) as usize) {
            Some(bytes) => bytes
                .chunks_exact(8)
                .map(|c| {
                    (
                        u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                        u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        let ff = |names: &[&str]| {
            layouts.field_any("runtime._func", names).ok_or_else(|| {
                crate::error::Error::RuntimeLayout {
                    what: format!("field runtime._func.{}", names[0]),
                }
            })
        };
        let fields = FuncFields {
            entry_off: ff(&["entryOff", "entryoff"])?,
            name_off: ff(&["nameOff", "nameoff"])?,
            args: ff(&["args"])?,
            deferreturn: ff(&["deferreturn"])?,
            pcsp: ff(&["pcsp"])?,
            pcfile: ff(&["pcfile"])?,
            pcln: ff(&["pcln"])?,
            cu_offset: ff(&["cuOffset"])?,
            npcdata: ff(&["npcdata"])?,
            func_id: ff(&["funcID"])?,
            nfuncdata: ff(&["nfuncdata"])?,
            size: layouts.size("runtime._func").unwrap_or(44),
        };
        Ok(FuncTable {
            space,
            text: read_ptr(mf("text")?),
            gofunc: read_ptr(mf("gofunc")?),
            rodata: read_ptr(mf("rodata")?),
            funcnametab: read_ptr(mf("funcnametab")?),
            cutab: read_ptr(mf("cutab")?),
            filetab: read_ptr(mf("filetab")?),
            pctab: read_ptr(mf("pctab")?),
            pclntable: read_ptr(mf("pclntable")?),
            ftab,
            fields,
            inline: layouts
                .field_any("runtime.inlinedCall", &["nameOff", "func_"])
                .zip(layouts.size("runtime.inlinedCall"))
                .map(|(f, size)| InlineLayout {
                    name_off: f.offset,
                    size,
                }),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.ftab.len() < 2
    }

    /// Every function's code as [entry, end), in address order (the next
    /// function's entry ends it).
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        self.ftab
            .windows(2)
            .filter_map(|w| {
                Some((
                    self.text.checked_add(u64::from(w[0].0))?,
                    self.text.checked_add(u64::from(w[1].0))?,
                ))
            })
            .collect()
    }

    /// The name of the `i`-th function of `ranges`.
    pub fn name_of_index(&self, i: usize) -> Option<String> {
        let &(entry, off) = self.ftab.get(i)?;
        self.name(Func {
            addr: self.pclntable.checked_add(u64::from(off))?,
            entry: self.text.checked_add(u64::from(entry))?,
        })
    }

    fn field(&self, f: Func, loc: FieldLoc) -> Option<u64> {
        self.space
            .read_uint(f.addr.checked_add(loc.offset)?, loc.size)
    }

    /// The function containing `pc`.
    pub fn find(&self, pc: u64) -> Option<Func> {
        let off = pc.checked_sub(self.text)?;
        let off = u32::try_from(off).ok()?;
        let i = self
            .ftab
            .partition_point(|&(e, _)| e <= off)
            .checked_sub(1)?;
        if i + 1 >= self.ftab.len() {
            return None; // past the sentinel: not Go code
        }
        let addr = self.pclntable.checked_add(u64::from(self.ftab[i].1))?;
        let entry_off = self
            .space
            .read_uint(addr.checked_add(self.fields.entry_off.offset)?, 4)?;
        Some(Func {
            addr,
            entry: self.text.checked_add(entry_off)?,
        })
    }

    pub fn name(&self, f: Func) -> Option<String> {
        let off = self.field(f, self.fields.name_off)?;
        self.c_string(self.funcnametab.checked_add(off)?)
    }

    fn c_string(&self, start: u64) -> Option<String> {
        let mut s = Vec::new();
        for i in 0..4096 {
            match self.space.read(start.checked_add(i)?, 1)?[0] {
                0 => break,
                b => s.push(b),
            }
        }
        Some(String::from_utf8_lossy(&s).into_owned())
    }

    /// Source file and line of `pc` in `f`.
    pub fn file_line(&self, f: Func, pc: u64) -> Option<(String, u32)> {
        let line = self.pc_value(f, self.field(f, self.fields.pcln)?, pc)?;
        let file_index = self.pc_value(f, self.field(f, self.fields.pcfile)?, pc)?;
        let cu = self.field(f, self.fields.cu_offset)?;
        let file_off = self.space.read_uint(
            at_index(
                self.cutab,
                cu.checked_add(u64::try_from(file_index).ok()?)?,
                4,
            )?,
            4,
        )?;
        if file_off == u64::from(u32::MAX) {
            return None;
        }
        Some((
            self.c_string(self.filetab.checked_add(file_off)?)?,
            u32::try_from(line).ok()?,
        ))
    }

    /// Function and source position of a pc; for a return address the call
    /// is at pc−1.
    pub fn source_frame(&self, pc: u64, is_return: bool) -> Option<crate::model::SourceFrame> {
        let f = self.find(pc)?;
        let lookup = if is_return && pc > f.entry {
            pc - 1
        } else {
            pc
        };
        let (file, line) = self
            .file_line(f, lookup)
            .map_or((None, None), |(f, l)| (Some(f), Some(l)));
        Some(crate::model::SourceFrame {
            function: self.name(f)?,
            file,
            line,
        })
    }

    /// The innermost logical frame at a return address, naming the inlined
    /// function when the call sits in inlined code. Tracebacks record one pc
    /// per logical frame (inline marks become pcs of their own), so mapping
    /// each pc to its innermost frame reproduces the logical stack.
    pub fn logical_frame(&self, return_pc: u64) -> Option<crate::model::SourceFrame> {
        let f = self.find(return_pc.checked_sub(1)?)?;
        let pc = if return_pc > f.entry {
            return_pc - 1
        } else {
            return_pc
        };
        let (file, line) = self
            .file_line(f, pc)
            .map_or((None, None), |(f, l)| (Some(f), Some(l)));
        let function = match self.inlined_name(f, pc) {
            Some(name) => name,
            None => self.name(f)?,
        };
        Some(crate::model::SourceFrame {
            function,
            file,
            line,
        })
    }

    /// Name of the function inlined at `pc` in `f`, if any.
    fn inlined_name(&self, f: Func, pc: u64) -> Option<String> {
        let layout = self.inline?;
        let ix = self.pcdata(f, PCDATA_INL_TREE_INDEX, pc)?;
        if ix < 0 {
            return None;
        }
        let tree = self.funcdata(f, FUNCDATA_INL_TREE)?;
        let at = tree.checked_add((ix as u64).checked_mul(layout.size)?)?;
        let name_off = self.space.read_uint(at.checked_add(layout.name_off)?, 4)? as u32 as i32;
        if name_off < 0 {
            return None;
        }
        self.c_string(self.funcnametab.checked_add(name_off as u64)?)
    }

    pub fn func_id(&self, f: Func) -> u8 {
        self.field(f, self.fields.func_id).unwrap_or(0) as u8
    }

    /// Size of the arguments (`_func.args`), or None when unknown.
    pub fn args_size(&self, f: Func) -> Option<u64> {
        let v = self.field(f, self.fields.args)? as u32 as i32;
        (v >= 0).then_some(v as u64)
    }

    /// Whether the function has a deferreturn call (a frame that panicked
    /// through it can still resume there).
    pub fn has_deferreturn(&self, f: Func) -> bool {
        self.field(f, self.fields.deferreturn)
            .is_some_and(|v| v != 0)
    }

    /// SP delta at `pc`: how far below the frame's top SP is.
    pub fn sp_delta(&self, f: Func, pc: u64) -> Option<i64> {
        let off = self.field(f, self.fields.pcsp)?;
        self.pc_value(f, off, pc)
    }

    /// Value of pcdata table `table` at `pc` (-1 when the function has none).
    pub fn pcdata(&self, f: Func, table: u32, pc: u64) -> Option<i64> {
        let n = self.field(f, self.fields.npcdata)?;
        if u64::from(table) >= n {
            return Some(-1);
        }
        let off = self.space.read_uint(
            at_index(f.addr.checked_add(self.fields.size)?, u64::from(table), 4)?,
            4,
        )?;
        if off == 0 {
            return Some(-1);
        }
        self.pc_value(f, off, pc)
    }

    /// Address of funcdata `index`, or None when absent.
    pub fn funcdata(&self, f: Func, index: u32) -> Option<u64> {
        let nfuncdata = self.field(f, self.fields.nfuncdata)?;
        if u64::from(index) >= nfuncdata {
            return None;
        }
        let npcdata = self.field(f, self.fields.npcdata)?;
        let tables = at_index(f.addr.checked_add(self.fields.size)?, npcdata, 4)?;
        let at = at_index(tables, u64::from(index), 4)?;
        let off = self.space.read_uint(at, 4)?;
        if off == u64::from(u32::MAX) {
            return None;
        }
        self.gofunc.checked_add(off)
    }

    /// Decodes a pc-value table (zig-zag value deltas, pc deltas) up to `target`.
    fn pc_value(&self, f: Func, off: u64, target: u64) -> Option<i64> {
        let mut p = self.pctab.checked_add(off)?;
        let mut pc = f.entry;
        let mut val: i64 = -1;
        let mut first = true;
        for _ in 0..1_000_000 {
            let (uvdelta, n) = self.varint(p)?;
            if uvdelta == 0 && !first {
                return None;
            }
            p = p.checked_add(n)?;
            let vdelta = ((uvdelta >> 1) as i64) ^ -((uvdelta & 1) as i64);
            val = val.checked_add(vdelta)?;
            let (pcdelta, n) = self.varint(p)?;
            p = p.checked_add(n)?;
            pc = pc.checked_add(pcdelta)?; // pc quantum is 1 on amd64
            first = false;
            if target < pc {
                return Some(val);
            }
        }
        None
    }

    fn varint(&self, at: u64) -> Option<(u64, u64)> {
        // A varint at the end of a mapping has fewer than 10 bytes after it.
        let bytes = self
            .space
            .read(at, 10)
            .or_else(|| (1..10).rev().find_map(|n| self.space.read(at, n)))?;
        let (value, len) = crate::input::varint::uvarint(bytes).ok()?;
        Some((value, len as u64))
    }
}

/// `base + index * stride`, or None when a corrupt table's numbers overflow.
fn at_index(base: u64, index: u64, stride: u64) -> Option<u64> {
    base.checked_add(index.checked_mul(stride)?)
}
