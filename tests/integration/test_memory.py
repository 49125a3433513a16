"""Guest memory policy on the host's /dev/kvm with the counting test guest
(tests/guests/counter.S): page sharing (--merge-pages, machine-config
merge_pages: MADV_MERGEABLE on guest RAM, after a restore too), huge pages
(--hugepages 2M|thp, machine-config huge_pages: hugetlbfs with a clear error
when the host has too few, THP), and the memory report (GET /memory and the
"memory" gauges of the metrics)."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import needs_kvm, run
from test_snapshot import _api, _counts, _snapshot, _stop, _wait_count, _wait_sock

CONFIG, USAGE = 3, 2
MEM = 64
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
FREE_HUGEPAGES = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

pytestmark = needs_kvm


def _ram_mapping(pid, mib=MEM):
    """The smaps entry of guest RAM (the one anonymous mapping of @mib MiB):
    (start address, {field: value}, VmFlags list)."""
    with open(f"/proc/{pid}/smaps") as f:
        text = f.read()
    found = []
    for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", text):
        head, _, rest = block.partition("\n")
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(\S*)", head)
        # anonymous; hugetlbfs RAM is named /anon_hugepage, a restored
        # VM's maps its snapshot's memory file
        name = m.group(3) if m else None
        if name is None or (name not in ("", "/anon_hugepage")
                            and not name.endswith("/memory")):
            continue
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        if end - start != mib << 20:
            continue
        fields = dict(re.findall(r"^(\w+):\s+(\d+) kB", rest, re.M))
        flags = re.search(r"^VmFlags:(.*)$", rest, re.M).group(1).split()
        found.append((start, {k: int(v) for k, v in fields.items()}, flags))
    assert len(found) == 1, f"{len(found)} mappings of {mib} MiB"
    return found[0]


def _run_counter(figment, guest, tmp_path, *flags, name="c"):
    out = str(tmp_path / f"{name}.out")
    open(out, "wb").close()
    p = subprocess.Popen([figment, "run", "--kernel", guest("counter.bin"), "--mem", str(MEM),
                          "--serial", out, *flags],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        _wait_count(out, 2, p)
    except BaseException:
        p.kill()
        p.wait()
        raise
    return p, out


def test_merge_pages_marks_guest_ram_mergeable(figment, guest, tmp_path):
    p, _ = _run_counter(figment, guest, tmp_path, "--merge-pages")
    try:
        start, _, flags = _ram_mapping(p.pid)
        assert "mg" in flags, flags
        assert start % (2 << 20) == 0, hex(start)  # aligned in any mode
        with open(f"/proc/{p.pid}/ksm_stat") as f:
            assert "ksm_mergeable: yes" in f.read()
    finally:
        _stop(p)
    p, _ = _run_counter(figment, guest, tmp_path, name="plain")
    try:
        start, _, flags = _ram_mapping(p.pid)
        assert "mg" not in flags and "hg" not in flags, flags
        assert start % (2 << 20) == 0, hex(start)
    finally:
        _stop(p)


def test_thp_advises_huge_pages(figment, guest, tmp_path):
    p, _ = _run_counter(figment, guest, tmp_path, "--hugepages", "thp")
    try:
        start, fields, flags = _ram_mapping(p.pid)
        assert "hg" in flags and "mg" not in flags, flags
        assert start % (2 << 20) == 0
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            thp = f.read()
        if "[never]" not in thp:
            # the guest's first page fault takes a whole 2 MiB page
            assert fields["AnonHugePages"] >= 2048, fields
    finally:
        _stop(p)


def test_bad_memory_flags(figment, guest):
    k = guest("counter.bin")
    r = run([figment, "run", "--kernel", k, "--hugepages", "1G"])
    assert r.returncode == USAGE and "none, 2M or thp" in r.stderr, r.stderr
    r = run([figment, "run", "--kernel", k, "--hugepages", "2M", "--merge-pages"])
    assert r.returncode == CONFIG and "KSM" in r.stderr, r.stderr
    r = run([figment, "run", "--kernel", k, "--hugepages", "2M", "--mem", "63"])
    assert r.returncode == CONFIG and "multiple of 2 MiB" in r.stderr, r.stderr


def _read(path):
    with open(path) as f:
        return int(f.read())


@pytest.fixture
def no_free_hugepages():
    if not os.path.exists(FREE_HUGEPAGES):
        pytest.skip("no 2 MiB hugetlbfs pages on this host")
    old = _read(NR_HUGEPAGES)
    if old:
        try:
            with open(NR_HUGEPAGES, "w") as f:
                f.write("0")
        except OSError:
            pytest.skip(f"{old} huge pages are reserved and cannot be released")
    yield
    with open(NR_HUGEPAGES, "w") as f:
        f.write(str(old))


@pytest.fixture
def hugepages():
    """Reserves enough 2 MiB pages for two test guests, and gives them back."""
    if not os.path.exists(FREE_HUGEPAGES) or not os.access(NR_HUGEPAGES, os.W_OK):
        pytest.skip("cannot reserve huge pages here (needs root and hugetlbfs)")
    old = _read(NR_HUGEPAGES)
    with open(NR_HUGEPAGES, "w") as f:
        f.write(str(old + 2 * MEM // 2))
    if _read(FREE_HUGEPAGES) < MEM // 2:
        with open(NR_HUGEPAGES, "w") as f:
            f.write(str(old))
        pytest.skip("the kernel could not find free 2 MiB pages")
    yield
    with open(NR_HUGEPAGES, "w") as f:
        f.write(str(old))
    assert _read(NR_HUGEPAGES) == old


def test_hugepages_2m_without_reserved_pages_fails_clearly(figment, guest, no_free_hugepages):
    t = time.monotonic()
    r = run([figment, "run", "--kernel", guest("counter.bin"), "--mem", str(MEM),
             "--hugepages", "2M", "--serial", "none"], timeout=20)
    assert r.returncode == CONFIG, (r.returncode, r.stderr)
    assert f"needs {MEM // 2} free 2 MiB huge pages" in r.stderr, r.stderr
    assert "has 0 free" in r.stderr and "nr_hugepages" in r.stderr, r.stderr
    assert time.monotonic() - t < 10


def test_hugepages_2m_api_start_fails_with_400(figment, guest, tmp_path, no_free_hugepages):
    sock = str(tmp_path / "a.sock")
    p = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_sock(sock, p)
        assert _api(sock, "PUT", "/machine-config",
                    {"vcpu_count": 1, "mem_size_mib": MEM, "huge_pages": "2M"})[0] == 204
        assert _api(sock, "PUT", "/boot-source",
                    {"kernel_image_path": guest("counter.bin")})[0] == 204
        st, b = _api(sock, "PUT", "/actions", {"action_type": "InstanceStart"})
        assert st == 400 and "free 2 MiB huge pages" in b["fault_message"], b
        # figment is still there and answers
        assert _api(sock, "GET", "/machine-config")[0] == 200
    finally:
        p.kill()
        p.wait()


def test_hugepages_2m_boots_on_reserved_pages(figment, guest, tmp_path, hugepages):
    free = _read(FREE_HUGEPAGES)
    p, out = _run_counter(figment, guest, tmp_path, "--hugepages", "2M")
    try:
        start, fields, flags = _ram_mapping(p.pid)
        assert fields["KernelPageSize"] == 2048, fields
        assert fields["Private_Hugetlb"] >= 2048, fields
        assert "ht" in flags, flags
        # all of RAM's pages were reserved at start: none can be missing later
        assert free - _read(FREE_HUGEPAGES) >= 1
        _wait_count(out, 5, p)
    finally:
        _stop(p)


def test_hugepages_2m_snapshot_restores_only_with_uffd(figment, guest, tmp_path, hugepages):
    cfg = tmp_path / "h.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": guest("counter.bin")},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": MEM, "huge_pages": "2M"}}))
    sock, out = str(tmp_path / "h.sock"), str(tmp_path / "h.out")
    p = subprocess.Popen([figment, "--api-sock", sock, "--config-file", str(cfg)],
                         stdin=subprocess.DEVNULL, stdout=open(out, "wb"),
                         stderr=subprocess.STDOUT)
    snap = tmp_path / "snap"
    try:
        _wait_sock(sock, p)
        _wait_count(out, 2, p)
        r = _snapshot(figment, sock, snap)
        assert r.returncode == 0, r.stderr
        at = _counts(out)[-1]
    finally:
        p.kill()
        p.wait()
    r = run([figment, "run", "--restore", str(snap), "--serial", "none"], timeout=20)
    assert r.returncode == CONFIG and "Uffd" in r.stderr, r.stderr
    handler = os.path.join(os.path.dirname(figment), "figment-uffd-handler")
    if not os.path.exists(handler):
        handler = os.path.join(os.path.dirname(os.path.dirname(figment)), "build",
                               "figment-uffd-handler")
    usock = str(tmp_path / "uffd.sock")
    h = subprocess.Popen([handler, usock, str(snap / "memory")], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sock, out = str(tmp_path / "u.sock"), str(tmp_path / "u.out")
    p = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                         stdout=open(out, "wb"), stderr=subprocess.STDOUT)
    try:
        _wait_sock(usock, h)
        _wait_sock(sock, p)
        st, b = _api(sock, "PUT", "/snapshot/load",
                     {"snapshot_path": str(snap / "state"), "resume_vm": True,
                      "mem_backend": {"backend_type": "Uffd", "backend_path": usock}})
        assert st == 204, b
        _wait_count(out, at + 2, p)
        _, fields, _ = _ram_mapping(p.pid)
        assert fields["KernelPageSize"] == 2048, fields
    finally:
        _stop(p)
        _, err = h.communicate(timeout=10)
    assert h.returncode == 0, err


def _restored_flags(figment, tmp_path, snap, *extra):
    out = str(tmp_path / "r.out")
    open(out, "wb").close()
    p = subprocess.Popen([figment, "run", "--restore", str(snap), "--serial", out, *extra],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        c0 = None
        end = time.monotonic() + 30
        while not _counts(out) or len(_counts(out)) < 2:
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < end
            time.sleep(0.05)
        c0 = _counts(out)
        return _ram_mapping(p.pid)[2], c0
    finally:
        _stop(p)


def test_merge_pages_after_a_restore(figment, guest, tmp_path):
    """A snapshot of a VM with merge_pages restores mergeable (the setting is
    in the snapshot), and --merge-pages makes any restore mergeable; the RAM
    mapped from the memory file is 2 MiB-aligned too."""
    for merge, name in ((True, "m"), (False, "p")):
        cfg = tmp_path / f"{name}.json"
        cfg.write_text(json.dumps({
            "boot-source": {"kernel_image_path": guest("counter.bin")},
            "machine-config": {"vcpu_count": 1, "mem_size_mib": MEM, "merge_pages": merge}}))
        sock, out = str(tmp_path / f"{name}.sock"), str(tmp_path / f"{name}.out")
        p = subprocess.Popen([figment, "--api-sock", sock, "--config-file", str(cfg)],
                             stdin=subprocess.DEVNULL, stdout=open(out, "wb"),
                             stderr=subprocess.STDOUT)
        try:
            _wait_sock(sock, p)
            _wait_count(out, 2, p)
            assert _snapshot(figment, sock, tmp_path / f"snap-{name}").returncode == 0
        finally:
            p.kill()
            p.wait()
    flags, _ = _restored_flags(figment, tmp_path, tmp_path / "snap-m")
    assert "mg" in flags, flags
    flags, _ = _restored_flags(figment, tmp_path, tmp_path / "snap-p")
    assert "mg" not in flags, flags
    flags, _ = _restored_flags(figment, tmp_path, tmp_path / "snap-p", "--merge-pages")
    assert "mg" in flags, flags
    r = run([figment, "run", "--restore", str(tmp_path / "snap-p"), "--hugepages", "thp"])
    assert r.returncode == USAGE and "from the snapshot" in r.stderr, r.stderr


REPORT_FIELDS = ["guest_ram", "resident", "merged", "private", "balloon", "untouched",
                 "huge_page"]


def test_memory_endpoint_and_gauges(figment, guest, tmp_path):
    metrics = tmp_path / "metrics.json"
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({
        "boot-source": {"kernel_image_path": guest("counter.bin")},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": MEM, "merge_pages": True},
        "metrics": {"metrics_path": str(metrics)}}))
    sock, out = str(tmp_path / "c.sock"), str(tmp_path / "c.out")
    p = subprocess.Popen([figment, "--api-sock", sock, "--config-file", str(cfg)],
                         stdin=subprocess.DEVNULL, stdout=open(out, "wb"),
                         stderr=subprocess.STDOUT)
    try:
        _wait_sock(sock, p)
        _wait_count(out, 2, p)
        st, rep = _api(sock, "GET", "/memory")
        assert st == 200, rep
        for f in REPORT_FIELDS:
            assert isinstance(rep[f + "_bytes"], int) and rep[f + "_bytes"] >= 0, (f, rep)
            assert abs(rep[f + "_mib"] - rep[f + "_bytes"] / (1 << 20)) < 0.011, (f, rep)
        assert rep["guest_ram_bytes"] == MEM << 20
        assert rep["merge_pages"] is True and rep["huge_pages"] == "None"
        assert rep["page_size"] == 4096
        assert rep["sources"]["resident"] == "smaps"
        assert rep["sources"]["merged"] in ("ksm_stat", "smaps")
        # the counting guest touches a few pages of its 64 MiB
        assert 0 < rep["resident_bytes"] < 8 << 20, rep
        assert rep["resident_bytes"] + rep["balloon_bytes"] + rep["untouched_bytes"] \
            <= rep["guest_ram_bytes"]
        assert rep["private_bytes"] == rep["resident_bytes"] - rep["merged_bytes"]
        # what the kernel says of the same mapping
        _, fields, _ = _ram_mapping(p.pid)
        assert abs(fields["Rss"] * 1024 - rep["resident_bytes"]) <= 64 << 10, (fields, rep)
        assert _api(sock, "PUT", "/actions", {"action_type": "FlushMetrics"})[0] == 204
        lines = [json.loads(l) for l in metrics.read_text().splitlines()]
        mem = lines[-1]["memory"]
        assert mem["guest_ram_bytes"] == MEM << 20
        assert mem["resident_bytes"] > 0
        assert set(mem) >= {"resident_bytes", "merged_bytes", "balloon_bytes",
                            "untouched_bytes", "private_bytes"}
        # a gauge is a value, not a change: the next line says it again
        assert _api(sock, "PUT", "/actions", {"action_type": "FlushMetrics"})[0] == 204
        again = json.loads(metrics.read_text().splitlines()[-1])["memory"]
        assert again["guest_ram_bytes"] == MEM << 20
        for method in ("PUT", "PATCH"):
            st, b = _api(sock, method, "/memory", {})
            assert st == 400, (method, st, b)
    finally:
        p.kill()
        p.wait()


def test_machine_config_memory_fields_via_api(figment, tmp_path):
    sock = str(tmp_path / "a.sock")
    p = subprocess.Popen([figment, "--api-sock", sock], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_sock(sock, p)
        st, b = _api(sock, "GET", "/memory")
        assert st == 400 and "fault_message" in b, b  # no VM yet
        st, m = _api(sock, "GET", "/machine-config")
        assert m["huge_pages"] == "None" and m["merge_pages"] is False, m
        for huge in ("None", "Transparent", "2M"):
            body = {"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": huge,
                    "merge_pages": huge != "2M"}
            assert _api(sock, "PUT", "/machine-config", body)[0] == 204, body
            st, m = _api(sock, "GET", "/machine-config")
            assert m["huge_pages"] == huge and m["merge_pages"] == (huge != "2M"), m
        assert _api(sock, "PATCH", "/machine-config", {"huge_pages": "None"})[0] == 204
        assert _api(sock, "PATCH", "/machine-config", {"merge_pages": True})[0] == 204
        st, m = _api(sock, "GET", "/machine-config")
        assert m["huge_pages"] == "None" and m["merge_pages"] is True, m
        st, c = _api(sock, "GET", "/vm/config")
        assert c["machine-config"]["merge_pages"] is True
        bad = [
            ({"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "1G"}, "must be one of"),
            ({"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "2m"}, "must be one of"),
            ({"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": 2}, "huge_pages"),
            ({"vcpu_count": 1, "mem_size_mib": 128, "merge_pages": "yes"}, "merge_pages"),
            ({"vcpu_count": 1, "mem_size_mib": 63, "huge_pages": "2M"}, "multiple of 2 MiB"),
            ({"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "2M",
              "merge_pages": True}, "KSM"),
        ]
        for body, needle in bad:
            st, b = _api(sock, "PUT", "/machine-config", body)
            assert st == 400 and needle in b["fault_message"], (body, b)
        # nothing changed by the refusals
        st, m = _api(sock, "GET", "/machine-config")
        assert m["huge_pages"] == "None" and m["merge_pages"] is True, m
    finally:
        p.kill()
        p.wait()
