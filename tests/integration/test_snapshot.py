"""Snapshots on the host's /dev/kvm with a purpose-built guest that counts
(tests/guests/counter.S): snapshot it mid-run, kill figment, restore, and the
count goes on; one snapshot restored twice at once; every bad input the
snapshot issue lists gets a clear refusal and leaves figment usable."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import needs_kvm, run

CONFIG, STOPPED = 3, 8

pytestmark = needs_kvm


def _wait_sock(path, proc, timeout=10):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, "figment exited before opening its API socket"
        assert time.monotonic() < end, "no API socket"
        time.sleep(0.01)


def _counts(path):
    with open(path, "rb") as f:
        return [int(m) for m in re.findall(rb"count (\d+)\r\n", f.read())]


def _wait_count(path, n, proc, timeout=30):
    end = time.monotonic() + timeout
    while True:
        c = _counts(path)
        if c and c[-1] >= n:
            return c
        assert proc.poll() is None, open(path, "rb").read()[-500:]
        assert time.monotonic() < end, f"guest did not count to {n}: {c[-3:]}"
        time.sleep(0.05)


def _api(sock, method, path, body=None):
    """One HTTP request over the Unix socket: (status, decoded body)."""
    import socket
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(sock)
    data = json.dumps(body).encode() if body is not None else b""
    hdr = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if data:
        hdr += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    s.sendall((hdr + "\r\n").encode() + data)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    head, _, rest = out.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, (json.loads(rest) if rest else None)


class Counter:
    """A counting guest behind an API socket (Firecracker mode)."""

    def __init__(self, figment, guest, tmp_path, name="vm", track_dirty=False):
        self.tmp = tmp_path
        self.sock = str(tmp_path / f"{name}.sock")
        self.out = str(tmp_path / f"{name}.out")
        cfg = tmp_path / f"{name}.json"
        cfg.write_text(json.dumps({
            "boot-source": {"kernel_image_path": guest("counter.bin")},
            "machine-config": {"vcpu_count": 1, "mem_size_mib": 64,
                               "track_dirty_pages": track_dirty}}))
        self.proc = subprocess.Popen([figment, "--api-sock", self.sock, "--config-file", str(cfg)],
                                     stdin=subprocess.DEVNULL, stdout=open(self.out, "wb"),
                                     stderr=subprocess.STDOUT)
        _wait_sock(self.sock, self.proc)

    def api(self, method, path, body):
        return _api(self.sock, method, path, body)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def counter(figment, guest, tmp_path):
    c = Counter(figment, guest, tmp_path)
    yield c
    c.kill()


def _start_counting(figment, cfg, sock, out):
    """figment behind the API socket @sock with the config file @cfg, once
    its guest counts (killed if it never does)."""
    p = subprocess.Popen([figment, "--api-sock", sock, "--config-file", str(cfg)],
                         stdin=subprocess.DEVNULL, stdout=open(out, "wb"),
                         stderr=subprocess.STDOUT)
    try:
        _wait_sock(sock, p)
        _wait_count(out, 2, p)
    except BaseException:
        p.kill()
        p.wait()
        raise
    return p


def _snapshot(figment, sock, out, *extra):
    return run([figment, "snapshot", "--api-sock", sock, "--out", str(out), *extra], timeout=60)


def _restore(figment, snap, out, *extra):
    return subprocess.Popen([figment, "run", "--restore", str(snap), *extra],
                            stdin=subprocess.DEVNULL, stdout=open(out, "wb"),
                            stderr=subprocess.STDOUT)


def _stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    return p.returncode


def test_snapshot_kill_restore_goes_on_counting(figment, counter, tmp_path):
    _wait_count(counter.out, 3, counter.proc)
    snap = tmp_path / "snap"
    r = _snapshot(figment, counter.sock, snap)
    assert r.returncode == 0, r.stderr
    assert (snap / "state").exists() and (snap / "memory").exists()
    before = _counts(counter.out)[-1]
    # resumed: the original goes on too
    _wait_count(counter.out, before + 2, counter.proc)
    counter.kill()
    # the memory file is sparse: 64 MiB of RAM, a few pages touched
    st = os.stat(snap / "memory")
    assert st.st_size == 64 << 20
    assert st.st_blocks * 512 < 4 << 20, st.st_blocks
    out = str(tmp_path / "restored.out")
    p = _restore(figment, snap, out)
    try:
        c = _wait_count(out, 3, p)
    finally:
        assert _stop(p) == STOPPED
    c = _counts(out)
    # it goes on from where the snapshot was, not from 1
    assert c[0] >= 3 and c[0] <= before + 1, (before, c[:5])
    assert c == list(range(c[0], c[0] + len(c))), c


def test_diff_snapshot_restores_the_later_state(figment, guest, tmp_path):
    """Full snapshot, more counting, a Diff onto the same memory file: the
    restore goes on from the later count (the count lives in guest memory,
    so a Diff that missed its page would go back to the earlier one)."""
    c = Counter(figment, guest, tmp_path, track_dirty=True)
    try:
        _wait_count(c.out, 2, c.proc)
        snap = tmp_path / "snap"
        assert _snapshot(figment, c.sock, snap).returncode == 0
        full_at = _counts(c.out)[-1]
        _wait_count(c.out, full_at + 4, c.proc)
        r = _snapshot(figment, c.sock, snap, "--diff", "--paused")
        assert r.returncode == 0, r.stderr
        diff_at = _counts(c.out)[-1]
        assert diff_at >= full_at + 4
    finally:
        c.kill()
    out = str(tmp_path / "r.out")
    p = _restore(figment, snap, out)
    try:
        _wait_count(out, diff_at + 1, p)
    finally:
        _stop(p)
    assert _counts(out)[0] in (diff_at, diff_at + 1), (full_at, diff_at, _counts(out)[:3])


def test_diff_needs_tracking_and_a_base(figment, guest, tmp_path):
    c = Counter(figment, guest, tmp_path)  # no track_dirty_pages
    try:
        _wait_count(c.out, 1, c.proc)
        assert c.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
        body = {"snapshot_type": "Diff", "snapshot_path": str(tmp_path / "s"),
                "mem_file_path": str(tmp_path / "m")}
        st, b = c.api("PUT", "/snapshot/create", body)
        assert st == 400 and "track_dirty_pages" in b["fault_message"]
    finally:
        c.kill()
    c = Counter(figment, guest, tmp_path, name="t", track_dirty=True)
    try:
        _wait_count(c.out, 1, c.proc)
        assert c.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
        st, b = c.api("PUT", "/snapshot/create", body)
        assert st == 400 and "Full snapshot first" in b["fault_message"]
    finally:
        c.kill()


def test_one_snapshot_restored_twice_at_once(figment, counter, tmp_path):
    _wait_count(counter.out, 3, counter.proc)
    snap = tmp_path / "snap"
    assert _snapshot(figment, counter.sock, snap, "--paused").returncode == 0
    at = _counts(counter.out)[-1]
    counter.kill()
    outs = [str(tmp_path / f"clone{i}.out") for i in range(2)]
    procs = [_restore(figment, snap, o) for o in outs]
    try:
        for p, o in zip(procs, outs):
            _wait_count(o, at + 3, p)
    finally:
        for p in procs:
            assert _stop(p) == STOPPED
    for o in outs:
        c = _counts(o)
        assert c[0] in (at, at + 1), (at, c[:3])


VMGENID_GPA, VMGENID_SIZE = 0xa0000, 16  # src/arch/x86/layout.h


def _generation_id(snap):
    """The 16 bytes of the VM generation ID in a snapshot's guest RAM (the
    memory file is guest RAM from address 0)."""
    with open(snap / "memory", "rb") as f:
        f.seek(VMGENID_GPA)
        return f.read(VMGENID_SIZE)


def test_each_restore_is_a_new_generation(figment, counter, tmp_path):
    """A boot writes a random VM generation ID into guest RAM; each restore
    writes another (`run --restore` and `PUT /snapshot/load` both), so two
    clones of one snapshot, snapshotted again, hold three different IDs;
    a Diff snapshot of a clone carries its new ID (the VMM's own write is
    in the dirty log)."""
    _wait_count(counter.out, 2, counter.proc)
    snap = tmp_path / "snap"
    assert _snapshot(figment, counter.sock, snap, "--paused").returncode == 0
    counter.kill()
    boot_id = _generation_id(snap)
    assert boot_id != bytes(VMGENID_SIZE), "a boot has an ID"

    s1, o1 = str(tmp_path / "c1.sock"), str(tmp_path / "c1.out")
    s2, o2 = str(tmp_path / "c2.sock"), str(tmp_path / "c2.out")
    c1 = _restore(figment, snap, o1, "--api-sock", s1)
    c2 = subprocess.Popen([figment, "--api-sock", s2], stdin=subprocess.DEVNULL,
                          stdout=open(o2, "wb"), stderr=subprocess.STDOUT)
    try:
        _wait_sock(s2, c2)
        body = {"snapshot_path": str(snap / "state"),
                "mem_backend": {"backend_type": "File", "backend_path": str(snap / "memory")},
                "track_dirty_pages": True, "resume_vm": True}
        assert _api(s2, "PUT", "/snapshot/load", body)[0] == 204
        _wait_sock(s1, c1)
        _wait_count(o1, 3, c1)
        _wait_count(o2, 3, c2)
        # clone 1: a Full snapshot
        snap1 = tmp_path / "snap1"
        r = _snapshot(figment, s1, snap1)
        assert r.returncode == 0, r.stderr
        # clone 2: a Diff onto a copy of the memory file it was restored from
        snap2 = tmp_path / "snap2"
        snap2.mkdir()
        (snap2 / "memory").write_bytes((snap / "memory").read_bytes())
        assert _generation_id(snap2) == boot_id
        r = _snapshot(figment, s2, snap2, "--diff")
        assert r.returncode == 0, r.stderr
    finally:
        assert _stop(c1) == STOPPED
        assert _stop(c2) == STOPPED
    ids = {boot_id, _generation_id(snap1), _generation_id(snap2)}
    assert len(ids) == 3 and bytes(VMGENID_SIZE) not in ids, ids
    # the snapshot the clones came from is untouched (mapped privately)
    assert _generation_id(snap) == boot_id


def test_restore_paused_then_resume_through_the_api(figment, counter, tmp_path):
    _wait_count(counter.out, 2, counter.proc)
    snap = tmp_path / "snap"
    assert _snapshot(figment, counter.sock, snap).returncode == 0
    counter.kill()
    sock, out = str(tmp_path / "r.sock"), str(tmp_path / "r.out")
    p = _restore(figment, snap, out, "--api-sock", sock, "--paused", "--level", "info")
    told = b"new VM generation ID: the guest was notified"
    try:
        _wait_sock(sock, p)
        time.sleep(0.5)
        assert _counts(out) == []  # parked
        # the VM generation ID's notification waits for the vCPUs to run
        assert told not in open(out, "rb").read()
        st, info = _api(sock, "GET", "/")
        assert st == 200 and info["state"] == "Paused", info
        assert _api(sock, "PATCH", "/vm", {"state": "Resumed"})[0] == 204
        _wait_count(out, 1, p)
        # once, at the resume; a pause and another resume are no news
        assert _api(sock, "PATCH", "/vm", {"state": "Paused"})[0] == 204
        assert _api(sock, "PATCH", "/vm", {"state": "Resumed"})[0] == 204
        _wait_count(out, _counts(out)[-1] + 1, p)
        assert open(out, "rb").read().count(told) == 1
    finally:
        _stop(p)


def test_snapshot_load_through_the_api(figment, counter, tmp_path):
    _wait_count(counter.out, 2, counter.proc)
    snap = tmp_path / "snap"
    assert _snapshot(figment, counter.sock, snap).returncode == 0
    counter.kill()
    sock, out = str(tmp_path / "l.sock"), str(tmp_path / "l.out")
    p = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                         stdout=open(out, "wb"), stderr=subprocess.STDOUT)
    try:
        _wait_sock(sock, p)
        body = {"snapshot_path": str(snap / "state"),
                "mem_backend": {"backend_type": "File", "backend_path": str(snap / "memory")},
                "resume_vm": True}
        assert _api(sock, "PUT", "/snapshot/load", body)[0] == 204
        _wait_count(out, 3, p)
        # twice: refused
        st, b = _api(sock, "PUT", "/snapshot/load", body)
        assert st == 400 and "not allowed" in b["fault_message"]
    finally:
        _stop(p)


def test_snapshot_load_with_the_uffd_backend(figment, counter, tmp_path):
    """Firecracker's Uffd backend: figment hands its guest memory to a
    page-fault handler (ours, tools/uffd/uffd-handler.c), which fills the
    pages from the memory file as the guest touches them."""
    handler = os.path.join(os.path.dirname(figment), "figment-uffd-handler")
    if not os.path.exists(handler):
        handler = os.path.join(os.path.dirname(os.path.dirname(figment)), "build",
                               "figment-uffd-handler")
    _wait_count(counter.out, 2, counter.proc)
    snap = tmp_path / "snap"
    assert _snapshot(figment, counter.sock, snap).returncode == 0
    at = _counts(counter.out)[-1]
    counter.kill()
    usock = str(tmp_path / "uffd.sock")
    h = subprocess.Popen([handler, usock, str(snap / "memory")], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sock, out = str(tmp_path / "u.sock"), str(tmp_path / "u.out")
    p = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                         stdout=open(out, "wb"), stderr=subprocess.STDOUT)
    try:
        _wait_sock(usock, h)
        _wait_sock(sock, p)
        st, b = _api(sock, "PUT", "/snapshot/load",
                     {"snapshot_path": str(snap / "state"), "resume_vm": True,
                      "mem_backend": {"backend_type": "Uffd", "backend_path": usock}})
        assert st == 204, b
        _wait_count(out, at + 2, p)
        assert _counts(out)[0] in (at, at + 1)
    finally:
        _stop(p)
        _, err = h.communicate(timeout=10)
    assert h.returncode == 0, err
    served = int(re.search(rb"served (\d+) pages", err).group(1))
    assert 0 < served < (64 << 20) // 4096, err  # on demand, not all of RAM


def test_uffd_backend_without_a_handler(figment, good_snapshot, tmp_path):
    sock = str(tmp_path / "n.sock")
    p = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_sock(sock, p)
        st, b = _api(sock, "PUT", "/snapshot/load",
                     {"snapshot_path": str(good_snapshot / "state"),
                      "mem_backend": {"backend_type": "Uffd",
                                      "backend_path": str(tmp_path / "nobody.sock")}})
        assert st == 400 and "page-fault handler" in b["fault_message"], b
        assert _api(sock, "GET", "/")[0] == 200  # still serving
    finally:
        _stop(p)


# ------------------------------------------------------------- bad input --

def test_create_while_running_and_into_a_missing_folder(counter, tmp_path):
    _wait_count(counter.out, 1, counter.proc)
    body = {"snapshot_path": str(tmp_path / "s"), "mem_file_path": str(tmp_path / "m")}
    st, b = counter.api("PUT", "/snapshot/create", body)
    assert st == 400 and "paused" in b["fault_message"]
    assert counter.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
    missing = {"snapshot_path": str(tmp_path / "no" / "s"), "mem_file_path": str(tmp_path / "no" / "m")}
    st, b = counter.api("PUT", "/snapshot/create", missing)
    assert st == 400 and "memory file" in b["fault_message"], b
    # still usable: a good one now
    assert counter.api("PUT", "/snapshot/create", body)[0] == 204
    assert os.path.exists(body["snapshot_path"]) and os.path.exists(body["mem_file_path"])
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["m", "s", "vm.json", "vm.out", "vm.sock"]), os.listdir(tmp_path)  # no temporaries


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_full_disk_leaves_no_file(counter, tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    assert subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "none", str(d)]).returncode == 0
    try:
        _wait_count(counter.out, 1, counter.proc)
        assert counter.api("PATCH", "/vm", {"state": "Paused"})[0] == 204
        st, b = counter.api("PUT", "/snapshot/create",
                            {"snapshot_path": str(d / "s"), "mem_file_path": str(d / "m")})
        assert st == 400, b
        assert os.listdir(d) == []
    finally:
        subprocess.run(["umount", str(d)])


def test_load_after_configuration_is_refused(figment, tmp_path):
    sock = str(tmp_path / "c.sock")
    p = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_sock(sock, p)
        assert _api(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})[0] == 204
        st, b = _api(sock, "PUT", "/snapshot/load", {"snapshot_path": "/x", "mem_file_path": "/y"})
        assert st == 400 and "configured" in b["fault_message"]
        st, b = _api(sock, "PUT", "/snapshot/load",
                     {"snapshot_path": "/x", "mem_file_path": "/y",
                      "mem_backend": {"backend_type": "File", "backend_path": "/y"}})
        assert st == 400 and "not both" in b["fault_message"]
    finally:
        _stop(p)


@pytest.fixture
def good_snapshot(figment, counter, tmp_path):
    _wait_count(counter.out, 1, counter.proc)
    snap = tmp_path / "good"
    assert _snapshot(figment, counter.sock, snap).returncode == 0
    counter.kill()
    return snap


def _restore_fails(figment, snap, words):
    r = run([figment, "run", "--restore", str(snap)], timeout=30)
    assert r.returncode == CONFIG, (r.returncode, r.stderr)
    for w in words if isinstance(words, list) else [words]:
        assert w in r.stderr, r.stderr
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr


def _copy(snap, tmp_path, name):
    d = tmp_path / name
    d.mkdir()
    (d / "state").write_bytes((snap / "state").read_bytes())
    os.link(snap / "memory", d / "memory")
    return d


def test_damaged_state_files_are_refused(figment, good_snapshot, tmp_path):
    data = (good_snapshot / "state").read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "random": os.urandom(len(data)),
        "flipped": data[:100] + bytes([data[100] ^ 0x10]) + data[101:],
    }
    for name, content in cases.items():
        d = _copy(good_snapshot, tmp_path, name)
        (d / "state").write_bytes(content)
        _restore_fails(figment, d, "cannot restore")


def test_short_memory_file_is_refused(figment, good_snapshot, tmp_path):
    d = tmp_path / "short"
    d.mkdir()
    (d / "state").write_bytes((good_snapshot / "state").read_bytes())
    with open(d / "memory", "wb") as f:
        f.truncate(1 << 20)
    _restore_fails(figment, d, "memory file has 1048576 bytes")


def test_missing_snapshot(figment, tmp_path):
    _restore_fails(figment, tmp_path / "nothing", ["cannot restore", "No such file"])


def test_vm_with_a_drive_restores_with_it_and_a_missing_drive_is_refused(figment, guest, tmp_path):
    disk = tmp_path / "d.img"
    disk.write_bytes(b"\0" * 4096)
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": guest("counter.bin")},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
        "drives": [{"drive_id": "d", "path_on_host": str(disk), "is_root_device": False,
                    "is_read_only": True}],
        "entropy": {}}))
    sock, out = str(tmp_path / "d.sock"), str(tmp_path / "d.out")
    p = _start_counting(figment, cfg, sock, out)
    try:
        snap = tmp_path / "snap"
        assert _snapshot(figment, sock, snap).returncode == 0
    finally:
        p.kill()
        p.wait()
    rout = str(tmp_path / "r.out")
    r = _restore(figment, snap, rout)
    try:
        _wait_count(rout, 3, r)
    finally:
        assert _stop(r) == STOPPED
    moved = tmp_path / "moved.img"
    disk.rename(moved)
    _restore_fails(figment, snap, ["drive 'd'", str(disk), "No such file"])
    # the drive's new place given at restore
    rout = str(tmp_path / "o.out")
    r = _restore(figment, snap, rout, "--drive", f"id=d,path={moved}")
    try:
        _wait_count(rout, 3, r)
    finally:
        assert _stop(r) == STOPPED
    res = run([figment, "run", "--restore", str(snap), "--drive", f"id=nope,path={moved}"],
              timeout=30)
    assert res.returncode == CONFIG and "no drive 'nope'" in res.stderr, res.stderr
    res = run([figment, "run", "--restore", str(snap), "--mem", "512"], timeout=30)
    assert res.returncode == 2 and "comes from the snapshot" in res.stderr
    # and through the API
    sock2, out2 = str(tmp_path / "l.sock"), str(tmp_path / "l.out")
    p2 = subprocess.Popen([figment, "--api-sock", sock2], stdin=subprocess.DEVNULL,
                          stdout=open(out2, "wb"), stderr=subprocess.STDOUT)
    try:
        _wait_sock(sock2, p2)
        body = {"snapshot_path": str(snap / "state"), "mem_file_path": str(snap / "memory"),
                "resume_vm": True,
                "drive_overrides": [{"drive_id": "d", "path_on_host": str(tmp_path / "gone")}]}
        st, b = _api(sock2, "PUT", "/snapshot/load", body)
        assert st == 400 and "gone" in b["fault_message"]
        body["drive_overrides"][0]["path_on_host"] = str(moved)
        assert _api(sock2, "PUT", "/snapshot/load", body)[0] == 204
        _wait_count(out2, 3, p2)
    finally:
        _stop(p2)


def _tap(name):
    return subprocess.run(["ip", "tuntap", "add", name, "mode", "tap"],
                          capture_output=True).returncode == 0


def _attached_taps(pid):
    """The TAPs process @pid holds (tun's fdinfo names its interface)."""
    taps = set()
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("iff:"):
                        taps.add(line.split()[1])
        except OSError:
            pass
    return taps


def test_vm_with_an_interface_restores_onto_its_tap_or_an_override(figment, guest, tmp_path):
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun for TAP devices")
    taps = ["figsnap0", "figsnap1"]
    for t in taps:
        subprocess.run(["ip", "tuntap", "del", t, "mode", "tap"], capture_output=True)
        assert _tap(t), t
    try:
        cfg = tmp_path / "vm.json"
        cfg.write_text(json.dumps({
            "boot-source": {"kernel_image_path": guest("counter.bin")},
            "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
            "network-interfaces": [{"iface_id": "eth0", "host_dev_name": taps[0],
                                    "guest_mac": "06:00:ac:10:00:02"}]}))
        sock, out = str(tmp_path / "n.sock"), str(tmp_path / "n.out")
        p = _start_counting(figment, cfg, sock, out)
        try:
            assert _attached_taps(p.pid) == {taps[0]}
            st, b = _api(sock, "GET", "/vm/config")
            assert b["network-interfaces"][0]["host_dev_name"] == taps[0], b
            snap = tmp_path / "snap"
            assert _snapshot(figment, sock, snap).returncode == 0
        finally:
            p.kill()
            p.wait()
        # the same TAP again
        rout = str(tmp_path / "r.out")
        r = _restore(figment, snap, rout)
        try:
            _wait_count(rout, 3, r)
            assert _attached_taps(r.pid) == {taps[0]}
        finally:
            assert _stop(r) == STOPPED
        # another TAP, from the command line and through the API
        rout = str(tmp_path / "o.out")
        r = _restore(figment, snap, rout, "--net", f"id=eth0,tap={taps[1]}")
        try:
            _wait_count(rout, 3, r)
            assert _attached_taps(r.pid) == {taps[1]}
        finally:
            assert _stop(r) == STOPPED
        res = run([figment, "run", "--restore", str(snap), "--net", "id=eth9,tap=x"], timeout=30)
        assert res.returncode == CONFIG and "no network interface 'eth9'" in res.stderr, res.stderr
        sock2, out2 = str(tmp_path / "l.sock"), str(tmp_path / "l.out")
        p2 = subprocess.Popen([figment, "--api-sock", sock2], stdin=subprocess.DEVNULL,
                              stdout=open(out2, "wb"), stderr=subprocess.STDOUT)
        try:
            _wait_sock(sock2, p2)
            body = {"snapshot_path": str(snap / "state"), "mem_file_path": str(snap / "memory"),
                    "resume_vm": True,
                    "network_overrides": [{"iface_id": "eth0", "host_dev_name": "figsnapgone"}]}
            st, b = _api(sock2, "PUT", "/snapshot/load", body)
            assert st == 400 and "figsnapgone" in b["fault_message"], b
            body["network_overrides"][0]["host_dev_name"] = taps[1]
            assert _api(sock2, "PUT", "/snapshot/load", body)[0] == 204
            _wait_count(out2, 3, p2)
            assert _attached_taps(p2.pid) == {taps[1]}
        finally:
            _stop(p2)
        # the snapshot's TAP gone: a clear error, no VM
        subprocess.run(["ip", "tuntap", "del", taps[0], "mode", "tap"], capture_output=True)
        _restore_fails(figment, snap, ["eth0", taps[0], "no network device"])
    finally:
        for t in taps:
            subprocess.run(["ip", "tuntap", "del", t, "mode", "tap"], capture_output=True)


def _helper_sigblk(pid):
    """The blocked-signal masks of process @pid's children."""
    masks = []
    for t in os.listdir(f"/proc/{pid}/task"):
        for k in open(f"/proc/{pid}/task/{t}/children").read().split():
            for line in open(f"/proc/{k}/status"):
                if line.startswith("SigBlk:"):
                    masks.append(int(line.split()[1], 16))
    return masks


def _helpers(pid):
    """The user-mode network helpers among the children of process @pid."""
    names = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            kids = open(f"/proc/{pid}/task/{t}/children").read().split()
        except OSError:
            continue
        for k in kids:
            try:
                comm = open(f"/proc/{k}/comm").read().strip()
                state = open(f"/proc/{k}/stat").read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                names.append(comm)
    return sorted(names)


def test_vm_with_a_user_mode_interface_restores_with_a_fresh_helper(figment, guest, tmp_path):
    """A user-mode interface (figment-slirp: it needs no route) is saved with
    its backend and forwards; each restore starts a helper of its own, and
    --net at restore can move the interface to passt."""
    if not os.path.exists(os.path.join(os.path.dirname(figment), "figment-slirp")):
        pytest.skip("figment-slirp is not built next to figment")
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": guest("counter.bin")},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
        "network-interfaces": [{"iface_id": "eth0", "user_net": {"backend": "slirp"}}]}))
    sock, out = str(tmp_path / "n.sock"), str(tmp_path / "n.out")
    p = _start_counting(figment, cfg, sock, out)
    try:
        assert _helpers(p.pid) == ["figment-slirp"]
        # not figment's mask: SIGTERM ends it
        assert _helper_sigblk(p.pid) == [0]
        snap = tmp_path / "snap"
        assert _snapshot(figment, sock, snap).returncode == 0
    finally:
        p.kill()
        p.wait()
    rout = str(tmp_path / "r.out")
    r = _restore(figment, snap, rout)
    try:
        _wait_count(rout, 3, r)
        assert _helpers(r.pid) == ["figment-slirp"]
    finally:
        assert _stop(r) == STOPPED
    # passt needs a host with a default route
    if shutil.which("passt") and run(["ip", "route", "show", "default"], timeout=10).stdout.strip():
        rout = str(tmp_path / "o.out")
        r = _restore(figment, snap, rout, "--net", "id=eth0,user=passt")
        try:
            _wait_count(rout, 3, r)
            # (passt runs its AVX2 build, passt.avx2, where it can)
            assert [h.split(".")[0] for h in _helpers(r.pid)] == ["passt"]
        finally:
            assert _stop(r) == STOPPED


