//! The command line: clap definitions and dispatch. Each command renders
//! through `output`; errors come back to `main`, which prints them once.

pub mod diff;
mod heap;
mod overview;
mod pprof;
mod retention;
mod serve;
mod sites;
mod why;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::analysis::dominators::Dominators;
use crate::dump::{Dump, OpenOptions};
use crate::error::Result;
use crate::index::IndexFile;
use crate::model::HeapModel;

const ABOUT: &str = "Why isn't this Go memory collected? pprof shows where memory was allocated; \
rootpath shows who still holds it.";

const LONG_ABOUT: &str = "\
Why isn't this Go memory collected?

pprof shows where memory was allocated; rootpath shows who still holds it. It reads a Go
core file (GOTRACEBACK=crash, gcore, systemd-coredump's core.*.zst) with its executable, or a
runtime/debug.WriteHeapDump file, builds the heap's object graph and explains retention:
paths from GC roots, dominators and retained sizes, the largest retainers, and, with a pprof
heap profile, who holds what each allocation site allocated.";

const AFTER_HELP: &str = "\
Examples:
  rootpath core.1234 --heap heap.out     batch report, led by the profile's allocation sites
  rootpath core.1234 why 0xc000123450    who keeps this object alive?
  rootpath heap.dump --exe ./server top  the largest retainers in a heap dump
  rootpath core.1234 overview --json     what is this core? (Go version, threads, build check)
  rootpath diff OLD NEW --exe ./server   what grew between two dumps of one build (see diff --help)

Capturing inputs from a Go service:
  core:    ulimit -c unlimited; GOTRACEBACK=crash ./server   (then kill -ABRT PID), or gcore PID
  profile: curl -o heap.out http://HOST/debug/pprof/heap     (net/http/pprof)
  Set GODEBUG=memprofilerate=1 (or runtime.MemProfileRate=1) to sample every allocation.";

#[derive(Debug, Parser)]
#[command(
    name = "rootpath",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = false,
    subcommand_negates_reqs = false
)]
pub struct Cli {
    /// Go core file or runtime/debug.WriteHeapDump file (may be zstd- or gzip-compressed).
    pub dump: PathBuf,

    /// The executable that wrote the dump [default for cores: the path named in the core].
    #[arg(long, global = true, value_name = "PATH")]
    pub exe: Option<PathBuf>,

    /// A pprof heap profile of the same process (`curl /debug/pprof/heap > heap.out`).
    #[arg(long = "heap", global = true, value_name = "PROFILE")]
    pub heap_profile: Option<PathBuf>,

    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress output on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Also look for the executable's separate debug file (.gnu_debuglink, build id) here.
    #[arg(long = "debug-dir", global = true, value_name = "DIR")]
    pub debug_dirs: Vec<PathBuf>,

    /// Ignore the executable's DWARF and symbols: read it as its stripped build would be read.
    #[arg(long, global = true)]
    pub no_debug_info: bool,

    /// Answer from the dump alone: neither open nor write its index.
    #[arg(long, global = true)]
    pub no_index: bool,

