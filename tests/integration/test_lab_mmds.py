"""The metadata service (MMDS) with real Linux guests in the nested lab, on a
TAP: the guest's busybox nc and wget talk HTTP to 169.254.169.254 (or the
configured address) and figment answers in place of the network.

- V2 from the command line (--mmds, --metadata), both guest kernels: a GET
  without a token is refused with 401, a token from PUT /latest/api/token
  opens the store, values come as IMDS text or JSON, and a 30 KB value
  arrives whole (segmented to the guest's MSS and window).
- V1 through the API (Firecracker mode, another address): the guest reads a
  value set before boot, the host PATCHes the store while the guest runs and
  the guest sees the new value; the metrics count the connections."""
import re
import shutil

import pytest

from conftest import lab_section, lab_transcript, sh_quote

BASE = "console=ttyS0 reboot=k panic=-1 quiet pci=off"
KERNELS = {
    "min": "--kernel bzImage --initrd initramfs.cpio.gz",
    "cloud": "--kernel cloud-bzImage --initrd initramfs-cloud.cpio.gz --mem 256",
}
IF_UP = "ip addr add 172.16.0.2/24 dev eth0 && ip link set eth0 up && "
MMDS = "169.254.169.254"

# no double quotes: this goes on the kernel's command line
V2_GUEST = (
    IF_UP + f"ip route add {MMDS} dev eth0 && echo IF-UP; "
    f"printf 'GET /latest/meta-data/ami-id HTTP/1.0\\r\\n\\r\\n' | nc {MMDS} 80 | head -n 1 | sed 's/^/NOTOKEN /'; "
    f"T=$(printf 'PUT /latest/api/token HTTP/1.0\\r\\nX-metadata-token-ttl-seconds: 60\\r\\n\\r\\n' | nc {MMDS} 80 | tail -n 1); "
    "echo TOKEN-LEN ${#T}; "
    f"echo V2-VALUE $(wget -q -O - --header X-metadata-token:$T http://{MMDS}/latest/meta-data/ami-id); "
    f"wget -q -O /tmp/big --header X-metadata-token:$T http://{MMDS}/big; echo BIG $(wc -c < /tmp/big); "
    f"echo V2-LIST $(wget -q -O - --header X-metadata-token:$T http://{MMDS}/latest/meta-data/ | tr '\\n' ,); "
    "printf 'GET /latest/meta-data HTTP/1.0\\r\\nAccept: application/json\\r\\nX-metadata-token: %s\\r\\n\\r\\n' $T"
    f" | nc {MMDS} 80 | tail -n 1 | sed 's/^/V2-JSON /'; echo"
)

V1_ADDR = "169.254.170.2"
# no single quotes either: it travels in a single-quoted JSON body
V1_GUEST = (
    IF_UP + f"ip route add {V1_ADDR} dev eth0 && echo IF-UP; "
    f"echo V1-VALUE $(wget -q -O - http://{V1_ADDR}/latest/hostname); "
    "i=0; while [ $i -lt 300 ]; do "
    f"v=$(wget -q -O - http://{V1_ADDR}/latest/hostname); [ x$v = xpatched ] && break; "
    "sleep 0.2; i=$((i+1)); done; echo V1-PATCHED $v; sleep 600"
)