def test_metadata_service_config_survives_a_restore_not_its_store(figment, guest, tmp_path):
    """As Firecracker: the service's version, address and interfaces come
    back with the snapshot; the store does not (a clone is reseeded, here
    with --metadata)."""
    if not os.path.exists(os.path.join(os.path.dirname(figment), "figment-slirp")):
        pytest.skip("figment-slirp is not built next to figment")
    mmds_cfg = {"version": "V2", "network_interfaces": ["eth0"],
                "ipv4_address": "169.254.170.2", "imds_compat": False}
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": guest("counter.bin")},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
        "network-interfaces": [{"iface_id": "eth0", "user_net": {"backend": "slirp"}}],
        "mmds-config": mmds_cfg}))
    sock, out = str(tmp_path / "m.sock"), str(tmp_path / "m.out")
    p = _start_counting(figment, cfg, sock, out)
    try:
        assert _api(sock, "PUT", "/mmds", {"secret": "of the first VM"})[0] == 204
        snap = tmp_path / "snap"
        assert _snapshot(figment, sock, snap).returncode == 0
    finally:
        p.kill()
        p.wait()
    md = tmp_path / "md.json"
    md.write_text('{"clone": "2"}')
    rsock, rout = str(tmp_path / "r.sock"), str(tmp_path / "r.out")
    r = _restore(figment, snap, rout, "--api-sock", rsock, "--metadata", str(md))
    try:
        _wait_count(rout, 3, r)
        _wait_sock(rsock, r)
        status, body = _api(rsock, "GET", "/vm/config")
        assert status == 200 and body["mmds-config"] == mmds_cfg, body
        status, body = _api(rsock, "GET", "/mmds")
        assert status == 200 and body == {"clone": "2"}, body
    finally:
        assert _stop(r) == STOPPED


