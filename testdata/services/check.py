#!/usr/bin/env python3
"""Check rootpath's answers on the corpus of real Go services against each
process's own figures (captured by run.sh), never against rootpath's own
earlier output; print the figures later issues must move.

    check.py --rootpath target/release/rootpath --out target/services [SERVICE...]

Exit status 1 if any check failed; the last line is "N passed, N failed"."""
import argparse
import collections
import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time

# Checks that fail because rootpath is wrong, with the issue that will fix it.
# They are run and reported (XFAIL, or XPASS once fixed) but do not fail the run.
KNOWN_FAILURES = {
    # ("service", "check"): "#issue: why",
    ("compile", "read as stripped: no type names more live objects than DWARF gives it"):
        "#18: without DWARF, objects are typed by guesses that can be wrong: in one run a 416-byte "
        "ssa.Func held by a closure's captured variable (genssa.func1's f) was typed ir.Name, one "
        "[]ir.Node too many likewise; whether a run meets one depends on the moment of the core",
}

# go_goroutines counts the goroutines serving the scrape that reads it: the
# connection's, the goroutine that waits for client_golang's Registry.Gather
# workers, and the workers: one, and more (up to one per collector) while the
# collectors block. rootpath's count of user goroutines must lie between
# go_goroutines minus this many and go_goroutines minus one. (Seen: caddy and
# etcd 5, prometheus 5 and 6; the goroutine profile gives the exact check.)
SCRAPE_GOROUTINES_MAX = 8

# Which roots are named only by an offset: "bss+0x1a0 (used by …)" and the like.
OFFSET_NAME = re.compile(r"^(\.?[a-z.]*bss|\.?[a-z.]*data|rodata|\.go\.[a-z]+)\+0x[0-9a-f]+")

COMMAND_TIMEOUT = 900  # seconds, for one rootpath command

COMMANDS = ["overview", "top", "histogram", "goroutines", "roots", "sites", "report"]


class Checker:
    def __init__(self, rootpath):
        self.rootpath = rootpath
        self.passed = self.failed = self.xfail = self.xpass = 0

    def check(self, service, name, ok, detail):
        known = KNOWN_FAILURES.get((service, name))
        if ok and known:
            word = "XPASS"
            self.xpass += 1
            self.passed += 1
        elif ok:
            word = "PASS"
            self.passed += 1
        elif known:
            word = "XFAIL"
            self.xfail += 1
        else:
            word = "FAIL"
            self.failed += 1
        note = f"  [known: {known}]" if known else ""
        print(f"{word:5} {service}: {name}: {detail}{note}", flush=True)

    def run(self, dump, exe, command, *extra, debug=True):
        """rootpath DUMP --exe EXE COMMAND --json: (document, seconds, peak RSS in MiB)."""
        args = [self.rootpath, dump, "--exe", exe]
        if not debug:
            args.append("--no-debug-info")
        if command != "report":
            args.append(command)
        args += list(extra) + ["--json"]
        start = time.monotonic()
        with open(dump + f".{command}.json", "wb") as out, open(dump + f".{command}.err", "wb") as err:
            proc = subprocess.Popen(args, stdout=out, stderr=err)
            # A command that hangs is stopped (by its PID) and reported as a failure.
            timer = threading.Timer(COMMAND_TIMEOUT, proc.kill)
            timer.start()
            _, status, usage = os.wait4(proc.pid, 0)
            timer.cancel()
        seconds = time.monotonic() - start
        if os.waitstatus_to_exitcode(status) != 0:
            msg = open(dump + f".{command}.err", errors="replace").read()[-600:]
            raise RuntimeError(f"{' '.join(args)}: exit {os.waitstatus_to_exitcode(status)}: {msg}")
        with open(dump + f".{command}.json") as f:
            doc = json.load(f)
        return doc, seconds, usage.ru_maxrss / 1024


def metrics(path):
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


