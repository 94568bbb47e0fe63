# prometheus (Debian's prometheus package): scraping itself and a local target
# with tens of thousands of series every 5 s, and answering queries, for a
# bounded time. Sourced by run.sh.
PROM_SERIES=${PROM_SERIES:-40000}
PROM_SECONDS=${PROM_SECONDS:-75}
PROM_QUERIES=${PROM_QUERIES:-300}

prometheus_run() {
	local out=$1 dir=$1/scratch port target pid tpid
	command -v prometheus >/dev/null || apt_install prometheus
	port=$(free_port) target=$(free_port)
	cat >"$dir/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  scrape_timeout: 4s
scrape_configs:
  - job_name: self
    static_configs: [{targets: ['127.0.0.1:$port']}]
  - job_name: load
    static_configs: [{targets: ['127.0.0.1:$target']}]
YAML
	python3 "$HERE/load/promtarget.py" "$target" "$PROM_SERIES" $((PROM_SECONDS + 60)) 2>>"$out/load.log" &
	tpid=$!
	track "$tpid"
	start_service "$dir" "$out/service.log" prometheus --config.file="$dir/prometheus.yml" \
		--storage.tsdb.path="$dir/data" --web.listen-address="127.0.0.1:$port" --log.level=warn
	pid=$SVC_PID
	wait_http "http://127.0.0.1:$port/-/ready" 60
	sleep $((PROM_SECONDS / 3))
	timeout $((PROM_SECONDS + 60)) python3 "$HERE/load/promquery.py" "$port" "$PROM_QUERIES" $((PROM_SECONDS * 2 / 3)) 2>>"$out/load.log"
	# The target goes away before the capture, so that the scrapes in the quiet
	# window are small.
	stop_pid "$tpid"
	sleep 3
	capture "$out" "http://127.0.0.1:$port/metrics" "http://127.0.0.1:$port/debug/pprof" "$pid"
	capture_late "$out" "http://127.0.0.1:$port/debug/pprof" "$pid"
	crash "$out" "$dir" "$pid"
	write_info "$out" service=prometheus exe="$(command -v prometheus)" pid="$pid" \
		load="scrapes itself and a target of $PROM_SERIES series every 5 s for ${PROM_SECONDS}s, up to $PROM_QUERIES instant and range queries"
}
