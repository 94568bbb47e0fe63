//! Cuts heap dumps (the fixtures, decompressed) into seeds for the fuzz
//! targets:
//!
//!     cargo run --release --example make_corpus -- CORPUS_DIR EXE_DUMP DUMP...
//!
//! Writes CORPUS_DIR/heapdump/: small valid dumps (the header and params,
//! a window of object records, a few goroutines with their frames, profile
//! records, sometimes the data and bss segments, EOF) and raw prefixes of
//! every dump; and CORPUS_DIR/heapdump_exe/: valid dumps of EXE_DUMP that
//! keep its data and bss segments, so that they pass the executable check
//! of the `heapdump_exe` target (run with that dump's executable).

use std::path::{Path, PathBuf};

use rootpath::input::Source;
use rootpath::input::heapdump::{HeapDumpFile, RecordKind};

struct Cut {
    bytes: Vec<u8>,
    /// Header and params record.
    prefix: Vec<u8>,
    objects: Vec<(usize, usize)>,
    /// A goroutine record with its frames, defers and panics.
    goroutines: Vec<(usize, usize)>,
    segments: Vec<(usize, usize)>,
    roots: Vec<(usize, usize)>,
    profile: Vec<(usize, usize)>,
    version: String,
}

fn cut(path: &Path) -> Cut {
    let dump = HeapDumpFile::parse(Source::open(path).expect("open")).expect("parse");
    let bytes = dump.bytes().to_vec();
    let mut spans: Vec<(RecordKind, usize)> = dump
        .records()
        .map(|r| {
            let (off, rec) = r.expect("valid dump");
            (rec.kind(), off as usize)
        })
        .collect();
    spans.push((RecordKind::Eof, bytes.len()));
    let mut c = Cut {
        prefix: bytes[..16].to_vec(),
        objects: Vec::new(),
        goroutines: Vec::new(),
        segments: Vec::new(),
        roots: Vec::new(),
        profile: Vec::new(),
        version: dump.params.go_version.clone(),
        bytes: Vec::new(),
    };
    for w in spans.windows(2) {
        let ((kind, start), (_, end)) = (w[0], w[1]);
        let range = (start, end);
        match kind {
            RecordKind::Params => c.prefix.extend_from_slice(&bytes[start..end]),
            RecordKind::Object => c.objects.push(range),
            RecordKind::Goroutine => c.goroutines.push(range),
            RecordKind::StackFrame | RecordKind::Defer | RecordKind::Panic => {
                if let Some(g) = c.goroutines.last_mut() {
                    g.1 = end;
                }
            }
            RecordKind::Data | RecordKind::Bss => c.segments.push(range),
            RecordKind::MemProf | RecordKind::AllocSample => c.profile.push(range),
            RecordKind::Eof => {}
            _ => c.roots.push(range),
        }
    }
    c.bytes = bytes;
    c
}