def varints(data, i, end):
    while i < end:
        v = shift = 0
        while True:
            b = data[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        yield v, i


def protobuf_fields(data):
    """(field number, value) of a protobuf message: ints, or bytes for length-delimited."""
    i = 0
    while i < len(data):
        key, i = next(varints(data, i, len(data)))
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = next(varints(data, i, len(data)))
        elif wire == 2:
            n, i = next(varints(data, i, len(data)))
            value, i = data[i:i + n], i + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            value, i = int.from_bytes(data[i:i + n], "little"), i + n
        else:
            raise ValueError(f"protobuf wire type {wire}")
        yield field, value


def profile_inuse(path):
    """The in-use objects and bytes of a gzipped profile.proto, summed over its
    samples (pprof's own scaled values), read here rather than by rootpath."""
    data = gzip.decompress(open(path, "rb").read())
    strings, types, samples = [], [], []
    for field, value in protobuf_fields(data):
        if field == 1:  # sample_type: ValueType{type, unit}
            types.append(dict(protobuf_fields(value)).get(1, 0))
        elif field == 2:  # sample: values in field 2, packed or not
            values = []
            for f, v in protobuf_fields(value):
                if f == 2:
                    values += [x for x, _ in varints(v, 0, len(v))] if isinstance(v, bytes) else [v]
            samples.append(values)
        elif field == 6:
            strings.append(value.decode())
    names = [strings[t] for t in types]
    objects, space = names.index("inuse_objects"), names.index("inuse_space")
    return sum(v[objects] for v in samples), sum(v[space] for v in samples)


def legacy_memstats(path):
    """The "# runtime.MemStats" block that ends a heap?debug=1 profile."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^# (\w+) = (\d+)$", open(path).read(), re.M)}


def pct(x):
    return f"{100 * x:.2f} %"


# --- figures ---------------------------------------------------------------------


def typed_share(histogram):
    live = histogram["totals"]["live_bytes"]
    typed = sum(t["live_bytes"] for t in histogram["types"]
                if t["type"] and not t["type"].startswith("unknown"))
    return typed / live if live else 0.0


def top_coverage(top):
    """Share of the live heap that `top`'s default listing names: what its holders
    (roots, goroutine groups, objects several roots reach) retain alone."""
    if "named_share" in top:
        return top["named_share"]
    return roots_coverage(top)


def holder_name(h):
    if h.get("root"):
        return h["root"].get("name", h["root"].get("kind"))
    o = h.get("object") or {}
    return f"{o.get('type') or '?'} {o.get('address', '')} (shared)"


def roots_coverage(top):
    # A goroutine group and its members are not both listed; retainers are disjoint
    # subtrees of the dominator tree, so their retained bytes add up.
    live = top["live_bytes"]
    return sum(r["retained_bytes"] for r in top["retainers"]) / live if live else 0.0


def root_named(root):
    kind = root.get("kind")
    if kind == "global":
        return not OFFSET_NAME.match(root.get("name", ""))
    if kind == "stack":
        return "variable" in root
    return True  # finalizers, defers, panics: named by what they are


def named_roots_share(roots):
    roots = roots["roots"]
    return sum(root_named(r) for r in roots) / len(roots) if roots else 0.0


def sites_overlap(sites, n=10):
    """How many of the profile's n largest sites by in-use bytes are among the n
    sites rootpath lists first (its default order)."""
    joined = [x for x in sites["sites"] if "profile" in x]
    by_profile = sorted(joined, key=lambda x: -x["profile"]["inuse_bytes"])[:n]
    ours = {x["site"] for x in sites["sites"][:n]}
    return sum(x["site"] in ours for x in by_profile), len(by_profile)


POOL = re.compile(r"sync\.(allPools|oldPools|\(\*Pool\)|poolCleanup)")


def pool_first(c, dump, exe, heap, sites, n=5):
    """Of the profile's n largest sites by in-use bytes, how many `why site:` answers
    name first a root that belongs to sync.Pool (the pools' own globals hold only
    objects nobody else needs)."""
    joined = sorted((x for x in sites["sites"] if "profile" in x), key=lambda x: -x["profile"]["inuse_bytes"])[:n]
    hits = 0
    for x in joined:
        doc, _, _ = c.run(dump, exe, "why", "site:" + x["site"], "--heap", heap)
        roots = doc.get("roots") or []
        hits += bool(roots and POOL.search(roots[0]["root"].get("name", "")))
    return hits, len(joined)


def figures(c, dump, exe, heap=None, debug=True):
    """Run every command on DUMP; the figures of issue #14 and the documents."""
    docs, times = {}, {}
    for command in COMMANDS:
        extra = []
        if command in ("sites", "report") and heap:
            extra = ["--heap", heap]
        if command == "sites":
            extra += ["-n", "100000"]
        if command == "sites" and not heap:
            continue
        docs[command], secs, rss = c.run(dump, exe, command, *extra, debug=debug)
        times[command] = (secs, rss)
    fig = {
        "typed": typed_share(docs["histogram"]),
        "top": top_coverage(docs["top"]),
        "top_roots_only": roots_coverage(docs["top"]),
        "named_roots": named_roots_share(docs["roots"]),
        "times": times,
        "top_roots": [holder_name(h) for h in docs["top"].get("holders", [])[:3]]
        or [r["root"].get("name", r["root"].get("kind")) for r in docs["top"]["retainers"][:3]],
    }
    if "sites" in docs:
        fig["sites_overlap"] = sites_overlap(docs["sites"])
        fig["pool_first"] = pool_first(c, dump, exe, heap, docs["sites"])
    return fig, docs


# --- goroutines --------------------------------------------------------------------


def start_function(frames):
    names = [f["function"] for f in frames if f["function"] != "runtime.goexit"]
    return names[-1] if names else None


def is_system(g):
    """runtime.isSystemGoroutine as of Go 1.19: started in a runtime function other
    than runtime.main (the finalizer goroutine counts as one while it waits)."""
    start = start_function(g["frames"]) or "runtime."
    return start.startswith("runtime.") and start != "runtime.main"


def stack_key(functions):
    """A stack as the goroutine profile prints it (printStackRecord): leading runtime
    frames dropped unless all are, runtime.goexit never shown."""
    # A method's pointer wrapper (*T).M has T.M inlined: the profile shows T.M,
    # rootpath the wrapper.
    functions = [re.sub(r"\(\*([^()]+)\)\.", r"\1.", f) for f in functions if f != "runtime.goexit"]
    i = 0
    while i < len(functions) and functions[i].startswith("runtime."):
        i += 1
    return tuple(functions[i:] if i < len(functions) else functions)


def profile_stacks(path):
    """goroutine?debug=1: Counter of stack keys, and the total it states."""
    text = open(path).read()
    total = int(re.match(r"goroutine profile: total (\d+)", text).group(1))
    stacks = collections.Counter()
    for block in text.split("\n\n")[0:]:
        lines = block.strip().splitlines()
        if lines and lines[0].startswith("goroutine profile"):
            lines = lines[1:]
        if not lines:
            continue
        m = re.match(r"(\d+) @", lines[0])
        if not m:
            continue
        functions = [re.sub(r"\+0x[0-9a-f]+$", "", line.split("\t")[2].strip())
                     for line in lines[1:] if line.startswith("#")]
        stacks[stack_key(functions)] += int(m.group(1))
    return stacks, total


def lcs(a, b):
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b):
            prev, row[j + 1] = row[j + 1], prev + 1 if x == y else max(row[j + 1], row[j])
    return row[-1]


