//! Typed errors of the library. Each variant says what was wrong and, where
//! there is one, what the user can try; `main` renders them once.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{path}: not a Go core file or heap dump (starts with {magic}); expected an ELF core \
         (GOTRACEBACK=crash, gcore) or a runtime/debug.WriteHeapDump file, optionally zstd- or gzip-compressed"
    )]
    UnknownFormat { path: PathBuf, magic: String },

    #[error("{path}: {what}")]
    Malformed { path: PathBuf, what: String },

    #[error(
        "{path}: truncated: {what} needs bytes up to offset {needed:#x}, the file has {len:#x}"
    )]
    Truncated {
        path: PathBuf,
        what: String,
        needed: u64,
        len: u64,
    },

    /// Corrupt structured content at a known file offset (heap dump records, notes).
    #[error("{path}: corrupt at offset {offset:#x}: {what}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },

    #[error(
        "{path}: is an ELF {kind}, not a core file; pass the core as DUMP and the program with --exe"
    )]
    NotACore { path: PathBuf, kind: &'static str },

    #[error(
        "{path}: is not an executable (it is {kind}); --exe takes the program that wrote the dump"
    )]
    NotAnExecutable { path: PathBuf, kind: String },

    /// An input that cannot be what its flag expects, named by the flag.
    #[error("{flag} {path}: {what}")]
    WrongInput {
        flag: &'static str,
        path: PathBuf,
        what: String,
    },

    #[error(
        "cannot decompress {path}: no temporary file in {dir} ({source}); set TMPDIR to a \
         writable directory with room for the decompressed file"
    )]
    TempFile {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{what} is not a Go program ({why}); rootpath reads the memory of Go programs only")]
    NotGo { what: String, why: String },

    #[error("unsupported architecture {machine} in {path}: rootpath reads linux/amd64 only")]
    UnsupportedArch { path: PathBuf, machine: String },

    #[error(
        "no executable: the core names {named} as its program, but that file does not exist here; \
         pass it with --exe PATH"
    )]
    ExeMissing { named: String },

    #[error(
        "no executable: the core does not name its program (no NT_FILE note); pass it with --exe PATH"
    )]
    ExeUnknown,

    #[error(
        "{exe} is not the build that wrote this dump ({detail}); pass the executable that \
         produced it with --exe"
    )]
    ExeMismatch { exe: PathBuf, detail: String },

    #[error("decompressing {path} failed: {source}")]
    Decompress {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The executable's DWARF lacks a runtime structure rootpath depends on.
    #[error(
        "the executable's DWARF has no {what}: this Go runtime is laid out differently from the \
         versions rootpath knows ({})",
        crate::input::goruntime::tested_matrix()
    )]
    RuntimeLayout { what: String },

    /// Runtime state the core should hold but does not: `cause` says why
    /// (truncation, an undumped mapping, a corrupt pointer).
    #[error("cannot read {what} at {addr:#x} from the core: {cause}")]
    MissingMemory {
        what: String,
        addr: u64,
        cause: String,
    },

    /// Neither DWARF nor a way to do without it.
    #[error(
        "{exe} has no DWARF (built with -ldflags=-w or stripped) {detail}; pass the unstripped \
         build with --exe, or its separate debug file with --debug-dir"
    )]
    NoDebugInfo { exe: PathBuf, detail: String },

    #[error(
        "{version} is not supported: rootpath reads {} (older runtimes lay out the heap differently)",
        crate::input::goruntime::tested_matrix()
    )]
    UnsupportedGoVersion { version: String },

    #[error("{target}: {why}")]
    BadTarget { target: String, why: String },

    /// A flag that cannot do what its help says with the rest of the command.
    #[error("{flag} {why}")]
    BadFlag { flag: &'static str, why: String },

    /// More pointers than the model's 32-bit edge rows can index.
    #[error("heap too large: {pointers} pointers, more than 4,294,967,295")]
    HeapTooLarge { pointers: u64 },

    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),

    #[error(
        "no allocation sites: the dump has no memory-profile records (the program never \
         sampled an allocation: it does not use runtime/pprof, or MemProfileRate is 0) and no \
         profile was given; pass one with --heap (curl /debug/pprof/heap > heap.out)"
    )]
    NoSites,

    /// The web UI could not listen where it was asked to.
    #[error("cannot listen on {addr}: {why}")]
    Listen { addr: String, why: String },
}

impl Error {
    /// A reader of our output went away (`rootpath … | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The error of reading the input `flag` names, said with the flag when
    /// it is about the file itself (missing, a directory, unreadable).
    pub fn for_flag(self, flag: &'static str) -> Self {
        match self {
            Error::Io { path, source } => {
                let what = if path.is_dir() {
                    "is a directory; it takes a file".to_string()
                } else {
                    format!("cannot read it: {source}")
                };
                Error::WrongInput { flag, path, what }
            }
            other => other,
        }
    }

    pub fn malformed(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Malformed {
            path: path.into(),
            what: what.into(),
        }
    }
}
