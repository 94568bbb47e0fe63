//! Knowledge of Go's runtime: which version wrote the target, and (later) the
//! runtime's structures read through DWARF by name.

pub mod version;

pub use version::{GoVersion, Support};