def match_stacks(profile, ours):
    """Pair rootpath's stacks with the profile's, goroutine for goroutine. Equal
    stacks pair first; then a stack pairs with one blocked in the same function
    that shares most of its frames: the profile also lists the calls inlined into
    a function, and hides the runtime's wrappers (go statement closures,
    promoted methods) that rootpath lists. Returns the unpaired on each side and
    how many goroutines paired only that way."""
    missing, extra, loose = collections.Counter(profile), collections.Counter(), 0
    for key, n in sorted(ours.items(), key=lambda kv: -kv[1]):
        take = min(n, missing[key])
        missing[key] -= take
        n -= take
        while n:
            best = max((p for p in missing if missing[p] and p and key and p[0] == key[0]),
                       key=lambda p: (lcs(key, p), missing[p]), default=None)
            if best is None or 2 * lcs(key, best) < max(len(key), len(best)):
                extra[key] += n
                break
            take = min(n, missing[best])
            missing[best] -= take
            n -= take
            loose += take
    return +missing, extra, loose


def check_goroutine_profile(c, name, goroutines, path):
    stacks, total = profile_stacks(path)
    # A goroutine with no frame but goexit had not started running yet (one of the
    # requests' own): none is left by the core.
    stacks.pop((), None)
    # The goroutine that wrote the profile was serving that request: gone by the core.
    for key in [k for k in stacks if "runtime/pprof.writeGoroutine" in k]:
        stacks[key] -= 1
        if stacks[key] == 0:
            del stacks[key]
    ours = collections.Counter(stack_key([f["function"] for f in g["frames"]])
                               for g in goroutines if not is_system(g))
    missing, extra, loose = match_stacks(stacks, ours)
    detail = (f"{sum(ours.values())} user goroutines in {len(ours)} stacks; profile {sum(stacks.values())} in "
              f"{len(stacks)} (total {total} with its own request); {loose} paired apart from inlined calls and wrappers")
    if missing or extra:
        show = lambda d: "; ".join(f"{n}× {' < '.join(k[:3])}" for k, n in d.most_common(3))
        detail += f"; only in the profile: {show(missing) or '-'}; only in rootpath: {show(extra) or '-'}"
    # Besides the writer, a request may have one more goroutine of its own while the
    # profile is written (etcd: cmux's goroutine reading the connection).
    ok = not extra and sum(missing.values()) <= 1 and abs(sum(ours.values()) - sum(stacks.values())) <= 1
    c.check(name, "goroutine stacks equal the goroutine profile's", ok, detail)


