//! Which words of a heap object hold pointers, as the GC itself decides, in
//! each era of the runtime's pointer maps:
//! - Go ≤1.19: a 2-bit-per-word bitmap in each heap arena (pointer bit and
//!   "keep scanning" bit); scanning stops at the first word without the scan bit.
//! - Go 1.20–1.21: a 1-bit-per-word bitmap in each heap arena.
//! - Go ≥1.22: spans of objects ≤512 B keep 1 bit per word at the span's end
//!   (moved down by the inline mark bits of Go ≥1.26's Green Tea GC); larger
//!   objects carry a `*abi.Type` header, large ones `mspan.largeType`, whose
//!   GC mask repeats across the object.

use crate::error::{Error, Result};
use crate::input::elf::AddressSpace;
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::layout::{FieldLoc, Layouts};
use crate::input::goruntime::spans::Span;
use crate::model::Memory;

const PTR: u64 = 8;

enum Era {
    TwoBitArena,
    OneBitArena,
    SpanBits,
}

struct Arenas {
    /// `mheap_.arenas`: the L1 array of pointers to L2 arrays.
    l1: u64,
    l1_len: u64,
    l2_bits: u32,
    arena_bytes: u64,
    base_offset: u64,
    bitmap: FieldLoc,
}

struct TypeFields {
    size: FieldLoc,
    ptr_bytes: FieldLoc,
    gc_data: FieldLoc,
    tflag: FieldLoc,
    kind: FieldLoc,
    /// For masks built on demand (Go ≥1.24, large types): array and struct shapes.
    array_elem: Option<FieldLoc>,
    array_len: Option<FieldLoc>,
    struct_fields: Option<FieldLoc>,
    field_typ: Option<FieldLoc>,
    field_offset: Option<FieldLoc>,
    field_size: u64,
    /// Go ≥1.24; in 1.22–1.23 the same bit means "unrolled bitmap".
    mask_on_demand: bool,
}

/// `abi.TFlagGCMaskOnDemand`: GCData points at a slot holding the mask,
/// built by the runtime on first use (nil until then).
const TFLAG_GC_MASK_ON_DEMAND: u64 = 1 << 4;
const KIND_MASK: u64 = 0x1f;
const KIND_ARRAY: u64 = 17;
const KIND_STRUCT: u64 = 25;

pub struct PointerMaps<'a, 's> {
    space: &'s AddressSpace<'a>,
    era: Era,
    arenas: Option<Arenas>,
    page_size: u64,
    /// Bytes of Green Tea inline mark bits at the end of small spans (Go ≥1.26).
    inline_mark_bytes: u64,
    min_inline_mark_size: u64,
    header_threshold: u64,
    type_fields: Option<TypeFields>,
}

impl<'a, 's> PointerMaps<'a, 's> {
    pub fn new(
        space: &'s AddressSpace<'a>,
        layouts: &Layouts<'_>,
        version: GoVersion,
        page_size: u64,
    ) -> Result<Self> {
        let era = if version.at_least(22) {
            Era::SpanBits
        } else if version.at_least(20) {
            Era::OneBitArena
        } else {
            Era::TwoBitArena
        };
        let arenas = match era {
            Era::SpanBits => None,
            _ => Some(read_arenas(layouts)?),
        };
        let type_fields = match era {
            Era::SpanBits => Some(TypeFields {
                size: layouts.require_field("internal/abi.Type", "Size_")?,
                ptr_bytes: layouts.require_field("internal/abi.Type", "PtrBytes")?,
                gc_data: layouts.require_field("internal/abi.Type", "GCData")?,
                tflag: layouts.require_field("internal/abi.Type", "TFlag")?,
                kind: layouts.require_field("internal/abi.Type", "Kind_")?,
                array_elem: layouts.field("internal/abi.ArrayType", "Elem"),
                array_len: layouts.field("internal/abi.ArrayType", "Len"),
                struct_fields: layouts.field("internal/abi.StructType", "Fields"),
                field_typ: layouts.field("internal/abi.StructField", "Typ"),
                field_offset: layouts.field("internal/abi.StructField", "Offset"),
                field_size: layouts.size("internal/abi.StructField").unwrap_or(24),
                mask_on_demand: version.at_least(24),
            }),
            _ => None,
        };
        Ok(PointerMaps {
            space,
            era,
            arenas,
            page_size,
            // Present only when the runtime was built with the Green Tea GC.
            inline_mark_bytes: layouts.size("runtime.spanInlineMarkBits").unwrap_or(0),
            min_inline_mark_size: 16,
            header_threshold: layouts
                .constant("runtime.minSizeForMallocHeader")
                .unwrap_or(512) as u64,
            type_fields,
        })
    }

