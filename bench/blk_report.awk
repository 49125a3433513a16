# Turns bench/blk.sh's raw file (bench/blkmon.c lines "blk=SET:VMM:PHASE
# key=value ...", and "# ..." comments) into the block benchmark's markdown
# table: per (VMM, phase) the medians over runs of per-run figures, and the
# figment/QEMU ratio of the medians. POSIX awk (mawk). A run counts when the
# VMM exited 0 and the phase ended; the others are counted in the "runs" row.
# Input: ENVIRON["BENCH_HEADER"] (lines put under the title).

function add(vmm, phase, metric, v,    k) {
	k = vmm SUBSEP phase SUBSEP metric
	val[k, ++cnt[k]] = v
}

function cell(vmm, phase, metric, fmt,    m) {
	m = median(vmm SUBSEP phase SUBSEP metric)
	return m == "" ? "—" : sprintf(fmt, m)
}

function row(phase, label, metric, fmt,    f, q) {
	f = median("figment" SUBSEP phase SUBSEP metric)
	q = median("qemu" SUBSEP phase SUBSEP metric)
	printf "| %s | %s | %s | %s | %s |\n", phase, label,
		cell("figment", phase, metric, fmt), cell("qemu", phase, metric, fmt),
		(f == "" || q == "" || q == 0) ? "—" : sprintf("%.2f", f / q)
}

function runs_cell(vmm, phase) {
	return ((vmm, phase) in total) ? sprintf("%d of %d ok", ok[vmm, phase] + 0, total[vmm, phase]) : "—"
}

/^blk=/ {
	split(substr($1, 5), id, ":")	# SET:VMM:PHASE
	if (id[1] != "lab")
		next
	vmm = id[2]
	phase = id[3]
	split("", f)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	total[vmm, phase]++
	if (f["status"] != "0" || f["guest_us"] + 0 <= 0 || f["wall_us"] + 0 <= 0 ||
	    f["cpu_us"] + 0 < 0 || f["bytes"] + 0 <= 0)
		next
	ok[vmm, phase]++
	gib = f["bytes"] / 1073741824
	add(vmm, phase, "mibs", f["bytes"] / 1048576 / (f["guest_us"] / 1e6))
	add(vmm, phase, "iops", f["ops"] / (f["guest_us"] / 1e6))
	add(vmm, phase, "cpu_pct", 100 * f["cpu_us"] / f["wall_us"])
	add(vmm, phase, "cpu_gib", f["cpu_us"] / 1e6 / gib)
	if (("vcpu_us" in f) && f["vcpu_us"] + 0 >= 0) {
		add(vmm, phase, "dev_pct", 100 * (f["cpu_us"] - f["vcpu_us"]) / f["wall_us"])
		add(vmm, phase, "dev_gib", (f["cpu_us"] - f["vcpu_us"]) / 1e6 / gib)
	}
}

END {
	print "# Block I/O: figment virtio-blk vs QEMU microvm virtio-blk-device"
	print ""
	n = split(ENVIRON["BENCH_HEADER"], h, "\n")
	for (i = 1; i <= n; i++)
		print h[i]
	print ""
	print "In the nested lab: minimal 6.1 kernel, 1 vCPU, 128 MiB, root on an ext4 virtio disk; the device"
	print "under test is a second, raw, zero-filled image, the same file for both VMMs, both with the host"
	print "page cache (figment `cache=writeback`, QEMU `cache=writeback`: the lab's files are on tmpfs,"
	print "where QEMU's `cache=none` (O_DIRECT) cannot open them). In the guest, `bench/blkio.c`: O_DIRECT,"
	print "one request at a time, each phase time-bound by the guest's clock."
	print ""
	print "**Times in the lab are emulated (QEMU TCG around real KVM): compare the ratios, not the absolute"
	print "figures.** Medians over the runs (runs alternate figment/QEMU), ratios of medians. CPU: the VMM"
	print "process's utime+stime between the guest's start and end lines of the phase, as a share of one"
	print "lab CPU and per GiB moved: all threads (the vCPU thread's includes running the guest, KVM's exit"
	print "handling and halt polling, all inflated by the emulated SVM), and the threads other than the"
	print "vCPUs (figment's VMM thread; QEMU's main loop and I/O workers): the device model's own cost,"
	print "the part Firecracker's bar (1 GiB/s with at most 70% of a host core) is about."
	print ""
	print "| phase | metric | figment | QEMU microvm | figment/QEMU |"
	print "|---|---|---|---|---|"
	np = split("seqwrite seqread randread", ps, " ")
	for (i = 1; i <= np; i++) {
		p = ps[i]
		printf "| %s | runs | %s | %s | |\n", p, runs_cell("figment", p), runs_cell("qemu", p)
		if (p == "randread")
			row(p, "4 KiB IOPS (QD1)", "iops", "%.0f")
		else
			row(p, "throughput, 256 KiB requests (MiB/s)", "mibs", "%.1f")
		row(p, "VMM CPU, all threads (% of a core)", "cpu_pct", "%.0f")
		row(p, "VMM CPU, threads other than vCPUs (% of a core)", "dev_pct", "%.0f")
		row(p, "CPU per GiB moved, all threads (s)", "cpu_gib", "%.1f")
		row(p, "CPU per GiB moved, threads other than vCPUs (s)", "dev_gib", "%.1f")
	}
}
