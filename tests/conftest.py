"""Shared fixtures for figment's tests: where the binaries and guests are,
and skip markers for what needs KVM or the nested lab."""
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / os.environ.get("BUILD", "build")
GUESTS = BUILD / "guests"
CACHE = Path(os.environ.get("FIGMENT_CACHE", Path.home() / ".cache" / "figment"))


def kvm_usable():
    """/dev/kvm opens and answers KVM_GET_API_VERSION with 12."""
    import fcntl
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, 0xAE00) == 12  # KVM_GET_API_VERSION
    except OSError:
        return False
    finally:
        os.close(fd)


needs_kvm = pytest.mark.skipif(not kvm_usable(), reason="/dev/kvm is missing or not usable")


def figment_binaries():
    """The normal build, and the ASan/UBSan build when it was made."""
    bins = [pytest.param(BUILD / "figment", id="plain")]
    asan = ROOT / "build-asan" / "figment"
    if asan.exists():
        bins.append(pytest.param(asan, id="asan"))
    return bins


@pytest.fixture(params=figment_binaries())
def figment(request):
    path = request.param
    if not path.exists():
        pytest.fail(f"{path} is not built (run make test)")
    return str(path)


@pytest.fixture
def guest():
    def path(name):
        p = GUESTS / name
        if not p.exists():
            pytest.fail(f"test guest {p} is not built (make test-guests)")
        return str(p)
    return path


def run(cmd, timeout=60, **kw):
    """Runs a command, returns CompletedProcess with text output."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          errors="replace", **kw)


LAB = ROOT / "tools" / "lab" / "run.sh"


def run_lab(script, timeout, extra=None, tools=()):
    """Runs @script in the nested lab with build/figment; returns its
    CompletedProcess. Each scenario inside bounds figment with `timeout`, so a
    hung figment shows up as that scenario's status. What a retry covers is
    the lab itself (exit 124: QEMU's emulated SVM occasionally wedges the
    whole lab; 125: the lab did not come up): it is tried once more, then
    the test fails."""
    cmd = [str(LAB), "--figment", str(BUILD / "figment"), "--timeout", str(timeout)]
    if extra:
        cmd += ["--extra", str(extra)]
    for t in tools:
        cmd += ["--tool", t]
    cmd += ["--", script]
    for attempt in (1, 2):
        r = run(cmd, timeout=timeout + 300)
        if r.returncode not in (124, 125):
            return r
        print(f"lab attempt {attempt} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    pytest.fail(f"the lab failed twice ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")


def lab_transcript(tmp_path_factory, name, script, timeout, **kw):
    """run_lab(), with the whole transcript kept under pytest's temporary
    folder (lab-<name>*/lab.out) for a failure's post-mortem; its stdout."""
    r = run_lab(script, timeout, **kw)
    (tmp_path_factory.mktemp(f"lab-{name}") / "lab.out").write_text(r.stdout)
    return r.stdout


def lab_section(out, name):
    """What a lab script printed between "=== @name start" and the next
    "=== ... start" line (or its end)."""
    m = re.search(rf"=== {re.escape(name)} start\n(.*?)(?:=== [\w-]+ start|\Z)", out, re.S)
    assert m, out[-3000:]
    return m.group(1)


GUEST_DIR = CACHE / "guest"
BUILD_GUESTS = ROOT / "tools" / "guest" / "build-all.sh"
_guests_built = False


def sh_quote(cmdline):
    """@cmdline as one double-quoted word of a lab shell script (a guest's
    kernel command line, or a command for `su -c`)."""
    return '"' + cmdline.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def guest_fetch_and_serve(url, mib):
    """A guest's commands (no double quotes: they go on a kernel command
    line) that fetch @url and print its SHA-256 (GUEST-GOT), then make a
    file of @mib MiB, print its SHA-256 (GUEST-SENT) and serve it on port
    8081 (SERVING) until the VM is stopped."""
    return (f"wget -q -O /tmp/in.bin {url} && "
            "sha256sum /tmp/in.bin | sed 's/^/GUEST-GOT /'; "
            f"mkdir -p /srv; dd if=/dev/urandom of=/srv/out.bin bs=1M count={mib} 2>/dev/null; "
            "sha256sum /srv/out.bin | sed 's/^/GUEST-SENT /'; "
            "httpd -p 8081 -h /srv; echo SERVING; sleep 600")


def guest_artifact(name):
    """Path of the guest artifact @name in the cache (GUEST_DIR), for a lab
    test that passes it in through --extra (the lab's /guest holds only the
    artifacts tools/lab/build-lab.sh packs). Runs tools/guest/build-all.sh
    once per session first: quiet and quick when everything is cached, the
    same build `make guest` does otherwise."""
    global _guests_built
    if not _guests_built:
        r = run([str(BUILD_GUESTS)], timeout=1800)
        if r.returncode != 0:
            pytest.fail(f"tools/guest/build-all.sh failed:\n{r.stderr[-3000:]}")
        _guests_built = True
    p = GUEST_DIR / name
    if not p.exists():
        pytest.fail(f"{p} is missing after tools/guest/build-all.sh")
    return p
