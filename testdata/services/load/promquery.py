#!/usr/bin/env python3
"""Ask prometheus COUNT queries (range and instant), at most MAX_SECONDS in all.

    promquery.py PORT COUNT MAX_SECONDS"""
import json
import sys
import time
import urllib.parse
import urllib.request

port, count, max_seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
QUERIES = [
    'count({__name__=~"load_metric_.*"})',
    'sum by (shard) (load_metric_3)',
    'topk(10, load_metric_7)',
    'avg_over_time(load_metric_1[1m])',
    'sum by (shard) (rate(load_metric_5[30s]))',
    'rate(prometheus_http_requests_total[30s])',
    'quantile(0.9, load_metric_11)',
]
deadline = time.monotonic() + max_seconds
done = failed = 0
for i in range(count):
    if time.monotonic() > deadline:
        break
    q = QUERIES[i % len(QUERIES)]
    now = time.time()
    if i % 2:
        url = f"http://127.0.0.1:{port}/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": q, "start": now - 120, "end": now, "step": "5"})
    else:
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            ok = json.load(r).get("status") == "success"
    except Exception:
        ok = False
    done += 1
    failed += not ok
print(f"promquery: {done} queries, {failed} failed", file=sys.stderr)
