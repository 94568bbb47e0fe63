//! Readers for everything rootpath takes in: ELF cores and executables, heap
//! dumps, and (later) pprof profiles. Each reader borrows a memory-mapped file.

pub mod core_dump;
pub mod core_loader;
pub mod detect;
pub mod dwarf;
pub mod elf;
pub mod goruntime;
pub mod heapdump;
pub mod heapdump_loader;
pub mod pprof;
pub mod source;
pub mod varint;

pub use detect::FileKind;
pub use source::Source;
