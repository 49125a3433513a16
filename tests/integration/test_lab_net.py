"""virtio-net on a TAP with real Linux guests in the nested lab: for both
guest kernels (the minimal one with virtio_net built in, Debian's cloud
kernel with its module, found through ACPI) the guest takes its address,
pings the lab host, and a 4 MiB file crosses each way over TCP (busybox
httpd and wget) with the same SHA-256 on both ends; the lab host pings the
guest too. A guest whose interface is pinged by the lab host answers, and
the device's counters show the traffic."""
import re

import pytest

from conftest import lab_section, lab_transcript, guest_fetch_and_serve, sh_quote

BASE = "console=ttyS0 reboot=k panic=-1 quiet pci=off"
KERNELS = {
    "min": "--kernel bzImage --initrd initramfs.cpio.gz",
    "cloud": "--kernel cloud-bzImage --initrd initramfs-cloud.cpio.gz --mem 256",
}
MIB = 4
HOST_IP, GUEST_IP = "172.16.0.1", "172.16.0.2"

# In the guest (no double quotes: the kernel's command line has none): the
# address, a ping, a file from the lab host's httpd, a file of its own
# served to the lab host, then wait until the host has it.
GUEST_CMD = (
    f"ip addr add {GUEST_IP}/24 dev eth0 && ip link set eth0 up && echo IF-UP; "
    "cat /sys/class/net/eth0/address | sed 's/^/MAC /'; "
    f"ping -c 3 -W 5 {HOST_IP} >/dev/null && echo PING-OK; "
    + guest_fetch_and_serve(f"http://{HOST_IP}:8080/in.bin", MIB)
)



def lab_script():
    lines = [
        "tunctl -t fig0 >/dev/null",
        f"ip addr add {HOST_IP}/24 dev fig0 && ip link set fig0 up",
        "mkdir -p /srv",
        f"dd if=/dev/urandom of=/srv/in.bin bs=1M count={MIB} 2>/dev/null",
        "echo \"=== host-in $(sha256sum < /srv/in.bin)\"",
        "httpd -p 8080 -h /srv",
    ]
    for k, kern in KERNELS.items():
        cmdline = f'{BASE} fig_run="{GUEST_CMD}"'
        lines += [
            f"echo '=== {k} start'",
            f"cd /guest; timeout -k 10 240 figment run {kern} "
            f"--net id=eth0,tap=fig0,mac=06:00:ac:10:00:02 "
            f"--cmdline {sh_quote(cmdline)} > /tmp/{k}.out 2>&1 & pid=$!",
            # the guest serves its file: fetch it, ping it, then let it end
            "i=0; while ! grep -q SERVING /tmp/{k}.out && [ $i -lt 900 ]; do sleep 0.2; i=$((i+1)); done".replace("{k}", k),
            f"ping -c 2 -W 5 {GUEST_IP} >/dev/null && echo '=== {k} host-ping-ok'",
            f"wget -q -O /tmp/out-{k}.bin http://{GUEST_IP}:8081/out.bin && "
            f"echo \"=== {k} host-got $(sha256sum < /tmp/out-{k}.bin)\"",
            f"kill -TERM $pid 2>/dev/null; wait $pid; echo \"=== {k} exit $?\"",
            f"cat /tmp/{k}.out",
        ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return lab_transcript(tmp_path_factory, "net", lab_script(), timeout=900)




@pytest.mark.parametrize("k", list(KERNELS))
def test_tap_ping_and_tcp_both_ways(lab, k):
    host_in = re.search(r"=== host-in (\w+)", lab).group(1)
    s = lab_section(lab, k)
    assert "IF-UP" in s, s[-3000:]
    assert "MAC 06:00:ac:10:00:02" in s, s[-3000:]
    assert "PING-OK" in s, s[-3000:]
    assert f"=== {k} host-ping-ok" in s, s[-3000:]
    got = re.search(r"GUEST-GOT (\w+)", s)
    assert got and got.group(1) == host_in, s[-3000:]
    sent = re.search(r"GUEST-SENT (\w+)", s)
    host_got = re.search(rf"=== {k} host-got (\w+)", s)
    assert sent and host_got and sent.group(1) == host_got.group(1), s[-3000:]
