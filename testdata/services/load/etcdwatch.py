#!/usr/bin/env python3
"""Watchers for etcd: one `etcdctl watch --interactive` child (one client, one
gRPC stream) with WATCHES watches on the keys /load/key/000000..., kept until
this process gets SIGTERM or MAX_SECONDS have passed; then the child is
stopped by its PID. Prints "ready" once every watch has been asked for.

    etcdwatch.py ENDPOINT FIRST WATCHES MAX_SECONDS"""
import signal
import subprocess
import sys
import time

endpoint, first, watches, max_seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
child = subprocess.Popen(["etcdctl", "--endpoints", endpoint, "watch", "--interactive"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                         env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})


def stop(*_):
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
for i in range(first, first + watches):
    child.stdin.write(f"watch /load/key/{i:06d}\n")
child.stdin.flush()
print("ready", flush=True)
deadline = time.monotonic() + max_seconds
while time.monotonic() < deadline and child.poll() is None:
    time.sleep(0.5)
stop()
