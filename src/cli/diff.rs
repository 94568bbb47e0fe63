//! `rootpath diff OLD NEW [MORE…]`: its command line, the checks that the dumps are of one
//! build (and whether of one process), and the snapshots' loading one after another.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::analysis::chains::{Chains, ownership_chains, ownership_chains_of};
use crate::analysis::diff::{
    self, DiffDoc, LiveObjects, ObjectChanges, ProfileDoc, Snapshot, SnapshotDoc, TypeInterner,
    growth_point,
};
use crate::analysis::report::Reporter;
use crate::analysis::retention::Retention;
use crate::dump::{Dump, OpenOptions};
use crate::error::{Error, Result};
use crate::output;

/// Holders whose growth point is looked for.
const GROWTH_POINTS: usize = 3;

#[derive(Debug, Parser)]
#[command(
    name = "rootpath diff",
    about = "What grew: compare dumps of one program (oldest first), by holder, type and \
             allocation site; dumps of one process are also matched object by object"
)]
pub struct DiffCli {
    /// Two or more cores or heap dumps of the same build, oldest first.
    #[arg(required = true, num_args = 2..)]
    pub dumps: Vec<PathBuf>,

    /// The executable that wrote the dumps (once for all, or once per dump in order).
    #[arg(long, value_name = "PATH")]
    pub exe: Vec<PathBuf>,

    /// Rows shown per listing (holders, types, sites).
    #[arg(short = 'n', default_value_t = 10)]
    pub n: usize,

    /// Also write the growth from the oldest to the newest dump as a pprof
    /// profile (gzipped profile.proto) of ownership chains, for `go tool pprof`.
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,

    /// No progress output on stderr.
    #[arg(short, long)]
    pub quiet: bool,

    /// Also look for the executable's separate debug file here.
    #[arg(long = "debug-dir", value_name = "DIR")]
    pub debug_dirs: Vec<PathBuf>,

    /// Ignore the executable's DWARF and symbols.
    #[arg(long)]
    pub no_debug_info: bool,
}

/// The diff command line, when the first argument is `diff` (and no file of
/// that name is there to be a dump).
pub fn parse_if_diff() -> Option<DiffCli> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let first = args.get(1)?;
    if first != "diff" || Path::new(first).exists() {
        return None;
    }
    let rest =
        std::iter::once(std::ffi::OsString::from("rootpath diff")).chain(args[2..].iter().cloned());
    Some(DiffCli::try_parse_from(rest).unwrap_or_else(|e| e.exit()))
}

/// Which build and which process wrote a dump, as far as it says. Builds
/// compare on what both dumps say (a core and a heap dump say different things).
#[derive(Default)]
struct Identity {
    /// The Go build id: a core's (from the executable's first page, which
    /// cores keep), or the executable's given with a heap dump.
    build_id: Option<String>,
    go_version: Option<String>,
    /// A heap dump's data and bss segments, by address and size.
    segments: Option<String>,
    pid: Option<u64>,
}

impl Identity {
    /// What differs between the builds of two dumps, if anything does.
    fn build_difference(&self, other: &Identity) -> Option<String> {
        let fields = [
            ("Go build id", &self.build_id, &other.build_id),
            ("Go version", &self.go_version, &other.go_version),
            ("data and bss segments", &self.segments, &other.segments),
        ];
        fields.into_iter().find_map(|(what, a, b)| match (a, b) {
            (Some(a), Some(b)) if a != b => Some(format!("{what} {b}, not {a}")),
            _ => None,
        })
    }
}

