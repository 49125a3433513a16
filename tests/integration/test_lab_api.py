"""The API end to end with a real Linux guest in the nested lab: figment is
started with only its API socket; curl configures machine, boot source and a
root drive, starts the instance, pauses and resumes it, and sends
Ctrl-Alt-Del, after which the guest reboots and figment exits 0; all of it
with every figment thread under its seccomp filter."""
import os
import re
import shutil

import pytest

from conftest import ROOT, run, run_lab

MKROOTFS = ROOT / "tools" / "guest" / "mkrootfs.sh"

SCRIPT = r"""
cp -a /extra /work
figment --api-sock /tmp/fig.sock --id lab1 > /tmp/vm.out 2>&1 &
pid=$!
i=0; while [ ! -S /tmp/fig.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
api() { # METHOD PATH [BODY]: prints "API <code> <body>"
	if [ -n "${3:-}" ]; then
		out=$(curl -s --unix-socket /tmp/fig.sock -X "$1" "http://localhost$2" -d "$3" -w ' %{http_code}')
	else
		out=$(curl -s --unix-socket /tmp/fig.sock -X "$1" "http://localhost$2" -w ' %{http_code}')
	fi
	echo "API $1 $2 -> ${out##* } ${out% *}"
}
api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
api PUT /boot-source '{"kernel_image_path": "/guest/cloud-bzImage", "initrd_path": "/guest/initramfs-cloud.cpio.gz", "boot_args": "console=ttyS0 reboot=k panic=-1 quiet pci=off fig_run=\"echo GUEST-UP $(nproc); sleep 600\""}'
api PUT /drives/root '{"drive_id": "root", "path_on_host": "/work/root.ext4", "is_root_device": true, "is_read_only": false}'
api GET /vm/config
api PUT /actions '{"action_type": "InstanceStart"}'
i=0; while ! grep -q GUEST-UP /tmp/vm.out && [ $i -lt 900 ]; do sleep 0.2; i=$((i+1)); done
for t in /proc/$pid/task/*; do
	echo "TASK $(cat $t/comm) $(grep '^Seccomp:' $t/status | tr -d ' \t')"
done
api PATCH /vm '{"state": "Paused"}'
api GET /
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
api PATCH /vm '{"state": "Resumed"}'
api GET /
api PUT /actions '{"action_type": "SendCtrlAltDel"}'
i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done
kill -9 $pid 2>/dev/null && echo "FIGMENT STILL RUNNING"
wait $pid; echo "FIGMENT-EXIT $?"
echo "SOCKET-LEFT $([ -e /tmp/fig.sock ] && echo yes || echo no)"
echo '--- vm.out'; cat /tmp/vm.out
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    curl = shutil.which("curl")
    if not curl:
        pytest.fail("curl is not installed (tools/deps.sh installs it)")
    work = tmp_path_factory.mktemp("api-lab")
    r = run([str(MKROOTFS), str(work / "root.ext4"), "32"], timeout=300)
    assert r.returncode == 0, r.stderr
    r = run_lab(SCRIPT, timeout=400, extra=work, tools=[curl])
    return r.stdout


def api(out, method, path, nth=0):
    hits = re.findall(rf"^API {method} {re.escape(path)} -> (\d+) ?(.*)$", out, re.M)
    assert len(hits) > nth, out
    return int(hits[nth][0]), hits[nth][1]


def test_configure_through_the_api(lab):
    assert api(lab, "PUT", "/machine-config")[0] == 204
    assert api(lab, "PUT", "/boot-source")[0] == 204
    assert api(lab, "PUT", "/drives/root")[0] == 204
    status, body = api(lab, "GET", "/vm/config")
    assert status == 200 and '"vcpu_count":2' in body and "/work/root.ext4" in body


def test_instance_start_boots_linux_from_the_root_drive(lab):
    assert api(lab, "PUT", "/actions", 0)[0] == 204
    assert re.search(r"^GUEST-UP 2$", lab, re.M), lab


def test_pause_and_resume(lab):
    assert api(lab, "PATCH", "/vm", 0)[0] == 204
    status, body = api(lab, "GET", "/", 0)
    assert status == 200 and '"state":"Paused"' in body
    assert api(lab, "PATCH", "/vm", 1)[0] == 204
    status, body = api(lab, "GET", "/", 1)
    assert '"state":"Running"' in body


def test_pre_boot_resource_refused_after_start(lab):
    status, body = api(lab, "PUT", "/machine-config", 1)
    assert status == 400 and "fault_message" in body


def test_ctrl_alt_del_ends_the_vm(lab):
    assert api(lab, "PUT", "/actions", 1)[0] == 204
    assert "FIGMENT STILL RUNNING" not in lab, lab
    assert re.search(r"^FIGMENT-EXIT 0$", lab, re.M), lab
    assert "SOCKET-LEFT no" in lab


def test_every_thread_runs_under_seccomp(lab):
    """The guest booted from its disk and answered the API with all of
    figment's threads filtered (kernel KVM workers in the process aside)."""
    tasks = re.findall(r"^TASK (.+?) Seccomp:(\d)$", lab, re.M)
    mine = [(name, mode) for name, mode in tasks if not name.startswith("kvm-")]
    names = {name for name, _ in mine}
    assert {"fc_api", "fc_vcpu 0", "fc_vcpu 1"} <= names, lab
    assert len(mine) == 4 and all(mode == "2" for _, mode in mine), mine
