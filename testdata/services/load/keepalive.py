#!/usr/bin/env python3
"""Load for caddy: REQUESTS requests for the served files (spread over a few
connections), then CONNS keep-alive connections that each make one request
through the reverse proxy and then stay open, idle, until this process is
stopped or MAX_SECONDS have passed. Prints "ready" on stdout once every
connection has had its answer.

    keepalive.py PORT_FILES PORT_PROXY REQUESTS CONNS MAX_SECONDS"""
import http.client
import socket
import sys
import time

files_port, proxy_port, requests, conns, max_seconds = (
    int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
deadline = time.monotonic() + max_seconds
NAMES = [f"/f{i}.txt" for i in range(64)] + ["/big.bin"]

clients = [http.client.HTTPConnection("127.0.0.1", files_port, timeout=20) for _ in range(8)]
for i in range(requests):
    if time.monotonic() > deadline:
        break
    c = clients[i % len(clients)]
    c.request("GET", NAMES[i % len(NAMES)])
    r = c.getresponse()
    r.read()
    if r.status != 200:
        raise SystemExit(f"keepalive: GET {NAMES[i % len(NAMES)]}: {r.status}")
for c in clients:
    c.close()

held = []
for i in range(conns):
    if time.monotonic() > deadline:
        break
    s = socket.create_connection(("127.0.0.1", proxy_port), timeout=20)
    s.sendall(f"GET /f{i % 64}.txt?c={i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    r = http.client.HTTPResponse(s)
    r.begin()
    r.read()  # the connection stays open: HTTP/1.1 keep-alive
    if r.status != 200:
        raise SystemExit(f"keepalive: proxied GET: {r.status}")
    held.append(s)
print("ready", flush=True)
print(f"keepalive: {len(held)} idle connections held", file=sys.stderr)
time.sleep(max(0.0, deadline - time.monotonic()))
