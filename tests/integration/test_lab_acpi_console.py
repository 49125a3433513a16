"""The serial console of user space, both ways, in the nested lab, on the
kernel of issue 12: tools/guest/tiny-acpi-kernel.config (ACPI and the MP
table, no PCI, 8250 console, PVH). Such a kernel cannot load the DSDT (6.1's
ACPICA wants PCI for that) and turns ACPI off after taking its interrupt
setup from the MADT, so it finds COM1 at its ISA address and asks for IRQ 4
by number: printk polls the UART, but /init's output and input go through
the tty layer and the UART's interrupts. Each boot checks that what user
space writes reaches the console, that a line written to figment's stdin
reaches a shell in the guest, and that a virtio disk (IRQ 5, by number
from virtio_mmio.device=) reads back; with and without acpi=off, 1 and 2
vCPUs. The minimal and Debian cloud kernels (which find COM1 and the disk
through the DSDT) do the same once each. One lab boot runs every scenario."""
import os
import re
import shutil

import pytest

from conftest import guest_artifact, run_lab

BASE = "console=ttyS0 reboot=k panic=-1 quiet pci=off fig_exit=reboot"
TINY = "--kernel /extra/tiny-acpi-bzImage --initrd initramfs.cpio.gz"
MIN = "--kernel bzImage --initrd initramfs.cpio.gz"
CLOUD = "--kernel cloud-bzImage --initrd initramfs-cloud.cpio.gz --mem 256"
# name -> (figment arguments, extra kernel command line)
SCENARIOS = {
    "acpi-1": (f"{TINY} --cpus 1", ""),
    "acpi-2": (f"{TINY} --cpus 2", ""),
    "noacpi-1": (f"{TINY} --cpus 1", "acpi=off"),
    "noacpi-2": (f"{TINY} --cpus 2", "acpi=off"),
    "min-1": (f"{MIN} --cpus 1", ""),
    "cloud-2": (f"{CLOUD} --cpus 2", ""),
}
DISK_MARKER = b"FIGMENT-DISK-MARKER-12"
HOST_LINE = "line-from-the-host-12"

# What the guest's /init runs (sh -c). No double quotes: the kernel's command
# line has no escapes. The '' keep each marker out of the command line itself,
# which the kernel may print: only the guest's shell joins the halves. The
# shell waits (at most 30 s) for one line on the console (its stdin) after
# saying it is ready, and prints what it read.
GUEST_CMD = (
    "echo USER-SPACE-''OUTPUT; "
    f"echo DISK:$(head -c {len(DISK_MARKER)} /dev/vda); "
    "echo READY-FOR-''INPUT; "
    "read -t 30 -r line; echo GOT-''LINE:$line"
)

# The lab side: figment's stdin is a FIFO that this shell holds open
# (read-write, so figment never sees EOF and never blocks opening it); the
# line is written once the guest said it is ready, or not at all if figment
# ended first. Every wait is bounded: figment, this shell, and the guest's
# read (a console that lost its interrupt never delivers the line).
SCENARIO_SH = r"""
echo "=== {name} start"
rm -f /tmp/in /tmp/out; mkfifo /tmp/in
exec 3<>/tmp/in
timeout -k 5 150 figment run {args} --drive id=disk,path=/work/disk.img,readonly=on \
	--cmdline "{cmdline}" </tmp/in >/tmp/out 2>&1 &
pid=$!
i=0
while ! grep -q READY-FOR-INPUT /tmp/out && kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.2; i=$((i+1))
done
grep -q READY-FOR-INPUT /tmp/out && echo "{line}" >&3
wait $pid; st=$?
exec 3>&-
cat /tmp/out
echo "=== {name} exit $st"
"""


def lab_script():
    lines = ["cp -a /extra /work", "cd /guest"]
    for name, (args, extra) in SCENARIOS.items():
        cmdline = f'{BASE} {extra} fig_run="{GUEST_CMD}"'
        # For the lab shell's double quotes: \, ", $ and ` stay literal.
        quoted = re.sub(r'([\\"$`])', r"\\\1", cmdline)
        lines.append(SCENARIO_SH.format(name=name, args=args, cmdline=quoted,
                                        line=HOST_LINE))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    work = tmp_path_factory.mktemp("acpi-console-lab")
    shutil.copy(guest_artifact("tiny-acpi-bzImage"), work / "tiny-acpi-bzImage")
    with open(work / "disk.img", "wb") as f:
        f.write(DISK_MARKER)
        f.truncate(1 << 20)
    r = run_lab(lab_script(), timeout=500, extra=work)
    out = {}
    for name in SCENARIOS:
        m = re.search(rf"=== {name} start\n(.*?)=== {name} exit (\d+)", r.stdout, re.S)
        out[name] = (m.group(1), int(m.group(2))) if m else (r.stdout[-3000:], None)
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_user_space_output_reaches_the_console(lab, name):
    text, status = lab[name]
    assert re.search(r"^USER-SPACE-OUTPUT$", text, re.M), text
    assert status == 0, f"figment ended with {status}:\n{text}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_console_input_reaches_user_space(lab, name):
    text, _ = lab[name]
    assert re.search(rf"^GOT-LINE:{HOST_LINE}$", text, re.M), text


@pytest.mark.parametrize("name", SCENARIOS)
def test_virtio_disk_interrupts_arrive(lab, name):
    text, _ = lab[name]
    assert re.search(rf"^DISK:{DISK_MARKER.decode()}$", text, re.M), text
