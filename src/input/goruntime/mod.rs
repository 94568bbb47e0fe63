//! Knowledge of Go's runtime: which version wrote the target, and its
//! structures read through DWARF by name (one module per concern).

pub mod buckets;
pub mod globals;
pub mod layout;
pub mod pclntab;
pub mod pointers;
pub mod rtypes;
pub mod span_index;
pub mod spans;
pub mod specials;
pub mod stack_roots;
pub mod stacks;
pub mod tables;
pub mod typing;
pub mod version;
pub mod without_dwarf;

pub use version::{GoVersion, Support, tested_matrix};
