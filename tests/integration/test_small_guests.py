"""Purpose-built guests (tests/guests/) on the host's /dev/kvm: serial I/O,
boot parameters, both boot protocols, CPUID shaping, exits and statuses."""
import os
import pty
import select
import signal
import subprocess
import termios
import time

from conftest import needs_kvm, run

pytestmark = needs_kvm


def test_hello_prints_and_resets(figment, guest):
    r = run([figment, "run", "--kernel", guest("hello.bin")])
    assert r.returncode == 0, r.stderr
    assert "hello from the figment test guest" in r.stdout
    assert "cmdline: console=ttyS0" in r.stdout
    # RAM below the EBDA, the reserved hole, RAM above 1 MiB
    assert "e820 entries: 0x0000000000000003" in r.stdout


def test_custom_cmdline_reaches_guest(figment, guest):
    r = run([figment, "run", "--kernel", guest("hello.bin"), "--cmdline", "foo=bar quiet"])
    assert r.returncode == 0, r.stderr
    assert "cmdline: foo=bar quiet\n" in r.stdout


def test_memory_above_the_mmio_gap_gets_an_e820_entry(figment, guest):
    r = run([figment, "run", "--kernel", guest("hello.bin"), "--mem", "4096"])
    assert r.returncode == 0, r.stderr
    assert "e820 entries: 0x0000000000000004" in r.stdout


def test_two_vcpus_boot(figment, guest):
    r = run([figment, "run", "--kernel", guest("hello.bin"), "--cpus", "2"])
    assert r.returncode == 0, r.stderr
    assert "hello from the figment test guest" in r.stdout


def test_unclaimed_ports_read_all_ones_and_acpi_poweroff_exits_0(figment, guest):
    r = run([figment, "run", "--kernel", guest("ports.bin"), "--level", "info"])
    assert r.returncode == 0, r.stderr
    assert "ports: unclaimed reads all-ones" in r.stdout
    assert "powered off" in r.stderr


def test_triple_fault_has_its_own_status(figment, guest):
    r = run([figment, "run", "--kernel", guest("triple_fault.bin")])
    assert r.returncode == 5
    assert "triple fault" in r.stderr
    assert "RIP 0x" in r.stderr


def test_boot_marker_logs_boot_time(figment, guest):
    r = run([figment, "run", "--kernel", guest("marker.bin"), "--boot-timer"])
    assert r.returncode == 0, r.stderr
    assert "guest boot time" in r.stderr
    us = int(r.stderr.split("guest boot time ")[1].split(" us")[0])
    assert 0 < us < 60_000_000


def test_pvh_entry_and_default_hypervisor_leaf(figment, guest):
    r = run([figment, "run", "--kernel", guest("pvh_cpuid.elf"), "--cmdline", "pvh args"])
    assert r.returncode == 0, r.stderr
    assert "pvh: start info ok, cmdline: pvh args" in r.stdout
    assert "cpuid: hypervisor bit set" in r.stdout
    assert "cpuid: vendor KVMKVMKVM\n" in r.stdout


def test_hypervisor_vendor_can_be_set(figment, guest):
    r = run([figment, "run", "--kernel", guest("pvh_cpuid.elf"),
             "--hypervisor-vendor", "FigmentTest1"])
    assert r.returncode == 0, r.stderr
    assert "cpuid: vendor FigmentTest1\n" in r.stdout


def test_hypervisor_can_be_hidden(figment, guest):
    r = run([figment, "run", "--kernel", guest("pvh_cpuid.elf"), "--hide-hypervisor"])
    assert r.returncode == 0, r.stderr
    assert "cpuid: hypervisor bit clear" in r.stdout
    assert "KVMKVMKVM" not in r.stdout


def test_serial_to_file_and_none(figment, guest, tmp_path):
    out = tmp_path / "console.log"
    r = run([figment, "run", "--kernel", guest("hello.bin"), "--serial", str(out)])
    assert r.returncode == 0, r.stderr
    assert "hello from the figment test guest" in out.read_text()
    assert r.stdout == ""
    r = run([figment, "run", "--kernel", guest("hello.bin"), "--serial", "none"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""


def test_serial_input_reaches_guest(figment, guest):
    r = run([figment, "run", "--kernel", guest("echo.bin")], stdin=None,
            input="figment echo test q")
    assert r.returncode == 0, r.stderr
    assert "<figment echo test >" in r.stdout


def test_console_input_larger_than_the_fifo(figment, guest):
    """16 KiB of input to a guest that reads one byte at a time: figment
    stops watching stdin while the UART FIFO is full and watches it again
    (on its own thread) once the guest made room; nothing is lost and the
    input never stalls."""
    data = "a" * (16 * 1024)
    r = run([figment, "run", "--kernel", guest("echo.bin")], stdin=None,
            input=data + "q")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("a") == len(data)
    assert r.stdout.rstrip().endswith(">")


def test_slow_console_loses_no_output(figment, guest):
    """96 KiB through a pipe nobody reads for a while: the vCPU waits on
    THRE instead of figment dropping bytes or blocking the vCPU thread."""
    p = subprocess.Popen([figment, "run", "--kernel", guest("flood.bin")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    time.sleep(1.0)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert out.count(b"x") == 96 * 1024
    assert out.endswith(b"\n")


def test_sigterm_stops_with_status_8(figment, guest):
    p = subprocess.Popen([figment, "run", "--kernel", guest("spin.bin")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    assert p.stdout.readline().strip() == b"ready"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 8
    assert b"stopped by signal" in err


def _read_until(fd, needle, timeout=20):
    buf = b""
    end = time.time() + timeout
    while needle not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                break
    return buf


def test_console_escape_quits_and_restores_terminal(figment, guest):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([figment, "run", "--kernel", guest("spin.bin")],
                         stdin=slave, stdout=slave, stderr=slave)
    assert b"ready" in _read_until(master, b"ready")
    # raw mode while running
    assert not (termios.tcgetattr(slave)[3] & termios.ICANON)
    os.write(master, b"\x01x")
    p.wait(timeout=20)
    assert p.returncode == 8
    assert b"Ctrl-A x" in _read_until(master, b"Ctrl-A x", timeout=2)
    assert termios.tcgetattr(slave) == before
    os.close(master)
    os.close(slave)


def test_config_file_run_writes_metrics(figment, guest, tmp_path):
    """--no-api --config-file boots the same VM the flags would; the metrics
    file gets one JSON object per line with exits and unclaimed ports."""
    import json
    metrics = tmp_path / "metrics.json"
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": guest("ports.bin")},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
        "metrics": {"metrics_path": str(metrics)},
    }))
    r = run([figment, "--no-api", "--config-file", str(cfg)])
    assert r.returncode == 0, r.stderr
    assert "ports: unclaimed reads all-ones" in r.stdout
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert lines and all("utc_timestamp_ms" in m for m in lines)
    total = lambda group, name: sum(m.get(group, {}).get(name, 0) for m in lines)
    assert total("pio", "unclaimed_reads") == 2  # ports 0x1234 and 0x5550
    assert total("vcpu", "exit_io") > 0


def test_pvpanic_ends_with_the_crash_status(figment, guest):
    r = run([figment, "run", "--kernel", guest("panic.bin")])
    assert r.returncode == 7, r.stderr
    assert "guest kernel panicked (pvpanic)" in r.stderr
