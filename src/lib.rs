//! rootpath: why isn't this Go memory collected?
//!
//! Inputs (an ELF core with its executable, or a WriteHeapDump file) are
//! memory-mapped and read into one model; analyses and outputs work on that.

pub mod analysis;
pub mod cli;
pub mod dump;
pub mod error;
pub mod index;
pub mod input;
pub mod model;
pub mod output;
pub mod overview;
pub mod progress;
pub mod serve;
pub mod timing;

pub use dump::{BuildMatch, CoreDump, Dump, ExeOrigin, OpenOptions};
pub use error::{Error, Result};
