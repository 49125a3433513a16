"""virtio-vsock across a snapshot, in the nested lab, both guest kernels: a
Linux guest with a live vsock echo server (tests/guests/vsock_echo.c) and
two connections open, one each way, is snapshotted (`figment snapshot
--paused`), its figment killed with SIGKILL, and restored in a new figment
process (`figment run --restore`). What the README says happens, as with
Firecracker:

- the connections open at snapshot time are gone: the host ends were the
  old process's sockets (the host client reads EOF or a reset when it dies),
  and the restored device sends the guest VIRTIO_VSOCK_EVENT_TRANSPORT_RESET,
  so the guest's socket of its own connection ends too (without the event it
  would wait forever: it only reads);
- new connections work both ways after the restore: the host connects
  through the (re-bound) Unix socket with "CONNECT 52", the guest to host
  port 5000;
- and (the restored figment being a running one like any other) a host
  client that connects and never sends its CONNECT line is closed after the
  2 s timeout."""
import json
import os
import re

import pytest

from conftest import ROOT, guest_artifact, run, run_lab
from test_lab_snapshot import _cpio_newc

UDS = "/run/fig/v.sock"
KERNELS = {
    "min": ("/guest/bzImage", "initramfs.cpio.gz", 128),
    "cloud": ("/guest/cloud-bzImage", "initramfs-cloud.cpio.gz", 256),
}
# In the guest: the echo server, a connection of its own to host port 5000
# that only reads (and, once it ended, a new one), and a ticker.
GUEST_CMD = (
    "vsock-echo serve-vsock 52 & "
    "(vsock-echo watch-vsock 2 5000 | sed s/^/GUEST-/; "
    "vsock-echo client-vsock 2 5000 1 65536 | sed s/^/AFTER-G2H-/) & "
    "sleep 0.5; echo GUEST-READY; i=0; "
    "while true; do i=$((i+1)); echo TICK $i; sleep 0.3; done"
)


def wait_for(f, word, tries=1500):
    return (f"i=0; while ! grep -q {word} {f} && [ $i -lt {tries} ]; "
            "do sleep 0.2; i=$((i+1)); done")


def lab_script():
    lines = [
        "mkdir -p /run/fig",
        "cp /extra/vsock-echo /usr/local/bin/",
        f"vsock-echo serve-unix {UDS}_5000 &",
    ]
    for k in KERNELS:
        lines += [
            f"echo '=== {k}'",
            "rm -rf /tmp/snap /tmp/a.sock",
            f"figment --api-sock /tmp/a.sock --config-file /extra/vm-{k}.json > /tmp/vm1.out 2>&1 & pid=$!",
            wait_for("/tmp/vm1.out", "GUEST-HOLDING"),
            # a host-initiated connection, open at snapshot time
            f"vsock-echo watch-unix {UDS} 52 > /tmp/hw.out 2>&1 &",
            wait_for("/tmp/hw.out", "HOLDING", 300),
            "echo \"BEFORE $(cat /tmp/hw.out | tr '\\n' ' ')\"",
            "figment snapshot --api-sock /tmp/a.sock --out /tmp/snap --paused; echo \"SNAPSHOT-EXIT $?\"",
            "kill -9 $pid; wait $pid 2>/dev/null",
            wait_for("/tmp/hw.out", "HOLD-ENDED", 100),
            "echo \"HOST-OLD $(grep HOLD-ENDED /tmp/hw.out)\"",
            "timeout -k 10 300 figment run --restore /tmp/snap > /tmp/vm2.out 2>&1 & rpid=$!",
            wait_for("/tmp/vm2.out", "TICK"),
            f"vsock-echo client-unix {UDS} 52 1 65536 | sed 's/^/AFTER-H2G-/'",
            # a host client that never sends its CONNECT line is closed
            f"timeout 30 vsock-echo silent-unix {UDS}",
            wait_for("/tmp/vm2.out", "AFTER-G2H-"),
            "kill $rpid; wait $rpid; echo \"RESTORE-EXIT $?\"",
            "grep -v TICK /tmp/vm2.out | sed 's/^/RESTORED /'",
        ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    extra = tmp_path_factory.mktemp("lab-vsock-snap")
    prog = extra / "vsock-echo"
    r = run(["gcc", "-static", "-Os", "-o", str(prog),
             str(ROOT / "tests" / "guests" / "vsock_echo.c")], timeout=120)
    assert r.returncode == 0, r.stderr
    for k, (kernel, initrd, mem) in KERNELS.items():
        data = guest_artifact(initrd).read_bytes() + _cpio_newc(
            {"bin/vsock-echo": (0o100755, prog.read_bytes())})
        (extra / f"{k}-{initrd}").write_bytes(data)
        vm = {"boot-source": {"kernel_image_path": kernel,
                              "initrd_path": f"/extra/{k}-{initrd}",
                              "boot_args": "console=ttyS0 reboot=k panic=-1 quiet pci=off "
                                           f'fig_run="{GUEST_CMD}"'},
              "machine-config": {"vcpu_count": 1, "mem_size_mib": mem},
              "vsock": {"guest_cid": 3, "uds_path": UDS}}
        (extra / f"vm-{k}.json").write_text(json.dumps(vm))
    r = run_lab(lab_script(), timeout=900, extra=extra)
    (tmp_path_factory.mktemp("lab-vsock-snap-out") / "lab.out").write_text(r.stdout)
    sections = {}
    for part in r.stdout.split("=== ")[1:]:
        name, _, body = part.partition("\n")
        sections[name.strip()] = body
    return sections


@pytest.mark.parametrize("k", list(KERNELS))
def test_snapshot_taken(lab, k):
    s = lab.get(k)
    assert s is not None, lab
    assert "BEFORE HOLDING" in s, s
    assert "SNAPSHOT-EXIT 0" in s, s


@pytest.mark.parametrize("k", list(KERNELS))
def test_old_connections_end_on_both_sides(lab, k):
    s = lab.get(k, "")
    # the host end: its peer, the old process, is gone
    assert re.search(r"^HOST-OLD HOLD-ENDED \S", s, re.M), s
    # the guest end: ended by the TRANSPORT_RESET event (it only reads)
    assert re.search(r"^RESTORED GUEST-HOLD-ENDED \S", s, re.M), s


@pytest.mark.parametrize("k", list(KERNELS))
def test_new_connections_after_restore(lab, k):
    s = lab.get(k, "")
    assert "AFTER-H2G-ECHO-OK 1 of 1" in s, s
    assert "RESTORED AFTER-G2H-ECHO-OK 1 of 1" in s, s


@pytest.mark.parametrize("k", list(KERNELS))
def test_restored_vm_ends_cleanly(lab, k):
    s = lab.get(k, "")
    m = re.search(r"^RESTORE-EXIT (\d+)", s, re.M)
    assert m and m.group(1) in ("0", "8", "124", "143"), s


@pytest.mark.parametrize("k", list(KERNELS))
def test_silent_host_client_is_closed(lab, k):
    s = lab.get(k, "")
    m = re.search(r"^SILENT-CLOSED (\d+)", s, re.M)
    assert m, s
    # 2 s, give or take the lab's scheduling (not the 30 s kill)
    assert 1500 <= int(m.group(1)) <= 15000, s