/// Header, params, every non-object record, and the objects reachable from
/// the roots within `budget` objects (breadth-first): a small dump in which
/// globals and frames still point at typed objects.
fn reachable_seed(path: &Path, budget: usize, rng: &mut Rng) -> Vec<u8> {
    let dump = HeapDumpFile::parse(Source::open(path).expect("open")).expect("parse");
    let bytes = dump.bytes();
    let mut objects: Vec<(u64, u64, usize, usize, Vec<u64>)> = Vec::new();
    let mut others: Vec<(usize, usize)> = Vec::new();
    let mut root_values: Vec<u64> = Vec::new();
    let mut prefix = Vec::new();
    let records: Vec<_> = dump.records().map(|r| r.expect("valid dump")).collect();
    let word = |c: &[u8], off: u64| {
        c.get(off as usize..off as usize + 8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
    };
    for (i, (off, rec)) in records.iter().enumerate() {
        let start = *off as usize;
        let end = records
            .get(i + 1)
            .map_or(bytes.len(), |(next, _)| *next as usize);
        match rec {
            rootpath::input::heapdump::Record::Params(_) => {
                prefix = bytes[..16].to_vec();
                prefix.extend_from_slice(&bytes[start..end]);
            }
            rootpath::input::heapdump::Record::Object(o) => {
                let ptrs = o
                    .fields
                    .offsets()
                    .filter_map(|f| word(o.contents, f))
                    .collect();
                objects.push((o.addr, o.contents.len() as u64, start, end, ptrs));
            }
            rootpath::input::heapdump::Record::Eof => {}
            other => {
                match other {
                    rootpath::input::heapdump::Record::Data(s)
                    | rootpath::input::heapdump::Record::Bss(s) => {
                        root_values.extend(s.fields.offsets().filter_map(|f| word(s.contents, f)))
                    }
                    rootpath::input::heapdump::Record::StackFrame(f) => {
                        root_values.extend(f.fields.offsets().filter_map(|o| word(f.contents, o)))
                    }
                    rootpath::input::heapdump::Record::Finalizer(f)
                    | rootpath::input::heapdump::Record::QueuedFinalizer(f) => {
                        root_values.extend([f.obj, f.fn_val])
                    }
                    _ => {}
                }
                // Keep a random part of the profile: it is large.
                let profile = matches!(
                    other,
                    rootpath::input::heapdump::Record::MemProf(_)
                        | rootpath::input::heapdump::Record::AllocSample(_)
                );
                if !profile || rng.below(50) == 0 {
                    others.push((start, end));
                }
            }
        }
    }
    objects.sort_by_key(|o| o.0);
    let find = |v: u64| {
        let i = objects.partition_point(|o| o.0 <= v).checked_sub(1)?;
        (v < objects[i].0 + objects[i].1).then_some(i)
    };
    let mut keep = vec![false; objects.len()];
    let mut queue: std::collections::VecDeque<usize> =
        root_values.iter().filter_map(|&v| find(v)).collect();
    let mut n = 0;
    while let Some(i) = queue.pop_front() {
        // Large objects (1 MiB arrays) would make seeds too big to mutate.
        if keep[i] || n >= budget || objects[i].1 > 4096 {
            continue;
        }
        keep[i] = true;
        n += 1;
        queue.extend(objects[i].4.iter().filter_map(|&v| find(v)));
    }
    let mut out = prefix;
    for (o, k) in objects.iter().zip(&keep) {
        if *k {
            out.extend_from_slice(&bytes[o.2..o.3]);
        }
    }
    for &(s, e) in &others {
        out.extend_from_slice(&bytes[s..e]);
    }
    out.push(0);
    out
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One seed: header and params, then records picked from `c`.
fn seed(c: &Cut, rng: &mut Rng, with_segments: bool) -> Vec<u8> {
    let mut out = c.prefix.clone();
    let mut add = |r: (usize, usize)| out.extend_from_slice(&c.bytes[r.0..r.1]);
    let n = 1 + rng.below(48);
    let start = rng.below(c.objects.len().saturating_sub(n));
    for &r in c.objects.iter().skip(start).take(n) {
        add(r);
    }
    for _ in 0..1 + rng.below(3) {
        if !c.goroutines.is_empty() {
            add(c.goroutines[rng.below(c.goroutines.len())]);
        }
    }
    if with_segments {
        for &r in &c.segments {
            add(r);
        }
    }
    for _ in 0..rng.below(4) {
        if !c.roots.is_empty() {
            add(c.roots[rng.below(c.roots.len())]);
        }
    }
    for _ in 0..rng.below(6) {
        if !c.profile.is_empty() {
            add(c.profile[rng.below(c.profile.len())]);
        }
    }
    out.push(0); // EOF
    out
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [out, exe_dump, dumps @ ..] = args.as_slice() else {
        eprintln!("usage: make_corpus CORPUS_DIR EXE_DUMP DUMP...");
        std::process::exit(2);
    };
    let plain = out.join("heapdump");
    let with_exe = out.join("heapdump_exe");
    std::fs::create_dir_all(&plain).expect("mkdir");
    std::fs::create_dir_all(&with_exe).expect("mkdir");
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut written = 0;
    for path in std::iter::once(exe_dump).chain(dumps) {
        let c = cut(path);
        for i in 0..120 {
            let s = seed(&c, &mut rng, i % 8 == 0);
            std::fs::write(plain.join(format!("{}-{i}", c.version)), s).expect("write");
            written += 1;
        }
        // Raw pieces: the dump cut short at many places.
        for i in 0..24 {
            let len = 16 + rng.below(8192.min(c.bytes.len() - 16));
            let piece = &c.bytes[..len];
            std::fs::write(plain.join(format!("{}-prefix{i}", c.version)), piece).expect("write");
            written += 1;
        }
        if path == exe_dump {
            for i in 0..60 {
                let s = seed(&c, &mut rng, true);
                std::fs::write(with_exe.join(format!("{}-{i}", c.version)), s).expect("write");
                written += 1;
            }
            // Dumps whose roots still reach typed objects.
            for (i, budget) in [50, 200, 500, 1000, 2000, 4000].into_iter().enumerate() {
                let s = reachable_seed(path, budget, &mut rng);
                std::fs::write(with_exe.join(format!("{}-reach{i}", c.version)), s).expect("write");
                written += 1;
            }
        }
    }
    eprintln!("make_corpus: {written} seeds in {}", out.display());
}
