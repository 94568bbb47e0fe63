//! Type names of objects, interned: one u32 per object, so typing tens of
//! millions of objects costs 4 bytes each.

use std::collections::HashMap;

pub const UNKNOWN_TYPE: u32 = u32::MAX;

#[derive(Default)]
pub struct TypeNames {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl TypeNames {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
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
}
