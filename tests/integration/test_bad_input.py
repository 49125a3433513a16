"""Bad input gets a specific message and a non-zero status before the guest
runs: kernels, initrds, command lines, sizes, flags."""
import os
import shutil

import pytest

from conftest import run

USAGE, CONFIG, KVM = 2, 3, 4


def fig(figment, *args, **kw):
    return run([figment, *args], **kw)


def expect(r, status, words):
    assert r.returncode == status, f"status {r.returncode}: {r.stderr}"
    for w in words if isinstance(words, (list, tuple)) else [words]:
        assert w in r.stderr, r.stderr
    # one clear line, never a crash report
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr


def test_unknown_flag(figment):
    expect(fig(figment, "run", "--kernal", "x"), USAGE, "unknown option '--kernal'")


def test_unknown_command(figment):
    expect(fig(figment, "frobnicate"), USAGE, "unknown command")


def test_flag_without_value(figment):
    expect(fig(figment, "run", "--kernel"), USAGE, "needs a value")


def test_no_kernel(figment):
    expect(fig(figment, "run"), CONFIG, "no kernel given")


def test_missing_kernel(figment):
    expect(fig(figment, "run", "--kernel", "/nonexistent/bzImage"), CONFIG,
           ["kernel", "/nonexistent/bzImage", "No such file"])


def test_kernel_is_a_directory(figment, tmp_path):
    expect(fig(figment, "run", "--kernel", str(tmp_path)), CONFIG, "kernel")


def test_empty_kernel(figment, tmp_path):
    k = tmp_path / "empty"
    k.write_bytes(b"")
    expect(fig(figment, "run", "--kernel", str(k)), CONFIG, "empty")


def test_random_bytes_kernel(figment, tmp_path):
    k = tmp_path / "random"
    k.write_bytes(os.urandom(4096))
    expect(fig(figment, "run", "--kernel", str(k)), CONFIG, "not a bzImage or ELF")


def test_truncated_bzimage(figment, guest, tmp_path):
    k = tmp_path / "truncated"
    k.write_bytes(open(guest("hello.bin"), "rb").read()[:0x220])
    r = fig(figment, "run", "--kernel", str(k))
    assert r.returncode == CONFIG and r.stderr.strip(), r.stderr


def test_wrong_architecture_elf(figment, guest, tmp_path):
    data = bytearray(open(guest("pvh_cpuid.elf"), "rb").read())
    data[18:20] = (183).to_bytes(2, "little")  # EM_AARCH64
    k = tmp_path / "arm64.elf"
    k.write_bytes(bytes(data))
    expect(fig(figment, "run", "--kernel", str(k)), CONFIG, "x86-64")


def test_host_binary_is_not_a_kernel(figment):
    r = fig(figment, "run", "--kernel", "/bin/true")
    assert r.returncode == CONFIG and r.stderr.strip(), r.stderr


def test_initrd_larger_than_guest_ram(figment, guest, tmp_path):
    big = tmp_path / "big.cpio"
    with open(big, "wb") as f:
        f.truncate(64 << 20)
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--initrd", str(big),
               "--mem", "32"), CONFIG, "initrd")


def test_missing_initrd(figment, guest):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--initrd", "/nonexistent"),
           CONFIG, ["initrd", "No such file"])


def test_command_line_too_long(figment, guest):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--cmdline", "a" * 3000),
           CONFIG, "command line")


@pytest.mark.parametrize("mem", ["0"])
def test_zero_memory(figment, guest, mem):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--mem", mem), CONFIG,
           "memory size")


@pytest.mark.parametrize("mem", ["abc", "-5", "12MiB", ""])
def test_memory_not_a_number(figment, guest, mem):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--mem", mem), USAGE, "--mem")


def test_memory_larger_than_host(figment, guest):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--mem", str(16 << 20)),
           CONFIG, "more than the host has")


def test_zero_cpus(figment, guest):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--cpus", "0"), CONFIG,
           "vcpu count")


def test_too_many_cpus(figment, guest):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--cpus", "300"), CONFIG,
           "vcpu count")


def test_hypervisor_vendor_too_long(figment, guest):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"),
               "--hypervisor-vendor", "ThirteenChars"), CONFIG, "12 characters")


@pytest.mark.parametrize("spec,words", [
    ("cid=2,uds={d}/v.sock", ["CID 2", "reserved"]),
    ("cid=4294967295,uds={d}/v.sock", "reserved"),
    ("cid=3,uds={d}/" + "x" * 110, "sun_path"),
    ("cid=3,uds=/no/such/folder/v.sock", "does not exist"),
    ("cid=3,uds={d}/file", "not a Unix socket"),
])
def test_bad_vsock(figment, guest, tmp_path, spec, words):
    (tmp_path / "file").write_text("x")
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--vsock",
               spec.format(d=tmp_path)), CONFIG, words)


