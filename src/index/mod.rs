//! The persistent index of a dump: its heap model and dominator tree in a
//! versioned file of their own (formats/index.md), reopened instead of the dump.

mod codec;
mod format;
mod sections;

use std::io;
use std::path::{Path, PathBuf};

use crate::analysis::dominators::Dominators;
use crate::dump::{Dump, OpenOptions};
use crate::error::Result;
use crate::model::HeapModel;

pub use format::Problem;

/// Bytes of each input's start that its identity hashes (headers: ELF
/// header, program headers, notes; a heap dump's parameters).
const HEADER_BYTES: usize = 64 << 10;

/// Where an index goes and what it must match.
pub struct IndexFile {
    pub path: PathBuf,
    /// What identifies the inputs and the options that shape the model.
    identity: Vec<u8>,
}

/// The default directory of indexes: `$XDG_CACHE_HOME/rootpath`, else
/// `~/.cache/rootpath`.
pub fn default_dir() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("rootpath"))
}

impl IndexFile {
    /// The index of `dump_path` (opened as `dump` with `options`) in `dir`:
    /// named after the dump and a hash of the inputs' paths and options,
    /// so one dump read two ways has two indexes.
    /// None when an input's identity cannot be read (then there is no index).
    pub fn locate(
        dir: &Path,
        dump_path: &Path,
        dump: &Dump,
        options: &OpenOptions,
    ) -> Option<IndexFile> {
        let exe = match (dump, &options.exe) {
            (_, Some(exe)) => Some(exe.clone()),
            (Dump::Core(c), None) => c.core.executable_path().map(PathBuf::from),
            (Dump::HeapDump(_), None) => None,
        };
        let mut id = codec::Enc::default();
        let mut name = codec::Enc::default();
        // A core's executable that is not there is no input (the load says so).
        let exe = exe.filter(|e| e.is_file());
        for path in std::iter::once(dump_path.to_path_buf()).chain(exe) {
            let canonical = path.canonicalize().ok()?;
            let meta = std::fs::metadata(&canonical).ok()?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .unwrap_or_default();
            let text = canonical.to_string_lossy();
            name.str(&text);
            id.str(&text);
            id.u64(meta.len());
            id.u64(mtime.as_secs());
            id.u32(mtime.subsec_nanos());
            id.u64(header_hash(&canonical).ok()?);
        }
        // The rootpath build that reads them: a rebuilt rootpath may read
        // the same dump differently, so its indexes are stale.
        if let Some(me) = std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
        {
            let built = me
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            id.u64(me.len());
            id.u64(built.unwrap_or_default().as_secs());
        }
        let mut shape = codec::Enc::default();
        shape.bool(options.ignore_debug_info);
        shape.len(options.debug_dirs.len());
        for d in &options.debug_dirs {
            shape.str(
                &d.canonicalize()
                    .unwrap_or_else(|_| d.clone())
                    .to_string_lossy(),
            );
        }
        id.buf.extend_from_slice(&shape.buf);
        name.buf.extend_from_slice(&shape.buf);
        let stem = dump_path
            .file_name()
            .map_or("dump".into(), |n| n.to_string_lossy());
        let hash = codec::fnv1a(codec::FNV_SEED, &name.buf);
        Some(IndexFile {
            path: dir.join(format!("{stem}.{hash:016x}.rpindex")),
            identity: id.buf,
        })
    }

    /// The model (and dominators, when asked for) stored in the index, after
    /// checking that it is an index of these inputs and intact.
    pub fn open(
        &self,
        with_dominators: bool,
    ) -> std::result::Result<(HeapModel, Option<Dominators>), Problem> {
        let mut phases = crate::timing::Phases::new();
        let reader = format::Reader::open(&self.path)?;
        if reader.section(sections::id::IDENTITY)? != self.identity.as_slice() {
            return Err(Problem::Stale(
                "the dump or executable changed since it was written: size, modification \
                 time or header bytes"
                    .into(),
            ));
        }
        let read = sections::read(&reader, with_dominators);
        phases.done("index: open, check and read");
        read
    }

    /// Writes the index (a temporary file renamed into place); returns its size.
    pub fn write(&self, model: &HeapModel, doms: &Dominators) -> io::Result<u64> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut w = format::Writer::new(dir)?;
        w.section(sections::id::IDENTITY, &self.identity, true)?;
        sections::write(&mut w, model, doms)?;
        w.finish(&self.path)
    }

    /// The stored model if the index is usable; otherwise `build`s it (with
    /// one line on stderr saying why an existing index was not used),
    /// stores it, and returns it. An index that cannot be written is no
    /// error: the answer comes from the model just built.
    pub fn open_or_build(
        &self,
        quiet: bool,
        with_dominators: bool,
        build: impl FnOnce() -> Result<(HeapModel, Option<Dominators>)>,
    ) -> Result<(HeapModel, Option<Dominators>)> {
        match self.open(with_dominators) {
            Ok(found) => return Ok(found),
            Err(Problem::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
            Err(problem) => {
                eprintln!(
                    "rootpath: index {} {problem}; rebuilding it",
                    self.path.display()
                );
            }
        }
        let (model, doms) = build()?;
        let doms =
            doms.unwrap_or_else(|| crate::analysis::retention::Retention::dominators(&model));
        match self.write(&model, &doms) {
            Ok(size) if !quiet => eprintln!(
                "rootpath: indexed this dump in {} ({}); later commands reopen it",
                self.path.display(),
                crate::output::text::bytes(size)
            ),
            Ok(_) => {}
            Err(e) => eprintln!(
                "rootpath: note: no index written ({}: {e})",
                self.path.display()
            ),
        }
        Ok((model, Some(doms)))
    }
}

fn header_hash(path: &Path) -> io::Result<u64> {
    use std::io::Read;
    let mut head = Vec::with_capacity(HEADER_BYTES);
    std::fs::File::open(path)?
        .take(HEADER_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(codec::fnv1a(codec::FNV_SEED, &head))
}
