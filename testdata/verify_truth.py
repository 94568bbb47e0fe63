#!/usr/bin/env python3
"""Cross-check truth.json against the heap dump written by the same process.

Usage: verify_truth.py DIR   (DIR holds truth.json, heap.dump and the executable
`scenarios`, uncompressed). Standard library only; `nm` (binutils) names globals
(a stripped executable has no symbols: global roots' own "addr" is used then).
Exits non-zero and prints every mismatch when the truth does not match the dump.
"""
import bisect
import json
import os
import subprocess
import sys


def uvarint(b, i):
    x = s = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7F) << s
        if c < 0x80:
            return x, i
        s += 7


class Dump:
    def __init__(self, path):
        b = open(path, "rb").read()
        hdr = b"go1.7 heap dump\n"
        if not b.startswith(hdr):
            raise SystemExit("bad heap dump header")
        i = len(hdr)
        self.objects = {}  # addr -> (contents, pointer offsets)
        self.frames = []  # (goid-less sp, name, contents, ptr offsets)
        self.goroutines = {}  # g addr -> goid
        self.defers, self.panics = [], []
        self.finalizers, self.queued = [], []
        self.segments = []  # (addr, contents)
        self.memprof, self.samples = {}, {}
        gs_by_sp = []

        def num():
            nonlocal i
            v, i = uvarint(b, i)
            return v

        def string():
            nonlocal i
            n = num()
            s = b[i:i + n]
            i += n
            return s

        def fields():
            out = []
            while True:
                k = num()
                if k == 0:
                    return out
                out.append(num())

        while True:
            tag = num()
            if tag == 0:
                break
            elif tag == 1:
                a = num()
                c = string()
                self.objects[a] = (c, fields())
            elif tag == 2:
                string(), num()
            elif tag == 3:
                num(), num(), string(), num()
            elif tag == 4:
                g, sp, goid = num(), num(), num()
                num(), num(), num(), num(), num()
                string()
                num(), num(), num(), num()
                self.goroutines[g] = goid
                gs_by_sp.append((sp, goid))
            elif tag == 5:
                sp, depth, childsp = num(), num(), num()
                c = string()
                num(), num(), num()
                name = string().decode()
                self.frames.append((sp, depth, name, c, fields()))
            elif tag == 6:
                num(), num()
                self.arena = (num(), num())
                string(), string(), num()
            elif tag in (7, 11):
                rec = [num() for _ in range(5)]
                (self.finalizers if tag == 7 else self.queued).append(rec)
            elif tag == 8:
                num(), num()
            elif tag == 9:
                num(), num(), num()
            elif tag == 10:
                for _ in range(281):
                    num()
            elif tag in (12, 13):
                a = num()
                c = string()
                self.segments.append((a, c, fields()))
            elif tag == 14:
                d, g, sp, pc, fn, fnfn, link = [num() for _ in range(7)]
                self.defers.append((g, fn))
            elif tag == 15:
                p, g, typ, data, _, link = [num() for _ in range(6)]
                self.panics.append((g, data))
            elif tag == 16:
                bkt, size, nstk = num(), num(), num()
                stk = []
                for _ in range(nstk):
                    stk.append((string().decode(), string().decode(), num()))
                allocs, frees = num(), num()
                self.memprof[bkt] = (size, stk)
            elif tag == 17:
                o, bkt = num(), num()
                self.samples[o] = bkt
            else:
                raise SystemExit("unknown heap dump tag %d at %d" % (tag, i))
        self.addrs = sorted(self.objects)
        # Frames are dumped goroutine by goroutine, depth 0 first, after their goroutine record.
        self.frames_by_goid = {}
        it = iter(gs_by_sp)
        goid = None
        for f in self.frames:
            if f[1] == 0:
                goid = next(it)[1]
            self.frames_by_goid.setdefault(goid, []).append(f)

    def find(self, a):
        """Object (base, contents, ptr offsets) containing address a, or None."""
        k = bisect.bisect_right(self.addrs, a) - 1
        if k < 0:
            return None
        base = self.addrs[k]
        c, f = self.objects[base]
        if base <= a < base + max(len(c), 1):
            return base, c, f
        return None

    def word(self, a):
        o = self.find(a)
        if o:
            off = a - o[0]
            return int.from_bytes(o[1][off:off + 8], "little")
        for base, c, _ in self.segments:
            if base <= a < base + len(c):
                return int.from_bytes(c[a - base:a - base + 8], "little")
        return None


