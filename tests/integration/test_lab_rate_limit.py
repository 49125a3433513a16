"""Rate limits with a real Linux guest in the nested lab: a drive limited to
4 MiB/s reads at that rate (within 10%), and PATCH /drives/{id} with a new
rate_limiter changes the rate of the running VM to 8 MiB/s."""
import json
import os
import re
import shutil

import pytest

from conftest import run_lab

MIB = 1 << 20
READ_MIB = 12

# The guest reads READ_MIB MiB twice, from two different places of the disk
# (so the page cache cannot serve the second), timing each with
# /proc/uptime; between the two it waits for the host's PATCH.
GUEST = ("up() { cut -d' ' -f1 /proc/uptime; }; "
         f"t0=$(up); dd if=/dev/vda of=/dev/null bs=64k count={READ_MIB * 16} 2>/dev/null; t1=$(up); "
         "echo RATE1 $t0 $t1; sleep 6; "
         f"t0=$(up); dd if=/dev/vda of=/dev/null bs=64k skip={READ_MIB * 16} count={READ_MIB * 16} "
         "2>/dev/null; t1=$(up); echo RATE2 $t0 $t1")

SCRIPT = r"""
dd if=/dev/zero of=/tmp/data.img bs=1M count=32 2>/dev/null
figment --api-sock /tmp/r.sock --config-file /extra/vm.json > /tmp/vm.out 2>&1 &
pid=$!
i=0; while ! grep -q RATE1 /tmp/vm.out && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done
out=$(curl -s --unix-socket /tmp/r.sock -X PATCH http://localhost/drives/data -d @/extra/patch.json -w ' %{http_code}')
echo "PATCH -> ${out##* }"
i=0; while ! grep -q RATE2 /tmp/vm.out && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done
sleep 1
kill $pid 2>/dev/null; wait $pid
grep RATE /tmp/vm.out
grep -i "error\|warn" /tmp/vm.out | head -5
"""


def bucket(mib_per_s, size_mib):
    """A bandwidth bucket of @size_mib refilled at @mib_per_s."""
    return {"size": size_mib * MIB, "refill_time": int(size_mib * 1000 / mib_per_s)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    curl = shutil.which("curl")
    if not curl:
        pytest.fail("curl is not installed (tools/deps.sh installs it)")
    extra = tmp_path_factory.mktemp("rate-lab")
    (extra / "vm.json").write_text(json.dumps({
        "boot-source": {"kernel_image_path": "/guest/bzImage",
                        "initrd_path": "/guest/initramfs.cpio.gz",
                        "boot_args": f'console=ttyS0 reboot=k panic=-1 quiet pci=off fig_run="{GUEST}"'},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
        "drives": [{"drive_id": "data", "path_on_host": "/tmp/data.img",
                    "is_root_device": False, "is_read_only": True,
                    "rate_limiter": {"bandwidth": bucket(4, 1)}}]}))
    (extra / "patch.json").write_text(json.dumps({
        "drive_id": "data", "rate_limiter": {"bandwidth": bucket(8, 2)}}))
    r = run_lab(SCRIPT, timeout=400, extra=extra, tools=[curl])
    return r.stdout


def _seconds(out, tag):
    m = re.search(rf"^{tag} ([\d.]+) ([\d.]+)$", out, re.M)
    assert m, out
    return float(m.group(2)) - float(m.group(1))


def _expected(rate_mib, size_mib):
    # the bucket starts full: its size goes at once, the rest at the rate
    return (READ_MIB - size_mib) / rate_mib


def test_limited_drive_reads_at_its_rate(lab):
    took = _seconds(lab, "RATE1")
    want = _expected(4, 1)
    print(f"4 MiB/s limit: {READ_MIB} MiB in {took:.2f} s, expected {want:.2f} s")
    assert abs(took - want) <= 0.1 * want, f"{READ_MIB} MiB in {took:.2f} s, expected {want:.2f} s"


def test_patch_changes_the_rate_of_a_running_vm(lab):
    assert "PATCH -> 204" in lab, lab
    took = _seconds(lab, "RATE2")
    want = _expected(8, 2)
    print(f"8 MiB/s after PATCH: {READ_MIB} MiB in {took:.2f} s, expected {want:.2f} s")
    assert abs(took - want) <= 0.1 * want, f"{READ_MIB} MiB in {took:.2f} s, expected {want:.2f} s"
