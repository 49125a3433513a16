"""One regression test for each defect on the containment issue's list, as
an attacker or a careless user reaches it: a file changed while figment
loads it, a console or log reader that stops reading, a FIFO given as a
path, a guest flooding the log. Each ran against the earlier code and
failed (a crash, a hang, or a flood); the virtio budget and the i8042
sequence have their unit tests in tests/unit/."""
import os
import signal
import struct
import subprocess
import threading
import time

import pytest

from conftest import needs_kvm, run

CONFIG, STOPPED = 3, 8


def _pipe_full():
    """A pipe whose buffer is already full and that nobody reads: any
    blocking write to it waits for good."""
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"\0" * 65536)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    return r, w


def _stop_and_time(p, after_s):
    time.sleep(after_s)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail("figment did not stop within 20 s of SIGTERM")
    return time.monotonic() - t0


@needs_kvm
def test_stalled_console_reader_does_not_stall_the_vmm(figment, guest, tmp_path):
    """`figment run ... | sleep 25`: the console's reader never reads. The
    VMM thread used to sit in write() on stdout, deaf to SIGTERM."""
    r, w = _pipe_full()
    err = open(tmp_path / "err", "w+b")
    p = subprocess.Popen([figment, "run", "--kernel", guest("flood.bin")],
                         stdin=subprocess.DEVNULL, stdout=w, stderr=err)
    os.close(w)
    took = _stop_and_time(p, 1.0)
    os.close(r)
    err.seek(0)
    msg = err.read().decode(errors="replace")
    assert p.returncode == STOPPED, msg
    assert took < 4, f"SIGTERM took {took:.1f} s"
    assert "not written" in msg  # the output that could not go is said


@needs_kvm
def test_stalled_log_reader_does_not_stall_a_vcpu(figment, guest, tmp_path):
    """stderr is a pipe nobody reads and the guest makes log lines: a vCPU
    used to block in the log write while the VMM waited on it."""
    r, w = _pipe_full()
    out = open(tmp_path / "out", "w+b")
    p = subprocess.Popen([figment, "run", "--kernel", guest("pvpanic_flood.bin"),
                          "--cmdline", "forever"],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=w)
    os.close(w)
    took = _stop_and_time(p, 1.5)
    os.close(r)
    out.seek(0)
    assert b"ready" in out.read()
    assert p.returncode == STOPPED
    assert took < 4, f"SIGTERM took {took:.1f} s"


@needs_kvm
def test_guest_cannot_flood_the_log(figment, guest):
    """100,000 pvpanic "crash loaded" writes used to be 100,000 warnings."""
    t0 = time.monotonic()
    res = run([figment, "run", "--kernel", guest("pvpanic_flood.bin"), "--cmdline", "once"],
              timeout=60)
    secs = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    assert "done" in res.stdout
    lines = [l for l in res.stderr.splitlines() if "pvpanic" in l]
    assert 1 <= len(lines) <= 10 * (int(secs) + 2), len(lines)
    assert "guest-caused log lines were suppressed" in res.stderr


def _fifo(tmp_path, name):
    p = str(tmp_path / name)
    os.mkfifo(p)
    return p


@pytest.mark.parametrize("what", ["drive", "serial", "log", "kernel", "initrd"])
def test_fifo_paths_are_refused_at_once(figment, guest, tmp_path, what):
    """A FIFO with nobody on the other end used to block figment in open()
    until SIGKILL."""
    f = _fifo(tmp_path, what)
    args = {
        "drive": ["--drive", f"id=data,path={f},readonly=on"],
        "serial": ["--serial", f],
        "log": ["--log-path", f],
        "kernel": [],
        "initrd": ["--initrd", f],
    }[what]
    kernel = f if what == "kernel" else guest("hello.bin")
    t0 = time.monotonic()
    res = run([figment, "run", "--kernel", kernel, *args], timeout=20)
    assert time.monotonic() - t0 < 10
    assert res.returncode == CONFIG, res.stderr
    assert "FIFO" in res.stderr, res.stderr


def _race(figment, argv, mutate, restore, runs=40, seconds=8):
    """Runs figment @runs times (at most @seconds) while another thread keeps
    changing its input; returns the exit statuses."""
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            mutate()
            restore()

    t = threading.Thread(target=writer)
    t.start()
    statuses = []
    end = time.monotonic() + seconds
    try:
        while len(statuses) < runs and time.monotonic() < end:
            res = run([figment, *argv], timeout=30)
            statuses.append((res.returncode, res.stderr))
    finally:
        stop.set()
        t.join()
    return statuses


def _no_crash(statuses):
    for rc, err in statuses:
        assert rc >= 0, f"killed by signal {-rc}: {err}"
        assert "AddressSanitizer" not in err and "runtime error" not in err, err
        assert rc in (0, CONFIG), err


@needs_kvm
def test_elf_kernel_rewritten_while_loading(figment, guest, tmp_path):
    """A concurrent pwrite of a program header's p_offset: the loader used to
    re-read it from the file mapping after checking it (SIGSEGV)."""
    k = tmp_path / "vmlinux"
    good = open(guest("pvh_cpuid.elf"), "rb").read()
    k.write_bytes(good)
    fd = os.open(k, os.O_WRONLY)
    phoff = struct.unpack_from("<Q", good, 32)[0]
    at = phoff + 8  # p_offset of the first program header
    bad, orig = struct.pack("<Q", 1 << 62), good[at:at + 8]
    try:
        _no_crash(_race(figment, ["run", "--kernel", str(k), "--serial", "none"],
                        lambda: os.pwrite(fd, bad, at), lambda: os.pwrite(fd, orig, at)))
    finally:
        os.close(fd)


@needs_kvm
def test_initrd_truncated_while_loading(figment, guest, tmp_path):
    """Truncating the initrd while it is copied used to raise SIGBUS."""
    i = tmp_path / "initrd"
    size = 48 << 20
    with open(i, "wb") as f:
        f.truncate(size)
    fd = os.open(i, os.O_WRONLY)
    try:
        statuses = _race(figment, ["run", "--kernel", guest("hello.bin"), "--initrd", str(i),
                                   "--mem", "256", "--serial", "none"],
                         lambda: os.ftruncate(fd, 4096), lambda: os.ftruncate(fd, size))
    finally:
        os.close(fd)
    _no_crash(statuses)
