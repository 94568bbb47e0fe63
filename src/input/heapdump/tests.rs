//! Tests of the heap dump reader: a tiny encoder builds dumps with every
//! record kind; then every truncation and a set of corruptions must give
//! errors (never panics); real dumps are checked when present.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;
use crate::input::detect::HEAPDUMP_MAGIC;

/// Test-only writer mirroring `runtime/heapdump.go`.
#[derive(Default)]
struct Enc(Vec<u8>);

impl Enc {
    fn new() -> Enc {
        Enc(HEAPDUMP_MAGIC.to_vec())
    }
    fn int(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }
    fn bool(&mut self, b: bool) -> &mut Self {
        self.int(b as u64)
    }
    fn str(&mut self, s: &[u8]) -> &mut Self {
        self.int(s.len() as u64);
        self.0.extend_from_slice(s);
        self
    }
    fn fields(&mut self, offs: &[u64]) -> &mut Self {
        for &o in offs {
            self.int(1).int(o);
        }
        self.int(0)
    }
    fn params(&mut self) -> &mut Self {
        self.int(6)
            .bool(false)
            .int(8)
            .int(0xc000000000)
            .int(0xc004000000);
        self.str(b"amd64").str(b"go1.22.10").int(4)
    }
    fn object(&mut self, addr: u64, contents: &[u8], offs: &[u64]) -> &mut Self {
        self.int(1).int(addr).str(contents).fields(offs)
    }
    fn eof(&mut self) -> &mut Self {
        self.int(0)
    }
}

const P: &str = "test.dump";

fn all(bytes: &[u8]) -> Result<Vec<(u64, Record<'_>)>> {
    Records::new(bytes, Path::new(P)).collect()
}

/// A dump with every record kind, in the runtime's order.
fn full_dump() -> Vec<u8> {
    let mut e = Enc::new();
    e.params();
    // dumpitabs: type then itab
    e.int(3).int(0x4a0000).int(16).str(b"main.Node").bool(true);
    e.int(8).int(0x4b0000).int(0x4a0000);
    // dumpobjs
    let mut obj = vec![0u8; 32];
    obj[..8].copy_from_slice(&0xc000010020u64.to_le_bytes());
    e.object(0xc000010000, &obj, &[0, 16]);
    e.object(0xc000010020, &[7u8; 16], &[]);
    e.object(0xc000100000, &[0u8; 1 << 13], &[8, 8184]);
    // dumpgs: goroutine, frames, defer, panic
    e.int(4)
        .int(0xc000001a00)
        .int(0xc000050f00)
        .int(18)
        .int(0x401234)
        .int(4);
    e.bool(false).bool(false).int(12345).str(b"chan receive");
    e.int(0).int(0).int(0xc000060000).int(0xc000070000);
    e.int(5)
        .int(0xc000050f00)
        .int(0)
        .int(0)
        .str(&[1u8; 24])
        .int(0x401000)
        .int(0x401010);
    e.int(0x401010).str(b"main.f").fields(&[8, 16]);
    e.int(5)
        .int(0xc000050f18)
        .int(1)
        .int(0xc000050f00)
        .str(&[2u8; 8])
        .int(0x402000);
    e.int(0x402020).int(0x402020).str(b"main.main").fields(&[]);
    e.int(14)
        .int(0xc000060000)
        .int(0xc000001a00)
        .int(0xc000050f18)
        .int(0x402010);
    e.int(0x4c0000).int(0x402100).int(0);
    e.int(15)
        .int(0xc000070000)
        .int(0xc000001a00)
        .int(0x4a0000)
        .int(0xc000010000);
    e.int(0).int(0);
    // dumpms
    e.int(9).int(0x5a0000).int(0).int(4242);
    // dumproots
    e.int(12).int(0x500000).str(&[0u8; 64]).fields(&[0, 56]);
    e.int(13).int(0x600000).str(&[0u8; 128]).fields(&[120]);
    e.int(7)
        .int(0xc000010000)
        .int(0x4d0000)
        .int(0x403000)
        .int(0x4a0000)
        .int(0x4a1000);
    e.int(11)
        .int(0xc000010020)
        .int(0x4d0000)
        .int(0x403000)
        .int(0x4a0000)
        .int(0x4a1000);
    // an otherroot, which the runtime never writes
    e.int(2).str(b"root").int(0xc000010000);
    // dumpmemstats
    e.int(10);
    for i in 0..MEMSTATS_VALUES as u64 {
        e.int(i * 1000);
    }
    // dumpmemprof
    e.int(16).int(0x7a0000).int(32).int(2);
    e.str(b"main.alloc").str(b"/src/main.go").int(17);
    e.str(b"(0x401fff)").str(b"?").int(0);
    e.int(3).int(1);
    e.int(17).int(0xc000010000).int(0x7a0000);
    e.eof();
    e.0
}

