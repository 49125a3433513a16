"""User-mode networking (`--net id=eth0,user=...`) with real Linux guests in
the nested lab, run by an unprivileged user: the guest takes its address
(by DHCP on the cloud kernel: 10.0.2.15; the minimal kernel has no AF_PACKET
for udhcpc and sets it), fetches a file from an HTTP server on the lab host's
loopback through the gateway 10.0.2.2, and the lab host fetches a file from
a server in the guest through a host port forward; both files arrive with
the same SHA-256 on both ends. Both backends (passt, the default, and
figment-slirp) on both kernels (the cloud kernel's virtio_net a module,
found through ACPI). The metadata service answers on these interfaces too
(the guest reaches 169.254.169.254 through its default route: figment takes
the frames before the helper sees them)."""
import re

import pytest

from conftest import BUILD, guest_fetch_and_serve, lab_section, lab_transcript, sh_quote

BASE = "console=ttyS0 reboot=k panic=-1 quiet pci=off"
KERNELS = {
    "min": "--kernel bzImage --initrd initramfs.cpio.gz",
    "cloud": "--kernel cloud-bzImage --initrd initramfs-cloud.cpio.gz --mem 256",
}
# name: (kernel, backend). The minimal kernel has no AF_PACKET, which
# busybox's udhcpc needs: its guests set the address DHCP would give.
CASES = {
    "passt-min": ("min", "on"),
    "slirp-min": ("min", "slirp"),
    "passt-cloud": ("cloud", "on"),
    "slirp-cloud": ("cloud", "slirp"),
}
MIB = 4
FWD_PORT = 2281

# In the guest (no double quotes: the kernel's command line has none): an
# address, a file from the lab host's loopback through the gateway, then
# serve a file of its own until the lab host has it.
STATIC = ("ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && "
          "ip route add default via 10.0.2.2 && echo IF-UP")
DHCP = ("printf '#!/bin/sh\\n[ $1 = bound ] || exit 0\\n"
        "ifconfig $interface $ip netmask $subnet up\\n"
        "route add default gw $router\\necho DHCP $ip via $router\\n' > /tmp/dh.sh; "
        "chmod +x /tmp/dh.sh; ip link set eth0 up; "
        "udhcpc -i eth0 -n -q -t 10 -s /tmp/dh.sh")
MMDS = "echo MMDS $(wget -q -O - http://169.254.169.254/latest/meta-data/instance-id)"
REST = guest_fetch_and_serve("http://10.0.2.2:8080/in.bin", MIB)



def lab_script():
    # The lab's root is its initramfs, where passt's sandbox cannot
    # pivot_root (EINVAL on rootfs), and a plain chroot may not make user
    # namespaces: everything runs in a copy on a tmpfs moved over / (what
    # switch_root does), as on a host whose root is a real mount.
    prelude = [
        "ip link set lo up",
        # passt wants a host interface with a default route (any will do:
        # it answers for the gateway itself); figment-slirp does not
        "tunctl -t up0 >/dev/null && ip addr add 192.168.77.1/24 dev up0 && ip link set up0 up",
        "ip route add default via 192.168.77.254 dev up0 onlink",
        "mkdir -p /nr && mount -t tmpfs -o size=1g tmpfs /nr",
        "for d in /*; do case $d in /proc|/sys|/dev|/nr) ;; *) cp -a $d /nr/ ;; esac; done",
        "mkdir -p /nr/proc /nr/sys /nr/dev && mount -t proc proc /nr/proc && "
        "mount -t sysfs sys /nr/sys && mount --bind /dev /nr/dev",
        # an unprivileged user runs figment: KVM is all it needs
        "echo 'fig:x:1000:1000::/tmp:/bin/sh' >> /nr/etc/passwd",
        "chmod 666 /dev/kvm",
    ]
    lines = [
        "mkdir -p /srv",
        f"dd if=/dev/urandom of=/srv/in.bin bs=1M count={MIB} 2>/dev/null",
        "echo \"=== host-in $(sha256sum < /srv/in.bin)\"",
        "httpd -p 127.0.0.1:8080 -h /srv",
        "echo '{\"latest\": {\"meta-data\": {\"instance-id\": \"i-user\"}}}' > /tmp/md.json",
        "chmod 644 /tmp/md.json",
    ]
    for name, (k, backend) in CASES.items():
        guest = f"{STATIC if k == 'min' else DHCP}; {MMDS}; {REST}"
        cmdline = f'{BASE} fig_run="{guest}"'
        run = (f"cd /guest; timeout -k 10 240 figment run {KERNELS[k]} "
               f"--net id=eth0,user={backend},hostfwd=tcp:127.0.0.1:{FWD_PORT}-:8081 "
               "--mmds net=eth0 --metadata /tmp/md.json "
               f"--cmdline {sh_quote(cmdline)}")
        lines += [
            f"echo '=== {name} start'",
            f"su -s /bin/sh fig -c {sh_quote(run)} > /tmp/{name}.out 2>&1 & pid=$!",
            f"i=0; while ! grep -q SERVING /tmp/{name}.out && [ $i -lt 900 ]; do sleep 0.2; i=$((i+1)); done",
            f"wget -q -O /tmp/out-{name}.bin http://127.0.0.1:{FWD_PORT}/out.bin && "
            f"echo \"=== {name} host-got $(sha256sum < /tmp/out-{name}.bin)\"",
            "ps -o user,comm | grep -E 'figment|passt' | sed 's/^/PROC /'",
            f"kill -TERM $pid 2>/dev/null; killall -TERM figment 2>/dev/null; wait $pid; echo \"=== {name} exit $?\"",
            "sleep 1; echo \"LEFT $(ps -o comm | grep -c -E '^(passt|passt.avx2|figment-slirp)$')\"",
            f"cat /tmp/{name}.out",
        ]
    body = "\n".join(lines)
    return "\n".join(prelude) + f"\ncat > /nr/cases.sh <<'CASES'\n{body}\nCASES\ncd /nr && mount --move . / && chroot . sh /cases.sh\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return lab_transcript(tmp_path_factory, "user-net", lab_script(), timeout=900,
                          tools=("/usr/bin/passt", str(BUILD / "figment-slirp")))




@pytest.mark.parametrize("name", list(CASES))
def test_user_mode_dhcp_outbound_and_port_forward(lab, name):
    host_in = re.search(r"=== host-in (\w+)", lab).group(1)
    s = lab_section(lab, name)
    if CASES[name][0] == "min":
        assert "IF-UP" in s, s[-3000:]
    else:
        assert "DHCP 10.0.2.15 via 10.0.2.2" in s, s[-3000:]
    assert "MMDS i-user" in s, s[-3000:]
    got = re.search(r"GUEST-GOT (\w+)", s)
    assert got and got.group(1) == host_in, s[-3000:]
    sent = re.search(r"GUEST-SENT (\w+)", s)
    host_got = re.search(rf"=== {name} host-got (\w+)", s)
    assert sent and host_got and sent.group(1) == host_got.group(1), s[-3000:]
    # figment ran as the unprivileged user; its helper went with it
    assert re.search(r"PROC\s+fig\s+figment", s), s[-3000:]
    assert "LEFT 0" in s, s[-3000:]
