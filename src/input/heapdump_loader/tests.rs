//! Heap dump loading on synthetic dumps: headers, phantom slots, edges and
//! roots laid out as each Go version's runtime writes them.

use std::io::Write;

use super::layout::experiment;
use super::slots::Slot;
use super::*;
use crate::input::Source;
use crate::model::RootKind;

#[test]
fn experiments_from_version_strings() {
    assert_eq!(experiment("go1.22.10", "allocheaders"), None);
    assert_eq!(
        experiment("go1.22.10 X:noallocheaders", "allocheaders"),
        Some(false)
    );
    assert_eq!(
        experiment("go1.26.6-X:nogreenteagc,foo", "greenteagc"),
        Some(false)
    );
    assert_eq!(
        experiment("go1.25.5 X:greenteagc", "greenteagc"),
        Some(true)
    );
    assert_eq!(
        experiment("go1.22.10 X:nocoverageredesign", "allocheaders"),
        None
    );
}

#[test]
fn slot_lengths_round_trip() {
    for len in [8, 32768, 40960, (1 << 31) - 1, 1 << 31, 5 << 30, 1 << 40] {
        let s = Slot {
            addr: 0,
            rec: 0,
            len: Slot::encode_len(len).expect("encodable"),
            flags: 0,
        };
        assert_eq!(s.len(), len);
    }
    assert_eq!(Slot::encode_len((1 << 31) + 1), None);
}

/// A heap dump writer for tests: uvarints, strings, field lists.
struct W(Vec<u8>);