#[test]
fn decodes_every_record_kind() {
    let bytes = full_dump();
    let recs = all(&bytes).expect("valid dump");
    let kinds: Vec<RecordKind> = recs.iter().map(|(_, r)| r.kind()).collect();
    for k in RecordKind::ALL {
        assert!(kinds.contains(&k), "{k} missing");
    }
    assert_eq!(recs[0].0, HEAPDUMP_MAGIC.len() as u64);
    assert_eq!(kinds.last(), Some(&RecordKind::Eof));
    for (_, r) in &recs {
        match r {
            Record::Params(p) => {
                assert!(!p.big_endian);
                assert_eq!(p.ptr_size, 8);
                assert_eq!(p.heap_start, 0xc000000000);
                assert_eq!(p.heap_end, 0xc004000000);
                assert_eq!(p.goarch, b"amd64");
                assert_eq!(p.go_version, b"go1.22.10");
                assert_eq!(p.ncpu, 4);
            }
            Record::Type(t) => {
                assert_eq!((t.addr, t.size, t.name), (0x4a0000, 16, &b"main.Node"[..]));
                assert!(t.iface_data_is_ptr);
            }
            Record::Itab(i) => assert_eq!((i.addr, i.type_addr), (0x4b0000, 0x4a0000)),
            Record::Object(o) if o.addr == 0xc000010000 => {
                assert_eq!(o.contents.len(), 32);
                assert_eq!(o.fields.len(), 2);
                assert_eq!(o.fields.offsets().collect::<Vec<_>>(), vec![0, 16]);
                assert!(o.fields.iter().all(|f| f.kind == FieldKind::Ptr));
            }
            Record::Object(o) if o.addr == 0xc000100000 => {
                assert_eq!(o.contents.len(), 8192);
                assert_eq!(o.fields.offsets().collect::<Vec<_>>(), vec![8, 8184]);
            }
            Record::Object(o) => {
                assert_eq!(o.contents, &[7u8; 16]);
                assert!(o.fields.is_empty());
                assert_eq!(o.fields.iter().count(), 0);
            }
            Record::Goroutine(g) => {
                assert_eq!(g.addr, 0xc000001a00);
                assert_eq!(g.sp, 0xc000050f00);
                assert_eq!(g.goid, 18);
                assert_eq!(g.gopc, 0x401234);
                assert_eq!(g.status, 4);
                assert!(!g.is_system && !g.is_background);
                assert_eq!(g.wait_since, 12345);
                assert_eq!(g.wait_reason, b"chan receive");
                assert_eq!((g.ctxt, g.m), (0, 0));
                assert_eq!((g.defer, g.panic), (0xc000060000, 0xc000070000));
            }
            Record::StackFrame(f) if f.depth == 0 => {
                assert_eq!((f.sp, f.child_sp), (0xc000050f00, 0));
                assert_eq!(f.contents, &[1u8; 24]);
                assert_eq!(
                    (f.entry_pc, f.pc, f.continue_pc),
                    (0x401000, 0x401010, 0x401010)
                );
                assert_eq!(f.name, b"main.f");
                assert_eq!(f.fields.offsets().collect::<Vec<_>>(), vec![8, 16]);
            }
            Record::StackFrame(f) => {
                assert_eq!((f.depth, f.child_sp), (1, 0xc000050f00));
                assert_eq!(text(f.name), "main.main");
                assert!(f.fields.is_empty());
            }
            Record::Defer(d) => assert_eq!(
                *d,
                Defer {
                    addr: 0xc000060000,
                    goroutine: 0xc000001a00,
                    sp: 0xc000050f18,
                    pc: 0x402010,
                    fn_val: 0x4c0000,
                    fn_pc: 0x402100,
                    link: 0
                }
            ),
            Record::Panic(p) => assert_eq!(
                *p,
                Panic {
                    addr: 0xc000070000,
                    goroutine: 0xc000001a00,
                    arg_type: 0x4a0000,
                    arg_data: 0xc000010000,
                    defer: 0,
                    link: 0
                }
            ),
            Record::OsThread(t) => assert_eq!((t.addr, t.id, t.procid), (0x5a0000, 0, 4242)),
            Record::Data(d) => {
                assert_eq!((d.addr, d.contents.len()), (0x500000, 64));
                assert_eq!(d.fields.offsets().collect::<Vec<_>>(), vec![0, 56]);
            }
            Record::Bss(b) => {
                assert_eq!((b.addr, b.contents.len()), (0x600000, 128));
                assert_eq!(b.fields.offsets().collect::<Vec<_>>(), vec![120]);
            }
            Record::Finalizer(f) => assert_eq!(
                *f,
                Finalizer {
                    obj: 0xc000010000,
                    fn_val: 0x4d0000,
                    fn_pc: 0x403000,
                    fint: 0x4a0000,
                    ot: 0x4a1000
                }
            ),
            Record::QueuedFinalizer(f) => assert_eq!(f.obj, 0xc000010020),
            Record::OtherRoot(o) => assert_eq!((o.description, o.to), (&b"root"[..], 0xc000010000)),
            Record::MemStats(m) => {
                assert_eq!(m.alloc, 0);
                assert_eq!(m.total_alloc, 1000);
                assert_eq!(m.heap_objects, 11000);
                assert_eq!(m.pause_total_ns, 23000);
                assert_eq!(m.pause_ns[0], 24000);
                assert_eq!(m.pause_ns[255], 279000);
                assert_eq!(m.num_gc, 280000);
            }
            Record::MemProf(b) => {
                assert_eq!((b.addr, b.size, b.allocs, b.frees), (0x7a0000, 32, 3, 1));
                let frames: Vec<_> = b.frames.iter().collect();
                assert_eq!(frames.len(), 2);
                assert_eq!(b.frames.len(), 2);
                assert_eq!(
                    frames[0],
                    MemProfFrame {
                        func: b"main.alloc",
                        file: b"/src/main.go",
                        line: 17
                    }
                );
                assert_eq!(
                    (frames[1].func, frames[1].file),
                    (&b"(0x401fff)"[..], &b"?"[..])
                );
            }
            Record::AllocSample(a) => assert_eq!((a.obj, a.bucket), (0xc000010000, 0x7a0000)),
            Record::Eof => {}
        }
    }
}

