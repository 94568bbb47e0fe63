//! `overview`: what the input is, which Go wrote it, its threads and
//! mappings, and which executable was used and whether it is the right build.

use serde::Serialize;

use crate::dump::{BuildMatch, CoreDump, Dump, ExeOrigin, HeapDumpInput};
use crate::input::elf::Executable;
use crate::input::elf::notes::{FileMapping, signal_name};
use crate::input::goruntime::{GoVersion, Support};

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub file: FileInfo,
    pub go: GoInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessSummary>,
    pub threads: Vec<ThreadSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemorySummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<ExeSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap_dump: Option<crate::input::heapdump::Summary>,
    /// Heap totals, when the heap model could be built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heap: Option<crate::analysis::summary::HeapTotals>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    pub path: String,
    pub kind: &'static str,
    /// Compression removed before reading, outermost first ("zstd", "gzip").
    pub compression: Vec<&'static str>,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoInfo {
    /// As the runtime or the build info spells it, e.g. "go1.25.5".
    pub version: Option<String>,
    pub support: Option<Support>,
    pub goarch: Option<String>,
    /// Where the version was read from.
    pub source: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessSummary {
    pub pid: i32,
    pub command: String,
    pub args: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<SignalSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignalSummary {
    pub number: i32,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault_address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThreadSummary {
    pub tid: i64,
    pub signal: Option<String>,
    pub pc: Option<String>,
    pub sp: Option<String>,
    /// Symbol holding the pc, when the executable has symbols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemorySummary {
    pub segments: usize,
    pub mapped_bytes: u64,
    pub dumped_bytes: u64,
    pub files: Vec<FileMapping>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExeSummary {
    pub path: String,
    pub origin: Option<ExeOrigin>,
    pub go_build_id: Option<String>,
    pub gnu_build_id: Option<String>,
    pub main_package: Option<String>,
    pub has_dwarf: bool,
    pub has_symbols: bool,
    pub position_independent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_bias: Option<String>,
    /// Cores only: is this the build that wrote the core?
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_match: Option<BuildMatch>,
}

pub fn overview(dump: &Dump) -> Overview {
    match dump {
        Dump::Core(core) => core_overview(core),
        Dump::HeapDump(h) => heap_dump_overview(h),
    }
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn go_info(version: Option<&str>, goarch: Option<String>, source: &'static str) -> GoInfo {
    let parsed = version.and_then(GoVersion::parse);
    GoInfo {
        version: version.map(str::to_string),
        support: parsed.map(|v| v.support()),
        goarch,
        source: version.map(|_| source),
    }
}

fn compression_names(kinds: &[crate::input::FileKind]) -> Vec<&'static str> {
    kinds
        .iter()
        .map(|k| match k {
            crate::input::FileKind::Zstd => "zstd",
            crate::input::FileKind::Gzip => "gzip",
            _ => "unknown",
        })
        .collect()
}

fn exe_summary(
    exe: &Executable,
    origin: Option<ExeOrigin>,
    bias: Option<u64>,
    build_match: Option<BuildMatch>,
) -> ExeSummary {
    ExeSummary {
        path: exe.path().display().to_string(),
        origin,
        go_build_id: exe.go_build_id.clone(),
        gnu_build_id: exe.gnu_build_id.clone(),
        main_package: exe.build_info.as_ref().and_then(|b| b.path.clone()),
        has_dwarf: exe.has_dwarf(),
        has_symbols: exe.has_symbols(),
        position_independent: exe.position_independent,
        load_bias: bias.filter(|b| *b != 0).map(hex),
        build_match,
    }
}

fn version_warnings(go: &GoInfo, warnings: &mut Vec<String>) {
    match (go.version.as_deref(), go.support) {
        (Some(v), Some(Support::Untested)) => warnings.push(format!(
            "{v} is not in rootpath's tested matrix ({}): answers may be partial",
            crate::input::goruntime::tested_matrix()
        )),
        (Some(v), Some(Support::Unsupported)) => warnings.push(format!(
            "{v} is too old: rootpath reads {}",
            crate::input::goruntime::tested_matrix()
        )),
        _ => {}
    }
}

fn core_overview(c: &CoreDump) -> Overview {
    let core = &c.core;
    let source = core.source();
    let mut warnings = core.warnings.clone();
    let build_info = c.exe.as_ref().and_then(|e| e.build_info.as_ref());
    let goarch = build_info
        .and_then(|b| {
            b.settings
                .iter()
                .find(|(k, _)| k == "GOARCH")
                .map(|(_, v)| v.clone())
        })
        .or_else(|| Some("amd64".to_string()));
    let go = go_info(
        build_info.map(|b| b.go_version.as_str()),
        goarch,
        "executable .go.buildinfo",
    );
    version_warnings(&go, &mut warnings);
    if c.core_shows_go() == Some(false) {
        warnings.push(
            "not a Go program: the first page of the core's executable has no Go build ID note"
                .into(),
        );
    } else if let Some(problem) = &c.exe_problem {
        warnings.push(problem.to_string());
    }
    if let Some(exe) = &c.exe {
        if build_info.is_none() {
            warnings.push(format!(
                "{} has no Go build information: is it a Go program?",
                exe.path().display()
            ));
        }
        if let BuildMatch::Differs { detail, .. } = &c.build_match {
            warnings.push(format!("wrong executable: {detail}"));
        }
        if !exe.has_dwarf() && c.debug_file().is_none() {
            warnings.push(
                "the executable has no DWARF: types and field names come from the runtime's type \
                 descriptors (where the runtime records an object's type), globals are named by \
                 section offset and the functions that use them; pass a separate debug file with \
                 --debug-dir for full names"
                    .into(),
            );
        }
    }
    let threads = core
        .threads
        .iter()
        .map(|t| ThreadSummary {
            tid: i64::from(t.tid),
            signal: (t.signal != 0).then(|| signal_name(i32::from(t.signal))),
            pc: Some(hex(t.pc())),
            sp: Some(hex(t.sp())),
            function: c
                .exe
                .as_ref()
                .and_then(|e| e.symbol_at(t.pc().wrapping_sub(c.exe_bias)))
                .map(|s| s.name.clone()),
        })
        .collect();
    Overview {
        file: FileInfo {
            path: source.path().display().to_string(),
            kind: "core",
            compression: compression_names(source.compression()),
            size_bytes: source.bytes().len() as u64,
        },
        go,
        process: core.process.as_ref().map(|p| ProcessSummary {
            pid: p.pid,
            command: p.command.clone(),
            args: p.args.clone(),
            signal: core.signal.as_ref().map(|s| SignalSummary {
                number: s.signo,
                name: s.name(),
                fault_address: s.addr.map(hex),
            }),
        }),
        threads,
        memory: Some(MemorySummary {
            segments: core.segments.len(),
            mapped_bytes: core.mapped_bytes(),
            dumped_bytes: core.dumped_bytes(),
            files: core.files.clone(),
        }),
        executable: c.exe.as_ref().map(|e| {
            exe_summary(
                e,
                c.exe_origin.clone(),
                Some(c.exe_bias),
                Some(c.build_match.clone()),
            )
        }),
        heap_dump: None,
        heap: None,
        warnings,
    }
}

fn heap_dump_overview(h: &HeapDumpInput) -> Overview {
    let params = &h.dump.params;
    let mut warnings = Vec::new();
    let go = go_info(
        Some(params.go_version.as_str()),
        Some(params.goarch.clone()),
        "heap dump parameters",
    );
    version_warnings(&go, &mut warnings);
    if let Some(exe) = &h.exe {
        let exe_version = exe.build_info.as_ref().map(|b| b.go_version.as_str());
        if exe_version.is_some() && exe_version != Some(params.go_version.as_str()) {
            warnings.push(format!(
                "the executable was built by {} but the dump was written by {}: wrong executable?",
                exe_version.unwrap_or_default(),
                params.go_version
            ));
        }
    } else {
        warnings.push(
            "no executable given (--exe): object types and variable names are unavailable".into(),
        );
    }
    Overview {
        file: FileInfo {
            path: h.dump.path().display().to_string(),
            kind: "heap dump",
            compression: compression_names(h.dump.source().compression()),
            size_bytes: h.dump.bytes().len() as u64,
        },
        go,
        process: None,
        threads: Vec::new(),
        memory: None,
        executable: h
            .exe
            .as_ref()
            .map(|e| exe_summary(e, Some(ExeOrigin::Given), None, None)),
        heap_dump: Some(h.dump.summary.clone()),
        heap: None,
        warnings,
    }
}
