"""`figment container run`, host side (no Linux guest: the host's KVM cannot
run one; the nested lab tests in test_lab_container.py boot the real
thing): argument errors, bad images (each a clear message, exit status 3,
and nothing left behind: no cache entry, no run folder, no VM process),
and the image disk cache, with a tiny test guest standing in for the
kernel (it prints and resets, so the VM ends before any agent connects,
which figment reports)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import GUESTS, needs_kvm, run
from container_images import busybox_image, manifest, blob, replace_layer, tar_bytes

BIN = "/bin/busybox"
pytestmark = pytest.mark.skipif(shutil.which("umoci") is None, reason="umoci is missing (make deps)")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return busybox_image(tmp_path_factory.mktemp("img") / "bb",
                         config=["--config.cmd", "/bin/true", "--config.env", "A=1"])


@pytest.fixture
def env(tmp_path):
    """FIGMENT_CACHE and TMPDIR of the test's own, so what a run leaves is seen."""
    e = dict(os.environ, FIGMENT_CACHE=str(tmp_path / "cache"), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return e


def copy_image(image, tmp_path):
    dst = tmp_path / "image"
    shutil.copytree(image, dst)
    return dst


def leftovers(tmp_path):
    """What runs left: run folders, and cache entries other than the lock."""
    runs = list((tmp_path / "tmp").iterdir())
    cache = tmp_path / "cache" / "containers"
    entries = [p.name for p in cache.iterdir() if p.name != ".lock"] if cache.exists() else []
    return runs, entries


def crun(figment, env, *args, timeout=60):
    return run([figment, "container", "run", *args], timeout=timeout, env=env)


@pytest.mark.parametrize("args, needle", [
    ([], "give one of --image and --rootfs"),
    (["--image", "x", "--rootfs", "y", "--", "true"], "give one of --image and --rootfs"),
    (["--rootfs", "/"], "--rootfs needs a command"),
    (["--image", "x", "--cpus", "0", "--", "true"], "--cpus takes 1 to 254"),
    (["--image", "x", "--mem", "lots", "--", "true"], "--mem takes MiB"),
    (["--image", "x", "-w", "relative", "--", "true"], "-w takes an absolute path"),
    (["--image", "x", "-e", "=v", "--", "true"], "-e takes K=V"),
    (["--image", "x", "--bogus", "--", "true"], "unknown or incomplete option"),
])
def test_argument_errors(figment, env, tmp_path, args, needle):
    r = crun(figment, env, *args)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert leftovers(tmp_path) == ([], [])


def test_unknown_subcommand(figment, env):
    r = run([figment, "container", "exec", "x"], env=env)
    assert r.returncode == 2 and "unknown subcommand 'exec'" in r.stderr


def break_no_index(img):
    (img / "index.json").unlink()
    return "index.json: missing"


def break_index_json(img):
    (img / "index.json").write_text('{"schemaVersion": 2, "manifests": [')
    return "index.json: not valid JSON"


def break_layer_digest(img):
    p = blob(img, manifest(img)["layers"][0]["digest"])
    data = bytearray(p.read_bytes())
    data[100] ^= 0xff
    p.write_bytes(bytes(data))
    return "does not match its digest"


def break_layer_not_tar(img):
    replace_layer(img, b"this is not a tar archive, just some text\n" * 20)
    return "not a tar archive"


def break_dotdot(img):
    replace_layer(img, tar_bytes([("../../escaped", "f", b"x")]))
    return "escapes the root"


def break_abs_symlink(img):
    replace_layer(img, tar_bytes([("etc", "l", "/etc"), ("etc/owned", "f", b"x")]))
    return "goes through a symlink"


def break_whiteout_outside(img):
    replace_layer(img, tar_bytes([("../.wh.etc", "f", b"")]))
    return "escapes the root"


def break_device(img):
    replace_layer(img, tar_bytes([("dev/mem", "c", None)]))
    return "is a device node"


def break_arch(img):
    r = subprocess.run(["umoci", "config", "--image", f"{img}:latest", "--architecture", "arm64"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    subprocess.run(["umoci", "gc", "--layout", str(img)], check=True)
    return "image is for linux/arm64, not linux/amd64"


@pytest.mark.parametrize("breaker", [break_no_index, break_index_json, break_layer_digest,
                                     break_layer_not_tar, break_dotdot, break_abs_symlink,
                                     break_whiteout_outside, break_device, break_arch])
def test_bad_image(figment, env, tmp_path, image, breaker):
    img = copy_image(image, tmp_path)
    needle = breaker(img)
    # any file for a kernel: the image is refused before a VM is made
    r = crun(figment, env, "--kernel", BIN, "--image", str(img), "--", "true")
    assert r.returncode == 3, r.stderr
    assert needle in r.stderr, r.stderr
    assert r.stderr.count("\n") <= 2, r.stderr
    assert leftovers(tmp_path) == ([], [])
    assert not (Path("/etc/owned").exists() or (tmp_path / "escaped").exists())


def test_missing_image_and_inputs(figment, env, tmp_path, image):
    r = crun(figment, env, "--kernel", BIN, "--image", str(tmp_path / "none"), "--", "true")
    assert r.returncode == 3 and "No such file or directory" in r.stderr
    r = crun(figment, env, "--kernel", str(tmp_path / "none"), "--image", str(image), "--", "true")
    assert r.returncode == 3 and "guest kernel" in r.stderr
    r = crun(figment, env, "--kernel", BIN, "--agent", str(tmp_path / "none"), "--image", str(image), "--", "true")
    assert r.returncode == 3 and "agent initramfs" in r.stderr
    assert leftovers(tmp_path) == ([], [])


def test_no_command(figment, env, tmp_path):
    img = busybox_image(tmp_path / "nocmd")
    r = crun(figment, env, "--kernel", BIN, "--image", str(img))
    assert r.returncode == 2 and "no command" in r.stderr, r.stderr
    runs, _ = leftovers(tmp_path)
    assert runs == []


@needs_kvm
def test_cache_second_start_unpacks_nothing(figment, env, tmp_path, image):
    """The first start unpacks and makes the disk, the second finds it by
    the manifest digest; each run leaves nothing but the cached disk. The
    stand-in kernel resets at once, so each run ends with figment's own
    'the VM ended' error (status 1)."""
    hello = GUESTS / "hello.bin"
    if not hello.exists():
        pytest.fail("test guests are not built (make test-guests)")
    args = ["--verbose", "--kernel", str(hello), "--image", str(image), "--", "true"]
    r1 = crun(figment, env, *args)
    assert r1.returncode == 1, r1.stderr
    assert "unpacked and made" in r1.stderr, r1.stderr
    assert "the VM ended before the process did" in r1.stderr
    assert "hello from the figment test guest" in r1.stderr  # the console's tail
    runs, entries = leftovers(tmp_path)
    assert runs == []
    import json
    digest = json.loads((Path(image) / "index.json").read_text())["manifests"][0]["digest"]
    assert entries == [digest.split(":")[1] + ".ext4"]
    disk = tmp_path / "cache" / "containers" / entries[0]
    mtime = disk.stat().st_mtime_ns
    r2 = crun(figment, env, *args)
    assert r2.returncode == 1, r2.stderr
    assert "cached, nothing unpacked" in r2.stderr and "unpacked and made" not in r2.stderr
    assert disk.stat().st_mtime_ns == mtime
    assert leftovers(tmp_path) == ([], entries)
    # the image as a tar of its layout: the same manifest, the same disk
    tar = tmp_path / "image.tar"
    subprocess.run(["tar", "-C", str(image), "-cf", str(tar), "."], check=True)
    r3 = crun(figment, env, "--verbose", "--kernel", str(hello), "--image", str(tar), "--", "true")
    assert r3.returncode == 1 and "cached, nothing unpacked" in r3.stderr, r3.stderr
    assert leftovers(tmp_path) == ([], entries)


@needs_kvm
def test_rootfs_disk_made_per_run(figment, env, tmp_path):
    hello = GUESTS / "hello.bin"
    root = tmp_path / "rootfs"
    root.mkdir()
    (root / "file").write_text("x")
    r = crun(figment, env, "--verbose", "--kernel", str(hello), "--rootfs", str(root), "--", "/file")
    assert r.returncode == 1 and "disk made from" in r.stderr, r.stderr
    assert leftovers(tmp_path) == ([], [])
