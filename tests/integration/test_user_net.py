"""The two user-mode network backends (passt, figment-slirp), driven the way
figment drives them, without a VM: one end of a stream socket pair each
(`--fd`), frames with a 32-bit big-endian length in front. For each: an ARP
request for the gateway is answered, DHCP offers the guest 10.0.2.15, and a
connection to a forwarded host port arrives as a TCP SYN for the guest's
port. figment-slirp's own checks: bad arguments are refused, a taken host
port is an error, it puts itself under seccomp and ends when figment's end
closes. (The guest side, with Linux, is tests/integration/test_lab_user_net.py.)"""
import os
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BUILD

SLIRP = BUILD / "figment-slirp"
GUEST_MAC = bytes.fromhex("060000aa0001")
GUEST_IP, GATEWAY = socket.inet_aton("10.0.2.15"), socket.inet_aton("10.0.2.2")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def passt_cmd(fwd_port, guest_port):
    # as src/devices/virtio/net/user_net.c starts it
    return ["passt", "--foreground", "--quiet", "--stderr", "--fd", "3",
            "--address", "10.0.2.15", "--netmask", "24", "--gateway", "10.0.2.2",
            "--dns", "10.0.2.3", "--dns-forward", "10.0.2.3", "--mtu", "1500",
            "--ipv4-only", "--runas", "65534:65534",
            "--tcp-ports", f"127.0.0.1/{fwd_port}:{guest_port}"]


def slirp_cmd(fwd_port, guest_port):
    return [str(SLIRP), "--fd", "3", "--tcp", f"127.0.0.1/{fwd_port}:{guest_port}"]


class Backend:
    def __init__(self, cmd):
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # the helper's end as fd 3, as figment hands it over
        self.proc = subprocess.Popen(cmd, pass_fds=[3], stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=lambda: os.dup2(child.fileno(), 3))
        child.close()
        self.buf = b""

    def send(self, frame):
        self.sock.sendall(struct.pack(">I", len(frame)) + frame)

    def frames(self, timeout):
        """Frames until @timeout passes."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            while len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                assert 0 < n <= 65553, f"frame length {n}"
                if len(self.buf) < 4 + n:
                    break
                f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                yield f
            r, _, _ = select.select([self.sock], [], [], max(0, end - time.monotonic()))
            if r:
                d = self.sock.recv(1 << 16)
                if not d:
                    return
                self.buf += d

    def wait_for(self, pred, timeout=10):
        for f in self.frames(timeout):
            if pred(f):
                return f
        return None

    def close(self):
        self.sock.close()
        try:
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def arp_request():
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, GUEST_MAC, GUEST_IP, b"\0" * 6, GATEWAY)
    return b"\xff" * 6 + GUEST_MAC + b"\x08\x06" + arp


def is_arp_reply(f):
    return f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02" and f[28:32] == GATEWAY


def dhcp_discover():
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x1234567, 0, 0x8000,
                        b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, GUEST_MAC + b"\0" * 10,
                        b"\0" * 64, b"\0" * 128)
    bootp += b"\x63\x82\x53\x63" + b"\x35\x01\x01" + b"\xff" + b"\0" * 16
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     b"\0" * 4, b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + GUEST_MAC + b"\x08\x00" + ip + udp


def is_dhcp_offer(f):
    if f[12:14] != b"\x08\x00" or f[23] != 17:
        return False
    ihl = (f[14] & 15) * 4
    udp = f[14 + ihl:]
    return udp[:4] == struct.pack("!HH", 67, 68) and udp[8 + 16:8 + 20] == GUEST_IP


def tcp_syn_to(port):
    def pred(f):
        if f[12:14] != b"\x08\x00" or f[23] != 6 or f[30:34] != GUEST_IP:
            return False
        tcp = f[14 + (f[14] & 15) * 4:]
        return struct.unpack("!H", tcp[2:4])[0] == port and tcp[13] & 0x02
    return pred


def available(name):
    if name == "passt" and not shutil.which("passt"):
        pytest.skip("passt is not installed (tools/deps.sh installs it)")
    if name == "slirp" and not SLIRP.exists():
        pytest.fail(f"{SLIRP} is not built (make figment)")


@pytest.mark.parametrize("name", ["passt", "slirp"])
def test_arp_dhcp_and_port_forward(name):
    available(name)
    port, guest_port = free_port(), 8022
    b = Backend((passt_cmd if name == "passt" else slirp_cmd)(port, guest_port))
    try:
        time.sleep(0.3)
        if b.proc.poll() is not None:
            err = b.proc.stderr.read().decode()
            if "routable interface" in err or "External interface" in err:
                pytest.skip(f"passt needs a host interface with a default route: {err.strip()}")
            pytest.fail(f"{name} ended at once: {err}")
        b.send(arp_request())
        assert b.wait_for(is_arp_reply), "no ARP reply for the gateway"
        b.send(dhcp_discover())
        assert b.wait_for(is_dhcp_offer), "no DHCP offer of 10.0.2.15"
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        try:
            assert b.wait_for(tcp_syn_to(guest_port)), "the forwarded connection did not reach the guest side"
        finally:
            c.close()
    finally:
        b.close()


def test_slirp_ends_with_figment_and_is_under_seccomp():
    available("slirp")
    b = Backend(slirp_cmd(free_port(), 22))
    time.sleep(0.3)
    status = open(f"/proc/{b.proc.pid}/status").read()
    assert "Seccomp:\t2" in status, status
    assert "NoNewPrivs:\t1" in status, status
    if os.geteuid() == 0:
        uid = [line for line in status.splitlines() if line.startswith("Uid:")][0]
        assert uid.split()[1:] == ["65534"] * 4, uid
    assert b.close() == 0


def test_slirp_refuses_bad_input():
    available("slirp")
    for args in (["--fd"], ["--fd", "99"], ["--bogus"], ["--fd", "0", "--tcp", "nonsense"],
                 ["--fd", "0", "--tcp", "127.0.0.1/0:22"], ["--fd", "0", "--tcp", "127.0.0.1/22:70000"]):
        r = subprocess.run([str(SLIRP)] + args, capture_output=True, text=True, timeout=10,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and "figment-slirp:" in r.stderr, (args, r)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        b = Backend(slirp_cmd(taken.getsockname()[1], 22))
        assert b.proc.wait(timeout=10) == 1
        assert "host port taken" in b.proc.stderr.read().decode()
        b.sock.close()
    finally:
        taken.close()


def test_slirp_refuses_a_bad_frame_length():
    available("slirp")
    b = Backend(slirp_cmd(free_port(), 22))
    b.sock.sendall(struct.pack(">I", 1 << 20))
    assert b.proc.wait(timeout=10) == 1
    assert "frame length" in b.proc.stderr.read().decode()
    b.sock.close()


# Stands in for guest traffic that took over libslirp's parser: replaces
# slirp_input(), which figment-slirp calls for each frame once it has
# confined itself, and tries what the environment variable says.
_TAKEOVER = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
void slirp_input(void *s, const unsigned char *pkt, int len)
{
	const char *path = getenv("TAKEOVER_PATH");
	int flags = atoi(getenv("TAKEOVER_FLAGS"));
	char msg[512];
	int fd = openat(AT_FDCWD, path, flags, 0644);
	int n = snprintf(msg, sizeof(msg), "takeover: %s %s\n", path,
			 fd >= 0 ? "opened" : strerror(errno));

	(void)s, (void)pkt, (void)len;
	if (write(2, msg, (size_t)n) < 0)
		_exit(2);
	_exit(0);
}
"""