impl W {
    fn uv(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.uv(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn fields(&mut self, offsets: &[u64]) -> &mut Self {
        for &o in offsets {
            self.uv(1).uv(o);
        }
        self.uv(0)
    }
    fn object(&mut self, addr: u64, words: &[u64], len: usize, fields: &[u64]) -> &mut Self {
        let mut c: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        c.resize(len, 0);
        self.uv(1).uv(addr).bytes(&c).fields(fields)
    }
}

const P0: u64 = 0xc000000000;
const P1: u64 = P0 + PAGE;
const P2: u64 = P0 + 2 * PAGE;
const P3: u64 = P0 + 3 * PAGE;
/// The 1 KiB object of the synthetic dump: its header, a pointer into
/// the middle of B, a pointer into itself.
const A: u64 = P1;

fn synthetic(version: &str) -> (tempfile::NamedTempFile, HeapDumpFile) {
    let mut w = W(b"go1.7 heap dump\n".to_vec());
    w.uv(6).uv(0).uv(8).uv(P0).uv(P0 + (64 << 20));
    w.bytes(b"amd64").bytes(version.as_bytes()).uv(4);
    // B: a 32-byte scan span's first object, and the span's bitmap tail.
    w.object(P0, &[0], 32, &[0]);
    for slot in 252..256 {
        w.object(P0 + slot * 32, &[], 32, &[]);
    }
    w.object(A, &[0x4a1000, P0 + 8, A + 8 + 40], 1024, &[8, 16, 24]);
    // A noscan 16-byte span: a tiny block and the span's last slot.
    w.object(P2, &[], 16, &[]);
    w.object(P2 + 508 * 16, &[], 16, &[]);
    // C: a closure (its code pointer is not a heap pointer).
    w.object(P3, &[0x401000], 16, &[0]);
    // A goroutine whose frame holds a pointer into the tiny block.
    w.uv(4).uv(0xc000100000).uv(0x7000).uv(7).uv(0x401000).uv(4);
    w.uv(0)
        .uv(0)
        .uv(0)
        .bytes(b"chan receive")
        .uv(0)
        .uv(0)
        .uv(0)
        .uv(0);
    let frame: Vec<u8> = [0u64, P2 + 4]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    w.uv(5)
        .uv(0x7000)
        .uv(0)
        .uv(0)
        .bytes(&frame)
        .uv(0x401000)
        .uv(0x401010);
    w.uv(0x401010).bytes(b"main.f").fields(&[8]);
    // A global holding A, a finalizer on A whose closure is C.
    let data: Vec<u8> = [0u64, A + 8].iter().flat_map(|w| w.to_le_bytes()).collect();
    w.uv(12).uv(0x500000).bytes(&data).fields(&[8]);
    w.uv(7)
        .uv(A + 8)
        .uv(P3)
        .uv(0x401000)
        .uv(0x4a2000)
        .uv(0x4a3000);
    // A profile bucket (two frames) and samples of A (after its header)
    // and of a tiny allocation inside the 16-byte block.
    w.uv(16).uv(0x9000).uv(1024).uv(2);
    w.bytes(b"main.alloc").bytes(b"main.go").uv(12);
    w.bytes(b"(0x401234)").bytes(b"?").uv(0);
    w.uv(3).uv(1);
    w.uv(17).uv(A + 8).uv(0x9000);
    w.uv(17).uv(P2 + 4).uv(0x9000);
    w.uv(17).uv(P0 + 0x100000).uv(0x9000); // no such object
    w.uv(0);
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(&w.0).expect("write dump");
    let dump = HeapDumpFile::parse(Source::open(file.path()).expect("open")).expect("parse");
    (file, dump)
}

fn objects(m: &HeapModel) -> Vec<(u64, u64)> {
    m.objects
        .ids()
        .map(|id| (m.objects.addr(id), m.objects.size(id)))
        .collect()
}

#[test]
fn headers_phantoms_edges_and_roots_1_22() {
    let (_file, dump) = synthetic("go1.22.10");
    let m = load(&dump, None).expect("load");
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(
        m.warnings[0].starts_with("no executable"),
        "{:?}",
        m.warnings
    );
    // The bitmap slots are gone, A starts after its header, the noscan
    // span's last slot is an object (1.22 reserves nothing there).
    assert_eq!(
        objects(&m),
        vec![
            (P0, 32),
            (A + 8, 1016),
            (P2, 16),
            (P2 + 508 * 16, 16),
            (P3, 16)
        ]
    );
    let a = m.objects.find(A + 8).unwrap();
    let b = m.objects.find(P0).unwrap();
    // A's interior pointer into B counts; its pointer into itself does not.
    assert_eq!(m.edges.out(a).collect::<Vec<_>>(), vec![(b, 0)]);
    assert_eq!(m.edges.len(), 1);

    let roots: Vec<_> = m
        .roots
        .iter()
        .map(|r| (r.kind, r.name.as_str(), r.addr, r.targets.clone()))
        .collect();
    let tiny = m.objects.find(P2).unwrap();
    let c = m.objects.find(P3).unwrap();
    assert_eq!(
        roots,
        vec![
            (RootKind::Global, "data+0x8", Some(0x500008), vec![(a, 0)]),
            (
                RootKind::Stack,
                "goroutine 7 main.f",
                Some(0x7000),
                vec![(tiny, 8)]
            ),
            (
                RootKind::Finalizer,
                "finalizer of 0xc000002008",
                Some(A + 8),
                vec![(b, 0), (c, 0)]
            ),
        ]
    );
    let frame = m.roots.roots[1].frame.as_ref().expect("frame");
    assert_eq!((frame.goroutine, frame.function.as_str()), (7, "main.f"));

    // The goroutine, with what the dump says of it.
    assert_eq!(m.goroutines.len(), 1);
    let g = &m.goroutines[0];
    assert_eq!(
        (g.id, g.state.as_str(), g.wait_reason.as_deref()),
        (7, "waiting", Some("chan receive"))
    );
    let frames: Vec<_> = g.frames.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(frames, ["main.f"]);

    // Sites: the bucket with its stack, and the samples' objects.
    assert_eq!(m.sites.buckets.len(), 1);
    let b = &m.sites.buckets[0];
    assert_eq!((b.id, b.size, b.allocs, b.frees), (0x9000, 1024, 3, 1));
    assert_eq!(b.stack[0].display(), "main.alloc (main.go:12)");
    assert_eq!((b.stack[1].file.as_deref(), b.stack[1].line), (None, None));
    assert_eq!(m.sites.object_bucket, vec![(a, 0), (tiny, 0)]);
    assert_eq!(m.sites.buckets_of(a).count(), 1);
    assert_eq!(m.sites.buckets_of(c).count(), 0);
}

#[test]
fn green_tea_spans_reserve_mark_bits() {
    let (_file, dump) = synthetic("go1.26.6");
    let m = load(&dump, None).expect("load");
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert!(
        m.warnings[0].starts_with("no executable"),
        "{:?}",
        m.warnings
    );
    // From 1.26 the noscan span's last 128 bytes are inline mark bits.
    assert_eq!(
        objects(&m),
        vec![(P0, 32), (A + 8, 1016), (P2, 16), (P3, 16)]
    );
}

#[test]
fn no_headers_or_phantoms_before_1_22() {
    let (_file, dump) = synthetic("go1.21.13");
    let m = load(&dump, None).expect("load");
    assert_eq!(m.objects.len(), 9);
    let a = m.objects.find(A).unwrap();
    assert_eq!((m.objects.addr(a), m.objects.size(a)), (A, 1024));
    let b = m.objects.find(P0).unwrap();
    assert_eq!(m.edges.out(a).collect::<Vec<_>>(), vec![(b, 8)]);
}
