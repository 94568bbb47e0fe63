//! The heap's spans (`mheap_.allspans`) and the objects allocated in them.
//! Allocated slots are those below `freeindex` or marked in `allocBits`
//! (the runtime's own `mspan.isFree`), so a core shows every object the
//! program could still touch, including those dead since the last GC.

use crate::error::{Error, Result};
use crate::input::elf::AddressSpace;
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::layout::{FieldLoc, Layouts};
use crate::model::Memory;

/// Per-span facts rootpath needs, read once.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub base: u64,
    pub npages: u64,
    pub elemsize: u64,
    pub nelems: u64,
    pub freeindex: u64,
    pub alloc_bits: u64,
    pub spanclass: u8,
    pub specials: u64,
    /// `*abi.Type` of the single object of a large span (Go ≥1.22), or 0.
    pub large_type: u64,
    /// Objects carry an 8-byte `*abi.Type` header before their first byte (Go ≥1.22).
    pub has_header: bool,
}

impl Span {
    pub fn noscan(&self) -> bool {
        self.spanclass & 1 != 0
    }
    pub fn size_class(&self) -> u8 {
        self.spanclass >> 1
    }
    pub fn end(&self, page_size: u64) -> u64 {
        self.base + self.npages * page_size
    }
    /// The size of an object as Go sees it (the slot less any header).
    pub fn object_size(&self) -> u64 {
        if self.has_header {
            self.elemsize - 8
        } else {
            self.elemsize
        }
    }
}

struct SpanFields {
    start_addr: FieldLoc,
    npages: FieldLoc,
    elemsize: FieldLoc,
    nelems: FieldLoc,
    freeindex: FieldLoc,
    alloc_bits: FieldLoc,
    spanclass: FieldLoc,
    state: FieldLoc,
    specials: FieldLoc,
    large_type: Option<FieldLoc>,
}

/// All in-use spans, sorted by base address.
pub struct Spans {
    pub spans: Vec<Span>,
    pub page_size: u64,
    /// Spans that could not be read (absent memory), as warnings.
    pub warnings: Vec<String>,
}

const MALLOC_HEADER_SIZE: u64 = 8;
/// Larger than any span a real heap has (the whole 48-bit address space).
const MAX_SPAN_BYTES: u64 = 1 << 47;

pub fn read_spans(
    space: &AddressSpace<'_>,
    layouts: &Layouts<'_>,
    version: GoVersion,
) -> Result<Spans> {
    let f = SpanFields {
        start_addr: layouts.require_field("runtime.mspan", "startAddr")?,
        npages: layouts.require_field("runtime.mspan", "npages")?,
        elemsize: layouts.require_field("runtime.mspan", "elemsize")?,
        nelems: layouts.require_field("runtime.mspan", "nelems")?,
        freeindex: layouts.require_field("runtime.mspan", "freeindex")?,
        alloc_bits: layouts.require_field("runtime.mspan", "allocBits")?,
        spanclass: layouts.require_field("runtime.mspan", "spanclass")?,
        // mSpanStateBox wraps the state byte: {s} up to 1.19, {s atomic.Uint8} later.
        state: layouts
            .field_any("runtime.mspan", &["state.s.value", "state.s", "state"])
            .ok_or_else(|| Error::RuntimeLayout {
                what: "field runtime.mspan.state".into(),
            })?,
        specials: layouts.require_field("runtime.mspan", "specials")?,
        large_type: layouts.field("runtime.mspan", "largeType"),
    };
    let in_use = layouts.require_constant("runtime.mSpanInUse")? as u64;
    let page_size = layouts.require_constant("runtime._PageSize")? as u64;
    // Objects above this size that contain pointers carry a type header (1.22+).
    let header_threshold = if version.at_least(22) {
        Some(
            layouts
                .constant("runtime.minSizeForMallocHeader")
                .unwrap_or(512) as u64,
        )
    } else {
        None
    };

    let mheap = layouts.require_global("runtime.mheap_")?;
    let allspans = layouts.require_field("runtime.mheap", "allspans")?;
    let missing = |what: &str, addr: u64| Error::MissingMemory {
        what: what.into(),
        addr,
        cause: space.why_absent(addr),
    };
    let at = mheap.wrapping_add(allspans.offset);
    let array = space
        .read_u64(at)
        .ok_or_else(|| missing("runtime.mheap_.allspans", at))?;
    let len = space
        .read_u64(at.wrapping_add(8))
        .ok_or_else(|| missing("runtime.mheap_.allspans", at))?;
    // The array's bytes must be in the core before they size anything.
    let span_ptrs = space
        .read(array, (len as usize).saturating_mul(8))
        .ok_or_else(|| {
            let end = array.saturating_add(len.saturating_mul(8));
            let first_absent = (array..end)
                .step_by(4096)
                .find(|&a| !space.contains(a))
                .unwrap_or(array);
            let mut e = missing("the allspans array", first_absent);
            if let Error::MissingMemory { what, .. } = &mut e {
                *what = format!("the allspans array ({len} spans from {array:#x})");
            }
            e
        })?;

    let mut spans = Vec::new();
    let mut warnings = Vec::new();
    let mut unreadable = 0usize;
    let mut corrupt = 0usize;
    for chunk in span_ptrs.chunks_exact(8) {
        let s = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let rd = |loc: FieldLoc| space.read_uint(s + loc.offset, loc.size);
        let Some(state) = rd(f.state) else {
            unreadable += 1;
            continue;
        };
        if state != in_use {
            continue;
        }
        let (
            Some(base),
            Some(npages),
            Some(elemsize),
            Some(nelems),
            Some(freeindex),
            Some(alloc_bits),
            Some(spanclass),
            Some(specials),
        ) = (
            rd(f.start_addr),
            rd(f.npages),
            rd(f.elemsize),
            rd(f.nelems),
            rd(f.freeindex),
            rd(f.alloc_bits),
            rd(f.spanclass),
            rd(f.specials),
        )
        else {
            unreadable += 1;
            continue;
        };
        let large_type = f.large_type.and_then(rd).unwrap_or(0);
        let spanclass = spanclass as u8;
        let sizeclass = spanclass >> 1;
        let noscan = spanclass & 1 != 0;
        let has_header =
            header_threshold.is_some_and(|t| !noscan && sizeclass != 0 && elemsize > t);
        // A span that cannot be what the runtime makes is corrupt data:
        // trusting it would invent objects (or billions of them).
        let span_bytes = npages.checked_mul(page_size).unwrap_or(u64::MAX);
        let sane = npages > 0
            && span_bytes <= MAX_SPAN_BYTES
            && base % page_size == 0
            && elemsize > 0
            && elemsize <= span_bytes
            && nelems <= span_bytes / elemsize
            && freeindex <= nelems
            && !(has_header && elemsize <= MALLOC_HEADER_SIZE)
            // Its slots size the object table: they must be process memory.
            && space.mapped(base, base.saturating_add(span_bytes));
        if !sane {
            corrupt += 1;
            continue;
        }
        spans.push(Span {
            base,
            npages,
            elemsize,
            nelems,
            freeindex,
            alloc_bits,
            spanclass,
            specials,
            large_type,
            has_header,
        });
    }
    if unreadable > 0 {
        warnings.push(format!(
            "{unreadable} spans could not be read from the core; their objects are missing"
        ));
    }
    if corrupt > 0 {
        warnings.push(format!(
            "{corrupt} spans have impossible fields (corrupt core?) and were skipped; their objects are missing"
        ));
    }
    spans.sort_by_key(|s| s.base);
    Ok(Spans {
        spans,
        page_size,
        warnings,
    })
}