fn write_temp(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heap.dump");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    (dir, path)
}

fn parse_bytes(bytes: &[u8]) -> Result<HeapDumpFile> {
    let (_dir, path) = write_temp(bytes);
    HeapDumpFile::parse(Source::open(&path)?)
}

#[test]
fn parse_fills_params_and_summary() {
    let f = parse_bytes(&full_dump()).unwrap();
    assert_eq!(
        f.params,
        Params {
            big_endian: false,
            ptr_size: 8,
            heap_start: 0xc000000000,
            heap_end: 0xc004000000,
            goarch: "amd64".into(),
            go_version: "go1.22.10".into(),
            ncpu: 4,
        }
    );
    let s = &f.summary;
    assert_eq!(s.records, 21);
    assert_eq!(
        (s.objects, s.object_bytes, s.object_pointer_fields),
        (3, 32 + 16 + 8192, 4)
    );
    assert_eq!((s.goroutines, s.stack_frames, s.stack_bytes), (1, 2, 32));
    assert_eq!((s.types, s.itabs), (1, 1));
    assert_eq!((s.finalizers, s.queued_finalizers), (1, 1));
    assert_eq!((s.defers, s.panics, s.os_threads), (1, 1, 1));
    assert_eq!(
        (s.memprof_buckets, s.alloc_samples, s.other_roots),
        (1, 1, 1)
    );
    assert_eq!(
        (s.data_segments, s.data_bytes, s.bss_segments, s.bss_bytes),
        (1, 64, 1, 128)
    );
    assert!(s.memstats && s.eof);
    assert_eq!(f.memstats.as_ref().unwrap().num_gc, 280000);
    assert_eq!(f.records().count(), 21);
    assert!(f.records().all(|r| r.is_ok()));
    assert_eq!(f.bytes().len(), full_dump().len());
    assert!(f.path().ends_with("heap.dump"));
}