fn identity(dump: &Dump) -> Identity {
    let go_version = dump.go_version().map(|v| v.to_string());
    match dump {
        Dump::Core(c) => Identity {
            build_id: core_build_id(c)
                .or_else(|| c.exe.as_ref().and_then(|e| e.go_build_id.clone())),
            go_version,
            segments: None,
            pid: c
                .core
                .process
                .as_ref()
                .and_then(|p| u64::try_from(p.pid).ok())
                .or_else(|| {
                    c.core
                        .threads
                        .first()
                        .and_then(|t| u64::try_from(t.tid).ok())
                }),
        },
        Dump::HeapDump(h) => {
            let mut segments = Vec::new();
            let mut pid = None;
            for record in h.dump.records().flatten() {
                use crate::input::heapdump::Record;
                match record.1 {
                    Record::Data(s) | Record::Bss(s) => {
                        segments.push(format!("{:#x}+{:#x}", s.addr, s.contents.len()));
                    }
                    // The main thread's id is the process's.
                    Record::OsThread(t) if t.id == 0 => pid = Some(t.procid),
                    _ => {}
                }
            }
            Identity {
                build_id: h.exe.as_ref().and_then(|e| e.go_build_id.clone()),
                go_version,
                segments: Some(segments.join(" ")),
                pid,
            }
        }
    }
}

/// The Go build id note in the first page of the core's executable mapping.
fn core_build_id(c: &crate::dump::CoreDump) -> Option<String> {
    let named = c.core.executable_path()?;
    let first = c
        .core
        .files
        .iter()
        .find(|f| f.path == named && f.file_offset == 0)?;
    let page = c.core.memory_at(first.start, 4096)?;
    // namesz 4, descsz, type 4 (NT_GO_BUILD_ID), "Go\0\0", then the id.
    let at = page.windows(16).position(|w| {
        w[..4] == [4, 0, 0, 0] && w[8..12] == [4, 0, 0, 0] && &w[12..] == b"Go\0\0"
    })?;
    let len = u32::from_le_bytes(page.get(at + 4..at + 8)?.try_into().ok()?) as usize;
    let id = page.get(at + 16..at + 16 + len)?;
    Some(String::from_utf8_lossy(id).into_owned())
}

/// The options to open dump `i` with.
fn options(cli: &DiffCli, i: usize) -> Result<OpenOptions> {
    let exe = match cli.exe.len() {
        0 => None,
        1 => cli.exe.first().cloned(),
        n if n == cli.dumps.len() => cli.exe.get(i).cloned(),
        n => {
            return Err(Error::BadFlag {
                flag: "--exe",
                why: format!(
                    "is given {n} times for {} dumps: give it once, or once per dump",
                    cli.dumps.len()
                ),
            });
        }
    };
    Ok(OpenOptions {
        exe,
        debug_dirs: cli.debug_dirs.clone(),
        ignore_debug_info: cli.no_debug_info,
    })
}

/// What one loaded dump leaves for the diff.
struct Loaded {
    snapshot: Snapshot,
    doc: SnapshotDoc,
}