def crash_goroutines(log):
    """The goroutine ids GOTRACEBACK=crash printed before the core."""
    ids = {int(m) for m in re.findall(r"^goroutine (\d+) \[", open(log, errors="replace").read(), re.M)}
    return ids - {0}  # goroutine 0: the thread's g0 that handled the signal, not a goroutine


# --- services ------------------------------------------------------------------------


def check_service(c, out, name):
    info = json.load(open(os.path.join(out, "info.json")))
    exe = info["exe"]
    core = os.path.join(out, "core")
    heap = os.path.join(out, "heap.pb")
    before = metrics(os.path.join(out, "metrics.before.txt"))
    after = metrics(os.path.join(out, "metrics.after.txt"))
    fig, docs = figures(c, core, exe, heap)
    heap_totals = docs["overview"]["heap"]
    quiet = before["go_gc_duration_seconds_count"] == after["go_gc_duration_seconds_count"]
    c.check(name, "no GC between the metrics around the core", quiet,
            f"GC cycles {before['go_gc_duration_seconds_count']:.0f} → {after['go_gc_duration_seconds_count']:.0f}")
    # The exact totals are runtime.ReadMemStats's, in the legacy heap profiles taken
    # just before and just after the core; go_memstats_* (from runtime/metrics) leave
    # out what was allocated from the spans the Ps hold in their caches, so they are
    # shown, not checked. With no GC in between, the heap only grows: the core's
    # totals lie between the two.
    mem_before = legacy_memstats(os.path.join(out, "heap.txt"))
    mem_after = legacy_memstats(os.path.join(out, "heap.after.txt"))
    c.check(name, "no GC between the MemStats around the core", mem_before["NumGC"] == mem_after["NumGC"],
            f"NumGC {mem_before['NumGC']} before, {mem_after['NumGC']} after")
    for ours, theirs, metric in (("objects", "HeapObjects", "go_memstats_heap_objects"),
                                 ("bytes", "HeapAlloc", "go_memstats_heap_alloc_bytes")):
        value, lo, hi = heap_totals[ours], mem_before[theirs], mem_after[theirs]
        ok = mem_before["NumGC"] == mem_after["NumGC"] and 0.99 * min(lo, hi) <= value <= 1.01 * max(lo, hi)
        c.check(name, f"heap {ours} within 1 % of MemStats.{theirs} around the core", ok,
                f"rootpath {value} (live {heap_totals['live_' + ours]} + garbage {heap_totals['garbage_' + ours]}); "
                f"{theirs} {lo} before, {hi} after; {metric} {before[metric]:.0f} before, {after[metric]:.0f} after")
    goroutines = docs["goroutines"]["goroutines"]
    user = sum(not is_system(g) for g in goroutines)
    ok = all(g - SCRAPE_GOROUTINES_MAX <= user <= g - 1 for g in (before["go_goroutines"], after["go_goroutines"]))
    c.check(name, "goroutines equal go_goroutines (less the scrape's own)", ok,
            f"rootpath {user} user goroutines ({len(goroutines)} with the runtime's); go_goroutines "
            f"{before['go_goroutines']:.0f} before, {after['go_goroutines']:.0f} after "
            f"(1 to {SCRAPE_GOROUTINES_MAX} of them serve the scrape)")
    check_goroutine_profile(c, name, goroutines, os.path.join(out, "goroutine.txt"))

    top = docs["top"]
    rows = sum(h["retained_bytes"] for h in top["holders"]) + top["rest"]["retained_bytes"]
    objs = sum(h["retained_objects"] for h in top["holders"]) + top["rest"]["retained_objects"]
    c.check(name, "top: the holders listed plus the rest are the live heap",
            (rows, objs) == (top["live_bytes"], top["live_objects"]),
            f"rows + rest {rows} bytes in {objs} objects; live {top['live_bytes']} in {top['live_objects']}")
    inuse = [s["profile"]["inuse_bytes"] for s in docs["sites"]["sites"] if "profile" in s]
    c.check(name, "sites with --heap come in the profile's in-use order",
            len(inuse) > 1 and all(a >= b for a, b in zip(inuse, inuse[1:])),
            f"first in-use figures in rootpath's order: {inuse[:8]}")

    check = docs["sites"].get("profile_check", {})
    c.check(name, "profile check: consistent for the quiet core", check.get("verdict") == "consistent",
            f"verdict {check.get('verdict')}; matched {check.get('matched_samples')}, unmatched "
            f"{check.get('unmatched_samples')}, disagreeing sites {check.get('disagreeing_sites')}; {check.get('problems')}")
    objects, space = profile_inuse(heap)
    joined = [s["profile"] for s in docs["sites"]["sites"] if "profile" in s]
    ours = (sum(p["inuse_objects"] for p in joined), sum(p["inuse_bytes"] for p in joined))
    c.check(name, "the sites' profile figures add up to the profile's in-use totals", ours == (objects, space),
            f"sites {ours[0]} objects, {ours[1]} bytes; the profile's samples {objects}, {space}")
    bad = [s for s in docs["sites"]["sites"] if "profile" in s and s["profile"] != s.get("recorded")]
    sites_with_profile = sum("profile" in s for s in docs["sites"]["sites"])
    c.check(name, "each site's in-use figures equal the profile's", sites_with_profile > 0 and not bad,
            f"{sites_with_profile} sites joined with the profile, {len(bad)} differ"
            + "".join(f"; {s['site']}: profile {s['profile']} core {s.get('recorded')}" for s in bad[:3]))

    late = os.path.join(out, "core.late")
    late_sites, _, _ = c.run(late, exe, "sites", "--heap", heap)
    verdict = late_sites.get("profile_check", {}).get("verdict")
    c.check(name, "profile check: mismatch two GCs after the profile", verdict == "mismatch",
            f"verdict {verdict}; {late_sites.get('profile_check', {}).get('problems')}")

    abrt = os.path.join(out, "core.abrt")
    crash_ov, secs, rss = c.run(abrt, exe, "goroutines")
    printed = crash_goroutines(os.path.join(out, "service.log"))
    ours = {g["id"] for g in crash_ov["goroutines"]}
    c.check(name, "kill -ABRT core: goroutines equal the crash traceback's", ours == printed,
            f"rootpath {len(ours)}, traceback {len(printed)}; only in the traceback {sorted(printed - ours)[:5]}, "
            f"only in rootpath {sorted(ours - printed)[:5]}")
    fig["go"] = docs["overview"]["go"]["version"]
    fig["heap"] = heap_totals
    fig["metrics"] = (before["go_memstats_heap_objects"], after["go_memstats_heap_objects"],
                      before["go_memstats_heap_alloc_bytes"], after["go_memstats_heap_alloc_bytes"])
    fig["memstats"] = (mem_before["HeapObjects"], mem_after["HeapObjects"],
                       mem_before["HeapAlloc"], mem_after["HeapAlloc"])
    fig["goroutines"] = (user, before["go_goroutines"])
    return {name: fig}