#[test]
fn in_memory_sources() {
    let f = HeapDumpFile::parse(Source::from_bytes(Path::new(P), &full_dump()).unwrap()).unwrap();
    assert_eq!(f.records().count(), 21);
    assert_eq!(f.path(), Path::new(P));
    let err = HeapDumpFile::parse(Source::from_bytes(Path::new(P), b"").unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("corrupt at offset 0x0"), "{err}");
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = full_dump();
    for cut in 0..bytes.len() {
        let head = &bytes[..cut];
        let items: Vec<_> = Records::new(head, Path::new(P)).collect();
        let last = items.last().expect("at least one item");
        assert!(last.is_err(), "cut at {cut} gave no error");
        assert_eq!(
            items.iter().filter(|r| r.is_err()).count(),
            1,
            "cut at {cut}"
        );
        assert!(scan(head, Path::new(P)).is_err(), "cut at {cut} scanned");
    }
    // The message names the offset and the record.
    let cut = bytes.len() - 10;
    let err = all(&bytes[..cut]).unwrap_err().to_string();
    assert!(err.contains("corrupt at offset"), "{err}");
    assert!(err.contains("alloc sample record at 0x"), "{err}");
}

#[test]
fn missing_eof_is_truncation() {
    let mut e = Enc::new();
    e.params();
    e.object(0x1000, &[0; 8], &[0]);
    let err = all(&e.0).unwrap_err().to_string();
    assert!(err.contains("without its EOF record"), "{err}");
    assert!(err.contains(&format!("{:#x}", e.0.len())), "{err}");
}

#[test]
fn header_errors() {
    let err = all(b"").unwrap_err().to_string();
    assert!(
        err.contains("not a runtime/debug.WriteHeapDump file"),
        "{err}"
    );
    let err = all(b"\x7fELF\x02\x01\x01").unwrap_err().to_string();
    assert!(err.contains("7f 45 4c 46"), "{err}");
    let err = all(b"go1.5 heap dump\n\x00").unwrap_err().to_string();
    assert!(
        err.contains("go1.5 heap dump") && err.contains("not supported"),
        "{err}"
    );
    // Only the header: no records at all.
    let err = all(HEAPDUMP_MAGIC).unwrap_err().to_string();
    assert!(err.contains("without its EOF record"), "{err}");
    // HeapDumpFile::parse on a non-dump.
    let err = parse_bytes(b"hello world").err().unwrap().to_string();
    assert!(
        err.contains("not a runtime/debug.WriteHeapDump file"),
        "{err}"
    );
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    elf.extend_from_slice(&4u16.to_le_bytes());
    let err = parse_bytes(&elf).err().unwrap().to_string();
    assert!(err.contains("ELF core"), "{err}");
}

fn corrupt_after_params(build: impl FnOnce(&mut Enc)) -> String {
    let mut e = Enc::new();
    e.params();
    build(&mut e);
    e.eof();
    all(&e.0).unwrap_err().to_string()
}

