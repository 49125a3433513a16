"""`figment container run` with a real Linux guest, in the nested lab: the
minimal guest kernel, the agent initramfs (build/figment-agent.cpio) and
images built here with umoci from a busybox rootfs (one with a second layer
whose whiteout hides a file of the first). Output, exit status passthrough
(0, 1, 7, 127 for a missing command with Docker's message), the image
config's Env/WorkingDir/User/Cmd and the command line's -e/-w/-u, stdin
(1 MiB through the process, checked by its SHA-256), an image tar, and the
cache: the second start of an image unpacks nothing; first and cached
start times are printed (lab times are emulated: only their ratio means
something). SIGTERM stops the VM (status 143). After all runs no run
folder and no figment process is left."""
import os
import re
import shutil

import pytest

from conftest import BUILD, lab_section, lab_transcript
from container_images import busybox_image

CONFIG = ["--config.cmd", "/bin/sh", "--config.cmd", "-c", "--config.cmd", "echo default-cmd",
          "--config.env", "FOO=from-image", "--config.env", "BAR=image-bar",
          "--config.workingdir", "/srv/app", "--config.user", "app"]


def second_layer(rootfs):
    (rootfs / "srv" / "app" / "hello.txt").unlink()
    (rootfs / "srv" / "app" / "new.txt").write_text("from layer two\n")


def lab_script():
    a = ("--verbose --kernel /guest/bzImage --agent /extra/figment-agent.cpio")
    run = f"timeout -k 5 120 figment container run {a}"
    # busybox's date has no %N: the lab's uptime, 10 ms steps
    t = "s=$(cut -d' ' -f1 /proc/uptime)"
    el = ("awk -v s=$s -v e=$(cut -d' ' -f1 /proc/uptime) "
          "'BEGIN { printf \"elapsed_ms %d\\n\", (e - s) * 1000 }'")
    return "\n".join([
        "export FIGMENT_CACHE=/tmp/fc FIGMENT_MKE2FS=/usr/local/bin/mke2fs",
        "echo '=== first start'",
        f"{t}; {run} --image /extra/bb -- true 2>&1; echo \"rc=$?\"; {el}",
        "echo '=== cached start'",
        f"{t}; {run} --image /extra/bb -- true 2>&1; echo \"rc=$?\"; {el}",
        f"{t}; {run} --image /extra/bb -- true 2>&1; echo \"rc=$?\"; {el}",
        "echo '=== output start'",
        f"{run} --image /extra/bb -- echo hello from the container; echo \"rc=$?\"",
        "echo '=== status start'",
        f"{run} --image /extra/bb -- false; echo \"false rc=$?\"",
        f"{run} --image /extra/bb -- sh -c 'echo to-stderr >&2; exit 7' 2>/tmp/err; "
        "echo \"seven rc=$?\"; grep -q to-stderr /tmp/err && echo stderr-ok",
        f"{run} --image /extra/bb -- nosuchcmd 2>/tmp/err; echo \"missing rc=$?\"; cat /tmp/err",
        "echo '=== config start'",
        f"{run} --image /extra/bb -- sh -c 'id; pwd; echo FOO=$FOO BAR=$BAR HOME=$HOME; ls /srv/app'",
        f"{run} --image /extra/bb; echo \"cmd rc=$?\"",
        f"{run} --image /extra/bb -e FOO=from-cli -e NEW=1 -w /tmp -u 0:50 -- "
        "sh -c 'id; pwd; echo FOO=$FOO BAR=$BAR NEW=$NEW'",
        "echo '=== stdin start'",
        "head -c 1048576 /dev/urandom > /tmp/in; sha256sum < /tmp/in | sed 's/^/want /'",
        f"{run} --image /extra/bb -- sha256sum < /tmp/in | sed 's/^/got /'",
        "echo '=== tar start'",
        f"{run} --image /extra/bb.tar -- cat /srv/app/new.txt 2>&1; echo \"rc=$?\"",
        "echo '=== signal start'",
        f"{run} --image /extra/bb -- sleep 600 > /tmp/sig.out 2>&1 & p=$!; "
        "i=0; while ! grep -q 'agent connected' /tmp/sig.out && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "
        "sleep 1; kill -TERM $p; wait $p; echo \"term rc=$?\"; cat /tmp/sig.out",
        "echo '=== leftovers start'",
        "echo \"runs $(ls /tmp | grep -c figment-ctr)\"",
        "echo \"procs $(ps -o comm | grep -c figment)\"",
        "echo \"cache $(ls /tmp/fc/containers | wc -l)\"",
    ])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if os.environ.get("FIGMENT_SKIP_LAB"):
        pytest.skip("FIGMENT_SKIP_LAB is set")
    if shutil.which("umoci") is None:
        pytest.fail("umoci is missing (make deps)")
    agent = BUILD / "figment-agent.cpio"
    if not agent.exists():
        pytest.fail(f"{agent} is not built (make figment)")
    extra = tmp_path_factory.mktemp("lab-container")
    busybox_image(extra / "bb", config=CONFIG, extra_layer=second_layer)
    shutil.copy(agent, extra / "figment-agent.cpio")
    r = os.system(f"tar -C {extra / 'bb'} -cf {extra / 'bb.tar'} .")
    assert r == 0
    return lab_transcript(tmp_path_factory, "container-out", lab_script(), timeout=900,
                          extra=extra, tools=["/usr/sbin/mke2fs"])