def check_compile(c, out, name):
    """The Go compiler: the DWARF build read with DWARF is the truth; the same core
    read as stripped (--no-debug-info) must find the same heap; the -s -w build's
    own core gives the stripped figures."""
    info = json.load(open(os.path.join(out, "info.json")))
    dwarf_core = os.path.join(out, "core.dwarf")
    truth, tdocs = figures(c, dwarf_core, info["exe"])
    nodebug_core = os.path.join(out, "core.dwarf-as-stripped")
    if not os.path.exists(nodebug_core):
        os.symlink("core.dwarf", nodebug_core)
    as_stripped, sdocs = figures(c, nodebug_core, info["exe"], debug=False)
    t, s = tdocs["overview"]["heap"], sdocs["overview"]["heap"]
    for key in ("objects", "bytes", "live_objects", "live_bytes", "goroutines"):
        c.check(name, f"read as stripped: {key} equal the DWARF read's", t[key] == s[key],
                f"DWARF {t[key]}, stripped {s[key]}")
    # Every type the stripped read names must be the DWARF read's type for at least as
    # many live objects. Names are compared without package paths ("ssa.Value": runtime
    # type descriptors name packages by their last element), "noalg." and array lengths
    # (an array is named by its slot's size), package names of struct fields; names
    # of partly known maps ("map<string,>")
    # have no DWARF counterpart and are left out.
    def short(ty):
        ty = re.sub(r"[\w.-]*/", "", ty or "").replace("noalg.", "")
        ty = re.sub(r"([{;] )\w+\.(\w+ )", r"\1\2", ty)  # DWARF qualifies unexported fields
        return re.sub(r"^\[\d+\]", "[]", ty)
    dwarf_types, stripped_types = collections.Counter(), collections.Counter()
    for ty in tdocs["histogram"]["types"]:
        dwarf_types[short(ty["type"])] += ty["live_objects"]
    for ty in sdocs["histogram"]["types"]:
        if ty["type"] and not ty["type"].startswith("unknown") and "<" not in ty["type"]:
            stripped_types[short(ty["type"])] += ty["live_objects"]
    over = [(n, k, dwarf_types[n]) for n, k in stripped_types.items() if k > dwarf_types[n]]
    c.check(name, "read as stripped: no type names more live objects than DWARF gives it", not over,
            f"{len(stripped_types)} types named, {len(over)} over" + "".join(f"; {n}: {a} vs DWARF {b}" for n, a, b in over[:4]))
    stripped, wdocs = figures(c, os.path.join(out, "core.stripped"), info["exe_stripped"])
    # The compiler runs the same goroutines in both builds (one backend worker, -c=1).
    c.check(name, "-s -w build: goroutines equal the DWARF build's",
            wdocs["overview"]["heap"]["goroutines"] == t["goroutines"],
            f"-s -w {wdocs['overview']['heap']['goroutines']}, DWARF {t['goroutines']}; names from "
            f"{wdocs['overview']['heap']['names_from']}")
    go = tdocs["overview"]["go"]["version"]
    w = wdocs["overview"]["heap"]
    return {f"{name}, DWARF build": dict(truth, go=go, heap=t),
            f"{name}, same core read as stripped": dict(as_stripped, go=go, heap=s),
            f"{name}, -s -w build": dict(stripped, go=go, heap=w)}


