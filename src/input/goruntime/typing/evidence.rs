//! How sure each object's type is (the strength of what typed it, packed
//! with its name into one word), and the interning of (type, count) pairs.

use crate::input::dwarf::TypeId;
use crate::input::elf::address_space::Memory;
use crate::model::{ObjectId, TypeLayout};

use super::Typer;
use super::closures::is_closure_struct;
use super::layouts::layout_of;

/// `Typer::typed` of an object nothing typed yet.
pub(super) const UNTYPED: u32 = 0;
pub(super) const NAME_BITS: u32 = 30;
pub(super) const NAME_MASK: u32 = (1 << NAME_BITS) - 1;

/// Strength of what typed an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Evidence {
    None,
    /// A reference to a part of the object (a pointer to a smaller type, a substring).
    Partial,
    /// The element type is right but the count was inferred from the object's size.
    Inferred,
    /// A reference that describes the whole object.
    Exact,
}

impl<'a, 'd, 's, M: Memory + ?Sized> Typer<'a, 'd, 's, M> {
    /// Whether typing may touch object `i` (always, unless restricted).
    #[inline]
    pub(super) fn may_type(&self, i: usize) -> bool {
        self.only
            .as_ref()
            .is_none_or(|bits| bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0))
    }

    /// Whether `obj` has a type more certain than a reference to a part of it.
    pub fn is_typed_wholly(&self, obj: ObjectId) -> bool {
        self.typed
            .get(obj.index())
            .is_some_and(|_| self.evidence(obj.index()) >= Evidence::Inferred)
    }

    /// The strength of what typed object `i` so far.
    pub(super) fn evidence(&self, i: usize) -> Evidence {
        match self.typed[i] >> NAME_BITS {
            0 => Evidence::None,
            1 => Evidence::Partial,
            2 => Evidence::Inferred,
            _ => Evidence::Exact,
        }
    }

    pub(super) fn set_type(&mut self, i: usize, name: u32, evidence: Evidence) {
        self.typed[i] = (evidence as u32) << NAME_BITS | (name & NAME_MASK);
    }

    /// Records that `obj` is `count` values of `ty`, if that is better
    /// evidence than what typed it before, and queues its contents.
    pub(super) fn assign(&mut self, obj: ObjectId, ty: TypeId, count: u64, evidence: Evidence) {
        let i = obj.index();
        if evidence <= self.evidence(i) || !self.may_type(i) {
            return;
        }
        // A value larger than the object cannot be in it: a stale pointer
        // (dead memory reused by a smaller object) claims otherwise.
        let need = self.type_facts(ty).0.saturating_mul(count);
        if need > self.objects.size(obj) {
            return;
        }
        let pair = match self.pair_ids.get(&(ty, count)) {
            Some(&p) => p,
            None => {
                let name = self.type_name(ty, count);
                let index = self.index;
                let n = self
                    .names
                    .intern_with(&name, || Some(layout_of(index, ty, count)));
                let p = self.pairs.len() as u32;
                self.pairs.push((ty, count, n));
                self.pair_is_closure
                    .push(count == 1 && is_closure_struct(&self.index.ty(ty).name));
                self.pair_ids.insert((ty, count), p);
                if self.pair_of_name.len() <= n as usize {
                    self.pair_of_name.resize(n as usize + 1, u32::MAX);
                }
                if self.pair_of_name[n as usize] == u32::MAX {
                    self.pair_of_name[n as usize] = p;
                }
                p
            }
        };
        // A closure context is named by its function, whatever typed it.
        if self.pair_is_closure[pair as usize] {
            return self.closure_context(obj, ty);
        }
        self.set_type(i, self.pairs[pair as usize].2, evidence);
        self.queue.push(obj.0);
    }

    pub(super) fn assign_name(&mut self, obj: ObjectId, name: &str, evidence: Evidence) {
        let i = obj.index();
        if evidence > self.evidence(i) && self.may_type(i) {
            let name = self.names.intern(name);
            self.set_type(i, name, evidence);
        }
    }

    pub(super) fn assign_layout(&mut self, obj: ObjectId, name: &str, layout: TypeLayout) {
        let i = obj.index();
        if Evidence::Exact > self.evidence(i) && self.may_type(i) {
            let name = self.names.intern_with(name, || Some(layout));
            self.set_type(i, name, Evidence::Exact);
        }
    }

    /// Evidence from a pointer of type *pointee to the start of `obj`.
    pub(super) fn pointer_evidence(&self, obj: ObjectId, pointee_size: u64) -> Evidence {
        if pointee_size * 2 > self.objects.size(obj) {
            Evidence::Exact
        } else {
            Evidence::Partial
        }
    }

    /// A type's size and whether walking a value of it can type anything.
    pub(super) fn type_facts(&mut self, ty: TypeId) -> (u64, bool) {
        let i = ty.0 as usize;
        if let Some(Some(f)) = self.type_facts.get(i) {
            return *f;
        }
        let facts = (
            self.index.size_of(ty).unwrap_or(0),
            !self.shapes_of(ty).is_empty(),
        );
        if self.type_facts.len() <= i {
            self.type_facts.resize(i + 1, None);
        }
        self.type_facts[i] = Some(facts);
        facts
    }

    pub(super) fn type_name(&self, ty: TypeId, count: u64) -> String {
        let name = &self.index.ty(ty).name;
        if count == 1 {
            name.clone()
        } else {
            format!("[{count}]{name}")
        }
    }

    /// The model's index for a DWARF type (with its layout), for roots.
    pub fn intern_type(&mut self, ty: TypeId) -> u32 {
        let index = self.index;
        let name = index.ty(ty).name.clone();
        self.names
            .intern_with(&name, || Some(layout_of(index, ty, 1)))
    }
}