#[test]
fn corruptions_are_errors() {
    let err = corrupt_after_params(|e| {
        e.int(18);
    });
    assert!(err.contains("unknown record tag 18"), "{err}");
    let err = corrupt_after_params(|e| {
        e.int(1 << 40);
    });
    assert!(err.contains("unknown record tag"), "{err}");

    // A varint that never ends (runs to the end of the file).
    let mut e = Enc::new();
    e.params();
    e.int(1);
    e.0.extend_from_slice(&[0xff; 5]);
    let err = all(&e.0).unwrap_err().to_string();
    assert!(err.contains("varint runs past the end"), "{err}");
    assert!(err.contains("object record at"), "{err}");

    // Longer than 10 bytes.
    let err = corrupt_after_params(|e| {
        e.int(1);
        e.0.extend_from_slice(&[0x80; 11]);
        e.0.push(0);
    });
    assert!(err.contains("longer than 10 bytes"), "{err}");
    // Exactly 10 bytes but more than 64 bits.
    let err = corrupt_after_params(|e| {
        e.int(1);
        e.0.extend_from_slice(&[0xff; 9]);
        e.0.push(0x02);
    });
    assert!(err.contains("overflows 64 bits"), "{err}");
    // u64::MAX itself is fine.
    let mut e = Enc::new();
    e.params();
    e.int(9).int(u64::MAX).int(0).int(0).eof();
    assert!(all(&e.0).is_ok());

    // A length past the end, and a length that does not fit in memory.
    let err = corrupt_after_params(|e| {
        e.int(1).int(0x1000).int(1000);
    });
    assert!(err.contains("needs 1000 bytes"), "{err}");
    assert!(err.contains("object record at"), "{err}");
    let err = corrupt_after_params(|e| {
        e.int(1).int(0x1000).int(u64::MAX);
    });
    assert!(err.contains("record cut off"), "{err}");
    let err = corrupt_after_params(|e| {
        e.int(16).int(1).int(8).int(u64::MAX);
    });
    assert!(
        err.contains("memprof bucket record") && err.contains("stack depth"),
        "{err}"
    );

    // Field list problems.
    let err = corrupt_after_params(|e| {
        e.int(1).int(0x1000).str(&[0; 8]).int(4).int(0).int(0);
    });
    assert!(err.contains("unknown field kind 4"), "{err}");
    let err = corrupt_after_params(|e| {
        e.object(0x1000, &[0; 16], &[8, 16]);
    });
    assert!(
        err.contains("offset 16 is outside the 16 content bytes"),
        "{err}"
    );
    let err = corrupt_after_params(|e| {
        e.int(12).int(0x1000).str(&[0; 8]).fields(&[8]);
    });
    assert!(err.contains("data segment record"), "{err}");

    // A boolean that is neither 0 nor 1.
    let err = corrupt_after_params(|e| {
        e.int(3).int(1).int(8).str(b"T").int(2);
    });
    assert!(err.contains("boolean is 2"), "{err}");

    // Bytes after EOF.
    let mut e = Enc::new();
    e.params().eof();
    e.0.extend_from_slice(&[0, 0, 0]);
    let items: Vec<_> = Records::new(&e.0, Path::new(P)).collect();
    assert!(matches!(items[1], Ok((_, Record::Eof))));
    let err = items[2].as_ref().unwrap_err().to_string();
    assert!(err.contains("3 bytes follow the EOF record"), "{err}");
    assert_eq!(items.len(), 3);
}

#[test]
fn params_checks() {
    let mut e = Enc::new();
    e.object(0x1000, &[0; 8], &[]).eof();
    let err = scan(&e.0, Path::new(P)).unwrap_err().to_string();
    assert!(err.contains("no params record"), "{err}");

    let mut e = Enc::new();
    e.params().params().eof();
    let err = scan(&e.0, Path::new(P)).unwrap_err().to_string();
    assert!(err.contains("second params record"), "{err}");

    let mut e = Enc::new();
    e.int(6)
        .bool(false)
        .int(3)
        .int(0)
        .int(0)
        .str(b"x")
        .str(b"y")
        .int(1)
        .eof();
    let err = scan(&e.0, Path::new(P)).unwrap_err().to_string();
    assert!(err.contains("pointer size 3"), "{err}");
}

/// Random corruption of a valid dump: errors or success, never a panic.
#[test]
fn mutations_never_panic() {
    let base = full_dump();
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let mut bytes = base.clone();
        for _ in 0..1 + rand() % 4 {
            let i = HEAPDUMP_MAGIC.len() + (rand() as usize) % (bytes.len() - HEAPDUMP_MAGIC.len());
            bytes[i] = match rand() % 3 {
                0 => rand() as u8,
                1 => 0xff,
                _ => 0,
            };
        }
        // Decoding lazily stored lists must not panic either.
        for (_, rec) in Records::new(&bytes, Path::new(P)).flatten() {
            match rec {
                Record::Object(o) => assert!(o.fields.iter().count() <= o.contents.len()),
                Record::StackFrame(f) => assert!(f.fields.iter().count() == f.fields.len()),
                Record::MemProf(b) => assert!(b.frames.iter().count() == b.frames.len()),
                _ => {}
            }
        }
        let _ = scan(&bytes, Path::new(P));
    }
}