def largest(all_figs):
    print("\nlargest retainers (top) and allocation sites (the profile's 10 largest by in-use bytes among the 10 sites listed first)")
    for name, f in all_figs.items():
        overlap = f.get("sites_overlap")
        sites = f"; sites {overlap[0]}/{overlap[1]}" if overlap else ""
        pool = f.get("pool_first")
        pool = f"; first holder a sync.Pool for {pool[0]}/{pool[1]} of the profile's largest sites" if pool else ""
        print(f"  {name}{sites}{pool}: " + " | ".join(r[:110] for r in f["top_roots"]))


def table(all_figs):
    """The figures as testdata/services/README.md shows them (markdown)."""
    print("\nfigures (typed: share of live bytes typed; top: share of the live heap that top's default "
          "listing of holders retains alone (roots only: what its roots and goroutine groups alone retain); "
          "named roots: share of roots named by more than an offset; sites: the profile's 10 largest sites "
          "among the 10 listed first)\n")
    print("| service | Go | heap objects: rootpath / MemStats before–after | heap bytes: rootpath / MemStats "
          "before–after | user goroutines: rootpath / go_goroutines | typed | top | roots only | named roots | sites |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    mib = lambda b: f"{b / 2**20:.2f}"
    for name, f in all_figs.items():
        h = f["heap"]
        if "memstats" in f:
            m = f["memstats"]
            objects = f"{h['objects']:,} / {m[0]:,}–{m[1]:,}"
            size = f"{mib(h['bytes'])} / {mib(m[2])}–{mib(m[3])} MiB"
            goroutines = f"{f['goroutines'][0]} / {f['goroutines'][1]:.0f}"
        else:
            objects = f"{h['objects']:,} ({h['live_objects']:,} live)"
            size = f"{mib(h['bytes'])} MiB ({mib(h['live_bytes'])} live)"
            goroutines = f"{h['goroutines']} (all)"
        sites = "{}/{}".format(*f["sites_overlap"]) if "sites_overlap" in f else ""
        print(f"| {name} | {f.get('go', '')} | {objects} | {size} | {goroutines} | {pct(f['typed'])} | "
              f"{pct(f['top'])} | {pct(f.get('top_roots_only', 0.0))} | {pct(f['named_roots'])} | {sites} |")
    print("\nseconds and peak RSS of each command (--json)\n")
    print("| service | " + " | ".join(COMMANDS) + " |")
    print("|" + "---|" * (1 + len(COMMANDS)))
    for name, f in all_figs.items():
        cells = [f"{f['times'][k][0]:.1f} s, {f['times'][k][1]:.0f} MiB" if k in f["times"] else "-" for k in COMMANDS]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootpath", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("services", nargs="*")
    args = ap.parse_args()
    c = Checker(os.path.abspath(args.rootpath))
    services = args.services or sorted(d for d in os.listdir(args.out)
                                       if os.path.exists(os.path.join(args.out, d, "info.json")))
    all_figs = {}
    for name in services:
        out = os.path.join(args.out, name)
        try:
            if name == "compile":
                all_figs.update(check_compile(c, out, name))
            else:
                all_figs.update(check_service(c, out, name))
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            c.check(name, "rootpath answers", False, f"{type(e).__name__}: {e}")
    table(all_figs)
    largest(all_figs)
    json.dump(all_figs, open(os.path.join(args.out, "figures.json"), "w"), indent=1)
    if c.xfail or c.xpass:
        print(f"{c.xfail} known failures (KNOWN_FAILURES), {c.xpass} of the known now pass")
    print(f"{c.passed} passed, {c.failed} failed")
    sys.exit(1 if c.failed else 0)


if __name__ == "__main__":
    main()
