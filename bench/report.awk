# Turns bench/run.sh's raw file (vmm_timer lines "vmm=SET:VMM:GUEST key=value
# ...", and "# ..." comments) into the markdown results table: medians per
# (SET, VMM, GUEST) and the figment/QEMU ratio. POSIX awk (Debian's mawk has
# no asort). Runs that failed (status != 0, or a marker never seen) are left
# out of every median and counted in the "runs" row.
# Input: ENVIRON["BENCH_HEADER"] (first lines of the report), -v lab_kernels=,
# -v qemu_noacpi_kernels=.

function minimum(key,    n, i, m) {
	n = cnt[key]
	m = ""
	for (i = 1; i <= n; i++)
		if (m == "" || val[key, i] < m)
			m = val[key, i]
	return m
}

# cell SET VMM GUEST FIELD DIVISOR FORMAT: the median, scaled, or "—"; times
# (DIVISOR 1000) also get their minimum: on a busy machine the median moves
# with the load, the minimum shows what a run costs when nothing interferes.
function cell(set, vmm, guest, field, div, fmt,    k, m) {
	k = set SUBSEP vmm SUBSEP guest SUBSEP field
	m = median(k)
	if (m == "")
		return "—"
	if (div != 1000)
		return sprintf(fmt, m / div)
	return sprintf(fmt " (min " fmt ")", m / div, minimum(k) / div)
}

function ratio(set, guest, field,    f, q) {
	f = median(set SUBSEP "figment" SUBSEP guest SUBSEP field)
	q = median(set SUBSEP "qemu" SUBSEP guest SUBSEP field)
	return (f == "" || q == "" || q == 0) ? "—" : sprintf("%.2f", f / q)
}

function row(set, guest, label, field, div, fmt) {
	printf "| %s | %s | %s | %s | %s |\n", guest, label,
		cell(set, "figment", guest, field, div, fmt),
		cell(set, "qemu", guest, field, div, fmt), ratio(set, guest, field)
}

function runs_cell(set, vmm, guest,    k) {
	k = set SUBSEP vmm SUBSEP guest
	return (k in total) ? sprintf("%d of %d ok", ok[k] + 0, total[k]) : "—"
}

/^vmm=/ {
	split(substr($1, 5), id, ":")	# SET:VMM:GUEST
	if (id[1] == "warmup")
		next
	k = id[1] SUBSEP id[2] SUBSEP id[3]
	seen[id[1]] = 1
	if (!(k in total))
		groups[++ngroups] = k
	total[k]++
	good = 1
	split("", f)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	# A run counts when the VMM exited 0 after the guest's output was complete.
	if (f["status"] != "0" || f["marker_us"] + 0 < 0 || f["end_us"] + 0 < 0)
		good = 0
	if (!good)
		next
	ok[k]++
	for (name in f) {
		if (name == "status" || f[name] + 0 < 0)
			continue
		if ((name == "peak_rss_kib" || name == "ovh_kib" || name == "ovh_anon_kib") && f["samples"] + 0 == 0)
			continue
		ck = k SUBSEP name
		val[ck, ++cnt[ck]] = f[name] + 0
	}
}

END {
	n = split(ENVIRON["BENCH_HEADER"], h, "\n")
	for (i = 1; i <= n; i++)
		print h[i]

	if ("lab" in seen)
		lab_table()
	if ("host" in seen)
		host_table()
}

