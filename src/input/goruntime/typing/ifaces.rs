//! Interface values found in raw memory: a word holding the address of a
//! runtime type descriptor or of an itab, followed by a pointer word to a
//! heap object, is an interface {type, data}; the descriptor types what the
//! data word holds, with or without DWARF. The compiler's pointer maps mark
//! only an interface's data word (its type word points outside the heap),
//! so the type word is a scalar word just before a pointer word.

use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::rtypes::kind;
use crate::model::Memory;

/// An interface value's data word (a pointer word whose target is a heap
/// object) and the type descriptor its type word names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceWord {
    pub data_at: u64,
    pub rtype: u64,
    /// Whether the two words may belong to different variables (globals,
    /// stack slots): a bare `*_type` variable next to a pointer variable
    /// reads like an empty interface there, so only a type word that is
    /// an itab, or a boxed value that fills its object, counts.
    pub loose: bool,
    /// Whether the type word was an itab (a non-empty interface).
    pub itab: bool,
}

/// Recognises the first word of an interface: a type descriptor (empty
/// interfaces) or an itab (others), in one module's types section.
pub struct InterfaceTypes<'m, M: Memory + ?Sized> {
    mem: &'m M,
    types: u64,
    etypes: u64,
    size_off: u64,
    kind: (u64, u64),
    itab_inter: u64,
    itab_type: u64,
    /// Where static itabs live (the executable's read-only data): an itab
    /// is looked for only there, so a scalar word costs a range check.
    itabs: (u64, u64),
}

impl<'m, M: Memory + ?Sized> InterfaceTypes<'m, M> {
    /// `None` when the runtime's layouts or the types section are unknown.
    pub fn new(
        mem: &'m M,
        layouts: &Layouts<'_>,
        firstmoduledata: u64,
        itabs: (u64, u64),
    ) -> Option<Self> {
        let f = |pairs: &[(&str, &str)]| pairs.iter().find_map(|(t, n)| layouts.field(t, n));
        let types = f(&[("runtime.moduledata", "types")])?;
        let etypes = f(&[("runtime.moduledata", "etypes")])?;
        let size = f(&[("internal/abi.Type", "Size_"), ("runtime._type", "size")])?;
        let kind = f(&[("internal/abi.Type", "Kind_"), ("runtime._type", "kind")])?;
        let itab_inter = f(&[("internal/abi.ITab", "Inter"), ("runtime.itab", "inter")])?;
        let itab_type = f(&[("internal/abi.ITab", "Type"), ("runtime.itab", "_type")])?;
        let types = mem.read_u64(firstmoduledata + types.offset)?;
        let etypes = mem.read_u64(firstmoduledata + etypes.offset)?;
        (types < etypes).then_some(InterfaceTypes {
            mem,
            types,
            etypes,
            size_off: size.offset,
            kind: (kind.offset, kind.size.min(8)),
            itab_inter: itab_inter.offset,
            itab_type: itab_type.offset,
            itabs,
        })
    }

    /// The module's types section, [types, etypes).
    pub fn types(&self) -> (u64, u64) {
        (self.types, self.etypes)
    }

    /// The kind of a word that reads as a type descriptor, if it does.
    fn descriptor_kind(&self, addr: u64) -> Option<u8> {
        if addr < self.types || addr >= self.etypes || addr % 8 != 0 {
            return None;
        }
        let size = self.mem.read_u64(addr + self.size_off)?;
        let k = (self.mem.read_uint(addr + self.kind.0, self.kind.1)? & 0x1f) as u8;
        (k != 0 && k <= kind::UNSAFE_POINTER && size < 1 << 40).then_some(k)
    }

    /// The type descriptor an interface's first word names: the word itself
    /// (an empty interface's type), or an itab's type (an itab's first
    /// word is its interface type, a descriptor of kind interface).
    /// Words that are neither (most pointers outside the heap) give `None`.
    #[inline]
    pub fn rtype_of(&self, word: u64) -> Option<(u64, bool)> {
        if word % 8 != 0 || word == 0 {
            return None;
        }
        if self.types <= word && word < self.etypes {
            return self.descriptor_kind(word).map(|_| (word, false));
        }
        // A static itab lies in read-only data outside the types section
        // (the runtime's own, made at run time, are not looked for).
        if word < self.itabs.0 || word >= self.itabs.1 {
            return None;
        }
        let inter = self.mem.read_u64(word + self.itab_inter)?;
        if self.descriptor_kind(inter)? != kind::INTERFACE {
            return None;
        }
        let t = self.mem.read_u64(word + self.itab_type)?;
        // An interface's type is never an interface.
        self.descriptor_kind(t)
            .filter(|&k| k != kind::INTERFACE)
            .map(|_| (t, true))
    }

    /// Interface values among the live pointer slots of one frame
    /// (ascending): a slot holding a heap pointer whose preceding word is
    /// no pointer slot and names a type.
    pub fn pairs_in_slots(
        &self,
        slots: &[u64],
        is_heap: impl Fn(u64) -> bool,
        out: &mut Vec<InterfaceWord>,
    ) {
        let mut prev_slot = None;
        for &slot in slots {
            let after_pointer = prev_slot == Some(slot.wrapping_sub(8));
            prev_slot = Some(slot);
            if after_pointer || !self.mem.read_u64(slot).is_some_and(&is_heap) {
                continue;
            }
            if let Some((rtype, itab)) = self
                .mem
                .read_u64(slot.wrapping_sub(8))
                .and_then(|t| self.rtype_of(t))
            {
                out.push(InterfaceWord {
                    data_at: slot,
                    rtype,
                    loose: true,
                    itab,
                });
            }
        }
    }
}