pub fn run(cli: &DiffCli, out: &mut dyn Write) -> Result<()> {
    // The output is checked before any long load.
    let target = match &cli.output {
        Some(path) => {
            let inputs: Vec<&Path> = cli
                .dumps
                .iter()
                .chain(&cli.exe)
                .map(|p| p.as_path())
                .collect();
            Some(super::pprof::prepare(path, &inputs)?)
        }
        None => None,
    };
    let mut dumps = Vec::new();
    let mut identities: Vec<Identity> = Vec::new();
    // Open (cheap) every dump and check them before any long load.
    for (i, path) in cli.dumps.iter().enumerate() {
        let dump = Dump::open(path, &options(cli, i)?)?;
        let id = identity(&dump);
        if let Some(difference) = identities.first().and_then(|f| f.build_difference(&id)) {
            return Err(Error::WrongInput {
                flag: "DUMP",
                path: path.clone(),
                what: format!(
                    "is a dump of a different build than {} ({difference}): diff compares dumps \
                     of one build",
                    cli.dumps[0].display()
                ),
            });
        }
        identities.push(id);
        dumps.push(dump);
    }
    let mut warnings = Vec::new();
    // Objects match only between snapshots of one process.
    let same_process: Vec<bool> = identities
        .windows(2)
        .map(|w| matches!((w[0].pid, w[1].pid), (Some(a), Some(b)) if a == b))
        .collect();
    for (k, same) in same_process.iter().enumerate() {
        if !same {
            let pid = |i: &Identity| {
                i.pid
                    .map_or("an unknown process".into(), |p| format!("process {p}"))
            };
            warnings.push(format!(
                "{} ({}) and {} ({}) are not of one process: objects cannot be matched; \
                 they are compared by holder, type and allocation site only",
                cli.dumps[k].display(),
                pid(&identities[k]),
                cli.dumps[k + 1].display(),
                pid(&identities[k + 1])
            ));
        }
    }
    let all_one_process = same_process.iter().all(|&s| s);
    let mut interner = TypeInterner::default();
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut changes: Vec<ObjectChanges> = Vec::new();
    // The oldest dump's live objects, kept for the profile's matching.
    let mut oldest_objects: Option<LiveObjects> = None;
    let last = dumps.len() - 1;
    for (i, dump) in dumps.iter().take(last).enumerate() {
        let (model, doms) = super::heap::load_for_retention(dump, cli.quiet)?;
        warnings.extend(model.warnings.iter().cloned());
        let retention = Retention::with_dominators(&model, doms);
        let mut phases = crate::timing::Phases::new();
        // Live objects are listed only to be matched with a neighbour's.
        let matched = same_process[i] || (i > 0 && same_process[i - 1]);
        let snapshot = diff::snapshot(&retention, all_one_process, matched, &mut interner);
        phases.done("diff: snapshot");
        if let (Some(prev), Some(true)) =
            (loaded.last_mut(), i.checked_sub(1).map(|k| same_process[k]))
        {
            if let (Some(a), Some(b)) = (&prev.snapshot.objects, &snapshot.objects) {
                changes.push(diff::match_objects(a, b).0);
                phases.done("diff: matching objects");
            }
            let objects = prev.snapshot.objects.take();
            if i == 1 && target.is_some() {
                oldest_objects = objects;
            }
        }
        loaded.push(Loaded {
            doc: snapshot_doc(&cli.dumps[i], &snapshot, identities[i].pid),
            snapshot,
        });
    }
    // The newest stays loaded: its growth points are found in its heap.
    let (model, doms) = super::heap::load_for_retention(&dumps[last], cli.quiet)?;
    warnings.extend(model.warnings.iter().cloned());
    let retention = Retention::with_dominators(&model, doms);
    let memory = dumps[last].memory();
    let reporter = Reporter::new(&retention, memory.as_deref());
    let mut phases = crate::timing::Phases::new();
    let newest = diff::snapshot(
        &retention,
        all_one_process,
        same_process[last - 1],
        &mut interner,
    );
    phases.done("diff: snapshot");
    let mut is_new = None;
    if let (Some(prev), true) = (loaded.last_mut(), same_process[last - 1]) {
        if let (Some(a), Some(b)) = (&prev.snapshot.objects, &newest.objects) {
            let (c, flags) = diff::match_objects(a, b);
            phases.done("diff: matching objects");
            changes.push(c);
            is_new = Some(flags);
        }
        let objects = prev.snapshot.objects.take();
        if last == 1 && target.is_some() {
            oldest_objects = objects;
        }
    }
    let mut newest = newest;
    let newest_objects = newest.objects.take();
    let newest_doc = snapshot_doc(&cli.dumps[last], &newest, identities[last].pid);
    let (mut docs, mut snapshots): (Vec<SnapshotDoc>, Vec<Snapshot>) =
        loaded.into_iter().map(|l| (l.doc, l.snapshot)).unzip();
    docs.push(newest_doc);
    snapshots.push(newest);
    let [mut holders, types, sites] = diff::all_rows(&snapshots, &interner, cli.n);
    phases.done("diff: rows");
    // Where the largest growths attach, in the newest heap.
    for row in holders
        .iter_mut()
        .filter(|r| r.bytes_change > 0)
        .take(GROWTH_POINTS)
    {
        row.accumulation = match (row.node, &is_new) {
            (Some(node), Some(flags)) => growth_point(&reporter, node, flags),
            _ => None,
        };
    }
    phases.done("diff: growth points");
    let profile = match target {
        Some(target) => {
            // Objects of the oldest and newest dump matched, when of one process.
            let matched = match (all_one_process, &oldest_objects, &newest_objects) {
                (true, Some(a), Some(b)) => Some(diff::match_objects_both_ways(a, b)),
                _ => None,
            };
            let added = match &matched {
                Some(m) => ownership_chains_of(&retention, &m.is_new),
                None => ownership_chains(&retention),
            };
            drop(oldest_objects);
            phases.done("diff: chains of the newest dump");
            // The oldest dump is read again (the newest's model dropped first).
            drop(reporter);
            drop(memory);
            drop(retention);
            drop(model);
            let removed = removed_chains(
                &dumps[0],
                &mut interner,
                newest_objects.as_ref().filter(|_| matched.is_some()),
                &mut warnings,
            )?;
            phases.done("diff: chains of the oldest dump");
            Some(write_profile(
                target,
                &added,
                &removed,
                matched.is_some(),
                cli,
            )?)
        }
        None => None,
    };
    warnings.sort();
    warnings.dedup();
    let doc = DiffDoc {
        profile,
        snapshots: docs,
        objects_matched: all_one_process && is_new.is_some(),
        objects: changes,
        holders,
        types,
        sites,
        warnings,
    };
    if cli.json {
        output::json::write(out, &doc)
    } else {
        output::diff::write(out, &doc)
    }
}

