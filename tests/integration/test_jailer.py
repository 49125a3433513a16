# SPDX-License-Identifier: Apache-2.0
"""The jailer (`figment jailer`, or figment started as `jailer`).

Each test jails build/figment under a fresh chroot base in the test's tmp
directory, as uid/gid 1234, and checks what Firecracker's clients rely on:
the API socket at <base>/figment/<id>/root/run/firecracker.socket (where the
Go SDK looks), the process's uid, gid, capabilities, root, mount, PID and
network namespaces, cgroup, rlimits, fds and environment; then that every bad
input fails with its status and one clear line, with the base unchanged and
no cgroup left behind. Needs root; the boot test also /dev/kvm.
Run: python3 -m pytest tests/integration/test_jailer.py -q
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import BUILD, GUESTS, ROOT, figment_binaries, needs_kvm

FIGMENT = BUILD / "figment"
JAILER_LINK = BUILD / "jailer"  # a symlink to figment, as the Go SDK's JailerBinary
UID = GID = 1234

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the jailer needs root"),
    pytest.mark.skipif(not FIGMENT.exists(), reason="build/figment is not built"),
]

# The sanitizer build's LeakSanitizer is told what to ignore, as for the unit
# suites.
os.environ.setdefault("LSAN_OPTIONS", f"suppressions={ROOT / 'tests' / 'lsan.supp'}")


@pytest.fixture(params=figment_binaries())
def jailer_bin(request):
    """The binary that does the jailing: the normal build, and the ASan/UBSan
    one when it was made. What it execs in the jail is always the static
    build/figment (the sanitizer build is dynamic: no loader in the jail)."""
    return request.param


# With --new-pid-ns the jailer exits once figment runs; as a subreaper this
# process inherits figment and can wait for it.
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


# ------------------------------------------------------------- host facts --

def cgroup_mounts():
    """[(version, mount point, options)] from /proc/mounts."""
    out = []
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == "cgroup":
                out.append((1, mnt, opts.split(",")))
            elif fstype == "cgroup2":
                out.append((2, mnt, opts.split(",")))
    return out


def v1_mount(controller):
    for ver, mnt, opts in cgroup_mounts():
        if ver == 1 and controller in opts:
            return mnt
    return None


def v2_mount():
    for ver, mnt, _ in cgroup_mounts():
        if ver == 2:
            return mnt
    return None


def v2_controllers():
    m = v2_mount()
    if not m:
        return []
    with open(os.path.join(m, "cgroup.controllers")) as f:
        return f.read().split()


def cpu_limit():
    """(cgroup version, file, value, mount) that limits CPU on this host."""
    if v1_mount("cpu"):
        return "1", "cpu.cfs_quota_us", "50000", v1_mount("cpu")
    if "cpu" in v2_controllers():
        return "2", "cpu.max", "50000 100000", v2_mount()
    return None


# ---------------------------------------------------------------- helpers --

class Jail:
    """One jailer run: its id, base and chroot, and cleanup of what it made."""

    def __init__(self, base):
        self.id = str(uuid.uuid4())
        self.base = base
        self.root = os.path.join(base, "figment", self.id, "root")
        self.sock = os.path.join(self.root, "run", "firecracker.socket")
        self.pids = []
        self.cgroups = []  # directories to remove, deepest first
        self.proc = None

    def run(self, *flags, extra=(), binary=FIGMENT, subcommand=True,
            new_pid_ns=True, uid=UID, gid=GID, **kw):
        cmd = [str(binary)] + (["jailer"] if subcommand else [])
        cmd += ["--id", self.id, "--exec-file", str(FIGMENT),
                "--uid", str(uid), "--gid", str(gid),
                "--chroot-base-dir", self.base]
        cmd += ["--new-pid-ns"] if new_pid_ns else []
        cmd += list(flags)
        if extra:
            cmd += ["--"] + list(extra)
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        self.proc = subprocess.Popen(cmd, **kw)
        return self.proc

    def started(self, timeout=10):
        """Waits for the API socket; returns figment's pid."""
        t0 = time.monotonic()
        pid_file = os.path.join(self.root, "figment.pid")
        while True:
            try:
                connect(self.sock).close()
                break
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            if time.monotonic() - t0 > timeout or (self.proc.poll() not in (None, 0)):
                pytest.fail(f"no API socket at {self.sock}: jailer status {self.proc.poll()}")
            time.sleep(0.01)
        if os.path.exists(pid_file):
            assert self.proc.wait(10) == 0, self.proc.stderr.read()
            with open(pid_file) as f:
                pid = int(f.read())
        else:
            pid = self.proc.pid  # the jailer became figment
        self.pids.append(pid)
        return pid

    def stop(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.communicate()
        for d in self.cgroups:
            for _ in range(100):  # a dying process leaves its cgroup late
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


@pytest.fixture
def jail():
    # short: the host path of the API socket must fit in sun_path (108
    # bytes), for the Go SDK as for this test
    base = tempfile.mkdtemp(prefix="fj", dir="/tmp")
    jails = []

    def make():
        j = Jail(str(base))
        jails.append(j)
        return j
    yield make
    for j in jails:
        j.stop()
    shutil.rmtree(base, ignore_errors=True)


def connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def request(sock_path, method, path, body=None):
    """One request on a fresh connection; (status, parsed body or None)."""
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    s = connect(sock_path)
    s.sendall(head.encode() + b"\r\n" + data)
    resp = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        resp += chunk
        h, _, rest = resp.partition(b"\r\n\r\n")
        if _ and b"content-length" in h.lower():
            n = int([l for l in h.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
            if len(rest) >= n:
                break
        elif _ and b"204" in h.split(b"\r\n")[0]:
            break
    s.close()
    h, _, rest = resp.partition(b"\r\n\r\n")
    status = int(h.split()[1])
    return status, (json.loads(rest) if rest else None)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def limits(pid):
    with open(f"/proc/{pid}/limits") as f:
        return {line[:26].strip(): line[26:].split()[:2] for line in f}


def ns(pid, kind):
    return os.stat(f"/proc/{pid}/ns/{kind}").st_ino


def tree(top):
    """Everything under @top: path, type and mode, owner."""
    out = {}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            out[os.path.relpath(p, top)] = (st.st_mode, st.st_uid, st.st_rdev)
    return out


def cgroup_dirs():
    """The 'figment' parent cgroup of every hierarchy, and what is in it."""
    out = set()
    for _, mnt, _ in cgroup_mounts():
        p = os.path.join(mnt, "figment")
        if os.path.isdir(p):
            out.add(p)
            out |= {os.path.join(p, n) for n in os.listdir(p)
                    if os.path.isdir(os.path.join(p, n))}
    return out


# ----------------------------------------------------------------- tests --

def test_figment_runs_jailed(jail, tmp_path, jailer_bin):
    j = jail()
    leak = open(tmp_path / "leaked-fd", "w")
    netns_holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        netns = f"/proc/{netns_holder.pid}/ns/net"
        for _ in range(100):  # until unshare has made it
            if os.stat(netns).st_ino != ns(os.getpid(), "net"):
                break
            time.sleep(0.01)
        limit = cpu_limit()
        flags = ["--netns", netns, "--resource-limit", "fsize=1048576",
                 "--resource-limit", "no-file=1000"]
        if limit:
            flags += ["--cgroup-version", limit[0], "--cgroup", f"{limit[1]}={limit[2]}"]
            cg = os.path.join(limit[3], "figment", j.id)
            j.cgroups += [cg, os.path.dirname(cg)]
        j.run(*flags, extra=["--api-sock", "/run/firecracker.socket"],
              pass_fds=(leak.fileno(),), binary=jailer_bin)
        pid = j.started()
        netns_ino = os.stat(netns).st_ino
    finally:
        netns_holder.kill()
        netns_holder.wait()
        leak.close()

    # the API answers where the Go SDK looks for it
    status, body = request(j.sock, "GET", "/")
    assert status == 200 and body["id"] == j.id

    st = proc_status(pid)
    assert st["Uid"].split() == [str(UID)] * 4
    assert st["Gid"].split() == [str(GID)] * 4
    assert st["Groups"] == ""
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert st["NoNewPrivs"] == "1"
    # pid 1 of its own PID namespace; its own mount namespace; the netns
    assert st["NSpid"].split()[-1] == "1"
    me = os.getpid()
    assert ns(pid, "pid") != ns(me, "pid")
    assert ns(pid, "mnt") != ns(me, "mnt")
    assert ns(pid, "net") == netns_ino
    # its root is the chroot (readlink says "/" from another mount namespace)
    r, c = os.stat(f"/proc/{pid}/root"), os.stat(j.root)
    assert (r.st_dev, r.st_ino) == (c.st_dev, c.st_ino)
    assert os.readlink(f"/proc/{pid}/exe") in ("/figment", j.root + "/figment")

    lim = limits(pid)
    assert lim["Max open files"] == ["1000", "1000"]
    assert lim["Max file size"] == ["1048576", "1048576"]

    if limit:
        ver, fname, value, mnt = limit
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
        want = f"/figment/{j.id}"
        if ver == "1":
            assert any(l.split(":")[2] == want and "cpu" in l.split(":")[1].split(",")
                       for l in lines), lines
        else:
            assert f"0::{want}" in lines, lines
        with open(os.path.join(mnt, "figment", j.id, fname)) as f:
            assert f.read().split() == value.split()

    # no inherited fd (the leaked one, the netns) got through
    fds = {int(n): os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")}
    assert not any("leaked-fd" in t or t.startswith("net:") for t in fds.values()), fds
    assert all(t.startswith(("anon_inode:", "socket:", "/dev/")) for n, t in fds.items() if n > 2), fds
    # nor the environment
    with open(f"/proc/{pid}/environ", "rb") as f:
        assert f.read() == b""

    # what the jail holds
    def mode_owner(p):
        s = os.lstat(os.path.join(j.root, p))
        return stat.S_IFMT(s.st_mode), stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid, s.st_rdev
    d = stat.S_IFDIR
    assert mode_owner("") [:4] == (d, 0o700, UID, GID)
    assert mode_owner("run")[:4] == (d, 0o700, UID, GID)
    assert mode_owner("dev")[:4] == (d, 0o700, UID, GID)
    assert mode_owner("dev/kvm") == (stat.S_IFCHR, 0o600, UID, GID, os.makedev(10, 232))
    assert mode_owner("dev/net/tun") == (stat.S_IFCHR, 0o600, UID, GID, os.makedev(10, 200))
    if os.path.exists("/dev/userfaultfd"):
        assert mode_owner("dev/userfaultfd")[4] == os.stat("/dev/userfaultfd").st_rdev
    assert mode_owner("figment")[:4] == (stat.S_IFREG, 0o755, 0, 0)
    with open(FIGMENT, "rb") as a, open(os.path.join(j.root, "figment"), "rb") as b:
        assert a.read() == b.read()


def test_go_sdk_command_line_through_a_jailer_symlink(jail):
    """Exactly what firecracker-go-sdk's jailer.go runs: no --new-pid-ns, the
    jailer execs figment itself, the SDK's --api-sock after '--'."""
    j = jail()
    j.run(extra=["--api-sock", "/run/firecracker.socket"], binary=JAILER_LINK,
          subcommand=False, new_pid_ns=False)
    pid = j.started()
    assert pid == j.proc.pid
    assert request(j.sock, "GET", "/")[0] == 200
    assert proc_status(pid)["Uid"].split()[0] == str(UID)
    assert ns(pid, "pid") == ns(os.getpid(), "pid")  # no --new-pid-ns
    assert ns(pid, "mnt") != ns(os.getpid(), "mnt")
    assert limits(pid)["Max open files"] == ["2048", "2048"]  # Firecracker's default
    os.kill(pid, signal.SIGTERM)
    assert j.proc.wait(10) == 8  # figment's "stopped by a signal"


def test_default_socket_and_daemonize(jail):
    j = jail()
    j.run("--daemonize", new_pid_ns=False)  # figment's default socket path
    pid = j.started()
    st = proc_status(pid)
    assert st["NSsid"].split()[0] == str(pid)  # setsid: its own session
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
    assert request(j.sock, "GET", "/")[0] == 200


def test_cgroup_v2(jail):
    """Where a cgroup2 hierarchy is mounted: the VM's cgroup there, its core
    files written, and a controller enabled down the path when it has one."""
    mnt = v2_mount()
    if not mnt:
        pytest.skip("no cgroup2 hierarchy mounted")
    ctl = next((c for c in ("memory", "pids", "hugetlb") if c in v2_controllers()), None)
    root_ctl = open(os.path.join(mnt, "cgroup.subtree_control")).read().split()
    j = jail()
    cg = os.path.join(mnt, "figment", j.id)
    j.cgroups += [cg, os.path.dirname(cg)]
    flags = ["--cgroup-version", "2", "--cgroup", "cgroup.max.descendants=0"]
    setting = {"memory": ("memory.max", "268435456"), "pids": ("pids.max", "64"),
               "hugetlb": ("hugetlb.2MB.max", "0")}.get(ctl)
    if setting and not os.path.exists("/sys/kernel/mm/hugepages/hugepages-2048kB") and ctl == "hugetlb":
        setting = None
    if setting:
        flags += ["--cgroup", "=".join(setting)]
    try:
        j.run(*flags)
        pid = j.started()
        with open(f"/proc/{pid}/cgroup") as f:
            assert f"0::/figment/{j.id}" in f.read().splitlines()
        with open(os.path.join(cg, "cgroup.max.descendants")) as f:
            assert f.read().strip() == "0"
        if setting:
            with open(os.path.join(cg, setting[0])) as f:
                assert f.read().strip() == setting[1]
            with open(os.path.join(mnt, "figment", "cgroup.subtree_control")) as f:
                assert ctl in f.read().split()
    finally:
        j.stop()
        if ctl and ctl not in root_ctl:  # put the host's root back as it was
            try:
                with open(os.path.join(mnt, "cgroup.subtree_control"), "w") as f:
                    f.write("-" + ctl)
            except OSError:
                pass


def test_memory_cgroup_v1_nested_under_the_callers(jail):
    """--parent-cgroup places the VM below the caller's own memory cgroup, so
    the test moves nothing out of the limits it runs under."""
    mnt = v1_mount("memory")
    if not mnt:
        pytest.skip("no cgroup v1 memory hierarchy")
    with open("/proc/self/cgroup") as f:
        mine = next(l.split(":")[2] for l in f.read().splitlines()
                    if "memory" in l.split(":")[1].split(","))
    parent = (mine.strip("/") + "/figment-test").strip("/")
    j = jail()
    cg = os.path.join(mnt, parent, j.id)
    j.cgroups += [cg, os.path.dirname(cg)]
    j.run("--parent-cgroup", parent, "--cgroup", "memory.limit_in_bytes=268435456")
    pid = j.started()
    with open(f"/proc/{pid}/cgroup") as f:
        assert any(l.endswith(f":/{parent}/{j.id}") and "memory" in l for l in f.read().splitlines())
    with open(os.path.join(cg, "memory.limit_in_bytes")) as f:
        assert int(f.read()) == 268435456


@needs_kvm
def test_a_guest_boots_in_the_jail(jail):
    """The Go SDK's LinkFilesHandler way: the kernel hard-linked into the
    chroot, named by its path inside; figment opens the jail's /dev/kvm."""
    kernel = GUESTS / "hello.bin"
    if not kernel.exists():
        pytest.skip("test guests are not built (make test-guests)")
    j = jail()
    j.run(new_pid_ns=False)
    j.started()
    shutil.copy(kernel, os.path.join(j.root, "hello.bin"))
    os.chown(os.path.join(j.root, "hello.bin"), UID, GID)
    assert request(j.sock, "PUT", "/boot-source", {"kernel_image_path": "/hello.bin"})[0] == 204
    assert request(j.sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32})[0] == 204
    status, body = request(j.sock, "PUT", "/actions", {"action_type": "InstanceStart"})
    assert status == 204, body
    out, err = j.proc.communicate(timeout=30)
    assert b"hello from the figment test guest" in out, (out, err)
    assert j.proc.returncode == 0, err


# ------------------------------------------------------------- bad input --

def bad_cases(tmp):
    """(name, extra jailer flags, overrides, status, message fragment)."""
    plain = tmp / "plain"
    plain.write_bytes(b"not a program")
    plain.chmod(0o644)
    base_link = tmp / "base-link"
    base_link.symlink_to(tmp / "base")
    cases = [
        ("id-with-slash", [], {"id": "a/b"}, 3, "invalid --id 'a/b'"),
        ("id-dotdot", [], {"id": ".."}, 3, "invalid --id '..'"),
        ("id-too-long", [], {"id": "a" * 65}, 3, "invalid --id"),
        ("exec-symlink", [], {"exec": str(BUILD / "firecracker")}, 3, "is a symlink, not a regular file"),
        ("exec-not-executable", [], {"exec": str(plain)}, 3, "is not executable"),
        ("exec-missing", [], {"exec": str(tmp / "nothing")}, 3, "No such file or directory"),
        ("base-symlink", [], {"base": str(base_link)}, 3, "is a symlink, not a directory"),
        ("base-missing", [], {"base": str(tmp / "base" / "nothing")}, 3, "No such file or directory"),
        ("uid-0", [], {"uid": 0}, 3, "--uid 0 would leave the VMM running as root; give --allow-root"),
        ("gid-0", [], {"gid": 0}, 3, "--gid 0 would leave the VMM running as root"),
        ("cgroup-no-controller", ["--cgroup", "nosuch.max=1"], {}, 3,
         "no cgroup v1 hierarchy has the 'nosuch' controller"),
        ("cgroup-bad-format", ["--cgroup", "cpu.max"], {}, 2, "--cgroup takes FILE=VALUE"),
        ("parent-cgroup-escapes", ["--parent-cgroup", "../../x"], {}, 3, "--parent-cgroup '../../x'"),
        ("netns-regular-file", ["--netns", str(plain)], {}, 3, "is not a namespace file"),
        ("netns-mount-namespace", ["--netns", "/proc/self/ns/mnt"], {}, 3,
         "is a namespace, but not a network namespace"),
        ("netns-missing", ["--netns", str(tmp / "nothing")], {}, 3, "No such file or directory"),
        ("rlimit-unknown", ["--resource-limit", "cores=1"], {}, 2, "unknown resource"),
        ("rlimit-above-nr-open", ["--resource-limit", "no-file=99999999999"], {}, 3, "fs.nr_open"),
        ("unknown-flag", ["--node", "0"], {}, 2, "unknown option '--node'"),
        ("stray-argument", ["figment-args"], {}, 2, "unexpected argument 'figment-args'"),
    ]
    if v1_mount("cpu"):
        cases.append(("cgroup-v1-no-file", ["--cgroup", "cpu.nosuch=1"], {}, 3, "has no file 'cpu.nosuch'"))
    if v2_mount():
        cases.append(("cgroup-v2-no-controller", ["--cgroup-version", "2", "--cgroup", "nosuch.max=1"],
                      {}, 3, "no 'nosuch' controller"))
        # found only once the cgroup is made: made, then removed again
        cases.append(("cgroup-v2-no-file", ["--cgroup-version", "2", "--cgroup", "cgroup.nosuch=1"], {}, 3,
                      "has no such file"))
    return cases


def run_bad(jailer_bin, tmp, flags, over):
    cmd = [str(jailer_bin), "jailer", "--id", over.get("id", str(uuid.uuid4())),
           "--exec-file", over.get("exec", str(FIGMENT)),
           "--uid", str(over.get("uid", UID)), "--gid", str(over.get("gid", GID)),
           "--chroot-base-dir", over.get("base", str(tmp / "base")), "--new-pid-ns"] + flags
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


BAD_CASES = ["id-with-slash", "id-dotdot", "id-too-long", "exec-symlink",
             "exec-not-executable", "exec-missing", "base-symlink", "base-missing",
             "uid-0", "gid-0", "cgroup-no-controller", "cgroup-v2-no-controller",
             "cgroup-bad-format", "parent-cgroup-escapes", "netns-regular-file",
             "netns-mount-namespace", "netns-missing", "rlimit-unknown",
             "rlimit-above-nr-open", "unknown-flag", "stray-argument",
             "cgroup-v1-no-file", "cgroup-v2-no-file"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_fails_cleanly(tmp_path, case, jailer_bin):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "figment").mkdir()  # another jail's parent: left alone
    cases = {c[0]: c[1:] for c in bad_cases(tmp_path)}
    if case not in cases:
        pytest.skip(f"{case}: this host has no such cgroup hierarchy")
    flags, over, want_status, want_msg = cases[case]
    before, cgroups_before = tree(tmp_path), cgroup_dirs()
    v2 = v2_mount()
    v2_ctl = open(os.path.join(v2, "cgroup.subtree_control")).read() if v2 else None
    r = run_bad(jailer_bin, tmp_path, flags, over)
    assert r.returncode == want_status, r.stderr
    lines = r.stderr.splitlines()
    assert lines and lines[0].startswith("figment jailer: "), r.stderr
    assert want_msg in lines[0], r.stderr
    assert len(lines) <= 2, r.stderr  # the message, and for usage the --help hint
    assert r.stdout == ""
    assert tree(tmp_path) == before  # nothing made under the base, nor left
    assert cgroup_dirs() == cgroups_before  # nor any cgroup
    if v2:
        assert open(os.path.join(v2, "cgroup.subtree_control")).read() == v2_ctl


def test_an_existing_jail_is_not_reused(jail):
    j = jail()
    os.makedirs(os.path.join(j.base, "figment", j.id, "root"))
    before = tree(j.base)
    j.run()
    _, err = j.proc.communicate(timeout=30)
    assert j.proc.returncode == 3
    assert b"exists already: a jail for id '%s' was made before" % j.id.encode() in err
    assert tree(j.base) == before


def test_uid_0_with_allow_root(jail):
    j = jail()
    j.run("--allow-root", uid=0, gid=0)
    pid = j.started()
    assert proc_status(pid)["Uid"].split()[0] == "0"
    assert proc_status(pid)["NoNewPrivs"] == "1"


def test_help_and_version():
    r = subprocess.run([str(FIGMENT), "jailer", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--chroot-base-dir" in r.stdout and "--allow-root" in r.stdout
    r = subprocess.run([str(JAILER_LINK), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("Jailer v")