    /// Calls `f(offset)` for each pointer-holding word of the object at
    /// `addr` (as Go sees it) of `size` bytes in `span`. Returns false when
    /// the pointer map could not be read (absent memory).
    pub fn for_each_pointer(
        &self,
        span: &Span,
        span_memory: Option<&[u8]>,
        addr: u64,
        size: u64,
        mut f: impl FnMut(u64),
    ) -> bool {
        if span.noscan() {
            return true;
        }
        // Slices of the span's memory when the caller has it (a lookup of
        // the core's region per object costs more than the bits it finds).
        let in_span = |at: u64, len: u64| -> Option<&[u8]> {
            let off = usize::try_from(at.checked_sub(span.base)?).ok()?;
            span_memory?.get(off..off.checked_add(usize::try_from(len).ok()?)?)
        };
        match self.era {
            Era::TwoBitArena => self.two_bit(addr, size, &mut f),
            Era::OneBitArena => self.one_bit(addr, size, &mut f),
            Era::SpanBits => {
                if span.has_header {
                    let header = in_span(addr - PTR, PTR)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_le_bytes)
                        .or_else(|| self.space.read_u64(addr - PTR));
                    match header {
                        Some(0) => true, // allocated but not yet typed
                        Some(ty) => self.typed(ty, size, &mut f),
                        None => false,
                    }
                } else if span.size_class() == 0 {
                    span.large_type == 0 || self.typed(span.large_type, size, &mut f)
                } else {
                    self.span_bits(span, in_span, addr, size, &mut f)
                }
            }
        }
    }

    fn arena_base(&self, arenas: &Arenas, addr: u64) -> Option<u64> {
        let ri = addr.wrapping_sub(arenas.base_offset) / arenas.arena_bytes;
        let l1 = ri >> arenas.l2_bits;
        let l2 = ri & ((1u64 << arenas.l2_bits) - 1);
        if l1 >= arenas.l1_len {
            return None;
        }
        let l2_array = self.space.read_u64(arenas.l1 + l1 * PTR)?;
        let arena = self.space.read_u64(l2_array + l2 * PTR)?;
        (arena != 0).then_some(arena)
    }

    fn two_bit(&self, addr: u64, size: u64, f: &mut impl FnMut(u64)) -> bool {
        let Some(arenas) = &self.arenas else {
            return false;
        };
        let Some(ha) = self.arena_base(arenas, addr) else {
            return false;
        };
        let bitmap_bytes = arenas.bitmap.size;
        for i in 0..size / PTR {
            let word = (addr + i * PTR) / PTR;
            let Some(b) = self
                .space
                .read_uint(ha + arenas.bitmap.offset + (word / 4) % bitmap_bytes, 1)
            else {
                return false;
            };
            let shift = word & 3;
            if (b >> (shift + 4)) & 1 == 0 {
                break; // no more pointers in this object
            }
            if (b >> shift) & 1 != 0 {
                f(i * PTR);
            }
        }
        true
    }

    fn one_bit(&self, addr: u64, size: u64, f: &mut impl FnMut(u64)) -> bool {
        let Some(arenas) = &self.arenas else {
            return false;
        };
        let Some(ha) = self.arena_base(arenas, addr) else {
            return false;
        };
        let arena_words = arenas.arena_bytes / PTR;
        let mut cached: Option<(u64, u64)> = None;
        for i in 0..size / PTR {
            let word = ((addr + i * PTR) / PTR) % arena_words;
            let idx = word / 64;
            let bits = match cached {
                Some((j, v)) if j == idx => v,
                _ => match self.space.read_u64(ha + arenas.bitmap.offset + idx * PTR) {
                    Some(v) => {
                        cached = Some((idx, v));
                        v
                    }
                    None => return false,
                },
            };
            if (bits >> (word % 64)) & 1 != 0 {
                f(i * PTR);
            }
        }
        true
    }

    fn span_bits<'m>(
        &'m self,
        span: &Span,
        in_span: impl Fn(u64, u64) -> Option<&'m [u8]>,
        addr: u64,
        size: u64,
        f: &mut impl FnMut(u64),
    ) -> bool {
        let span_bytes = span.npages * self.page_size;
        let bitmap_size = span_bytes / PTR / 8;
        let mut bitmap = span.base + span_bytes - bitmap_size;
        if self.inline_mark_bytes > 0
            && span.elemsize >= self.min_inline_mark_size
            && span.elemsize <= self.header_threshold
        {
            bitmap -= self.inline_mark_bytes;
        }
        let bits =
            in_span(bitmap, bitmap_size).or_else(|| self.space.read(bitmap, bitmap_size as usize));
        let Some(bits) = bits else {
            return false;
        };
        let first = (addr - span.base) / PTR;
        for i in 0..size / PTR {
            let w = first + i;
            if bits
                .get((w / 8) as usize)
                .is_some_and(|b| (b >> (w % 8)) & 1 != 0)
            {
                f(i * PTR);
            }
        }
        true
    }

    /// A type's pointer mask, repeated every `Size_` bytes across the object
    /// (arrays and slices' backing stores are typed by their element).
    fn typed(&self, ty: u64, size: u64, f: &mut impl FnMut(u64)) -> bool {
        let Some(tf) = &self.type_fields else {
            return false;
        };
        let rd = |loc: FieldLoc| self.space.read_uint(ty.wrapping_add(loc.offset), loc.size);
        let (Some(elem_size), Some(ptr_bytes)) = (rd(tf.size), rd(tf.ptr_bytes)) else {
            return false;
        };
        if ptr_bytes == 0 || elem_size == 0 {
            return true;
        }
        // A descriptor read from memory sizes the mask: one that cannot
        // describe this object (PtrBytes ≤ Size_ ≤ the object, always) is
        // corrupt, and the object's pointers are unknown.
        if ptr_bytes > elem_size || elem_size > size {
            return false;
        }
        let words = ptr_bytes.div_ceil(PTR);
        let mut mask = vec![0u8; words.div_ceil(8) as usize];
        if !self.type_mask(tf, ty, 0, &mut mask, 0) {
            return false;
        }
        let mut elem = 0;
        while elem < size {
            for w in 0..words {
                let off = elem + w * PTR;
                if off >= size {
                    break;
                }
                if (mask[(w / 8) as usize] >> (w % 8)) & 1 != 0 {
                    f(off);
                }
            }
            elem += elem_size;
        }
        true
    }

    /// ORs the pointer mask of type `ty` into `mask` starting at word `at`,
    /// as the runtime's getGCMask/buildGCMask do.
    fn type_mask(&self, tf: &TypeFields, ty: u64, at: u64, mask: &mut [u8], depth: u32) -> bool {
        if depth > 64 {
            return false;
        }
        let rd = |loc: FieldLoc| self.space.read_uint(ty.wrapping_add(loc.offset), loc.size);
        let (Some(ptr_bytes), Some(gc_data), Some(tflag), Some(kind)) =
            (rd(tf.ptr_bytes), rd(tf.gc_data), rd(tf.tflag), rd(tf.kind))
        else {
            return false;
        };
        if ptr_bytes == 0 {
            return true;
        }
        // Bits past the mask are past the object: a nested descriptor that
        // claims more is corrupt.
        let words = ptr_bytes.div_ceil(PTR);
        if at.saturating_add(words) > mask.len() as u64 * 8 {
            return false;
        }
        let mut bitmap = gc_data;
        if tf.mask_on_demand && tflag & TFLAG_GC_MASK_ON_DEMAND != 0 {
            match self.space.read_u64(gc_data) {
                Some(0) => return self.build_mask(tf, ty, kind & KIND_MASK, at, mask, depth),
                Some(built) => bitmap = built,
                None => return false,
            }
        }
        let Some(bits) = self.space.read(bitmap, words.div_ceil(8) as usize) else {
            return false;
        };
        for w in 0..words {
            if (bits[(w / 8) as usize] >> (w % 8)) & 1 != 0 {
                set_bit(mask, at + w);
            }
        }
        true
    }

    /// The mask of an array or struct whose mask the runtime has not built yet.
    fn build_mask(
        &self,
        tf: &TypeFields,
        ty: u64,
        kind: u64,
        at: u64,
        mask: &mut [u8],
        depth: u32,
    ) -> bool {
        let rd = |base: u64, loc: Option<FieldLoc>| {
            loc.and_then(|l| self.space.read_uint(base.wrapping_add(l.offset), l.size))
        };
        match kind {
            KIND_ARRAY => {
                let (Some(elem), Some(len)) = (rd(ty, tf.array_elem), rd(ty, tf.array_len)) else {
                    return false;
                };
                let Some(elem_size) = self
                    .space
                    .read_uint(elem.wrapping_add(tf.size.offset), tf.size.size)
                else {
                    return false;
                };
                let elem_words = elem_size / PTR;
                let bits = mask.len() as u64 * 8;
                // Elements past the mask add nothing; a length read from
                // memory must not drive the loop past it.
                let fit = bits.saturating_sub(at) / elem_words.max(1);
                if len > fit + 1 {
                    return false;
                }
                (0..len).all(|i| {
                    let start = at + i * elem_words;
                    start >= bits || self.type_mask(tf, elem, start, mask, depth + 1)
                })
            }
            KIND_STRUCT => {
                let Some(fields_loc) = tf.struct_fields else {
                    return false;
                };
                let (Some(array), Some(len)) = (
                    self.space.read_u64(ty.wrapping_add(fields_loc.offset)),
                    self.space
                        .read_u64(ty.wrapping_add(fields_loc.offset + PTR)),
                ) else {
                    return false;
                };
                (0..len.min(1 << 16)).all(|i| {
                    let field = array.wrapping_add(i * tf.field_size);
                    match (rd(field, tf.field_typ), rd(field, tf.field_offset)) {
                        (Some(ft), Some(off)) => {
                            self.type_mask(tf, ft, at.saturating_add(off / PTR), mask, depth + 1)
                        }
                        _ => false,
                    }
                })
            }
            _ => false,
        }
    }
}