function lab_table(    nk, ks, i, g, noacpi) {
	print ""
	print "## In the nested lab: 6.1 guest kernels + busybox initramfs, 1 vCPU, 128 MiB"
	print ""
	print "Kernels: `bzImage` and `vmlinux` (PVH) are the minimal kernel (tools/guest/minimal-kernel.config),"
	print "`tiny-acpi-bzImage` is tools/guest/tiny-acpi-kernel.config (ACPI without PCI, no DSDT)."
	noacpi = ""
	nk = split(qemu_noacpi_kernels, ks, " ")
	for (i = 1; i <= nk; i++)
		if ((" " lab_kernels " ") ~ (" " ks[i] " "))
			noacpi = noacpi (noacpi == "" ? "" : ", ") "`" ks[i] "`"
	if (noacpi != "")
		print "QEMU boots " noacpi " with `-M microvm,acpi=off` (MP table): under QEMU's hardware-reduced ACPI tables such a kernel has no COM1 interrupt and loses its user-space console."
	print ""
	print "**Times in the lab are emulated (QEMU TCG around real KVM): compare the ratios, not the absolute figures.**"
	print "Medians (and minimum) of the runs, ratios of medians; runs alternate figment/QEMU. exec → /init:"
	print "until `echo FIG-INIT`, run by the guest's /init, appears on the VMM's stdout. Overhead: peak over"
	print "smaps samples (every 20 ms) of the VMM's Rss outside its 128 MiB guest-RAM mapping."
	print ""
	print "| guest | metric | figment | QEMU microvm | figment/QEMU |"
	print "|---|---|---|---|---|"
	nk = split(lab_kernels, ks, " ")
	for (i = 1; i <= nk; i++) {
		g = ks[i]
		printf "| %s | runs | %s | %s | |\n", g, runs_cell("lab", "figment", g), runs_cell("lab", "qemu", g)
		row("lab", g, "exec → /init (ms)", "marker_us", 1000, "%.0f")
		row("lab", g, "exec → VMM exit (ms)", "exit_us", 1000, "%.0f")
		row("lab", g, "exec → first output (ms)", "first_us", 1000, "%.0f")
		row("lab", g, "figment boot timer: exec → boot marker (ms)", "boottimer_us", 1000, "%.0f")
		row("lab", g, "peak RSS, ru_maxrss (MiB)", "maxrss_kib", 1024, "%.1f")
		row("lab", g, "VMM overhead: peak Rss − guest RAM (MiB)", "ovh_kib", 1024, "%.1f")
		row("lab", g, "… of which anonymous (MiB)", "ovh_anon_kib", 1024, "%.1f")
	}

}

function host_table(    g) {
	print ""
	print "## On the host's /dev/kvm (kvm_pvm): kernel-less guest"
	print ""
	print "`bench/guest/hello_pvh.S`: a PVH ELF that prints two lines on COM1 and resets through an i8042"
	print "(QEMU gets `-device i8042`; QEMU's microvm firmware cannot enter the 64-bit-only test bzImages such"
	print "as tests/guests/hello.bin). Medians (and minimum), ratios of medians; runs alternate figment/QEMU;"
	print "smaps sampled every 5 ms. These times move with the machine's load (see the load averages above)."
	print ""
	print "| guest | metric | figment | QEMU microvm | figment/QEMU |"
	print "|---|---|---|---|---|"
	g = "hello_pvh"
	printf "| %s | runs | %s | %s | |\n", g, runs_cell("host", "figment", g), runs_cell("host", "qemu", g)
	row("host", g, "exec → first output (ms)", "first_us", 1000, "%.1f")
	row("host", g, "exec → output complete (ms)", "end_us", 1000, "%.1f")
	row("host", g, "exec → VMM exit (ms)", "exit_us", 1000, "%.1f")
	row("host", g, "peak RSS, ru_maxrss (MiB)", "maxrss_kib", 1024, "%.1f")
	row("host", g, "VMM overhead: peak Rss − guest RAM (MiB)", "ovh_kib", 1024, "%.1f")
	row("host", g, "… of which anonymous (MiB)", "ovh_anon_kib", 1024, "%.1f")
	print ""
	print "figment alone, same host:"
	print ""
	print "| guest | metric | figment |"
	print "|---|---|---|"
	g = "hello.bin"
	printf "| %s | runs | %s |\n", g, runs_cell("host", "figment", g)
	printf "| %s | exec → first output (ms) | %s |\n", g, cell("host", "figment", g, "first_us", 1000, "%.1f")
	printf "| %s | exec → VMM exit (ms) | %s |\n", g, cell("host", "figment", g, "exit_us", 1000, "%.1f")
	g = "marker.bin"
	printf "| %s | runs | %s |\n", g, runs_cell("host", "figment", g)
	printf "| %s | boot timer: exec → boot marker (ms) | %s |\n", g, cell("host", "figment", g, "boottimer_us", 1000, "%.2f")
	printf "| %s | exec → VMM exit (ms) | %s |\n", g, cell("host", "figment", g, "exit_us", 1000, "%.1f")
}
