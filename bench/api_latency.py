#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""API latency: median and p99 over N requests of GET and PUT
/machine-config on one keep-alive connection, and the time from exec to the
API socket accepting connections (median of a few starts).

usage: bench/api_latency.py [FIGMENT] [-n 10000] [--starts 20] [--json]
FIGMENT defaults to $FIGMENT or build/figment.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(figment, sock):
    t0 = time.perf_counter()
    proc = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sock)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if proc.poll() is not None or time.perf_counter() - t0 > 10:
                sys.exit("figment did not open %s" % sock)
            time.sleep(0.0002)
        finally:
            s.close()
    return proc, time.perf_counter() - t0


def request(s, data, buf):
    s.sendall(data)
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, v = line.split(b":", 1)
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(rest) < n:
        rest += s.recv(65536)
    status = int(head.split()[1])
    return status, rest[n:]


def measure(s, data, n, want):
    times = []
    buf = b""
    for _ in range(n):
        t0 = time.perf_counter_ns()
        status, buf = request(s, data, buf)
        times.append(time.perf_counter_ns() - t0)
        if status != want:
            sys.exit("unexpected status %d" % status)
    times.sort()
    return {"median_us": statistics.median(times) / 1000,
            "p99_us": times[int(len(times) * 0.99) - 1] / 1000}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("figment", nargs="?",
                    default=os.environ.get("FIGMENT", os.path.join(ROOT, "build", "figment")))
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    body = json.dumps({"vcpu_count": 2, "mem_size_mib": 256}).encode()
    get = b"GET /machine-config HTTP/1.1\r\nHost: localhost\r\n\r\n"
    put = (b"PUT /machine-config HTTP/1.1\r\nHost: localhost\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    res = {}
    with tempfile.TemporaryDirectory(prefix="figment-bench-") as d:
        sock = os.path.join(d, "api.sock")
        starts = []
        for _ in range(args.starts):
            proc, t = start(args.figment, sock)
            starts.append(t)
            proc.terminate()
            proc.wait()
        res["exec_to_socket_ms"] = {"median": statistics.median(starts) * 1000,
                                    "max": max(starts) * 1000}
        proc, _ = start(args.figment, sock)
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            measure(s, get, min(500, args.n), 200)  # warm up
            res["get_machine_config"] = measure(s, get, args.n, 200)
            res["put_machine_config"] = measure(s, put, args.n, 204)
            s.close()
        finally:
            proc.terminate()
            proc.wait()
    if args.json:
        print(json.dumps(res))
        return
    print("exec -> API socket accepting: median %.2f ms, max %.2f ms (%d starts)"
          % (res["exec_to_socket_ms"]["median"], res["exec_to_socket_ms"]["max"], args.starts))
    for k in ("get_machine_config", "put_machine_config"):
        print("%-20s median %7.1f us   p99 %7.1f us   (%d requests, keep-alive)"
              % (k, res[k]["median_us"], res[k]["p99_us"], args.n))


if __name__ == "__main__":
    main()
