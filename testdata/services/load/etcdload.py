#!/usr/bin/env python3
"""Write KEYS keys into etcd through its JSON gateway (/v3/kv/txn, BATCH puts per
transaction), then ROUNDS rounds of updates to every tenth key (so the watchers
see events and the store keeps old revisions), at most MAX_SECONDS in all.

    etcdload.py PORT KEYS ROUNDS MAX_SECONDS"""
import base64
import http.client
import json
import sys
import time

port, keys, rounds, max_seconds = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                   float(sys.argv[4]))
BATCH = 100  # below etcd's --max-txn-ops default (128)
deadline = time.monotonic() + max_seconds
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def txn(items):
    ops = [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in items]
    conn.request("POST", "/v3/kv/txn", json.dumps({"success": ops}),
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit(f"etcdload: txn failed: {r.status} {data[:200]!r}")


def key(i):
    return f"/load/key/{i:06d}"


written = 0
for r in range(rounds + 1):
    step = 1 if r == 0 else 10
    batch = []
    for i in range(0, keys, step):
        batch.append((key(i), f"value-{r}-{i}-" + "x" * (64 + i % 128)))
        if len(batch) == BATCH:
            txn(batch)
            written += len(batch)
            batch = []
        if time.monotonic() > deadline:
            break
    if batch:
        txn(batch)
        written += len(batch)
    if time.monotonic() > deadline:
        break
print(f"etcdload: {written} puts", file=sys.stderr)
