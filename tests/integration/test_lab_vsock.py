"""virtio-vsock with real Linux guests in the nested lab, Firecracker's
hybrid model (host Unix sockets), for both guest kernels (the minimal one
with vsock built in, Debian's cloud kernel with vsock,
vmw_vsock_virtio_transport_common and vmw_vsock_virtio_transport as
modules, which the guest /init loads). One static program of ours,
tests/guests/vsock_echo.c, is both ends: in the guest (appended to the
initramfs) and on the lab host.

- an echo both ways: the host connects through figment's socket with
  "CONNECT 52" to an echo server in the guest, and the guest connects to host
  port 5000, i.e. the Unix socket <uds>_5000 where an echo server listens;
  1 MiB over one connection each way (credit flow), then 100 connections at
  once each way, every byte checked;
- a killed peer on either side is cleaned up: a host program holding a
  connection is killed with SIGKILL, then a guest program holding one, and
  each time figment's open descriptors (/proc/PID/fd) go back to what they
  were before the connection."""
import os
import re

import pytest

from conftest import lab_section, lab_transcript, ROOT, guest_artifact, run
from test_lab_snapshot import _cpio_newc

BASE = "console=ttyS0 reboot=k panic=-1 quiet pci=off"
KERNELS = {
    "min": ("/guest/bzImage", "initramfs.cpio.gz", 128),
    "cloud": ("/guest/cloud-bzImage", "initramfs-cloud.cpio.gz", 256),
}
UDS = "/run/fig/v.sock"

# In the guest (no double quotes: the kernel's command line has none): an
# echo server on port 52, the guest's own clients to host port 5000, then,
# when the host connects to port 53, a connection that is killed.
GUEST_CMD = (
    "vsock-echo serve-vsock 52 & sleep 0.5; echo GUEST-READY; "
    "vsock-echo client-vsock 2 5000 1 1048576 | sed 's/^/G2H-ONE /'; "
    "vsock-echo client-vsock 2 5000 100 32768 | sed 's/^/G2H-100 /'; "
    "echo GUEST-CLIENTS-DONE; "
    "vsock-echo once-vsock 53; "
    "vsock-echo hold-vsock 2 5000 & h=$!; sleep 2; echo GUEST-HOLDING; "
    "sleep 3; kill -9 $h; echo GUEST-KILLED; sleep 600"
)


def sh_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def wait_for(k, word, tries=1500):
    return (f"i=0; while ! grep -q {word} /tmp/{k}.out && [ $i -lt {tries} ]; "
            "do sleep 0.2; i=$((i+1)); done")


def lab_script():
    lines = [
        "mkdir -p /run/fig",
        "cp /extra/vsock-echo /usr/local/bin/",
        f"vsock-echo serve-unix {UDS}_5000 &",
        "fds() { ls /proc/$pid/fd | wc -l; }",
    ]
    for k, (kernel, initrd, mem) in KERNELS.items():
        cmdline = f'{BASE} fig_run="{GUEST_CMD}"'
        lines += [
            f"echo '=== {k} start'",
            f"timeout -k 10 400 figment run --kernel {kernel} --initrd /extra/{k}-{initrd} "
            f"--mem {mem} --vsock cid=3,uds={UDS} --cmdline {sh_quote(cmdline)} "
            f"> /tmp/{k}.out 2>&1 & pid=$!",
            wait_for(k, "GUEST-READY"),
            f"vsock-echo client-unix {UDS} 52 1 1048576 | sed 's/^/=== {k} h2g-one /'",
            f"vsock-echo client-unix {UDS} 52 100 32768 | sed 's/^/=== {k} h2g-100 /'",
            wait_for(k, "GUEST-CLIENTS-DONE"),
            "sleep 2; base=$(fds)",
            # the host end of a connection killed
            f"vsock-echo hold-unix {UDS} 52 > /tmp/hold.out & hp=$!",
            "i=0; while ! grep -q HOLDING /tmp/hold.out && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
            "sleep 1; held=$(fds); kill -9 $hp; wait $hp 2>/dev/null; sleep 3; after=$(fds)",
            f"echo \"=== {k} host-kill base $base held $held after $after\"",
            # the guest end of one killed
            f"vsock-echo client-unix {UDS} 53 1 0 >/dev/null",
            wait_for(k, "GUEST-HOLDING"),
            "sleep 0.5; gheld=$(fds)",
            wait_for(k, "GUEST-KILLED"),
            "sleep 3; gafter=$(fds)",
            f"echo \"=== {k} guest-kill base $base held $gheld after $gafter\"",
            f"kill -TERM $pid 2>/dev/null; wait $pid; echo \"=== {k} exit $?\"",
            f"cat /tmp/{k}.out",
        ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    extra = tmp_path_factory.mktemp("lab-vsock")
    prog = extra / "vsock-echo"
    r = run(["gcc", "-static", "-Os", "-o", str(prog),
             str(ROOT / "tests" / "guests" / "vsock_echo.c")], timeout=120)
    assert r.returncode == 0, r.stderr
    for k, (_, initrd, _) in KERNELS.items():
        data = guest_artifact(initrd).read_bytes() + _cpio_newc(
            {"bin/vsock-echo": (0o100755, prog.read_bytes())})
        (extra / f"{k}-{initrd}").write_bytes(data)
    return lab_transcript(tmp_path_factory, "vsock-out", lab_script(), timeout=1200, extra=extra)




@pytest.mark.parametrize("k", list(KERNELS))
def test_echo_host_to_guest(lab, k):
    s = lab_section(lab, k)
    assert f"=== {k} h2g-one ECHO-OK 1 of 1" in s, s[-3000:]
    assert f"=== {k} h2g-100 ECHO-OK 100 of 100" in s, s[-3000:]


@pytest.mark.parametrize("k", list(KERNELS))
def test_echo_guest_to_host(lab, k):
    s = lab_section(lab, k)
    assert "G2H-ONE ECHO-OK 1 of 1" in s, s[-3000:]
    assert "G2H-100 ECHO-OK 100 of 100" in s, s[-3000:]


@pytest.mark.parametrize("k", list(KERNELS))
@pytest.mark.parametrize("side", ["host", "guest"])
def test_killed_peer_is_cleaned_up(lab, k, side):
    s = lab_section(lab, k)
    m = re.search(rf"=== {k} {side}-kill base (\d+) held (\d+) after (\d+)", s)
    assert m, s[-3000:]
    base, held, after = map(int, m.groups())
    assert held == base + 1, s[-3000:]
    assert after == base, f"figment kept a descriptor: {m.group(0)}\n{s[-3000:]}"


@pytest.mark.parametrize("k", list(KERNELS))
def test_vm_ends_cleanly(lab, k):
    s = lab_section(lab, k)
    m = re.search(rf"=== {k} exit (\d+)", s)
    assert m and m.group(1) in ("0", "8"), s[-3000:]