def main():
    d = sys.argv[1]
    truth = json.load(open(os.path.join(d, "truth.json")))
    dump = Dump(os.path.join(d, truth["files"]["heap_dump"]))
    syms = {}
    for line in subprocess.run(["nm", os.path.join(d, "scenarios")], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        p = line.split()
        if len(p) == 3:
            syms[p[2]] = int(p[0], 16)
    # A position-independent build runs at a bias from its link addresses: the
    # dump's data and bss records carry the runtime addresses.
    bias = 0
    if dump.segments and "runtime.data" in syms and "runtime.bss" in syms:
        starts = sorted(a for a, _, _ in dump.segments)
        bias = starts[0] - min(syms["runtime.data"], syms["runtime.bss"])
    syms = {k: v + bias for k, v in syms.items()}
    errs = []
    checked = {"objects": 0, "globals": 0, "global_addrs": 0, "stack": 0, "defer": 0, "panic": 0, "finalizer": 0,
               "queued_finalizer": 0, "sites": 0}

    def err(msg):
        errs.append(msg)

    def holds(base, c, ptrs, target, lo=None):
        """Does the dumped object/frame hold a pointer into [target, lo)?"""
        hi = lo if lo is not None else target + 1
        for off in ptrs:
            v = int.from_bytes(c[off:off + 8], "little")
            if target <= v < hi:
                return True
        return False

    def in_dump(o):
        a = int(o["addr"], 16)
        f = dump.find(a)
        if f is None:
            return None
        base, c, _ = f
        off = a - base
        ok = off == 0 or (off == 8 and o["has_pointers"])  # Go >= 1.22 malloc header
        ok = ok or (not o["has_pointers"] and o["size"] < 16 and len(c) == 16)  # tiny block
        if not ok:
            err("%s: dump object at %#x does not start at %s" % (o["id"], base, o["addr"]))
        if len(c) < o["size"] + off:
            err("%s: dump object %#x is %d bytes, truth size %d" % (o["id"], base, len(c), o["size"]))
        return f

    targets = set()
    for c, ptrs in list(dump.objects.values()) + [(f[3], f[4]) for f in dump.frames] + \
            [(x[1], x[2]) for x in dump.segments]:
        for off in ptrs:
            targets.add(int.from_bytes(c[off:off + 8], "little"))
    for x in dump.finalizers + dump.queued:
        targets.update((x[0], x[1]))
    targets.update(fn for _, fn in dump.defers)
    targets.update(data for _, data in dump.panics)

    lo, hi = dump.arena
    # Global roots carry the variable's own address: a data/bss address of this
    # process (outside the heap), the symbol's address when there are symbols.
    groots = []
    for o in truth["objects"]:
        groots += [(o["id"], r) for r in [o["root"]] + o.get("also_rooted_by", [])]
    groots += [(x["id"], x["root"]) for x in truth["structures"]]
    groots += [("site " + x["function"], x["root"]) for x in truth["sites"]]
    gaddr = {}
    for what, r in groots:
        if r["kind"] != "global":
            continue
        checked["global_addrs"] += 1
        s = r.get("addr")
        if not isinstance(s, str) or not s.startswith("0x") or s != s.lower():
            err("%s: global root %s has no \"addr\" (lowercase 0x hex): %r" % (what, r["name"], s))
            continue
        a = int(s, 16)
        if gaddr.setdefault(r["name"], a) != a:
            err("%s: global %s at %s, elsewhere at %#x" % (what, r["name"], s, gaddr[r["name"]]))
        if a == 0 or lo <= a < hi:
            err("%s: global %s address %s is in the heap arenas [%#x, %#x)" % (what, r["name"], s, lo, hi))
        elif not any(base <= a < base + len(c) for base, c, _ in dump.segments):
            err("%s: global %s address %s is in no data/bss segment of the dump" % (what, r["name"], s))
        if r["name"] in syms and syms[r["name"]] != a:
            err("%s: global %s address %s, symbol at %#x" % (what, r["name"], s, syms[r["name"]]))
    for o in truth["objects"] + truth["garbage"] + truth["weak_only"]:
        if not lo <= int(o["addr"], 16) < hi:
            err("%s: %s outside the heap arenas [%#x, %#x)" % (o["id"], o["addr"], lo, hi))
    for o in truth["objects"]:
        a = int(o["addr"], 16)
        p = int(o.get("pointer", o["addr"]), 16)
        if not o["after_dump"] and o["root"]["kind"] != "cleanup" and a not in targets and p not in targets:
            err("%s: nothing in the dump points at %s" % (o["id"], o["pointer"] if "pointer" in o else o["addr"]))
        if a == 0:
            err("%s: zero address" % o["id"])
        if o["after_dump"]:
            if dump.find(a):
                err("%s: after_dump object present in the dump" % o["id"])
            continue
        f = in_dump(o)
        if f is None:
            err("%s: %s not in the heap dump" % (o["id"], o["addr"]))
            continue
        checked["objects"] += 1
        base, c, ptrs = f
        r = o["root"]
        end = a + o["size"]
        depth = o.get("depth")
        if r["kind"] == "global" and depth == 0:
            # The root's own address (checked against the symbol below); a
            # stripped executable has no symbols to look the name up in.
            g = int(r["addr"], 16) if "addr" in r else syms.get(r["name"])
            if g is None:
                err("%s: no symbol %s" % (o["id"], r["name"]))
                continue
            words = [dump.word(g + 8 * k) for k in range(3)]
            if not any(w is not None and a <= w < max(end, a + 1) for w in words):
                err("%s: global %s = %s does not point into %s" % (o["id"], r["name"],
                                                                  [hex(w or 0) for w in words], o["addr"]))
            checked["globals"] += 1
        elif r["kind"] == "stack":
            frames = dump.frames_by_goid.get(r["goroutine"], [])
            fr = [x for k, x in enumerate(frames) if x[2] == r["function"]]
            # A frame's arguments are dumped with its caller's frame (outargs).
            fr += [frames[k + 1] for k, x in enumerate(frames) if x[2] == r["function"] and k + 1 < len(frames)]
            if not fr:
                err("%s: goroutine %d has no frame %s" % (o["id"], r["goroutine"], r["function"]))
            elif depth == 0 and not any(holds(0, x[3], x[4], a, end) for x in fr):
                err("%s: frame %s of goroutine %d holds no live pointer to it" % (o["id"], r["function"],
                                                                                   r["goroutine"]))
            checked["stack"] += 1
        elif r["kind"] == "defer":
            fns = [fn for g, fn in dump.defers if dump.goroutines.get(g) == r["goroutine"]]
            ok = False
            for fn in fns:
                cf = dump.find(fn)
                if cf and holds(*cf, a, end):
                    ok = True
            if not ok:
                err("%s: no defer closure of goroutine %d holds it" % (o["id"], r["goroutine"]))
            checked["defer"] += 1
        elif r["kind"] == "panic":
            if not any(dump.goroutines.get(g) == r["goroutine"] and data == a for g, data in dump.panics):
                err("%s: no panic of goroutine %d holds it" % (o["id"], r["goroutine"]))
            checked["panic"] += 1
        elif r["kind"] == "finalizer":
            owner = int(r["object"], 16)
            recs = [x for x in dump.finalizers if x[0] == owner]
            if not recs:
                err("%s: no finalizer record for %s" % (o["id"], r["object"]))
            elif depth == 0 and recs[0][1] != a:
                err("%s: finalizer closure is %#x" % (o["id"], recs[0][1]))
            elif depth == 1:
                cf = dump.find(recs[0][1])
                if not (cf and holds(*cf, a, end)):
                    err("%s: finalizer closure does not hold it" % o["id"])
            checked["finalizer"] += 1
        elif r["kind"] == "queued_finalizer" and depth == 0:
            if not any(x[0] == a for x in dump.queued):
                err("%s: not in the finalizer queue" % o["id"])
            checked["queued_finalizer"] += 1
        # A sampled run (MemProfileRate > 1) ties only some objects to their site.
        if o.get("site") and truth["mem_profile_rate"] == 1:
            s = o["site"]
            bkt = dump.samples.get(base) or dump.samples.get(a)
            if bkt is None or bkt not in dump.memprof:
                err("%s: no allocation sample" % o["id"])
            else:
                stk = dump.memprof[bkt][1]
                # Heap dumps name an inlined frame after the function it is inlined into.
                names = {s["function"]} | {x["inlined_into"] for x in truth["sites"]
                                           if x["function"] == s["function"] and x.get("inlined_into")}
                if not any(fn in names and fl.endswith(s["file"]) and abs(ln - s["line"]) <= 1
                           for fn, fl, ln in stk):
                    err("%s: sample stack %s lacks %s" % (o["id"], stk[:4], s))
            checked["sites"] += 1
    # A small mark phase over the dump: weak handles and cleanups are not dumped,
    # so weak-only objects must come out unreachable and cleanup arguments are skipped.
    marked = set()
    stack = []

    def mark(v):
        f = dump.find(v)
        if f and f[0] not in marked:
            marked.add(f[0])
            stack.append(f)

    for c, ptrs in [(f[3], f[4]) for f in dump.frames] + [(x[1], x[2]) for x in dump.segments]:
        for off in ptrs:
            mark(int.from_bytes(c[off:off + 8], "little"))
    for x in dump.finalizers:
        mark(x[1])
        f = dump.find(x[0])
        if f:
            for off in f[2]:
                mark(int.from_bytes(f[1][off:off + 8], "little"))
    for x in dump.queued:
        mark(x[0])
        mark(x[1])
    for _, fn in dump.defers:
        mark(fn)
    for _, data in dump.panics:
        mark(data)
    while stack:
        base, c, ptrs = stack.pop()
        for off in ptrs:
            mark(int.from_bytes(c[off:off + 8], "little"))
    for o in truth["objects"]:
        f = dump.find(int(o["addr"], 16))
        if f and o["root"]["kind"] != "cleanup" and f[0] not in marked:
            err("%s: unreachable in the dump" % o["id"])
    for o in truth["garbage"] + truth["weak_only"]:
        f = dump.find(int(o["addr"], 16))
        if f is None:
            err("%s: dead object %s missing from the dump" % (o["id"], o["addr"]))
        elif f[0] in marked:
            err("%s: dead object %s is reachable in the dump" % (o["id"], o["addr"]))
    if len(truth["tids"]) == 0 or truth["pid"] not in truth["tids"]:
        err("tids %s do not include pid %d" % (truth["tids"], truth["pid"]))
    for e in errs:
        print("MISMATCH:", e)
    print("%s: checked %s; %d of %d dump objects reachable; %d mismatches" % (
        truth["go_version"], ", ".join("%s %d" % kv for kv in checked.items()), len(marked), len(dump.objects),
        len(errs)))
    sys.exit(1 if errs else 0)


if __name__ == "__main__":
    main()