def test_vm_moves_between_a_user_mode_interface_and_a_tap_at_restore(figment, guest, tmp_path):
    """A user-mode interface offers no offloads, a TAP all of them: a
    snapshot of either restores onto the other (the device offers what it
    offered then and can offer now; this guest's driver took none)."""
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        pytest.skip("needs root and /dev/net/tun for TAP devices")
    if not os.path.exists(os.path.join(os.path.dirname(figment), "figment-slirp")):
        pytest.skip("figment-slirp is not built next to figment")
    tap = "figsnapu0"
    subprocess.run(["ip", "tuntap", "del", tap, "mode", "tap"], capture_output=True)
    assert _tap(tap), tap
    try:
        user = {"iface_id": "eth0", "user_net": {"backend": "slirp"}}
        on_tap = {"iface_id": "eth0", "host_dev_name": tap}
        for first, then in ((user, ["--net", f"id=eth0,tap={tap}"]),
                            (on_tap, ["--net", "id=eth0,user=slirp"])):
            cfg = tmp_path / "vm.json"
            cfg.write_text(json.dumps({
                "boot-source": {"kernel_image_path": guest("counter.bin")},
                "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
                "network-interfaces": [first]}))
            sock, out = str(tmp_path / "n.sock"), str(tmp_path / "n.out")
            p = _start_counting(figment, cfg, sock, out)
            snap = tmp_path / "snap"
            try:
                assert _snapshot(figment, sock, snap).returncode == 0
            finally:
                p.kill()
                p.wait()
                if os.path.exists(sock):
                    os.unlink(sock)
            rout = str(tmp_path / "r.out")
            r = _restore(figment, snap, rout, *then)
            try:
                _wait_count(rout, 3, r)
                if "user=slirp" in then[1]:
                    assert _helpers(r.pid) == ["figment-slirp"]
                else:
                    assert _attached_taps(r.pid) == {tap}
            finally:
                assert _stop(r) == STOPPED
            shutil.rmtree(snap)
    finally:
        subprocess.run(["ip", "tuntap", "del", tap, "mode", "tap"], capture_output=True)
