"""virtio-blk and virtio-rng with real Linux guests in the nested lab: both
guest kernels boot from an ext4 root disk (the minimal one finds its devices
through virtio_mmio.device=, Debian's cloud kernel through the ACPI DSDT and
its modules); data written in the guest reaches the image, host-prepared
files read back intact, read-only drives refuse writes, a flush reaches the
image before the guest's fsync returns, /dev/hwrng gives bytes."""
import hashlib
import os
import re
import shutil

import pytest

from conftest import ROOT, run, run_lab, sh_quote

MKROOTFS = ROOT / "tools" / "guest" / "mkrootfs.sh"
BASE = "console=ttyS0 reboot=k panic=-1 quiet pci=off"
KERNELS = {
    "min": "--kernel bzImage",
    "cloud": "--kernel cloud-bzImage --initrd initramfs-cloud.cpio.gz --mem 256",
}
WRITE_KIB = 256

# Runs in the guest (no double quotes: the kernel's command line has no
# escapes): report the root mount, check the host file, write
# random data to a file on the root disk and to the raw data disk, try the
# read-only disk, read the entropy device.
GUEST_CMD = (
    "grep -v '^rootfs' /proc/mounts | grep ' / ' | sed 's/^/ROOT /'; "
    "sha256sum /hostfile.bin | sed 's/^/HOSTFILE /'; "
    f"dd if=/dev/urandom of=/guest.bin bs=1024 count={WRITE_KIB} 2>/dev/null; "
    "sha256sum /guest.bin | sed 's/^/GUESTFILE /'; "
    "dd if=/guest.bin of=/dev/vdb bs=65536 conv=fsync 2>/dev/null && echo DATA-WRITTEN; "
    "echo RO-FLAG $(cat /sys/block/vdc/ro); "
    "dd if=/dev/zero of=/dev/vdc bs=512 count=1 conv=fsync 2>/dev/null; echo RO-WRITE $?; "
    "echo RNG $(head -c 4096 /dev/hwrng | wc -c)"
)
# Second boot from the same disk: the file written by the first is there.
REBOOT_CMD = "sha256sum /guest.bin | sed 's/^/GUESTFILE /'"
# Flush test: fsync on the raw disk, say so, then wait to be killed.
FLUSH_CMD = (f"dd if=/dev/urandom of=/dev/vdb bs=1024 count={WRITE_KIB} conv=fsync 2>/dev/null; "
             f"head -c {WRITE_KIB * 1024} /dev/vdb | sha256sum | sed 's/^/FLUSHED /'; sleep 600")



def fig(kernel, drives, cmd, extra=""):
    cmdline = f'{BASE} fig_run="{cmd}"'
    return (f"timeout -k 10 180 figment run {KERNELS[kernel]} {drives} {extra} "
            f"--cmdline {sh_quote(cmdline)}")


