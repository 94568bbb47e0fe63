#!/usr/bin/env python3
"""A scrape target for prometheus: /metrics with SERIES series whose values
change on every scrape (so prometheus keeps appending samples to every one).

    promtarget.py PORT SERIES MAX_SECONDS

Listens on 127.0.0.1 only and exits by itself after MAX_SECONDS."""
import http.server
import random
import sys
import threading

port, series, max_seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
METRICS = 20  # metric names; the series are spread over them by an "instance_id" label


def body():
    out = []
    per = max(1, series // METRICS)
    for m in range(METRICS):
        name = f"load_metric_{m}"
        out.append(f"# TYPE {name} gauge\n")
        for i in range(per):
            out.append(f'{name}{{instance_id="i{i}",shard="s{i % 16}"}} {random.random() * 1000:.3f}\n')
    return "".join(out).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = body()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
threading.Timer(max_seconds, server.shutdown).start()
server.serve_forever()
