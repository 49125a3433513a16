# Turns bench/vsock.sh's raw file ("vsock=lab:VMM:TEST key=value ..." lines
# from bench/vsock_lab.sh, and "# ..." comments) into the vsock benchmark's
# markdown table: per test the medians over runs for figment and QEMU's
# vhost-vsock, and the figment/QEMU ratio of the medians. A run counts when
# its status is 0; the others are counted in the "runs" rows. POSIX awk.
# Input: ENVIRON["BENCH_HEADER"] (lines put under the title).

function add(vm, t, metric, v,    k) {
	k = vm SUBSEP t SUBSEP metric
	val[k, ++cnt[k]] = v
}

function cell(vm, t, metric, fmt,    m) {
	m = median(vm SUBSEP t SUBSEP metric)
	return m == "" ? "—" : sprintf(fmt, m)
}

function row(t, text, metric, fmt,    f, q) {
	f = median("figment" SUBSEP t SUBSEP metric)
	q = median("qemu" SUBSEP t SUBSEP metric)
	printf "| %s | %s | %s | %s | %s |\n", tname[t], text,
		cell("figment", t, metric, fmt), cell("qemu", t, metric, fmt),
		(f == "" || q == "" || q == 0) ? "—" : sprintf("%.2f", f / q)
}

function runs_cell(vm, t) {
	return ((vm, t) in total) ? sprintf("%d of %d ok", ok[vm, t] + 0, total[vm, t]) : "—"
}

/^# qemu left out/ { qemu_out = substr($0, 3) }

/^vsock=/ {
	split(substr($1, 7), id, ":")	# SET:VMM:TEST
	if (id[1] != "lab")
		next
	vm = id[2]
	t = id[3]
	split("", f)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	total[vm, t]++
	if (f["status"] != "0")
		next
	if (t == "connect") {
		if (f["median_us"] + 0 <= 0)
			next
		add(vm, t, "median_us", f["median_us"])
		add(vm, t, "p90_us", f["p90_us"])
	} else {
		if (f["bytes"] + 0 <= 0 || f["us"] + 0 <= 0)
			next
		add(vm, t, "mbits", f["bytes"] * 8 / f["us"])
	}
	ok[vm, t]++
}

END {
	tname["h2g"] = "host → guest"
	tname["g2h"] = "guest → host"
	tname["connect"] = "connection set-up"
	print "# vsock: figment virtio-vsock (Unix sockets) vs QEMU microvm vhost-vsock-device"
	print ""
	n = split(ENVIRON["BENCH_HEADER"], h, "\n")
	for (i = 1; i <= n; i++)
		print h[i]
	print ""
	print "In the nested lab: minimal 6.1 kernel, 1 vCPU, 256 MiB, root on an ext4 virtio disk holding"
	print "bench/vsockbench.c, which serves vsock port 52 in the guest; the lab host runs it as the client."
	print "figment: Firecracker's model, a Unix socket and `CONNECT 52`; QEMU: `-device"
	print "vhost-vsock-device,guest-cid=3` (the lab kernel's vhost_vsock), AF_VSOCK to CID 3. One stream"
	print "each way for a fixed time (throughput: bytes the receiver got over the time to the end of the"
	print "transfer); then connections one after the other, each from the connect call to usable"
	print "(figment: to the `OK` line; QEMU: connect() returns), median and 90th percentile per run."
	print ""
	print "**Times in the lab are emulated (QEMU TCG around real KVM): compare the ratios, not the absolute"
	print "figures.** Medians over the runs (the VMMs interleave, the order reversed every run), ratios of"
	print "medians (for latency, lower is better: a ratio below 1 is figment faster)."
	if (qemu_out != "") {
		print ""
		print "**QEMU " substr(qemu_out, 6) "**: figment's numbers alone."
	}
	print ""
	print "| test | metric | figment | QEMU vhost-vsock | figment/QEMU |"
	print "|---|---|---|---|---|"
	split("h2g g2h connect", ts, " ")
	for (i = 1; i <= 3; i++) {
		t = ts[i]
		printf "| %s | runs | %s | %s | |\n", tname[t], runs_cell("figment", t), runs_cell("qemu", t)
		if (t == "connect") {
			row(t, "median (µs)", "median_us", "%.0f")
			row(t, "90th percentile (µs)", "p90_us", "%.0f")
		} else {
			row(t, "throughput (Mbit/s)", "mbits", "%.0f")
		}
	}
}
