//! `pprof -o FILE`: the retention profile. The output is checked (not an
//! input, writable) before the long load and written atomically after it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::chains::ownership_chains;
use crate::analysis::dominators::Dominators;
use crate::analysis::retention::Retention;
use crate::error::{Error, Result};
use crate::model::HeapModel;
use crate::output;

/// Where the profile goes: a temporary file beside the target, renamed
/// onto it once complete, so a failure never leaves half a profile.
pub struct Target {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
}

fn refuse(path: &Path, what: String) -> Error {
    Error::WrongInput {
        flag: "-o",
        path: path.to_path_buf(),
        what,
    }
}

/// Checks `path` before anything is loaded: not one of `inputs`, not a
/// directory, in a directory we can write to.
pub fn prepare(path: &Path, inputs: &[&Path]) -> Result<Target> {
    if path.is_dir() {
        return Err(refuse(path, "is a directory; -o takes a file name".into()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let same = |input: &Path| match (path.canonicalize(), input.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if inputs.iter().any(|i| same(i)) {
        return Err(refuse(
            path,
            "is an input of this command; rootpath never writes its inputs (choose another file)"
                .into(),
        ));
    }
    let temp = tempfile::Builder::new()
        .prefix(".rootpath-pprof")
        .tempfile_in(&dir)
        .map_err(|e| {
            refuse(
                path,
                format!("cannot be written (in {}: {e})", dir.display()),
            )
        })?;
    Ok(Target {
        path: path.to_path_buf(),
        temp,
    })
}

impl Target {
    /// Writes the profile with `write` and renames it onto the target;
    /// returns the target's path.
    pub fn write(
        self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<PathBuf> {
        let Target { path, temp } = self;
        let write_err = |e: std::io::Error| refuse(&path, format!("cannot be written: {e}"));
        {
            let mut w = std::io::BufWriter::new(temp.as_file());
            write(&mut w).map_err(write_err)?;
            w.flush().map_err(write_err)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // A profile is for reading by others too, like any file a tool writes.
            let _ = temp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644));
        }
        temp.persist(&path).map_err(|e| write_err(e.error))?;
        Ok(path)
    }
}

#[derive(Serialize)]
struct Written<'a> {
    output: &'a Path,
    samples: usize,
    frames: usize,
    live_bytes: u64,
    live_objects: u64,
}

/// Computes the chains, writes the profile, says what was written.
pub fn run(
    model: &HeapModel,
    doms: Option<Dominators>,
    source: &Path,
    target: Target,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let retention = Retention::with_dominators(model, doms);
    let mut phases = crate::timing::Phases::new();
    let chains = ownership_chains(&retention);
    phases.done("ownership chains");
    let path = target
        .write(|w| output::pprof::retention::write(w, &chains, &source.display().to_string()))?;
    phases.done("pprof written");
    let doc = Written {
        output: &path,
        samples: chains.samples.len(),
        frames: chains.frames.len(),
        live_bytes: chains.live_bytes,
        live_objects: chains.live_objects,
    };
    if json {
        return output::json::write(out, &doc);
    }
    writeln!(
        out,
        "wrote {}: {} in {} live objects, {} samples over {} frames\n\
         view it: go tool pprof -http=: {}",
        path.display(),
        output::text::bytes(doc.live_bytes),
        doc.live_objects,
        doc.samples,
        doc.frames,
        path.display()
    )
    .map_err(Error::Output)
}