    /// Keep the dump's index in DIR [default: $XDG_CACHE_HOME/rootpath, else ~/.cache/rootpath].
    #[arg(long = "index-dir", global = true, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Batch report: overview, leak suspects, top retainers, histogram, goroutines (the default);
    /// with --heap, led by the profile's top allocation sites and who holds them.
    Report {
        /// Write the report as one self-contained HTML file (no external requests) instead.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// A local web UI (prints its URL): overview, dominator tree, objects, types,
    /// goroutines, allocation sites.
    Serve {
        /// Where to listen (port 0: any free port). Loopback unless you say otherwise.
        #[arg(long, default_value = "127.0.0.1:0", value_name = "IP:PORT")]
        addr: String,
        /// Open the UI in the desktop's browser.
        #[arg(long)]
        open: bool,
    },
    /// Why is this object alive? Paths from GC roots, those from its owners first.
    Why {
        /// An address (any address inside an object), `type:NAME`, `site:FUNC` or
        /// `site:FILE:LINE`.
        target: String,
        /// How many paths, through different roots (at least 1).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
        paths: u64,
        /// Order paths by length alone, instead of the program's own variables first.
        #[arg(long)]
        shortest: bool,
        /// With an address: ignore references held in objects of this type (or in arrays of
        /// it), or in this TYPE.FIELD ("would it still be alive without them?").
        #[arg(long, value_name = "EDGE")]
        exclude: Vec<String>,
        /// Show runtime-internal objects (map tables, buckets) as separate steps.
        #[arg(long)]
        raw: bool,
    },
    /// The largest retainers.
    Top {
        /// Show at most this many retainers (or types).
        #[arg(short = 'n', default_value_t = 20)]
        n: usize,
        /// Order by retained bytes, shallow bytes (the holder's own), or retained object count;
        /// with `--group type` only retained and count apply.
        #[arg(long, value_enum, default_value_t = TopBy::Retained)]
        by: TopBy,
        /// Retainers by GC root (and groups of alike goroutines), or retained bytes by type.
        #[arg(long, value_enum, default_value_t = TopGroup::Root)]
        group: TopGroup,
    },
    /// Objects and bytes per type.
    Histogram,
    /// List heap objects.
    Objects {
        /// Only objects of this type (exact name, or else names containing it).
        #[arg(long = "type", value_name = "TYPE")]
        type_name: Option<String>,
        /// Show at most this many.
        #[arg(short = 'n', long, default_value_t = 1000)]
        limit: usize,
    },
    /// GC roots: globals, goroutine stacks, finalizers, cleanups.
    Roots,
    /// Goroutines with their state, wait reason, frames and creation site.
    Goroutines,
    /// Allocation sites: sampled objects by where they were allocated (joined with --heap's
    /// profile when given), their live and retained bytes, and the roots that hold them.
    Sites {
        /// Show at most this many sites.
        #[arg(short = 'n', default_value_t = 20)]
        n: usize,
        /// Order by live sampled bytes, retained bytes, or in-use bytes as profiled
        /// (default: in-use bytes with --heap, as pprof orders them; live bytes without).
        #[arg(long, value_enum)]
        by: Option<SiteSort>,
        /// One site per allocating source line, or per distinct stack.
        #[arg(long, value_enum, default_value_t = SiteGroup::Line)]
        group: SiteGroup,
        /// Retaining roots shown per site.
        #[arg(long, default_value_t = 3)]
        retainers: usize,
        /// Show runtime-internal objects (map tables, buckets) as separate path steps.
        #[arg(long)]
        raw: bool,
    },
    /// Write retention as a pprof profile (gzipped profile.proto): every live object once,
    /// below its chain of dominators from its holder; for `go tool pprof -http=: FILE`.
    Pprof {
        /// The profile file to write (an input is never overwritten).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// What the dump is: Go version, threads, mappings, executable and build check.
    Overview,
    /// Build the dump's index now (later commands reopen it instead of the dump) and report
    /// where it is and its size.
    Index,
    /// Developers: print the runtime layout table of the core's Go version, from its
    /// executable's DWARF (formats/runtime-tables/).
    #[command(hide = true, name = "dev-runtime-table")]
    DevRuntimeTable,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TopBy {
    Retained,
    Shallow,
    Count,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SiteSort {
    Live,
    Retained,
    Inuse,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SiteGroup {
    Line,
    Stack,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TopGroup {
    Root,
    Type,
}

/// Parses the command line; a dump named after a command (`rootpath why
/// CORE ADDR`) gets a hint that the dump comes first.
pub fn parse() -> Cli {
    use clap::CommandFactory;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let first = args.get(1).and_then(|a| a.to_str());
            let is_command = first.is_some_and(|f| {
                Cli::command()
                    .get_subcommands()
                    .any(|c| c.get_name() == f && !std::path::Path::new(f).exists())
            });
            if let (true, Some(command)) = (is_command, first)
                && e.kind() != clap::error::ErrorKind::DisplayHelp
            {
                eprintln!("rootpath: the dump comes before the command: rootpath DUMP {command} …");
            }
            e.exit()
        }
    }
}

/// Flags that cannot do what their help says here are refused before the
/// long load, with what they apply to.
fn check_flags(cli: &Cli, command: &Command) -> Result<()> {
    use crate::error::Error;
    for dir in &cli.debug_dirs {
        if !dir.is_dir() {
            return Err(Error::WrongInput {
                flag: "--debug-dir",
                path: dir.clone(),
                what: "is not a directory".into(),
            });
        }
    }
    match command {
        Command::Why {
            target, exclude, ..
        } if !exclude.is_empty() && why::parse_address(target).is_none() => Err(Error::BadFlag {
            flag: "--exclude",
            why: format!("applies to `why ADDRESS` (one object's paths), not to {target}"),
        }),
        Command::Top {
            by: TopBy::Shallow,
            group: TopGroup::Type,
            ..
        } => Err(Error::BadFlag {
            flag: "--by shallow",
            why: "applies to --group root; --group type orders by retained bytes or count".into(),
        }),
        _ => Ok(()),
    }
}

/// Runs a parsed command line, writing its result to `out`.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<()> {
    const REPORT: Command = Command::Report { html: None };
    let command = cli.command.as_ref().unwrap_or(&REPORT);
    let uses_profile = match command {
        Command::Report { .. } | Command::Sites { .. } | Command::Serve { .. } => true,
        Command::Why { target, .. } => target.starts_with("site:"),
        _ => false,
    };
    // Read the profile first: a bad one fails before a long load.
    let profile = match &cli.heap_profile {
        Some(path) if uses_profile => {
            Some(crate::input::pprof::read_alloc_profile(path).map_err(|e| e.for_flag("--heap"))?)
        }
        Some(path) => {
            eprintln!(
                "rootpath: note: {} is not used: the heap profile joins in 'report', 'sites' \
                 and 'why site:'",
                path.display()
            );
            None
        }
        None => None,
    };
    check_flags(cli, command)?;
    // The output is checked before the long load.
    let pprof_target = match command {
        Command::Pprof { output } => {
            let mut inputs = vec![cli.dump.as_path()];
            inputs.extend(cli.exe.as_deref());
            inputs.extend(cli.heap_profile.as_deref());
            Some(pprof::prepare(output, &inputs)?)
        }
        _ => None,
    };
    let options = OpenOptions {
        exe: cli.exe.clone(),
        debug_dirs: cli.debug_dirs.clone(),
        ignore_debug_info: cli.no_debug_info,
    };
    if !cli.quiet && std::io::stderr().is_terminal() {
        crate::progress::enable();
    }
    let dump = Dump::open(&cli.dump, &options)?;
    match (command, &dump) {
        (Command::DevRuntimeTable, Dump::Core(core)) => {
            let table = crate::input::core_loader::runtime_table(core)?;
            return out
                .write_all(table.as_bytes())
                .map_err(crate::error::Error::Output);
        }
        (Command::DevRuntimeTable, Dump::HeapDump(_)) => {
            return Err(crate::error::Error::BadTarget {
                target: "dev-runtime-table".into(),
                why: "needs a core (the table is read through the live runtime's memory)".into(),
            });
        }
        _ => {}
    }
    let index = match &cli.index_dir {
        _ if cli.no_index => None,
        Some(dir) => Some(dir.clone()),
        None => crate::index::default_dir(),
    }
    .and_then(|dir| IndexFile::locate(&dir, &cli.dump, &dump, &options));
    // From the index when there is one (built by the first command).
    let from_index =
        |quiet: bool, with_dominators: bool| -> Result<Option<(HeapModel, Option<Dominators>)>> {
            let Some(index) = &index else {
                return Ok(None);
            };
            let (model, doms) = index.open_or_build(cli.quiet, with_dominators, || {
                heap::load_for_retention(&dump, true)
            })?;
            if !quiet {
                for w in &model.warnings {
                    eprintln!("warning: {w}");
                }
            }
            Ok(Some((model, doms)))
        };
    match command {
        Command::Overview => {
            let model = from_index(true, false)
                .transpose()
                .map(|m| m.map(|(m, _)| m))
                .unwrap_or_else(|| heap::load(&dump, true));
            return overview::run(&dump, model, cli.json, out);
        }
        Command::Index => return index_cmd(index.as_ref(), &dump, cli, out),
        _ => {}
    }
    if let Command::Why {
        target,
        paths,
        shortest,
        exclude,
        raw,
    } = command
    {
        if !target.starts_with("site:") {
            let args = why::WhyArgs {
                target,
                paths: usize::try_from(*paths).unwrap_or(usize::MAX),
                exclude,
                raw: *raw,
                shortest: *shortest,
            };
            return match from_index(cli.quiet, false)? {
                Some((model, _)) => {
                    let memory = dump.memory();
                    why::run(&model, memory.as_deref(), &args, cli.json, out)
                }
                None => why::load_and_run(&dump, cli.quiet, &args, cli.json, out),
            };
        }
    }
    let retention = matches!(
        command,
        Command::Histogram
            | Command::Goroutines
            | Command::Report { .. }
            | Command::Serve { .. }
            | Command::Top { .. }
            | Command::Pprof { .. }
            | Command::Sites { .. }
    );
    let (model, doms) = match from_index(cli.quiet, retention)? {
        Some(loaded) => loaded,
        None if retention => heap::load_for_retention(&dump, cli.quiet)?,
        None => (heap::load(&dump, cli.quiet)?, None),
    };
    match command {
        Command::Histogram => retention::histogram_cmd(&model, doms, cli.json, out),
        Command::Objects { type_name, limit } => {
            heap::objects(&model, type_name.as_deref(), *limit, cli.json, out)
        }
        Command::Roots => heap::roots(&model, cli.json, out),
        Command::Pprof { .. } => match pprof_target {
            Some(target) => pprof::run(&model, doms, &cli.dump, target, cli.json, out),
            None => unreachable!("prepared above"),
        },
        Command::Goroutines => retention::goroutines(&model, doms, cli.json, out),
        Command::Top { n, by, group } => {
            let memory = dump.memory();
            let args = retention::TopArgs {
                n: *n,
                by: *by,
                group: *group,
            };
            retention::top(&model, doms, memory.as_deref(), &args, cli.json, out)
        }
        Command::Report { html: Some(path) } => {
            let memory = dump.memory();
            let sources = serve::Sources {
                dump: &dump,
                model: &model,
                memory: memory.as_deref(),
                profile: profile.as_ref(),
            };
            serve::html_report(sources, doms, path, out)
        }
        Command::Serve { addr, open } => {
            let memory = dump.memory();
            let sources = serve::Sources {
                dump: &dump,
                model: &model,
                memory: memory.as_deref(),
                profile: profile.as_ref(),
            };
            let options = crate::serve::ServeOptions {
                addr: addr.clone(),
                open: *open,
            };
            serve::serve(sources, doms, &options, out)
        }
        Command::Report { html: None } => {
            let memory = dump.memory();
            retention::report(
                &dump,
                &model,
                doms,
                memory.as_deref(),
                profile.as_ref(),
                cli.json,
                out,
            )
        }
        Command::Sites {
            n,
            by,
            group,
            retainers,
            raw,
        } => {
            let memory = dump.memory();
            let args = sites::SitesArgs {
                n: *n,
                by: *by,
                group: *group,
                retainers: *retainers,
                raw: *raw,
            };
            sites::run(
                &model,
                doms,
                memory.as_deref(),
                profile.as_ref(),
                &args,
                cli.json,
                out,
            )
        }
        // Only `why site:…` gets here (the others returned above).
        Command::Why { target, raw, .. } => {
            let memory = dump.memory();
            let spec = target.strip_prefix("site:").unwrap_or(target);
            sites::why(
                &model,
                memory.as_deref(),
                profile.as_ref(),
                spec,
                *raw,
                cli.json,
                out,
            )
        }
        Command::Overview | Command::Index | Command::DevRuntimeTable => {
            unreachable!("commands without a model returned above")
        }
    }
}

/// `rootpath DUMP index`: the index, built now unless a usable one exists.
fn index_cmd(index: Option<&IndexFile>, dump: &Dump, cli: &Cli, out: &mut dyn Write) -> Result<()> {
    use crate::error::Error;
    let Some(index) = index else {
        return Err(Error::BadFlag {
            flag: if cli.no_index {
                "--no-index"
            } else {
                "--index-dir"
            },
            why: "'index' needs somewhere to write: drop --no-index, or give --index-dir DIR \
                  (no cache directory: neither XDG_CACHE_HOME nor HOME is set)"
                .into(),
        });
    };
    let (model, doms) = match index.open(true) {
        Ok(found) => found,
        Err(problem) => {
            if !matches!(&problem, crate::index::Problem::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
            {
                eprintln!(
                    "rootpath: index {} {problem}; rebuilding it",
                    index.path.display()
                );
            }
            let (model, doms) = heap::load_for_retention(dump, cli.quiet)?;
            let doms =
                doms.unwrap_or_else(|| crate::analysis::retention::Retention::dominators(&model));
            index.write(&model, &doms).map_err(|source| Error::Io {
                path: index.path.clone(),
                source,
            })?;
            (model, Some(doms))
        }
    };
    drop(doms);
    let bytes = std::fs::metadata(&index.path).map(|m| m.len()).unwrap_or(0);
    let doc = IndexDoc {
        path: index.path.display().to_string(),
        bytes,
        objects: model.objects.len() as u64,
        edges: model.edges.len() as u64,
        bytes_per_object: bytes as f64 / model.objects.len().max(1) as f64,
    };
    if cli.json {
        crate::output::json::write(out, &doc)
    } else {
        writeln!(
            out,
            "index: {}\n  {} for {} objects and {} edges ({:.1} bytes per object)",
            doc.path,
            crate::output::text::bytes(doc.bytes),
            doc.objects,
            doc.edges,
            doc.bytes_per_object
        )
        .map_err(crate::error::Error::Output)
    }
}

#[derive(serde::Serialize)]
struct IndexDoc {
    path: String,
    bytes: u64,
    objects: u64,
    edges: u64,
    bytes_per_object: f64,
}
