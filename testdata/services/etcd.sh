# etcd (Debian's etcd-server, loaded with etcd-client's etcdctl): a one-member
# cluster with tens of thousands of keys, written in transactions and partly
# rewritten, and tens of thousands of watchers on them. Sourced by run.sh.
ETCD_KEYS=${ETCD_KEYS:-30000}
ETCD_ROUNDS=${ETCD_ROUNDS:-3}
ETCD_WATCHERS=${ETCD_WATCHERS:-5000} # per etcdctl client
ETCD_CLIENTS=${ETCD_CLIENTS:-4}

etcd_run() {
	local out=$1 dir=$1/scratch client peer url pid i wpids=()
	command -v etcd >/dev/null || apt_install etcd-server
	command -v etcdctl >/dev/null || apt_install etcd-client
	client=$(free_port) peer=$(free_port)
	url=http://127.0.0.1:$client
	start_service "$dir" "$out/service.log" etcd --name corpus --data-dir "$dir/data" \
		--listen-client-urls "$url" --advertise-client-urls "$url" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "corpus=http://127.0.0.1:$peer" --enable-pprof --log-level warn
	pid=$SVC_PID
	wait_http "$url/metrics" 60
	for i in $(seq 0 $((ETCD_CLIENTS - 1))); do
		python3 "$HERE/load/etcdwatch.py" "$url" $((i * ETCD_WATCHERS)) "$ETCD_WATCHERS" 900 >"$out/watch$i.out" 2>>"$out/load.log" &
		wpids+=($!)
		track $!
	done
	for i in $(seq 300); do
		[ "$(cat "$out"/watch*.out | grep -c ready)" -eq "$ETCD_CLIENTS" ] && break
		sleep 0.2
	done
	timeout 600 python3 "$HERE/load/etcdload.py" "$client" "$ETCD_KEYS" "$ETCD_ROUNDS" 300 2>>"$out/load.log"
	sleep 5
	capture "$out" "$url/metrics" "$url/debug/pprof" "$pid"
	capture_late "$out" "$url/debug/pprof" "$pid"
	crash "$out" "$dir" "$pid"
	for i in "${wpids[@]}"; do stop_pid "$i"; done
	write_info "$out" service=etcd exe="$(command -v etcd)" pid="$pid" \
		load="$ETCD_KEYS keys written in transactions of 100, every tenth rewritten $ETCD_ROUNDS times; $((ETCD_CLIENTS * ETCD_WATCHERS)) watchers over $ETCD_CLIENTS etcdctl clients"
}
