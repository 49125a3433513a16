"""Page sharing and huge pages with real Linux guests in the nested lab.

- Page sharing, both guest kernels: four identical idle guests with
  machine-config merge_pages (what --merge-pages sets) start one after
  another; ksmd (run with pages_to_scan 1000, sleep_millisecs 20) merges
  their identical pages: /sys/kernel/mm/ksm/pages_sharing rises, and each
  figment's GET /memory reports merged pages (as its /proc/PID/ksm_stat
  says) that are part of its resident memory.
- Huge pages, the small kernel: with 2 MiB pages reserved
  (/proc/sys/vm/nr_hugepages) the guest boots on hugetlbfs pages (its RAM
  mapping's KernelPageSize is 2048 kB; GET /memory says so); with none
  reserved `figment run --hugepages 2M` fails at once with status 3 and a
  message that names the free count; with --hugepages thp it boots."""
import json
import re
import shutil

import pytest

from conftest import lab_section, lab_transcript, sh_quote

BASE = "console=ttyS0 reboot=k panic=-1 quiet pci=off"
IDLE = "echo IDLE-READY; while :; do sleep 3600; done"
KERNELS = {
    "min": ("bzImage", "initramfs.cpio.gz", 128),
    "cloud": ("cloud-bzImage", "initramfs-cloud.cpio.gz", 256),
}
VMS = 4


