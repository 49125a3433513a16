"""Snapshots of real Linux guests in the nested lab, both guest kernels, 1
and 2 vCPUs: a shell in the guest writes a file in tmpfs and counts; figment
is snapshotted (`figment snapshot`), killed with SIGKILL, and restored
(`figment run --restore`): the file is there, the count goes on from where
it was, and the guest's clock moves forward from where it stood. With a
root disk (virtio-blk), the restored guest's writes reach the image: a
third boot of the same image reads them back. Two clones restored from one
snapshot are told by the VM generation ID device that they are clones: their
kernels reseed, and their /dev/urandom outputs differ."""
import gzip
import json
import os
import re

import pytest

from conftest import ROOT, guest_artifact, run, run_lab

MKROOTFS = ROOT / "tools" / "guest" / "mkrootfs.sh"

TICKER = ("echo kept > /tmp/file; i=0; while true; do i=$((i+1)); "
          "echo TICK $i $(cat /tmp/file) $(cut -d. -f1 /proc/uptime); sleep 0.3; done")

VMS = {
    "min1": ("/guest/bzImage", "/guest/initramfs.cpio.gz", 1, 128),
    "min2": ("/guest/bzImage", "/guest/initramfs.cpio.gz", 2, 128),
    "cloud1": ("/guest/cloud-bzImage", "/guest/initramfs-cloud.cpio.gz", 1, 256),
    "cloud2": ("/guest/cloud-bzImage", "/guest/initramfs-cloud.cpio.gz", 2, 256),
    "disk": ("/guest/bzImage", "/guest/initramfs.cpio.gz", 1, 128),
    "diff": ("/guest/bzImage", "/guest/initramfs.cpio.gz", 2, 128),
}
# the per-VM loop covers these; "diff" has its own steps
LOOPED = ["min1", "min2", "cloud1", "cloud2", "disk"]
DISK_TICKER = ("echo kept > /tmp/file; i=0; while true; do i=$((i+1)); echo $i > /disk-tick; sync; "
               "echo TICK $i $(cat /tmp/file) $(cut -d. -f1 /proc/uptime); sleep 0.3; done")

