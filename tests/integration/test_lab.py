"""Real Linux guests under figment inside the nested lab (QEMU TCG with an
emulated SVM CPU, real KVM inside): both guest kernels, both boot protocols,
1 and 2 vCPUs. One lab boot runs every scenario; each test checks its part."""
import os
import re

import pytest

from conftest import run_lab

BASE = "console=ttyS0 reboot=k panic=-1 quiet pci=off"

# name -> (figment arguments, command the guest's /init runs)
SCENARIOS = {
    "min-bz-1": ("--kernel bzImage --initrd initramfs.cpio.gz --cpus 1", "uname -r; nproc"),
    "min-bz-2": ("--kernel bzImage --initrd initramfs.cpio.gz --cpus 2", "uname -r; nproc"),
    "min-pvh-1": ("--kernel vmlinux --initrd initramfs.cpio.gz --cpus 1", "uname -r; nproc"),
    "min-pvh-2": ("--kernel vmlinux --initrd initramfs.cpio.gz --cpus 2", "uname -r; nproc"),
    "cloud-1": ("--kernel cloud-bzImage --initrd initramfs-cloud.cpio.gz --cpus 1 --mem 256",
                "uname -r; nproc"),
    "cloud-2": ("--kernel cloud-bzImage --initrd initramfs-cloud.cpio.gz --cpus 2 --mem 256",
                "uname -r; nproc"),
    "reboot": ("--kernel bzImage --initrd initramfs.cpio.gz", "reboot -f"),
    # Without kvm-clock the guest must calibrate its TSC; the lab's emulated
    # PIT is too slow for that, so the lab's own TSC rate is passed in.
    # ("detecte[d]" keeps grep from matching the command line in dmesg.)
    "hidden-hv": ("--kernel bzImage --initrd initramfs.cpio.gz --hide-hypervisor",
                  "grep -c hypervisor /proc/cpuinfo; dmesg | grep -c 'Hypervisor detecte[d]'"),
    "default-hv": ("--kernel bzImage --initrd initramfs.cpio.gz",
                   "grep -c hypervisor /proc/cpuinfo; dmesg | grep -c 'Hypervisor detecte[d]: KVM'"),
    # /init exits, the kernel panics, its pvpanic driver tells figment
    "panic-min": ("--kernel bzImage --initrd initramfs.cpio.gz", "true"),
    "panic-cloud": ("--kernel cloud-bzImage --initrd initramfs-cloud.cpio.gz --mem 256", "true"),
}
EXTRA_ARGS = {"hidden-hv": "tsc_early_khz=$khz",
              "panic-min": "fig_exit=panic", "panic-cloud": "fig_exit=panic"}


def lab_script():
    lines = ["cd /guest",
             """khz=$(awk -F: '/cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)"""]
    for name, (args, cmd) in SCENARIOS.items():
        cmdline = f'{BASE} {EXTRA_ARGS.get(name, "")} fig_run="{cmd}"'
        lines.append(f"echo '=== {name} start'")
        # double quotes: $khz expands in the lab shell, the rest is literal
        quoted = '"' + cmdline.replace('\\', '\\\\').replace('"', '\\"') + '"'
        lines.append(f"timeout -k 10 180 figment run {args} --boot-timer --cmdline {quoted} 2>&1")
        lines.append(f"echo \"=== {name} exit $?\"")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab_results():
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    r = run_lab(lab_script(), timeout=600)
    out = {}
    for name in SCENARIOS:
        m = re.search(rf"=== {name} start\n(.*?)=== {name} exit (\d+)", r.stdout, re.S)
        out[name] = (m.group(1), int(m.group(2))) if m else (r.stdout[-2000:], None)
    return out


def check_boot(result, version_re, cpus):
    text, status = result
    assert status == 0, f"figment ended with {status}:\n{text}"
    assert "FIGMENT-RUN-EXIT 0" in text, text
    assert re.search(rf"^{version_re}$", text, re.M), text
    assert re.search(rf"^{cpus}$", text, re.M), text
    assert "guest boot time" in text, text


@pytest.mark.parametrize("name,cpus", [("min-bz-1", 1), ("min-bz-2", 2),
                                       ("min-pvh-1", 1), ("min-pvh-2", 2)])
def test_minimal_kernel_boots(lab_results, name, cpus):
    check_boot(lab_results[name], r"6\.1\.\d+", cpus)


@pytest.mark.parametrize("name,cpus", [("cloud-1", 1), ("cloud-2", 2)])
def test_debian_cloud_kernel_boots(lab_results, name, cpus):
    check_boot(lab_results[name], r"6\.1\.0-\d+-cloud-amd64", cpus)


def test_guest_poweroff_ends_figment_with_0(lab_results):
    text, status = lab_results["min-bz-1"]
    assert status == 0 and "Power down" in text, text


def test_guest_reboot_ends_figment_with_0(lab_results):
    text, status = lab_results["reboot"]
    assert status == 0, text
    assert "Restarting system" in text, text


@pytest.mark.parametrize("name", ["panic-min", "panic-cloud"])
def test_guest_panic_ends_figment_with_the_crash_status(lab_results, name):
    text, status = lab_results[name]
    assert status == 7, f"figment ended with {status}:\n{text}"
    assert "guest kernel panicked (pvpanic)" in text, text


def test_linux_sees_kvm_by_default(lab_results):
    text, status = lab_results["default-hv"]
    assert status == 0, text
    counts = re.findall(r"^(\d+)$", text, re.M)
    assert int(counts[0]) >= 1 and int(counts[1]) == 1, text


def test_hidden_hypervisor_is_hidden_from_linux(lab_results):
    text, status = lab_results["hidden-hv"]
    assert status == 0, text
    counts = re.findall(r"^(\d+)$", text, re.M)
    assert counts[:2] == ["0", "0"], text