def vm_config(kernel, initrd, mib, **machine):
    return json.dumps({
        "boot-source": {"kernel_image_path": f"/guest/{kernel}",
                        "initrd_path": f"/guest/{initrd}",
                        "boot_args": f'{BASE} fig_run="{IDLE}"'},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": mib, **machine}})


def lab_script():
    lines = [
        "K=/sys/kernel/mm/ksm",
        "echo LAB-KERNEL $(uname -r)",
        "echo 1000 > $K/pages_to_scan; echo 20 > $K/sleep_millisecs; echo 1 > $K/run",
        "echo 'ksm: '$(cat $K/run) $(cat $K/pages_to_scan) $(cat $K/sleep_millisecs)",
        # waits for IDLE-READY in file $1 (at most 300 s)
        "ready() { i=0; while ! grep -q IDLE-READY $1 && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done; grep -q IDLE-READY $1; }",
        "mem() { curl -s --unix-socket $1 http://localhost/memory | tr -d '\\n'; echo; }",
    ]
    for k, (kernel, initrd, mib) in KERNELS.items():
        cfg = vm_config(kernel, initrd, mib, merge_pages=True)
        lines += [
            f"echo '=== ksm-{k} start'",
            f"cat > /tmp/{k}.json <<'EOF'\n{cfg}\nEOF",
            "echo SHARING-BEFORE $(cat $K/pages_sharing)",
            "pids=''",
        ]
        for i in range(VMS):
            lines += [
                f": > /tmp/{k}{i}.out; figment --api-sock /tmp/{k}{i}.sock --config-file /tmp/{k}.json"
                f" > /tmp/{k}{i}.out 2>&1 &",
                "pids=\"$pids $!\"",
                f"ready /tmp/{k}{i}.out && echo UP {i} || tail -n 5 /tmp/{k}{i}.out",
            ]
        lines += [
            # ksmd converges: pages_sharing stops growing (at most 180 s)
            "prev=0; t=0; while [ $t -lt 90 ]; do sleep 2; t=$((t+1)); "
            "cur=$(cat $K/pages_sharing); [ $cur -gt 0 ] && [ $cur -le $((prev + prev / 100)) ] && break; prev=$cur; done",
            "echo SHARING-AFTER $(cat $K/pages_sharing) after $((t * 2)) s",
            "echo SHARED-AFTER $(cat $K/pages_shared)",
        ]
        for i in range(VMS):
            lines += [
                f"echo REPORT {i} $(mem /tmp/{k}{i}.sock)",
                f"p=$(echo $pids | cut -d' ' -f{i + 1}); "
                f"echo KSMSTAT {i} $(cat /proc/$p/ksm_stat 2>&1 | tr '\\n' ' ')",
            ]
        lines += ["kill $pids; wait"]
    kernel, initrd, mib = KERNELS["min"]
    cmdline = sh_quote(BASE + ' fig_run="' + IDLE + '"')
    run = (f"figment run --kernel /guest/{kernel} --initrd /guest/{initrd} --mem {mib}"
           f" --cmdline {cmdline}")
    cfg2m = vm_config(kernel, initrd, mib, huge_pages="2M")
    lines += [
        "echo '=== hugetlb start'",
        "H=/sys/kernel/mm/hugepages/hugepages-2048kB",
        "echo 0 > /proc/sys/vm/nr_hugepages",
        f"{run} --hugepages 2M --serial none > /tmp/h0.out 2>&1; echo NONE-STATUS $?",
        "sed 's/^/NONE-MSG /' /tmp/h0.out | head -n 3",
        f"echo {mib // 2 + 4} > /proc/sys/vm/nr_hugepages",
        "echo RESERVED $(cat $H/nr_hugepages) FREE $(cat $H/free_hugepages)",
        f"cat > /tmp/h.json <<'EOF'\n{cfg2m}\nEOF",
        "figment --api-sock /tmp/h.sock --config-file /tmp/h.json > /tmp/h.out 2>&1 &",
        "p=$!",
        "ready /tmp/h.out && echo HUGE-UP || tail -n 5 /tmp/h.out",
        "echo HUGE-FREE $(cat $H/free_hugepages) RESV $(cat $H/resv_hugepages)",
        "echo HUGE-PAGESIZE $(grep -A3 anon_hugepage /proc/$p/smaps | sed -n 's/^KernelPageSize: *//p' | head -n 1)",
        "echo HUGE-REPORT $(mem /tmp/h.sock)",
        "kill $p; wait",
        "echo 0 > /proc/sys/vm/nr_hugepages",
        "echo '=== thp start'",
        "echo THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)",
        ": > /tmp/t.out",
        f"{run} --hugepages thp --serial /tmp/t.out > /tmp/t.err 2>&1 &",
        "p=$!",
        "ready /tmp/t.out && echo THP-UP || tail -n 5 /tmp/t.out /tmp/t.err",
        "echo THP-ANON $(sed -n 's/^AnonHugePages: *//p' /proc/$p/smaps | sort -n | tail -n 1)",
        "kill $p; wait",
        "echo '=== end start'",
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    curl = shutil.which("curl")
    if not curl:
        pytest.fail("curl is not installed (tools/deps.sh installs it)")
    return lab_transcript(tmp_path_factory, "memory", lab_script(), timeout=1500,
                          tools=[curl])


@pytest.mark.parametrize("k", list(KERNELS))
def test_identical_guests_share_pages(lab, k):
    out = lab_section(lab, f"ksm-{k}")
    for i in range(VMS):
        assert f"UP {i}" in out, out
    before = int(re.search(r"SHARING-BEFORE (\d+)", out).group(1))
    after = int(re.search(r"SHARING-AFTER (\d+)", out).group(1))
    shared = int(re.search(r"SHARED-AFTER (\d+)", out).group(1))
    mib = KERNELS[k][2]
    # four copies of the same kernel and initramfs: at least 4 MiB shared
    assert after - before >= 1024, out
    total = 0
    for i in range(VMS):
        rep = json.loads(re.search(rf"^REPORT {i} (.*)$", out, re.M).group(1))
        assert rep["merge_pages"] is True and rep["guest_ram_bytes"] == mib << 20
        assert 0 < rep["merged_bytes"] <= rep["resident_bytes"], rep
        assert rep["private_bytes"] == rep["resident_bytes"] - rep["merged_bytes"], rep
        assert rep["sources"]["merged"] in ("ksm_stat", "smaps"), rep
        m = re.search(rf"^KSMSTAT {i} .*ksm_merging_pages (\d+)", out, re.M)
        if m:  # kernels with ksm_stat's count: the report's is the kernel's
            assert rep["sources"]["merged"] == "ksm_stat", rep
            stat = int(m.group(1)) * 4096
            assert abs(rep["merged_bytes"] - stat) <= max(stat // 5, 1 << 20), (rep, stat)
        total += rep["merged_bytes"]
        print(f"{k} vm{i}: resident {rep['resident_mib']} MiB, merged {rep['merged_mib']} MiB,"
              f" private {rep['private_mib']} MiB (from {rep['sources']['merged']})")
    # every page mapped to a KSM page is one of pages_shared (the KSM pages)
    # or pages_sharing (the other mappings of them): the VMs' reports add
    # up to the host's count, ksmd moving on in between
    ksm = (after + shared) * 4096
    print(f"{k}: pages_sharing {before} -> {after}, pages_shared {shared}; reports add up to"
          f" {total >> 20} MiB, KSM says {ksm >> 20} MiB")
    assert abs(total - ksm) <= ksm // 5, (total, ksm)


def test_hugetlb_boot_and_refusal(lab):
    out = lab_section(lab, "hugetlb")
    assert "NONE-STATUS 3" in out, out
    assert re.search(r"NONE-MSG .*needs 64 free 2 MiB huge pages; the host has 0 free", out), out
    assert "HUGE-UP" in out, out
    assert re.search(r"HUGE-PAGESIZE 2048 kB", out), out
    rep = json.loads(re.search(r"^HUGE-REPORT (.*)$", out, re.M).group(1))
    assert rep["huge_pages"] == "2M" and rep["page_size"] == 2 << 20, rep
    # hugetlbfs pages are resident in 2 MiB steps; all of them reserved
    assert rep["resident_bytes"] > 0 and rep["resident_bytes"] % (2 << 20) == 0, rep
    assert rep["huge_page_bytes"] == rep["resident_bytes"], rep
    free = int(re.search(r"HUGE-FREE (\d+) RESV (\d+)", out).group(1))
    resv = int(re.search(r"HUGE-FREE (\d+) RESV (\d+)", out).group(2))
    assert free - resv <= 4, out  # the VM holds its 64 pages


def test_thp_boot(lab):
    out = lab_section(lab, "thp")
    assert "THP-UP" in out, out
    if "[never]" not in out:
        m = re.search(r"THP-ANON (\d+) kB", out)
        assert m and int(m.group(1)) >= 2048, out