fn set_bit(mask: &mut [u8], bit: u64) {
    if let Some(b) = mask.get_mut((bit / 8) as usize) {
        *b |= 1 << (bit % 8);
    }
}

fn read_arenas(layouts: &Layouts<'_>) -> Result<Arenas> {
    let index = layouts.index;
    let mheap = layouts.require_global("runtime.mheap_")?;
    let arenas_field = layouts.require_field("runtime.mheap", "arenas")?;
    // arenas: [1 << arenaL1Bits]*[1 << arenaL2Bits]*heapArena
    let mheap_ty = index.underlying(
        index
            .type_named("runtime.mheap")
            .ok_or_else(|| missing("type runtime.mheap"))?,
    );
    let field_ty = index
        .ty(mheap_ty)
        .fields
        .iter()
        .find(|f| f.name == "arenas")
        .and_then(|f| f.ty)
        .ok_or_else(|| missing("type of runtime.mheap.arenas"))?;
    let l1_len =
        array_len(index, field_ty).ok_or_else(|| missing("length of runtime.mheap.arenas"))?;
    let l2_ptr = index
        .ty(index.underlying(field_ty))
        .target
        .ok_or_else(|| missing("element of runtime.mheap.arenas"))?;
    let l2_array = index
        .ty(index.underlying(l2_ptr))
        .target
        .ok_or_else(|| missing("L2 arena array"))?;
    let l2_len =
        array_len(index, l2_array).ok_or_else(|| missing("length of the L2 arena array"))?;
    Ok(Arenas {
        l1: mheap + arenas_field.offset,
        l1_len,
        l2_bits: l2_len.trailing_zeros(),
        arena_bytes: layouts.require_constant("runtime.heapArenaBytes")? as u64,
        base_offset: layouts
            .constant("runtime.arenaBaseOffset")
            .map_or(0xffff_8000_0000_0000, |v| v as u64),
        bitmap: layouts.require_field("runtime.heapArena", "bitmap")?,
    })
}

fn array_len(
    index: &crate::input::dwarf::DwarfIndex,
    id: crate::input::dwarf::TypeId,
) -> Option<u64> {
    match index.ty(index.underlying(id)).kind {
        crate::input::dwarf::TypeKind::Array { count } => Some(count),
        _ => None,
    }
}

fn missing(what: &str) -> Error {
    Error::RuntimeLayout {
        what: what.to_string(),
    }
}
