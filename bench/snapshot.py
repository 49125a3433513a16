#!/usr/bin/env python3
"""Snapshot benchmark on the host's /dev/kvm (the VMM's own cost), with the
counting test guest (tests/guests/counter.S):

  - snapshot create: the PUT /snapshot/create call (VM paused), state and
    memory file sizes (allocated, the files are sparse), for each --mem size;
  - restore: exec of `figment run --restore` until its vCPUs run again (the
    "restored" log line), and the PUT /snapshot/load call with resume_vm
    until it answers (the vCPUs are running then);
  - clones: N restores of one snapshot started one after another, each
    running; host memory per clone (the rise of the host's used memory, and
    each process's PSS: pages shared through the page cache count once).

Prints medians; run by bench/run.sh (BENCH_SKIP_SNAPSHOT=1 leaves it out).
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
GUEST = os.path.join(ROOT, "build", "guests", "counter.bin")


def api(sock, method, path, body=None, timeout=60):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock)
    data = json.dumps(body).encode() if body is not None else b""
    hdr = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if data:
        hdr += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    s.sendall((hdr + "\r\n").encode() + data)
    out = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        out += c
    s.close()
    status = int(out.split()[1])
    if status >= 300:
        raise RuntimeError(f"{method} {path}: {out.decode(errors='replace')}")
    return status


def wait_for(pred, timeout=30):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise RuntimeError("timed out")
        time.sleep(0.002)


def allocated(path):
    return os.stat(path).st_blocks * 512


def boot(figment, d, mem):
    cfg = os.path.join(d, "vm.json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": GUEST},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": mem}}, f)
    sock = os.path.join(d, "vm.sock")
    out = os.path.join(d, "vm.out")
    p = subprocess.Popen([figment, "--api-sock", sock, "--config-file", cfg],
                         stdin=subprocess.DEVNULL, stdout=open(out, "wb"),
                         stderr=subprocess.STDOUT)
    wait_for(lambda: os.path.exists(sock))
    wait_for(lambda: b"count 2" in open(out, "rb").read())
    return p, sock


def create(figment, d, mem, runs):
    p, sock = boot(figment, d, mem)
    times = []
    try:
        for i in range(runs):
            api(sock, "PATCH", "/vm", {"state": "Paused"})
            snap = os.path.join(d, f"snap{i}")
            os.mkdir(snap)
            t0 = time.perf_counter()
            api(sock, "PUT", "/snapshot/create",
                {"snapshot_path": os.path.join(snap, "state"),
                 "mem_file_path": os.path.join(snap, "memory")})
            times.append((time.perf_counter() - t0) * 1e3)
            api(sock, "PATCH", "/vm", {"state": "Resumed"})
    finally:
        p.kill()
        p.wait()
    snap = os.path.join(d, "snap0")
    return times, allocated(os.path.join(snap, "state")), allocated(os.path.join(snap, "memory")), snap


def restore_exec(figment, snap, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen([figment, "run", "--restore", snap, "--serial", "none",
                              "--level", "info"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for line in p.stderr:
            if b"restored from" in line:
                times.append((time.perf_counter() - t0) * 1e3)
                break
        p.kill()
        p.wait()
    return times


def restore_api(figment, d, snap, runs):
    times = []
    for i in range(runs):
        sock = os.path.join(d, f"load{i}.sock")
        p = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: os.path.exists(sock))
            t0 = time.perf_counter()
            api(sock, "PUT", "/snapshot/load",
                {"snapshot_path": os.path.join(snap, "state"),
                 "mem_backend": {"backend_type": "File",
                                 "backend_path": os.path.join(snap, "memory")},
                 "resume_vm": True})
            times.append((time.perf_counter() - t0) * 1e3)
        finally:
            p.kill()
            p.wait()
    return times


def mem_used_kib():
    info = {}
    for line in open("/proc/meminfo"):
        k, v = line.split(":")
        info[k] = int(v.split()[0])
    return info["MemTotal"] - info["MemAvailable"]


def pss_kib(pid):
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def clones(figment, d, snap, n):
    before = mem_used_kib()
    procs = []
    try:
        for i in range(n):
            out = os.path.join(d, f"clone{i}.out")
            p = subprocess.Popen([figment, "run", "--restore", snap], stdin=subprocess.DEVNULL,
                                 stdout=open(out, "wb"), stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_for(lambda: b"count" in open(out, "rb").read(), timeout=120)
        time.sleep(1)
        after = mem_used_kib()
        pss = [pss_kib(p.pid) for p in procs]
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
    return (after - before) / n, statistics.median(pss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("figment")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--mem", type=int, nargs="+", default=[128, 1024])
    ap.add_argument("--clones", type=int, default=50)
    a = ap.parse_args()
    if not os.path.exists(GUEST):
        sys.exit(f"{GUEST} is not built (make test-guests)")
    print("| guest RAM | create (median) | state file | memory file (allocated) "
          "| `run --restore`: exec to running | `PUT /snapshot/load` |")
    print("|---|---|---|---|---|---|")
    first_snap_dir = None
    for mem in a.mem:
        d = tempfile.mkdtemp(prefix="figment-bench-snap-")
        t, st, mf, snap = create(a.figment, d, mem, a.runs)
        r = restore_exec(a.figment, snap, a.runs)
        l = restore_api(a.figment, d, snap, a.runs)
        print(f"| {mem} MiB | {statistics.median(t):.2f} ms | {st / 1024:.0f} KiB "
              f"| {mf / 1024:.0f} KiB | {statistics.median(r):.2f} ms "
              f"| {statistics.median(l):.2f} ms |")
        first_snap_dir = first_snap_dir or snap
    if a.clones:
        d = tempfile.mkdtemp(prefix="figment-bench-clones-")
        per, pss = clones(a.figment, d, first_snap_dir, a.clones)
        print()
        print(f"{a.clones} clones of one {a.mem[0]} MiB snapshot, started one after another: "
              f"host memory {per:.0f} KiB per clone, median PSS {pss} KiB")


if __name__ == "__main__":
    main()