def lab_script():
    lines = ["cd /guest", "cp -a /extra /work", "cd /work"]
    for k in KERNELS:
        drives = (f"--drive id=root,path=/work/root-{k}.ext4,root=on "
                  f"--drive id=data,path=/work/data-{k}.img,cache=writeback "
                  f"--drive id=ro,path=/work/ro.img,readonly=on --rng")
        lines += [f"cd /guest; echo '=== {k} start'",
                  fig(k, drives, GUEST_CMD) + " 2>&1",
                  f"echo \"=== {k} exit $?\"",
                  f"echo \"=== {k} host-data $(head -c {WRITE_KIB * 1024} /work/data-{k}.img | sha256sum)\"",
                  f"echo \"=== {k} host-ro $(sha256sum < /work/ro.img)\"",
                  f"echo '=== {k}-again start'",
                  fig(k, f"--drive id=root,path=/work/root-{k}.ext4,root=on", REBOOT_CMD) + " 2>&1",
                  f"echo \"=== {k}-again exit $?\""]
    # Flush: kill -9 the VMM as soon as the guest's fsync returned.
    flush = fig("min", "--drive id=root,path=/work/root-min.ext4,root=on "
                "--drive id=data,path=/work/flush.img,cache=writeback", FLUSH_CMD)
    lines += ["echo '=== flush start'",
              f"{flush} > /work/flush.out 2>&1 & pid=$!",
              "i=0; while ! grep -q FLUSHED /work/flush.out && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done",
              "kill -9 $pid; wait $pid; cat /work/flush.out",
              f"echo \"=== flush host-data $(head -c {WRITE_KIB * 1024} /work/flush.img | sha256sum)\"",
              "echo '=== flush exit 0'"]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    work = tmp_path_factory.mktemp("virtio-lab")
    files = work / "files"
    files.mkdir()
    host = os.urandom(200 * 1024)
    (files / "hostfile.bin").write_bytes(host)
    for k in KERNELS:
        r = run([str(MKROOTFS), str(work / f"root-{k}.ext4"), "48", str(files)], timeout=300)
        assert r.returncode == 0, r.stderr
        with open(work / f"data-{k}.img", "wb") as f:
            f.truncate(4 << 20)
    ro = os.urandom(1 << 20)
    (work / "ro.img").write_bytes(ro)
    with open(work / "flush.img", "wb") as f:
        f.truncate(4 << 20)
    shutil.rmtree(files)
    r = run_lab(lab_script(), timeout=600, extra=work)
    return {"out": r.stdout, "host_sha": hashlib.sha256(host).hexdigest(),
            "ro_sha": hashlib.sha256(ro).hexdigest()}


def section(lab, name):
    m = re.search(rf"=== {name} start\n(.*?)=== {name} exit (\d+)", lab["out"], re.S)
    assert m, f"no output for {name}:\n{lab['out'][-3000:]}"
    return m.group(1), int(m.group(2))


def field(text, key):
    m = re.search(rf"^{key} (\S+)", text, re.M)
    assert m, f"no {key} in:\n{text}"
    return m.group(1)


def host_line(lab, name, what):
    m = re.search(rf"=== {name} {what} ([0-9a-f]{{64}})", lab["out"])
    assert m, lab["out"][-3000:]
    return m.group(1)


@pytest.mark.parametrize("k", KERNELS)
def test_boots_from_ext4_root_disk(lab, k):
    text, status = section(lab, k)
    assert status == 0, text
    assert "FIGMENT-RUN-EXIT 0" in text, text
    root = re.search(r"^ROOT (\S+) / (\S+)", text, re.M)
    assert root and root.group(2) == "ext4" and root.group(1) in ("/dev/root", "/dev/vda"), text


@pytest.mark.parametrize("k", KERNELS)
def test_guest_reads_host_prepared_file(lab, k):
    text, _ = section(lab, k)
    assert field(text, "HOSTFILE") == lab["host_sha"]


@pytest.mark.parametrize("k", KERNELS)
def test_guest_writes_reach_the_image(lab, k):
    text, _ = section(lab, k)
    assert "DATA-WRITTEN" in text, text
    assert field(text, "GUESTFILE") == host_line(lab, k, "host-data")


@pytest.mark.parametrize("k", KERNELS)
def test_file_written_survives_a_second_boot(lab, k):
    first, _ = section(lab, k)
    again, status = section(lab, f"{k}-again")
    assert status == 0, again
    assert field(again, "GUESTFILE") == field(first, "GUESTFILE")


@pytest.mark.parametrize("k", KERNELS)
def test_read_only_drive_refuses_writes(lab, k):
    text, _ = section(lab, k)
    assert field(text, "RO-FLAG") == "1"
    assert field(text, "RO-WRITE") != "0"
    assert host_line(lab, k, "host-ro") == lab["ro_sha"]


@pytest.mark.parametrize("k", KERNELS)
def test_hwrng_gives_bytes(lab, k):
    text, _ = section(lab, k)
    assert field(text, "RNG") == "4096"


def test_flush_reaches_the_image_before_fsync_returns(lab):
    text, _ = section(lab, "flush")
    assert field(text, "FLUSHED") == host_line(lab, "flush", "host-data"), text