#[test]
fn varint_edges() {
    for v in [
        0,
        1,
        127,
        128,
        16383,
        16384,
        u32::MAX as u64,
        u64::MAX - 1,
        u64::MAX,
    ] {
        let mut e = Enc::new();
        e.params();
        e.int(17).int(v).int(v).eof();
        let recs = all(&e.0).unwrap();
        let Record::AllocSample(a) = recs[1].1 else {
            panic!("not an alloc sample")
        };
        assert_eq!((a.obj, a.bucket), (v, v));
    }
    // Non-minimal encodings are accepted (Go's binary.Uvarint accepts them too).
    let mut e = Enc::new();
    e.params();
    e.int(17);
    e.0.extend_from_slice(&[0x85, 0x80, 0x00]);
    e.int(1).eof();
    let recs = all(&e.0).unwrap();
    assert!(matches!(
        recs[1].1,
        Record::AllocSample(AllocSample { obj: 5, bucket: 1 })
    ));
}

/// Checks a real dump's summary makes sense, printing it.
fn check_real_dump(path: &Path) -> HeapDumpFile {
    let f = HeapDumpFile::parse(Source::open(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let s = &f.summary;
    eprintln!("{}: {:?}\n{:#?}", path.display(), f.params, s);
    assert_eq!(f.params.ptr_size, 8);
    assert_eq!(f.params.goarch, "amd64");
    assert!(
        f.params.go_version.starts_with("go1."),
        "{}",
        f.params.go_version
    );
    assert!(f.params.heap_start < f.params.heap_end);
    assert!(s.eof && s.memstats);
    assert!(s.objects > 0 && s.goroutines > 0 && s.stack_frames >= s.goroutines);
    assert!(s.os_threads > 0 && s.data_bytes > 0 && s.bss_bytes > 0);
    assert_eq!((s.data_segments, s.bss_segments, s.other_roots), (1, 1, 0));
    assert_eq!(
        s.types,
        s.itabs.min(s.types),
        "types are only written with itabs"
    );
    let m = f.memstats.as_ref().unwrap();
    // Dead-but-unswept slots are included, so the dump has at least the live objects.
    assert!(
        s.objects >= m.heap_objects / 2,
        "{} objects, memstats {}",
        s.objects,
        m.heap_objects
    );
    let mut n = 0u64;
    for item in f.records() {
        let (_, rec) = item.unwrap();
        if let Record::Object(o) = rec {
            assert!(o.addr >= f.params.heap_start && o.addr < f.params.heap_end);
            for off in o.fields.offsets() {
                assert!(off % 8 == 0 && off + 8 <= o.contents.len() as u64);
            }
        }
        n += 1;
    }
    assert_eq!(n, s.records);
    // Cut short anywhere, it is an error.
    let bytes = f.bytes();
    for i in 0..31u64 {
        let cut = (bytes.len() as u64 * i / 31) as usize;
        assert!(scan(&bytes[..cut], path).is_err(), "cut at {cut}");
    }
    f
}

/// Every heap dump of the fixture corpus parses, and names its Go version.
#[test]
fn fixture_dumps() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fixtures");
    let dirs = std::fs::read_dir(&root).expect("testdata/fixtures exists");
    let mut seen = std::collections::BTreeSet::new();
    for dir in dirs.flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        let path = dir.path().join("heap.dump.zst");
        if !name.starts_with("go1.") || !path.exists() {
            continue;
        }
        let f = check_real_dump(&path);
        // Variant builds (go1.25-pie) are named after their version too.
        let version = name.split('-').next().unwrap_or(&name);
        assert!(
            f.params.go_version.starts_with(&format!("{version}.")),
            "{name}: dump says {}",
            f.params.go_version
        );
        seen.insert(version.to_string());
    }
    assert_eq!(
        seen.len(),
        8,
        "one heap dump per Go version of the matrix: {seen:?}"
    );
}
