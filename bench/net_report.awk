# Turns bench/net.sh's raw file ("net=SET:VMM:MODE:DIR key=value ..." lines
# from bench/net_lab.sh, and "# ..." comments) into the network benchmark's
# markdown table: per (mode, direction) the medians over runs of per-run
# figures for figment and QEMU, and the figment/QEMU ratio of the medians.
# figment's modes tap, passt, slirp are set against QEMU's tap, user, user.
# POSIX awk (mawk). A run counts when iperf3 exited 0 with bytes received and
# both CPU samples worked; the others are counted in the "runs" row.
# Input: ENVIRON["BENCH_HEADER"] (lines put under the title); -v modes="..."

function add(vm, dir, metric, v,    k) {
	k = vm SUBSEP dir SUBSEP metric
	val[k, ++cnt[k]] = v
}

function cell(vm, dir, metric, fmt,    m) {
	m = median(vm SUBSEP dir SUBSEP metric)
	return m == "" ? "—" : sprintf(fmt, m)
}

function row(label, fvm, qvm, dir, text, metric, fmt,    f, q) {
	f = median(fvm SUBSEP dir SUBSEP metric)
	q = median(qvm SUBSEP dir SUBSEP metric)
	printf "| %s | %s | %s | %s | %s | %s |\n", label, dirname[dir], text,
		cell(fvm, dir, metric, fmt), cell(qvm, dir, metric, fmt),
		(f == "" || q == "" || q == 0) ? "—" : sprintf("%.2f", f / q)
}

function runs_cell(vm, dir) {
	return ((vm, dir) in total) ? sprintf("%d of %d ok", ok[vm, dir] + 0, total[vm, dir]) : "—"
}

/^net=/ {
	split(substr($1, 5), id, ":")	# SET:VMM:MODE:DIR
	if (id[1] != "lab")
		next
	vm = id[2] ":" id[3]
	dir = id[4]
	split("", f)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	total[vm, dir]++
	if (f["status"] != "0" || f["bytes"] + 0 <= 0 || f["secs"] + 0 <= 0 ||
	    f["wall_us"] + 0 <= 0 || f["cpu_us"] + 0 < 0 || f["helper_us"] + 0 < 0)
		next
	ok[vm, dir]++
	gib = f["bytes"] / 1073741824
	all = f["cpu_us"] + f["helper_us"]
	add(vm, dir, "mbits", f["bytes"] * 8 / 1e6 / f["secs"])
	add(vm, dir, "cpu_pct", 100 * all / f["wall_us"])
	add(vm, dir, "cpu_gib", all / 1e6 / gib)
	if (f["vcpu_us"] + 0 >= 0) {
		add(vm, dir, "dev_pct", 100 * (all - f["vcpu_us"]) / f["wall_us"])
		add(vm, dir, "dev_gib", (all - f["vcpu_us"]) / 1e6 / gib)
	}
	if (f["helpers"] + 0 > 0)
		add(vm, dir, "helper_gib", f["helper_us"] / 1e6 / gib)
}

END {
	dirname["h2g"] = "host → guest"
	dirname["g2h"] = "guest → host"
	print "# Network: figment virtio-net vs QEMU microvm virtio-net-device (iperf3)"
	print ""
	n = split(ENVIRON["BENCH_HEADER"], h, "\n")
	for (i = 1; i <= n; i++)
		print h[i]
	print ""
	print "In the nested lab: minimal 6.1 kernel, 1 vCPU, 256 MiB, root on an ext4 virtio disk holding"
	print "Debian's iperf3, which runs as the server in the guest; the lab host runs `iperf3 -c` (one TCP"
	print "stream, host → guest) and `iperf3 -c -R` (guest → host). TAP: figment `--net tap=fig0`"
	print "against QEMU `-netdev tap,vhost=off` on the same TAP, as root, offloads on. User mode, as an"
	print "unprivileged user, through a host port forward (`hostfwd=tcp:127.0.0.1:5201-:5201`): figment"
	print "`user=on` (passt) and `user=slirp` (figment-slirp on libslirp) against QEMU `-netdev user`"
	print "(libslirp inside QEMU); no offloads on either VMM's user-mode interface."
	print ""
	print "**Times in the lab are emulated (QEMU TCG around real KVM): compare the ratios, not the absolute"
	print "figures.** Medians over the runs (runs interleave the VMMs and modes, the order reversed every"
	print "run), ratios of medians. Throughput: iperf3's receiver total. CPU: utime+stime between just"
	print "before and just after each transfer, of the VMM process (all threads) **plus its helper process**"
	print "(passt or figment-slirp, which does the VMM's work in a process of its own; QEMU's user"
	print "networking is in its main loop), as a share of one lab CPU and per GiB moved; \"other than"
	print "vCPUs\" leaves out the vCPU threads (which run the guest: its TCP stack and iperf3, and KVM's"
	print "exits), i.e. the device model and the network backend."
	print ""
	print "| mode | direction | metric | figment | QEMU microvm | figment/QEMU |"
	print "|---|---|---|---|---|---|"
	nm = split(modes, ms, " ")
	for (i = 1; i <= nm; i++) {
		m = ms[i]
		fvm = "figment:" m
		qvm = m == "tap" ? "qemu:tap" : "qemu:user"
		label = m == "tap" ? "TAP" : (m == "passt" ? "user: passt vs QEMU user" : "user: figment-slirp vs QEMU user")
		for (d = 1; d <= 2; d++) {
			dir = d == 1 ? "h2g" : "g2h"
			printf "| %s | %s | runs | %s | %s | |\n", label, dirname[dir], runs_cell(fvm, dir), runs_cell(qvm, dir)
			row(label, fvm, qvm, dir, "throughput (Mbit/s)", "mbits", "%.0f")
			row(label, fvm, qvm, dir, "VMM CPU, all threads + helper (% of a core)", "cpu_pct", "%.0f")
			row(label, fvm, qvm, dir, "VMM CPU, other than vCPUs, + helper (% of a core)", "dev_pct", "%.0f")
			row(label, fvm, qvm, dir, "CPU per GiB, all threads + helper (s)", "cpu_gib", "%.2f")
			row(label, fvm, qvm, dir, "CPU per GiB, other than vCPUs, + helper (s)", "dev_gib", "%.2f")
			if (m != "tap")
				row(label, fvm, qvm, dir, "of which the helper process, per GiB (s)", "helper_gib", "%.2f")
		}
	}
}