def test_vsock_syntax(figment, guest):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--vsock", "cid=x,uds=/a"),
           USAGE, "--vsock")
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--vsock", "uds=/a"),
           USAGE, "cid")


@pytest.mark.parametrize("args,words", [
    (["--mem", "64", "--balloon", "amount_mib=65"], "larger than the guest's RAM (64 MiB)"),
    (["--balloon", "amount_mib=0,stats_interval_s=65536"], "out of range"),
])
def test_bad_balloon(figment, guest, args, words):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), *args), CONFIG,
           ["balloon", words])


@pytest.mark.parametrize("spec,words", [
    ("amount_mib=x", "amount_mib"),
    ("amount_mib=-1", "amount_mib"),
    ("deflate_on_oom=yes", "on or off"),
    ("amount_mib=1,amount_mib=1", "twice"),
    ("size=4", "unknown"),
    ("amount_mib=1,", "comma"),
    ("", "empty"),
])
def test_balloon_syntax(figment, guest, spec, words):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--balloon", spec),
           USAGE, ["--balloon", words])


def test_balloon_in_a_config_file(figment, guest, tmp_path):
    cfg = tmp_path / "vm.json"
    cfg.write_text('{"boot-source": {"kernel_image_path": "%s"},'
                   ' "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},'
                   ' "balloon": {"amount_mib": 33, "deflate_on_oom": true}}' % guest("hello.bin"))
    expect(fig(figment, "--no-api", "--config-file", str(cfg)), CONFIG,
           "larger than the guest's RAM")
    cfg.write_text('{"boot-source": {"kernel_image_path": "%s"},'
                   ' "balloon": {"amount_mib": 1}}' % guest("hello.bin"))
    expect(fig(figment, "--no-api", "--config-file", str(cfg)), CONFIG, "deflate_on_oom")


@pytest.mark.parametrize("spec,words", [
    ("version=V2", "net="),
    ("net=eth0,version=V3", "V1 or V2"),
    ("net=eth0,address=10.0.0.1", "link-local"),
    ("net=eth0,address=169.254.0.7", "link-local"),
    ("net=eth0,address=169.254.255.1", "link-local"),
    ("net=eth0,imds_compat=maybe", "on or off"),
    ("net=eth0,net=eth0", "twice"),
    ("net=", "empty interface"),
    ("net=eth0,bogus=1", "unknown"),
])
def test_mmds_syntax(figment, guest, spec, words):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--mmds", spec),
           USAGE, ["--mmds", words])


def test_mmds_needs_its_interfaces(figment, guest):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--mmds", "net=eth0"),
           CONFIG, "does not correspond to any existing network interface")
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--net", "id=eth0,user=on",
               "--mmds", "net=eth0+eth0"), CONFIG, "named twice")


@pytest.mark.parametrize("content,words", [
    (None, "No such file"),
    ("{not json", "--metadata"),
    ("[1, 2]", "JSON object"),
    ('{"k": "' + "x" * 60000 + '"}', "doesn't fit"),
], ids=["missing", "not-json", "array", "too-large"])
def test_bad_metadata(figment, guest, tmp_path, content, words):
    f = tmp_path / "md.json"
    if content is not None:
        f.write_text(content)
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--metadata", str(f)),
           CONFIG, words)


def test_mmds_size_limit_syntax(figment, guest, tmp_path):
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--mmds-size-limit", "0"),
           USAGE, "--mmds-size-limit")
    f = tmp_path / "md.json"
    f.write_text('{"k": "' + "x" * 100 + '"}')
    expect(fig(figment, "run", "--kernel", guest("hello.bin"), "--mmds-size-limit", "50",
               "--metadata", str(f)), CONFIG, "at most 50")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare to hide /dev/kvm")
def test_kvm_missing(figment, guest):
    r = run(["unshare", "--mount", "sh", "-c",
             f"mount --bind /dev/null /dev/kvm && exec {figment} run --kernel {guest('hello.bin')}"])
    expect(r, KVM, "KVM")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare to hide /dev/kvm")
def test_bad_kernel_is_refused_before_kvm_is_opened(figment, tmp_path):
    k = tmp_path / "random"
    k.write_bytes(os.urandom(4096))
    r = run(["unshare", "--mount", "sh", "-c",
             f"mount --bind /dev/null /dev/kvm && exec {figment} run --kernel {k}"])
    expect(r, CONFIG, "not a bzImage or ELF")


def test_version_and_firecracker_name(figment, tmp_path):
    r = fig(figment, "--version")
    assert r.returncode == 0 and r.stdout.startswith("figment ")
    link = tmp_path / "firecracker"
    link.symlink_to(figment)
    r = run([str(link), "--version"])
    assert r.returncode == 0 and r.stdout.startswith("Firecracker v")