/// The oldest dump's chains for the growth profile: of its objects freed by
/// the newest (matched against `newest_objects`), or of all its live objects.
fn removed_chains(
    dump: &Dump,
    interner: &mut TypeInterner,
    newest_objects: Option<&LiveObjects>,
    warnings: &mut Vec<String>,
) -> Result<Chains> {
    // Quiet: its warnings were printed when it was first read.
    let (model, doms) = super::heap::load_for_retention(dump, true)?;
    warnings.extend(model.warnings.iter().cloned());
    let retention = Retention::with_dominators(&model, doms);
    Ok(match newest_objects {
        Some(newest) => {
            let oldest = diff::snapshot(&retention, true, true, interner);
            match &oldest.objects {
                Some(objects) => {
                    let freed = diff::match_objects_both_ways(objects, newest).is_freed;
                    ownership_chains_of(&retention, &freed)
                }
                None => ownership_chains(&retention),
            }
        }
        None => ownership_chains(&retention),
    })
}

/// Writes the growth profile: `added` positive, `removed` negative.
fn write_profile(
    target: super::pprof::Target,
    added: &Chains,
    removed: &Chains,
    matched: bool,
    cli: &DiffCli,
) -> Result<ProfileDoc> {
    let (oldest, newest) = (&cli.dumps[0], &cli.dumps[cli.dumps.len() - 1]);
    let how = if matched {
        format!(
            "objects new in {} at their chains there (positive), objects of {} freed by then \
             at their chains in it (negative)",
            newest.display(),
            oldest.display()
        )
    } else {
        format!(
            "every live object of {} at its chain (positive), every live object of {} at its              chain (negative): not of one process, objects unmatched",
            newest.display(),
            oldest.display()
        )
    };
    let path = target.write(|w| output::pprof::growth::write(w, added, removed, &how))?;
    let (ao, ab) = output::pprof::growth::totals(added);
    let (ro, rb) = output::pprof::growth::totals(removed);
    let signed = |a: u64, r: u64| i128::from(a) - i128::from(r);
    Ok(ProfileDoc {
        output: path.display().to_string(),
        matched,
        added_bytes: ab,
        added_objects: ao,
        removed_bytes: rb,
        removed_objects: ro,
        bytes_change: i64::try_from(signed(ab, rb)).unwrap_or(i64::MAX),
        objects_change: i64::try_from(signed(ao, ro)).unwrap_or(i64::MAX),
    })
}

fn snapshot_doc(path: &Path, s: &Snapshot, pid: Option<u64>) -> SnapshotDoc {
    SnapshotDoc {
        file: path.display().to_string(),
        live_bytes: s.live.bytes,
        live_objects: s.live.objects,
        pid,
    }
}
