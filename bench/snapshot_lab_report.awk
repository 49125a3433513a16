# Turns bench/snapshot_lab.sh's raw file (bench/snaptime.c lines
# "snap=SET:VMM:MIB:KIND key=value ...", KIND create, exec or api, and "# ..."
# comments) into the lab snapshot benchmark's markdown table: per guest RAM
# size and measure, the medians over runs for figment and QEMU, and the
# figment/QEMU ratio of the medians. POSIX awk (mawk). Only SET "lab" and
# status=ok lines count; the "runs" rows say how many did.
# Input: ENVIRON["BENCH_HEADER"] (lines put under the title),
# ENVIRON["BENCH_MIBS"] (the guest RAM sizes, in order).

function add(vmm, mib, metric, v,    k) {
	if (v + 0 < 0)
		return	# -1: did not happen
	k = vmm SUBSEP mib SUBSEP metric
	val[k, ++cnt[k]] = v
}

function cell(m, fmt) {
	return m == "" ? "—" : sprintf(fmt, m)
}

# row MIB LABEL FIGMENT-METRIC QEMU-METRIC FORMAT [NORATIO] (metrics may be "")
function row(mib, label, fm, qm, fmt, noratio,    f, q) {
	f = fm == "" ? "" : median("figment" SUBSEP mib SUBSEP fm)
	q = qm == "" ? "" : median("qemu" SUBSEP mib SUBSEP qm)
	printf "| %s MiB | %s | %s | %s | %s |\n", mib, label, cell(f, fmt), cell(q, fmt),
		(noratio || f == "" || q == "" || q == 0) ? "—" : sprintf("%.2f", f / q)
}

function runs_cell(vmm, mib, kind) {
	return ((vmm, mib, kind) in total) ? \
		sprintf("%d/%d", ok[vmm, mib, kind] + 0, total[vmm, mib, kind]) : "0"
}

function runs_row(mib,    fc, qc) {
	fc = runs_cell("figment", mib, "create") ", " runs_cell("figment", mib, "exec") ", " \
		runs_cell("figment", mib, "api")
	qc = runs_cell("qemu", mib, "create") ", " runs_cell("qemu", mib, "exec") ", " \
		runs_cell("qemu", mib, "api")
	printf "| %s MiB | runs ok (create, exec, call) | %s | %s | |\n", mib, fc, qc
}

/^snap=/ {
	split(substr($1, 6), id, ":")	# SET:VMM:MIB:KIND
	if (id[1] != "lab")
		next
	vmm = id[2]
	mib = id[3]
	kind = id[4]
	split("", f)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	total[vmm, mib, kind]++
	if (f["status"] != "ok")
		next
	ok[vmm, mib, kind]++
	if (kind == "create") {
		add(vmm, mib, "create_ms", f["total_us"] / 1000)
		if (vmm == "figment") {
			add(vmm, mib, "file_mib", (f["state_kib"] + f["memory_kib"]) / 1024)
			add(vmm, mib, "apparent_mib", (f["state_bytes"] + f["memory_bytes"]) / 1048576)
		} else {
			add(vmm, mib, "file_mib", f["file_kib"] / 1024)
			add(vmm, mib, "apparent_mib", f["file_bytes"] / 1048576)
		}
	} else if (kind == "exec") {
		add(vmm, mib, "exec_ms", f["tick_us"] / 1000)
		if (f["log_us"] + 0 >= 0)
			add(vmm, mib, "exec_log_ms", f["log_us"] / 1000)
	} else if (kind == "api") {
		add(vmm, mib, "call_tick_ms", f["call_tick_us"] / 1000)
		add(vmm, mib, "call_ms", f["call_us"] / 1000)
	}
}

END {
	print "## Snapshots in the lab: figment vs QEMU microvm saving to / restoring from a migration file"
	print ""
	n = split(ENVIRON["BENCH_HEADER"], h, "\n")
	for (i = 1; i <= n; i++)
		print h[i]
	print ""
	print "Minimal 6.1 kernel + busybox initramfs, 1 vCPU, whose `/init` prints `TICK <n>` in a loop; each"
	print "run boots the guest afresh and snapshots it once it has printed `TICK 20`; each guest size is one lab"
	print "run (boot of the nested lab) with both VMMs and one discarded warm-up round each. figment: `PATCH /vm Paused` +"
	print "`PUT /snapshot/create` (state + sparse memory file); QEMU: QMP `stop` + `migrate` into a file"
	print "(`fd:`, no bandwidth limit). Restores: `figment run --restore DIR` and QEMU with"
	print "`-incoming fd:N` (exec until the guest runs), `PUT /snapshot/load` with `resume_vm` in a fresh"
	print "`figment --api-sock` and QMP `migrate-incoming` in a QEMU started with `-incoming defer` (the"
	print "call until the guest runs). \"The guest runs\" is the first tick after the last one written before"
	print "the snapshot, seen on the VMM's stdout, for both VMMs; a restore counts only when the first tick it"
	print "prints is that next one (a guest that booted afresh, from `TICK 1`, is a failed run; the raw file"
	print "shows each restore's last ticks before and first lines after). Sizes: blocks allocated (`du`), state and"
	print "memory file together for figment (its memory file is sparse: pages the guest never touched are"
	print "holes; QEMU's stream carries every zero page, touched or not, as a few bytes of header)."
	print ""
	print "**Times in the lab are emulated (QEMU TCG around real KVM): compare the ratios, not the absolute"
	print "figures.** Medians over the runs (runs alternate figment/QEMU), ratios of medians."
	print ""
	print "| guest RAM | measure | figment | QEMU microvm | figment/QEMU |"
	print "|---|---|---|---|---|"
	nm = split(ENVIRON["BENCH_MIBS"], ms, " ")
	for (i = 1; i <= nm; i++) {
		m = ms[i]
		runs_row(m)
		row(m, "create: pause + create / stop + migrate (ms)", "create_ms", "create_ms", "%.0f")
		row(m, "snapshot files, allocated (MiB)", "file_mib", "file_mib", "%.1f")
		row(m, "snapshot files, apparent size (MiB)", "apparent_mib", "apparent_mib", "%.1f", 1)
		row(m, "restore: exec until the guest runs (ms)", "exec_ms", "exec_ms", "%.0f")
		row(m, "restore: load call until the guest runs (ms)", "call_tick_ms", "call_tick_ms", "%.0f")
		row(m, "figment: exec until its \"restored\" log line (vCPUs started) (ms)", "exec_log_ms", "", "%.0f")
		row(m, "figment: `PUT /snapshot/load` until its answer (ms)", "call_ms", "", "%.0f")
	}
}
