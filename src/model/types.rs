//! Type names of objects, interned: one u32 per object, so typing tens of
//! millions of objects costs 4 bytes each.

use std::collections::HashMap;

pub const UNKNOWN_TYPE: u32 = u32::MAX;

/// What the histogram calls the untyped objects of one size.
pub fn unknown_type_name(size: u64) -> String {
    format!("unknown ({size} bytes)")
}

/// The size in a name `unknown_type_name` made ("unknown (4096 bytes)").
pub fn parse_unknown_type_name(name: &str) -> Option<u64> {
    name.strip_prefix("unknown (")?
        .strip_suffix(" bytes)")?
        .parse()
        .ok()
}

/// How an object of a type is laid out, for naming the edges out of it.
#[derive(Debug, Clone, Default)]
pub struct TypeLayout {
    /// Size of one element; an object holds `count` of them (arrays, slices' backing stores).
    pub elem_size: u64,
    pub count: u64,
    /// Pointer words of one element with their Go path: ".next", ".b[2]", "" for
    /// an element that is itself a pointer.
    pub fields: Vec<(u32, Box<str>)>,
    pub role: TypeRole,
}

/// Runtime-internal containers are shown as one logical step.
#[derive(Debug, Clone, Default)]
pub enum TypeRole {
    #[default]
    Plain,
    /// A map header (classic hmap or swiss Map).
    MapHeader,
    /// Storage holding map entries: classic buckets or swiss groups.
    MapEntries(MapSlots),
    /// Other map internals (swiss directory and tables, overflow lists).
    MapInternal,
    /// A channel (hchan).
    Chan,
    /// A closure context; captured variables are the fields.
    Closure,
}

/// Where the i-th entry of one bucket/group element keeps its key and value.
#[derive(Debug, Clone)]
pub struct MapSlots {
    pub entries: u64,
    pub key_offset: u64,
    pub key_stride: u64,
    pub value_offset: u64,
    pub value_stride: u64,
    pub value_size: u64,
    pub key: KeyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    String,
    Int(u8),
    Uint(u8),
    Bool,
    Pointer,
    /// Not rendered (structs, floats, interfaces …).
    Other,
}

#[derive(Default)]
pub struct TypeNames {
    names: Vec<String>,
    index: HashMap<String, u32>,
    layouts: Vec<Option<TypeLayout>>,
}

impl TypeNames {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.layouts.push(None);
        self.index.insert(name.to_string(), i);
        i
    }

    /// Interns a name with its layout (the first layout given for a name stays).
    pub fn intern_with(&mut self, name: &str, layout: impl FnOnce() -> Option<TypeLayout>) -> u32 {
        let i = self.intern(name);
        if self.layouts[i as usize].is_none() {
            self.layouts[i as usize] = layout();
        }
        i
    }

    pub fn layout(&self, i: u32) -> Option<&TypeLayout> {
        self.layouts.get(i as usize)?.as_ref()
    }

    pub fn name(&self, i: u32) -> Option<&str> {
        self.names.get(i as usize).map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Names and layouts in interning order (for a persistent index).
    pub fn entries(&self) -> impl Iterator<Item = (&str, Option<&TypeLayout>)> {
        self.names
            .iter()
            .zip(&self.layouts)
            .map(|(n, l)| (n.as_str(), l.as_ref()))
    }

    /// A table from `entries` in the same order: the same indices. None
    /// when a name repeats (a damaged index).
    pub fn from_entries(entries: Vec<(String, Option<TypeLayout>)>) -> Option<TypeNames> {
        let mut t = TypeNames::default();
        for (name, layout) in entries {
            if t.index.insert(name.clone(), t.names.len() as u32).is_some() {
                return None;
            }
            t.names.push(name);
            t.layouts.push(layout);
        }
        Some(t)
    }
}