@pytest.fixture
def open_dir():
    """A directory anyone may use (the helper runs as 65534 under root)."""
    d = tempfile.mkdtemp(prefix="figment-slirp-")
    os.chmod(d, 0o777)
    yield Path(d)
    shutil.rmtree(d)


def _takeover(tmp_path, path, flags, uid):
    """figment-slirp, under @uid, with slirp_input() replaced: what it says
    (exit status, stderr) after it opens @path with @flags (@tmp_path: where
    the stand-in is built, open to @uid)."""
    cc = shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler for the stand-in")
    src, so = tmp_path / "takeover.c", tmp_path / "takeover.so"
    if not so.exists():
        src.write_text(_TAKEOVER)
        subprocess.run([cc, "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
        os.chmod(so, 0o755)
    sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def pre():
        os.dup2(child.fileno(), 3)
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
    env = dict(os.environ, LD_PRELOAD=str(so), TAKEOVER_PATH=str(path),
               TAKEOVER_FLAGS=str(flags))
    p = subprocess.Popen(slirp_cmd(free_port(), 22), pass_fds=[3], env=env,
                         stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=pre)
    child.close()
    try:
        sock.sendall(struct.pack(">I", 60) + arp_request().ljust(60, b"\0"))
        return p.wait(timeout=10), p.stderr.read().decode()
    finally:
        sock.close()
        if p.poll() is None:
            p.kill()


def _landlock_abi():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(VERSION)


def test_slirp_taken_over_writes_no_file(open_dir):
    """Running as the user who runs figment (not root), a figment-slirp the
    guest took over cannot create or write files: ~/.bashrc, figment's
    /proc/PID/mem."""
    available("slirp")
    target = open_dir / "owned"
    status, err = _takeover(open_dir, target, os.O_WRONLY | os.O_CREAT, 65534)
    assert status == 31 and "not allowed" in err, (status, err)
    assert not target.exists()
    status, err = _takeover(open_dir, "/dev/null", os.O_RDWR, 65534)
    assert status == 31 and "not allowed" in err, (status, err)


def test_slirp_taken_over_reads_etc_only(open_dir):
    """With Landlock, it can read /etc (resolv.conf) and nothing else: not
    the user's files, not its parent's memory."""
    available("slirp")
    if _landlock_abi() < 1:
        pytest.skip("the kernel has no Landlock")
    mine = open_dir / "secret"
    mine.write_text("key")
    os.chmod(mine, 0o644)
    status, err = _takeover(open_dir, "/etc/passwd", os.O_RDONLY, 65534)
    assert status == 0 and "opened" in err, err
    status, err = _takeover(open_dir, mine, os.O_RDONLY, 65534)
    assert status == 0 and "Permission denied" in err, err
    # its parent's memory (under root it is 65534 by then; under a user,
    # Landlock's ptrace rule refuses it)
    status, err = _takeover(open_dir, f"/proc/{os.getpid()}/mem", os.O_RDONLY, None)
    assert status == 0 and "Permission denied" in err, err
