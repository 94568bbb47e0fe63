# caddy (Debian's caddy package): a file server and a reverse proxy in front of
# it, loaded with file requests and then a thousand idle keep-alive connections
# through the proxy. Sourced by run.sh.
CADDY_REQUESTS=${CADDY_REQUESTS:-3000}
CADDY_CONNS=${CADDY_CONNS:-1000}

caddy_run() {
	local out=$1 dir=$1/scratch admin files proxy load_pid
	command -v caddy >/dev/null || apt_install caddy
	admin=$(free_port) files=$(free_port) proxy=$(free_port)
	mkdir -p "$dir/www" "$dir/home"
	for i in $(seq 0 63); do head -c $((512 + i * 997)) /dev/urandom | base64 >"$dir/www/f$i.txt"; done
	head -c 4000000 /dev/urandom >"$dir/www/big.bin"
	cat >"$dir/caddy.json" <<JSON
{"admin": {"listen": "127.0.0.1:$admin"},
 "apps": {"http": {"servers": {
   "files": {"listen": ["127.0.0.1:$files"], "routes": [{"handle": [{"handler": "file_server", "root": "$dir/www"}]}]},
   "proxy": {"listen": ["127.0.0.1:$proxy"], "routes": [{"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "127.0.0.1:$files"}]}]}]}
 }}}}
JSON
	# HOME and XDG dirs in the scratch directory: caddy writes its state there.
	start_service "$dir" "$out/service.log" env HOME="$dir/home" XDG_DATA_HOME="$dir/home" XDG_CONFIG_HOME="$dir/home" \
		caddy run --config "$dir/caddy.json"
	local pid=$SVC_PID
	wait_http "http://127.0.0.1:$admin/metrics" 30
	wait_http "http://127.0.0.1:$files/f0.txt" 30
	# The load holds its connections open until stopped (at most 600 s).
	(
		ulimit -n 16384
		exec timeout 900 python3 "$HERE/load/keepalive.py" "$files" "$proxy" "$CADDY_REQUESTS" "$CADDY_CONNS" 600
	) >"$out/load.out" 2>"$out/load.log" &
	load_pid=$!
	track "$load_pid"
	local i
	for i in $(seq 600); do
		grep -q ready "$out/load.out" && break
		kill -0 "$load_pid" 2>/dev/null || die "caddy load failed: $(cat "$out/load.log")"
		sleep 0.2
	done
	grep -q ready "$out/load.out" || die "caddy load not ready in 120 s"
	sleep 2
	capture "$out" "http://127.0.0.1:$admin/metrics" "http://127.0.0.1:$admin/debug/pprof" "$pid"
	capture_late "$out" "http://127.0.0.1:$admin/debug/pprof" "$pid"
	crash "$out" "$dir" "$pid"
	stop_pid "$load_pid"
	write_info "$out" service=caddy exe="$(command -v caddy)" pid="$pid" \
		load="$CADDY_REQUESTS file requests over 8 connections, then $CADDY_CONNS idle keep-alive connections through the reverse proxy" \
		metrics_request_goroutines=1
}
