//! Opening a dump: recognise the file, find and check the executable, and
//! hand back what later stages read. The one entry point of the library.

use std::path::Path;

use crate::error::{Error, Result};
use crate::input::core_dump::open_exe;
use crate::input::elf::Executable;
use crate::input::goruntime::GoVersion;
use crate::input::heapdump::HeapDumpFile;
use crate::input::{FileKind, Source};

pub use crate::input::core_dump::{BuildMatch, CoreDump, ExeOrigin, OpenOptions};

/// An opened dump of either kind.
pub enum Dump {
    Core(CoreDump),
    HeapDump(HeapDumpInput),
}

pub struct HeapDumpInput {
    pub dump: HeapDumpFile,
    pub exe: Option<Executable>,
}

impl Dump {
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Dump> {
        let source = Source::open(path).map_err(|e| e.for_flag("DUMP"))?;
        Dump::from_source(source, options)
    }

    /// `open` for an input already read (fuzzing: a fixture with changed bytes).
    pub fn from_source(source: Source, options: &OpenOptions) -> Result<Dump> {
        let path = source.path().to_path_buf();
        let path = path.as_path();
        match source.kind() {
            FileKind::ElfCore => CoreDump::open(source, options).map(Dump::Core),
            FileKind::HeapDump => {
                let dump = HeapDumpFile::parse(source)?;
                let exe = options.exe.as_deref().map(open_exe).transpose()?;
                Ok(Dump::HeapDump(HeapDumpInput { dump, exe }))
            }
            FileKind::ElfExecutable | FileKind::ElfSharedObject | FileKind::ElfOther => {
                Err(Error::NotACore {
                    path: path.to_path_buf(),
                    kind: source.kind().describe(),
                })
            }
            _ => Err(source.unknown_format_error()),
        }
    }

    /// Builds the heap model (objects, edges, roots, types, goroutines).
    pub fn load_model(&self) -> Result<crate::model::HeapModel> {
        match self {
            Dump::Core(core) => crate::input::core_loader::load(core),
            Dump::HeapDump(h) => crate::input::heapdump_loader::load(&h.dump, h.exe.as_ref()),
        }
    }

    /// `load_model`, typing only the objects `choose` picks (see
    /// `TypeChooser`). A heap dump types every object (its types cost no
    /// propagation) and never calls `choose`.
    pub fn load_model_choosing_types(
        &self,
        choose: crate::model::TypeChooser<'_>,
    ) -> Result<crate::model::HeapModel> {
        match self {
            Dump::Core(core) => crate::input::core_loader::load_choosing_types(core, Some(choose)),
            Dump::HeapDump(_) => self.load_model(),
        }
    }

    /// Drops the inputs' resident pages once the model is built (see
    /// `Source::release_pages`).
    pub fn release_pages(&self) {
        match self {
            Dump::Core(c) => c.core.source().release_pages(),
            Dump::HeapDump(h) => h.dump.source().release_pages(),
        }
    }

    /// The target's memory, for details the model does not keep (map keys).
    pub fn memory(&self) -> Option<Box<dyn crate::model::Memory + '_>> {
        match self {
            Dump::Core(core) => Some(Box::new(core.address_space())),
            Dump::HeapDump(h) => Some(Box::new(crate::input::heapdump::RecordMemory::new(
                &h.dump,
                h.exe.as_ref(),
            ))),
        }
    }

    /// The Go version that wrote the dump, if known.
    pub fn go_version(&self) -> Option<GoVersion> {
        match self {
            Dump::Core(c) => c.go_version(),
            Dump::HeapDump(h) => GoVersion::parse(&h.dump.params.go_version).or_else(|| {
                h.exe
                    .as_ref()
                    .and_then(|e| e.build_info.as_ref())
                    .and_then(|b| GoVersion::parse(&b.go_version))
            }),
        }
    }
}
