#!/usr/bin/env bash
# The corpus of real Go services (issue #14): install each with apt, run it on
# loopback, load it, capture its own figures and cores, then check rootpath's
# answers against those figures.
#
#   testdata/services/run.sh                 # every service, then the checks
#   testdata/services/run.sh caddy           # some of them
#   CAPTURE_ONLY=1 testdata/services/run.sh  # capture, no checks
#   CHECK_ONLY=1 testdata/services/run.sh    # check what an earlier run captured
#
# Needs Debian 12 as root (apt, gdb's gcore, kernel.core_pattern). Outputs go to
# target/services/<name>/ (cores are large and never committed). Every process
# started here is stopped by its PID on exit; every load is bounded in count and
# time; nothing listens or connects beyond 127.0.0.1.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUTROOT=${SERVICES_OUT:-$ROOT/target/services}
ALL=(caddy etcd prometheus compile)

log() { printf '%s\n' "services: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root (apt-get, gcore, core_pattern)"

# --- processes: every PID started is recorded and stopped on exit ---------------
PIDS=()
track() { PIDS+=("$1"); }
stop_pid() {
	local pid=$1 i
	# Only a child of this script: a PID that ended may have been reused since.
	# (/proc/PID/stat after the command's name: state, then the parent's PID.)
	[ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f2)" = "$$" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
OLD_CORE_PATTERN=
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	if [ -n "$OLD_CORE_PATTERN" ]; then
		printf '%s\n' "$OLD_CORE_PATTERN" >/proc/sys/kernel/core_pattern
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

apt_install() {
	log "apt-get install $*"
	if ! env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; then
		apt-get update >&2
		env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
	fi
}

# free_port: an unused loopback TCP port (the kernel's choice).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS: until URL answers 200.
wait_http() {
	local i
	for i in $(seq $(($2 * 5))); do
		curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	die "$1 did not answer within $2 s"
}

# Cores of a crash (kill -ABRT) land in the process's directory as "core": a piped
# or absolute core_pattern (systemd-coredump, apport) is replaced until exit.
core_pattern_here() {
	local pat
	pat=$(cat /proc/sys/kernel/core_pattern)
	case "$pat" in
	\|* | /*)
		OLD_CORE_PATTERN=$pat
		log "core_pattern was '$pat'; 'core' until this script exits"
		echo core >/proc/sys/kernel/core_pattern || die "cannot set kernel.core_pattern (read-only /proc/sys?)"
		;;
	esac
}

# start_service DIR LOG CMD...: start CMD in DIR with core dumps on (GOTRACEBACK=crash
# makes SIGABRT dump core) and many open files; sets SVC_PID.
start_service() {
	local dir=$1 logf=$2
	shift 2
	(
		cd "$dir"
		ulimit -c unlimited
		ulimit -n 16384
		exec env GOTRACEBACK=crash "$@"
	) >"$logf" 2>&1 &
	SVC_PID=$!
	track "$SVC_PID"
}

gc_count() { awk '$1 == "go_gc_duration_seconds_count" { print $2 }' "$1"; }

# settle METRICS_URL: wait (at most 90 s) until no GC ran for 5 s, so that the
# capture falls between two GCs.
settle() {
	local m=$1 prev cur i stable=0
	prev=$(curl -fsS --max-time 30 "$m" | awk '$1 == "go_gc_duration_seconds_count" { print $2 }')
	for i in $(seq 90); do
		sleep 1
		cur=$(curl -fsS --max-time 30 "$m" | awk '$1 == "go_gc_duration_seconds_count" { print $2 }')
		if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
		prev=$cur
		[ "$stable" -lt 5 ] || return 0
	done
	log "warning: GCs kept running for 90 s"
}

# capture OUT METRICS_URL PPROF_URL PID: the process's own figures, a core, the
# figures again, in that order; retried (at most 3 times) when a GC ran in between.
capture() {
	local out=$1 metrics=$2 pprof=$3 pid=$4 try
	for try in 1 2 3; do
		settle "$metrics"
		curl -fsS --max-time 30 -o "$out/metrics.before.txt" "$metrics"
		curl -fsS --max-time 60 -o "$out/heap.pb" "$pprof/heap"
		curl -fsS --max-time 60 -o "$out/goroutine.txt" "$pprof/goroutine?debug=1"
		# The legacy text ends with runtime.ReadMemStats, which flushes the Ps' span
		# caches first: exact heap totals, just before and just after the core
		# (go_memstats_* on /metrics come from runtime/metrics, which leaves out
		# what was allocated from the spans the Ps hold in their caches).
		curl -fsS --max-time 60 -o "$out/heap.txt" "$pprof/heap?debug=1"
		rm -f "$out/core" "$out/core.$pid"
		timeout 600 gcore -o "$out/core" "$pid" >"$out/gcore.log" 2>&1 || die "gcore $pid failed: $(tail -3 "$out/gcore.log")"
		mv "$out/core.$pid" "$out/core"
		curl -fsS --max-time 60 -o "$out/heap.after.txt" "$pprof/heap?debug=1"
		curl -fsS --max-time 30 -o "$out/metrics.after.txt" "$metrics"
		if [ "$(gc_count "$out/metrics.before.txt")" = "$(gc_count "$out/metrics.after.txt")" ]; then
			echo "$try" >"$out/capture.attempts"
			return 0
		fi
		log "a GC ran during capture $try; again"
	done
	echo "$try" >"$out/capture.attempts"
	log "warning: a GC ran during every capture (the checks will say so)"
}

# capture_late OUT PPROF_URL PID: two forced GCs after the profile of capture, then a
# core: the profile no longer describes this heap (the checks expect a mismatch).
capture_late() {
	local out=$1 pprof=$2 pid=$3
	curl -fsS --max-time 60 -o /dev/null "$pprof/heap?gc=1"
	curl -fsS --max-time 60 -o /dev/null "$pprof/heap?gc=1"
	rm -f "$out/core.$pid"
	timeout 600 gcore -o "$out/core" "$pid" >"$out/gcore.log" 2>&1 || die "gcore $pid failed"
	mv "$out/core.$pid" "$out/core.late"
}

# crash OUT DIR PID: SIGABRT under GOTRACEBACK=crash: the runtime prints every
# goroutine on stderr, then the kernel writes the core into DIR.
crash() {
	local out=$1 dir=$2 pid=$3 i
	rm -f "$dir/core" "$dir/core.$pid"
	log "kill -ABRT $pid (bash reports it as 'Aborted (core dumped)': expected)"
	kill -ABRT "$pid"
	for i in $(seq 600); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || true
	# "core", or "core.PID" with kernel.core_uses_pid, or a template's expansion.
	local file
	file=$(find "$dir" -maxdepth 1 -type f -name 'core*' -newer "$out/core.late" | head -1)
	[ -n "$file" ] || die "no core from kill -ABRT $pid in $dir (core_pattern: $(cat /proc/sys/kernel/core_pattern))"
	mv "$file" "$out/core.abrt"
}

# write_info OUT KEY=VALUE...: what the checker needs to know about a run.
write_info() {
	local out=$1
	shift
	python3 - "$out/info.json" "$@" <<'EOF'
import json, sys
info = dict(a.split("=", 1) for a in sys.argv[2:])
json.dump(info, open(sys.argv[1], "w"), indent=1)
EOF
}

capture_service() {
	local name=$1 out=$OUTROOT/$1
	[ -f "$HERE/$name.sh" ] || die "unknown service $name (known: ${ALL[*]})"
	rm -rf "$out"
	mkdir -p "$out/scratch"
	log "$name: start $(date -u +%T)"
	# shellcheck source=/dev/null
	source "$HERE/$name.sh"
	"${name}_run" "$out"
	log "$name: done $(date -u +%T)"
}

# The whole script is parsed before it runs (main and exit are called on the last
# line), so editing it during a run cannot change the run.
main() {
	command -v curl >/dev/null || apt_install curl
	command -v python3 >/dev/null || apt_install python3
	command -v gcore >/dev/null || apt_install gdb
	[ "${CHECK_ONLY:-}" ] || core_pattern_here

	SERVICES=("$@")
	[ ${#SERVICES[@]} -gt 0 ] || SERVICES=("${ALL[@]}")
	if [ -z "${CHECK_ONLY:-}" ]; then
		for s in "${SERVICES[@]}"; do capture_service "$s"; done
	fi
	[ -z "${CAPTURE_ONLY:-}" ] || exit 0
	ROOTPATH=${ROOTPATH:-$ROOT/target/release/rootpath}
	if [ ! -x "$ROOTPATH" ]; then
		(cd "$ROOT" && cargo build --release --locked)
	fi
	python3 "$HERE/check.py" --rootpath "$ROOTPATH" --out "$OUTROOT" "${SERVICES[@]}"
}

main "$@"; exit $? # one line: bash has read it all before main runs