def lab_script():
    lines = [
        "tunctl -t fig0 >/dev/null",
        "ip addr add 172.16.0.1/24 dev fig0 && ip link set fig0 up",
        "big=$(head -c 30000 /dev/zero | tr '\\0' b)",
        "printf '{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-123\", \"zone\": \"z1\","
        " \"net\": {\"mac\": \"m\"}}}, \"big\": \"%s\"}' \"$big\" > /tmp/md.json",
    ]
    for k, kern in KERNELS.items():
        cmdline = f'{BASE} fig_run="{V2_GUEST}"'
        lines += [
            f"echo '=== {k} start'",
            f"cd /guest; timeout -k 10 240 figment run {kern} "
            "--net id=eth0,tap=fig0,mac=06:00:ac:10:00:02 "
            "--mmds net=eth0,version=V2 --metadata /tmp/md.json "
            f"--cmdline {sh_quote(cmdline)} 2>&1; echo \"=== {k} exit $?\"",
        ]
    boot_args = f'{BASE} fig_run=\\"{V1_GUEST}\\"'
    lines += [
        "echo '=== api start'",
        "figment --api-sock /tmp/fig.sock --metrics-path /tmp/metrics.json > /tmp/api.out 2>&1 & pid=$!",
        "i=0; while [ ! -S /tmp/fig.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
        "api() { if [ -n \"${3:-}\" ]; then "
        "out=$(curl -s --unix-socket /tmp/fig.sock -X \"$1\" \"http://localhost$2\" -d \"$3\" -w ' %{http_code}'); "
        "else out=$(curl -s --unix-socket /tmp/fig.sock -X \"$1\" \"http://localhost$2\" -w ' %{http_code}'); fi; "
        "echo \"API $1 $2 -> ${out##* } ${out% *}\"; }",
        "api PUT /boot-source '{\"kernel_image_path\": \"/guest/bzImage\", "
        "\"initrd_path\": \"/guest/initramfs.cpio.gz\", "
        f"\"boot_args\": \"{boot_args}\"}}'",
        "api PUT /network-interfaces/eth0 '{\"iface_id\": \"eth0\", \"host_dev_name\": \"fig0\", "
        "\"guest_mac\": \"06:00:ac:10:00:02\"}'",
        f"api PUT /mmds/config '{{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"{V1_ADDR}\"}}'",
        "api PUT /mmds '{\"latest\": {\"hostname\": \"first\"}}'",
        "api PUT /actions '{\"action_type\": \"InstanceStart\"}'",
        "i=0; while ! grep -q V1-VALUE /tmp/api.out && [ $i -lt 900 ]; do sleep 0.2; i=$((i+1)); done",
        "api PATCH /mmds '{\"latest\": {\"hostname\": \"patched\"}}'",
        "i=0; while ! grep -q V1-PATCHED /tmp/api.out && [ $i -lt 900 ]; do sleep 0.2; i=$((i+1)); done",
        "api GET /mmds",
        "api PUT /actions '{\"action_type\": \"FlushMetrics\"}'",
        "tail -n 1 /tmp/metrics.json | sed 's/^/METRICS /'",
        "kill -TERM $pid; wait $pid; echo \"=== api exit $?\"",
        "cat /tmp/api.out",
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    curl = shutil.which("curl")
    if not curl:
        pytest.fail("curl is not installed (tools/deps.sh installs it)")
    return lab_transcript(tmp_path_factory, "mmds", lab_script(), timeout=900, tools=[curl])




@pytest.mark.parametrize("k", list(KERNELS))
def test_v2_tokens_text_json_and_a_long_value(lab, k):
    s = lab_section(lab, k)
    assert "IF-UP" in s, s[-3000:]
    assert "NOTOKEN HTTP/1.1 401 Unauthorized" in s, s[-3000:]
    assert "TOKEN-LEN 43" in s, s[-3000:]
    assert "V2-VALUE ami-123" in s, s[-3000:]
    assert "BIG 30000" in s, s[-3000:]
    assert "V2-LIST ami-id,net/,zone" in s, s[-3000:]
    assert 'V2-JSON {"ami-id":"ami-123","zone":"z1","net":{"mac":"m"}}' in s, s[-3000:]
    assert f"=== {k} exit 0" in s, s[-3000:]


def api(out, method, path):
    hits = re.findall(rf"^API {method} {re.escape(path)} -> (\d+) ?(.*)$", out, re.M)
    assert hits, out[-3000:]
    return int(hits[0][0]), hits[0][1]


def test_v1_through_the_api_sees_a_patch_while_running(lab):
    s = lab_section(lab, "api")
    for method, path in [("PUT", "/boot-source"), ("PUT", "/network-interfaces/eth0"),
                         ("PUT", "/mmds/config"), ("PUT", "/mmds"),
                         ("PUT", "/actions"), ("PATCH", "/mmds")]:
        assert api(s, method, path)[0] == 204, (method, path, s[-3000:])
    assert "V1-VALUE first" in s, s[-3000:]
    assert "V1-PATCHED patched" in s, s[-3000:]
    status, body = api(s, "GET", "/mmds")
    assert status == 200 and body == '{"latest":{"hostname":"patched"}}', body
    m = re.search(r"^METRICS (.*)$", s, re.M)
    assert m, s[-3000:]
    created = re.search(r'"connections_created":(\d+)', m.group(1))
    destroyed = re.search(r'"connections_destroyed":(\d+)', m.group(1))
    assert created and int(created.group(1)) >= 2, m.group(1)
    assert destroyed and int(destroyed.group(1)) >= 2, m.group(1)
    assert "=== api exit 8" in s, s[-3000:]  # stopped by us (SIGTERM)