# For each VM: boot from its config file behind an API socket, wait for the
# third tick, snapshot, SIGKILL, restore, wait for four ticks, stop.
SCENARIO = r"""
cp /extra/root.ext4 /tmp/root.ext4
for v in min1 min2 cloud1 cloud2 disk; do
	echo "=== $v"
	rm -rf /tmp/snap /tmp/a.sock
	figment --api-sock /tmp/a.sock --config-file /extra/vm-$v.json > /tmp/vm1.out 2>&1 &
	pid=$!
	i=0; while ! grep -q "TICK 3 " /tmp/vm1.out && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
	figment snapshot --api-sock /tmp/a.sock --out /tmp/snap --paused; echo "SNAPSHOT-EXIT $?"
	last=$(grep TICK /tmp/vm1.out | tail -1)
	echo "AT-SNAPSHOT $last"
	kill -9 $pid; wait $pid 2>/dev/null
	echo "MEMORY-KIB $(du -k /tmp/snap/memory | cut -f1)"
	timeout 60 figment run --restore /tmp/snap > /tmp/vm2.out 2>&1 &
	rpid=$!
	i=0; while [ $(grep -c TICK /tmp/vm2.out) -lt 4 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
	kill $rpid; wait $rpid; echo "RESTORE-EXIT $?"
	grep TICK /tmp/vm2.out | sed 's/^/RESTORED /'
	grep -v TICK /tmp/vm2.out | tail -3
done
echo "=== diff"
rm -rf /tmp/snap /tmp/a.sock
figment --api-sock /tmp/a.sock --config-file /extra/vm-diff.json > /tmp/vm1.out 2>&1 &
pid=$!
i=0; while ! grep -q "TICK 3 " /tmp/vm1.out && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
figment snapshot --api-sock /tmp/a.sock --out /tmp/snap; echo "FULL-EXIT $?"
echo "AT-FULL $(grep TICK /tmp/vm1.out | tail -1)"
i=0; while ! grep -q "TICK 9 " /tmp/vm1.out && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
figment snapshot --api-sock /tmp/a.sock --out /tmp/snap --diff --paused; echo "DIFF-EXIT $?"
echo "AT-DIFF $(grep TICK /tmp/vm1.out | tail -1)"
kill -9 $pid; wait $pid 2>/dev/null
timeout 60 figment run --restore /tmp/snap > /tmp/vm2.out 2>&1 &
rpid=$!
i=0; while [ $(grep -c TICK /tmp/vm2.out) -lt 3 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
kill $rpid; wait $rpid
grep TICK /tmp/vm2.out | sed 's/^/RESTORED /'
echo "=== reread"
timeout 120 figment run --kernel /guest/bzImage --initrd /guest/initramfs.cpio.gz \
	--drive id=root,path=/tmp/root.ext4,root=on \
	--cmdline 'console=ttyS0 reboot=k panic=-1 quiet pci=off fig_run="echo ON-DISK $(cat /disk-tick)"' 2>&1 | grep ON-DISK
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    extra = tmp_path_factory.mktemp("snap-lab")
    r = run([str(MKROOTFS), str(extra / "root.ext4"), "32"], timeout=300)
    assert r.returncode == 0, r.stderr
    for name, (kernel, initrd, cpus, mem) in VMS.items():
        vm = {"boot-source": {"kernel_image_path": kernel, "initrd_path": initrd,
                              "boot_args": 'console=ttyS0 reboot=k panic=-1 quiet pci=off '
                                           f'fig_run="{DISK_TICKER if name == "disk" else TICKER}"'},
              "machine-config": {"vcpu_count": cpus, "mem_size_mib": mem}}
        if name == "diff":
            vm["machine-config"]["track_dirty_pages"] = True
        if name == "disk":
            vm["drives"] = [{"drive_id": "root", "path_on_host": "/tmp/root.ext4",
                             "is_root_device": True, "is_read_only": False}]
        (extra / f"vm-{name}.json").write_text(json.dumps(vm))
    r = run_lab(SCENARIO, timeout=420, extra=extra)
    sections = {}
    for part in r.stdout.split("=== ")[1:]:
        name, _, body = part.partition("\n")
        sections[name.strip()] = body
    return sections


@pytest.mark.parametrize("vm", LOOPED)
def test_restored_guest_goes_on(lab, vm):
    out = lab.get(vm)
    assert out is not None, lab
    assert "SNAPSHOT-EXIT 0" in out, out
    at = re.search(r"^AT-SNAPSHOT TICK (\d+) kept (\d+)$", out, re.M)
    assert at, out
    tick, uptime = int(at.group(1)), int(at.group(2))
    ticks = [(int(a), b, int(c)) for a, b, c in
             re.findall(r"^RESTORED TICK (\d+) (\S+) (\d+)$", out, re.M)]
    assert len(ticks) >= 4, out
    first = ticks[0][0]
    # the count goes on from the snapshot (the tick in flight may repeat)
    assert first in (tick, tick + 1), (tick, ticks)
    assert [t for t, _, _ in ticks] == list(range(first, first + len(ticks)))
    # the tmpfs file written before the snapshot is there
    assert all(f == "kept" for _, f, _ in ticks), ticks
    # time moves forward from where it stood, by seconds, not days
    assert all(uptime <= u <= uptime + 30 for _, _, u in ticks), (uptime, ticks)
    assert "RESTORE-EXIT 8" in out, out


def test_restored_guest_writes_reach_its_disk(lab):
    ticks = [int(t) for t in re.findall(r"^RESTORED TICK (\d+) ", lab["disk"], re.M)]
    on_disk = re.search(r"^ON-DISK (\d+)$", lab["reread"], re.M)
    assert ticks and on_disk, lab["reread"]
    # the last tick written and synced before the restored VM was stopped
    assert int(on_disk.group(1)) >= ticks[-1], (ticks, on_disk.group(1))


def test_diff_snapshot_restores_the_later_state(lab):
    out = lab["diff"]
    assert "FULL-EXIT 0" in out and "DIFF-EXIT 0" in out, out
    full = int(re.search(r"^AT-FULL TICK (\d+) ", out, re.M).group(1))
    diff = int(re.search(r"^AT-DIFF TICK (\d+) ", out, re.M).group(1))
    ticks = [int(t) for t in re.findall(r"^RESTORED TICK (\d+) kept ", out, re.M)]
    assert diff > full + 3 and ticks, out
    # the later state, not the full snapshot's
    assert ticks[0] in (diff, diff + 1), (full, diff, ticks)


def test_memory_file_holds_only_what_the_guest_touched(lab):
    for vm in LOOPED:
        mem = VMS[vm][3]
        kib = int(re.search(r"^MEMORY-KIB (\d+)$", lab[vm], re.M).group(1))
        assert 0 < kib < mem * 1024 * 0.9, (vm, kib)


# ---- VM generation ID: two clones of one snapshot reseed their RNGs ----
#
# Linux 6.1 reseeds its crng by itself too, on the first use after an
# interval (during the first two minutes, half the uptime in whole seconds),
# and a reseed mixes in RDSEED/RDRAND and the TSC, which differ between
# clones: so two clones' /dev/urandom would often differ even without the
# VM generation ID. To make the comparison mean something, the guest waits
# until the interval is 4 s, initializes its crng if that has not happened
# yet (before, the kernel does not reseed at all, not even for a VM
# generation change) and forces a reseed (fig-reseed: getrandom(), then the
# RNDRESEEDCRNG ioctl) right before it says READY, and reads /dev/urandom only after
# sleeping 1 s: the snapshot falls into that sleep, and a clone's first read
# comes well inside the interval. Without the notification, both clones'
# first reads are then the same bytes (checked once by disabling
# vmgenid_notify(): equal); with it, each clone's kernel has reseeded
# ("crng reseeded due to virtual machine fork", counted by the guest) before
# it reads. The guest's `grep 'for[k]'` does not match its own command line,
# which dmesg also shows.
RESEED_C = r"""
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/random.h>
int main(void)
{
	char c;
	int fd = open("/dev/urandom", O_RDONLY);

	/* a blocking getrandom() makes the kernel initialize its crng now
	 * (jitter entropy): before that, it does not reseed at all */
	if (fd < 0 || getrandom(&c, 1, 0) != 1 ||
	    ioctl(fd, RNDRESEEDCRNG) < 0) {
		perror("fig-reseed");
		return 1;
	}
	return 0;
}
"""
GENID_RUN = ("for d in /sys/bus/acpi/drivers/vmgenid/*:* /sys/bus/platform/drivers/acpi-ged/*:*; "
             "do echo BOUND $d; done; "
             "while [ $(cut -d. -f1 /proc/uptime) -lt 8 ]; do sleep 0.5; done; "
             "fig-reseed && echo READY; sleep 1; "
             "while true; do echo RAND $(dmesg | grep -c 'virtual machine for[k]') "
             "$(head -c 32 /dev/urandom | od -An -tx1); sleep 0.3; done")

# Boot, snapshot during the guest's 1 s sleep, SIGKILL, restore twice, one
# clone after the other, each until it has begun a fourth line (so that
# three are complete).
GENID_SCENARIO = r"""
: > /tmp/vm1.out
figment --api-sock /tmp/a.sock --config-file /extra/vm-genid.json > /tmp/vm1.out 2>&1 &
pid=$!
i=0; while ! grep -q '^READY' /tmp/vm1.out && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
figment snapshot --api-sock /tmp/a.sock --out /tmp/snap --paused; echo "SNAPSHOT-EXIT $?"
grep -e BOUND -e READY -e RAND /tmp/vm1.out | sed 's/^/BOOT /'
kill -9 $pid; wait $pid 2>/dev/null
for c in 1 2; do
	: > /tmp/c$c.out
	timeout 60 figment run --restore /tmp/snap > /tmp/c$c.out 2>&1 &
	rpid=$!
	i=0; while [ $(grep -c '^RAND' /tmp/c$c.out) -lt 4 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
	kill $rpid; wait $rpid; echo "CLONE$c-EXIT $?"
	grep -e '^RAND' /tmp/c$c.out | sed "s/^/CLONE$c /"
	grep -v -e '^RAND' /tmp/c$c.out | tail -3
done
"""


def _cpio_newc(files):
    """A gzip'd cpio archive (newc) holding @files ({path: (mode, bytes)}),
    which the kernel unpacks after the initramfs it is appended to."""
    out = b""
    for ino, (name, (mode, data)) in enumerate(list(files.items()) + [("TRAILER!!!", (0, b""))]):
        nb = name.encode() + b"\0"
        fields = [ino + 1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0]
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields) + nb
        out += hdr + b"\0" * (-len(hdr) % 4) + data + b"\0" * (-len(data) % 4)
    return gzip.compress(out)


def genid_extra(extra):
    """Fills @extra for GENID_SCENARIO: the minimal kernel's initramfs with
    fig-reseed appended, and the VM's config."""
    r = run(["gcc", "-static", "-Os", "-o", str(extra / "fig-reseed"), "-x", "c", "-"],
            input=RESEED_C, stdin=None)
    assert r.returncode == 0, r.stderr
    initrd = guest_artifact("initramfs.cpio.gz").read_bytes() + _cpio_newc(
        {"bin/fig-reseed": (0o100755, (extra / "fig-reseed").read_bytes())})
    (extra / "initramfs-genid.cpio.gz").write_bytes(initrd)
    vm = {"boot-source": {"kernel_image_path": "/guest/bzImage",
                          "initrd_path": "/extra/initramfs-genid.cpio.gz",
                          "boot_args": "console=ttyS0 reboot=k panic=-1 quiet pci=off "
                                       f'fig_run="{GENID_RUN}"'},
          "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
    (extra / "vm-genid.json").write_text(json.dumps(vm))


@pytest.fixture(scope="module")
def genid_lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    extra = tmp_path_factory.mktemp("genid-lab")
    genid_extra(extra)
    return run_lab(GENID_SCENARIO, timeout=300, extra=extra).stdout


def _clone_reads(out, c):
    """Clone @c's lines: [(reseeds seen, the 32 bytes)]."""
    return [(int(n), b) for n, b in re.findall(rf"^CLONE{c} RAND (\d+) ((?:[0-9a-f]{{2}} ?){{32}})",
                                                out, re.M)]


def test_clones_are_told_and_their_urandom_differs(genid_lab):
    out = genid_lab
    assert "SNAPSHOT-EXIT 0" in out, out
    # the driver and the GED bound in the guest that was snapshotted
    assert "BOOT BOUND /sys/bus/acpi/drivers/vmgenid/FGMT0001:00" in out, out
    assert "BOOT BOUND /sys/bus/platform/drivers/acpi-ged/ACPI0013:00" in out, out
    assert re.search(r"^BOOT READY", out, re.M), out
    first = []
    for c in (1, 2):
        reads = _clone_reads(out, c)
        assert len(reads) >= 3, out
        assert f"CLONE{c}-EXIT 8" in out, out
        # told once, before its first read (the notification comes as the
        # vCPUs start; the guest reads a second later)
        assert [n for n, _ in reads] == [1] * len(reads), (c, reads)
        first.append([b for _, b in reads[:3]])
    # every read differs from the other clone's (without the notification
    # they are the same, read for read)
    assert all(a != b for a, b in zip(*first)), out