def elapsed(section):
    return [int(x) for x in re.findall(r"elapsed_ms (\d+)", section)]


def test_first_start_unpacks(lab):
    s = lab_section(lab, "first")
    assert "unpacked and made" in s and "rc=0" in s, s


def test_second_start_unpacks_nothing(lab):
    s = lab_section(lab, "cached")
    assert "unpacked and made" not in s, s
    assert s.count("cached, nothing unpacked") == 2 and s.count("rc=0") == 2, s
    first, cached = elapsed(lab_section(lab, "first"))[0], min(elapsed(s))
    prep = [float(x) for x in re.findall(r"\[([0-9.]+) ms\] container disk copied", lab)]
    print(f"container start in the lab (true, to exit): first {first} ms, cached {cached} ms, "
          f"ratio {first / cached:.2f}; image to disk: first {prep[0]:.0f} ms, cached "
          f"{min(prep[1:3]):.0f} ms, ratio {prep[0] / min(prep[1:3]):.1f}")


def test_output(lab):
    s = lab_section(lab, "output")
    assert "hello from the container\n" in s and "rc=0" in s, s


def test_exit_status_passthrough(lab):
    s = lab_section(lab, "status")
    assert "false rc=1" in s, s
    assert "seven rc=7" in s and "stderr-ok" in s, s
    assert "missing rc=127" in s, s
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in s, s


def test_image_config_and_overrides(lab):
    s = lab_section(lab, "config")
    # User "app" from the image: its uid, gid and groups from its /etc files
    assert "uid=1000(app) gid=1000(app) groups=50(staff),1000(app)" in s, s
    assert "\n/srv/app\n" in s, s
    assert "FOO=from-image BAR=image-bar HOME=/home/app" in s, s
    # the second layer's whiteout hid hello.txt
    assert "new.txt" in s and "hello.txt" not in s, s
    assert "\ndefault-cmd\n" in s and "cmd rc=0" in s, s
    assert "uid=0(root) gid=50(staff)" in s, s
    assert "\n/tmp\n" in s and "FOO=from-cli BAR=image-bar NEW=1" in s, s


def test_stdin_reaches_the_process(lab):
    s = lab_section(lab, "stdin")
    want = re.search(r"want ([0-9a-f]{64})", s)
    got = re.search(r"got ([0-9a-f]{64})", s)
    assert want and got and want.group(1) == got.group(1), s


def test_image_tar(lab):
    s = lab_section(lab, "tar")
    assert "from layer two" in s and "rc=0" in s and "cached, nothing unpacked" in s, s


def test_sigterm_stops_the_vm(lab):
    s = lab_section(lab, "signal")
    assert "term rc=143" in s and "signal 15: stopping the VM" in s, s


def test_nothing_left_behind(lab):
    s = lab_section(lab, "leftovers")
    assert "runs 0" in s and "procs 0" in s, s
    assert "cache 1" in s, s  # the one image disk (ls shows no .lock)
