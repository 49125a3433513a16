# Turns bench/density.sh's raw file ("density=VMM:MODE n=K used_kib=U
# pss_kib=P sharing=S" per VM started, "converge=VMM:MODE secs=T ..." once
# page sharing settled; see bench/density_lab.sh) into the density
# benchmark's markdown: per VMM and mode the host memory per VM with all N
# running (after KSM converged where it runs), how many such VMs fit into
# the budget, the convergence time, figment against QEMU, and each mode
# against no sharing; then a text plot of memory per VM against N.
# POSIX awk (mawk). -v n=N budget=MiB modes="..." vmms="..."

function kv(    i, eq) {
	split("", f)
	for (i = 2; i <= NF; i++) {
		eq = index($i, "=")
		if (eq)
			f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
}

function mib(kib) {
	return kib / 1024
}

/^density=/ {
	split(substr($1, 9), id, ":")
	kv()
	k = id[1] SUBSEP id[2]
	per[k, f["n"]] = mib(f["used_kib"]) / f["n"]
	pss[k, f["n"]] = mib(f["pss_kib"]) / f["n"]
	if (f["n"] > last[k])
		last[k] = f["n"]
}

/^converge=/ {
	split(substr($1, 10), id, ":")
	kv()
	k = id[1] SUBSEP id[2]
	conv[k] = f["secs"]
	cper[k] = mib(f["used_kib"]) / last[k]
	cpss[k] = mib(f["pss_kib"]) / last[k]
}

# Memory per VM at the end of a round: after convergence where there was one.
function final(k) {
	if (k in cper)
		return cper[k]
	return (k, last[k]) in per ? per[k, last[k]] : ""
}

function fmt(v, f) {
	return v == "" ? "—" : sprintf(f, v)
}

END {
	nm = split(modes, M, " ")
	nv = split(vmms, V, " ")
	label["none"] = "nothing shared"
	label["ksm"] = "page sharing (KSM)"
	label["balloon"] = "KSM + balloon free page reporting"
	print "## Density: idle 128 MiB microVMs (lab; memory is the lab host's)"
	print ""
	if (ENVIRON["BENCH_HEADER"] != "")
		print ENVIRON["BENCH_HEADER"] "\n"
	print "| mode | VMM | VMs up | host MiB per VM | PSS MiB per VM | VMs in " budget " MiB | KSM settled after | vs nothing shared | figment / QEMU (MiB per VM) |"
	print "|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= nm; i++) {
		for (j = 1; j <= nv; j++) {
			k = V[j] SUBSEP M[i]
			v = final(k)
			base = final(V[j] SUBSEP "none")
			fq = ""
			if (V[j] == "figment") {
				q = final("qemu" SUBSEP M[i])
				if (v != "" && q != "" && q > 0)
					fq = sprintf("%.2f", v / q)
			}
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label[M[i]], V[j],
				(k in last) ? last[k] " of " n : "0 of " n,
				fmt(v, "%.1f"), fmt((k in cpss) ? cpss[k] : ((k, last[k]) in pss ? pss[k, last[k]] : ""), "%.1f"),
				(v == "" || v <= 0) ? "—" : int(budget / v),
				(k in conv) ? conv[k] " s" : "—",
				(v == "" || base == "" || v <= 0 || M[i] == "none") ? "—" : sprintf("%.2fx as many", base / v),
				fq == "" ? "—" : fq
		}
	}
	print ""
	print "\"host MiB per VM\": the lab's used memory (MemTotal - MemFree - Buffers - Cached + Shmem) over what it"
	print "was before the round, divided by the VMs running: merged pages count once. \"vs nothing"
	print "shared\": VMs that fit in a budget with this mode over VMs that fit with none (the goal: 3x)."
	print ""
	# the plot: rows of MiB per VM, one column a VM count, one letter a line
	top = 0
	for (k2 in per)
		if (per[k2] > top)
			top = per[k2]
	if (top <= 0)
		exit
	rows = 16
	letters = "abcdefghijkl"
	print "Host MiB per VM against VMs running (before KSM settled; one letter per VMM and mode):"
	print ""
	print "```"
	li = 0
	for (i = 1; i <= nm; i++)
		for (j = 1; j <= nv; j++) {
			li++
			L[li] = substr(letters, li, 1)
			K[li] = V[j] SUBSEP M[i]
			name[li] = V[j] ", " label[M[i]]
		}
	for (r = rows; r >= 1; r--) {
		lo = top * (r - 1) / rows
		hi = top * r / rows
		line = sprintf("%7.1f |", hi)
		for (c = 1; c <= n; c++) {
			ch = " "
			for (x = 1; x <= li; x++)
				if (((K[x], c) in per) && per[K[x], c] > lo && per[K[x], c] <= hi)
					ch = (ch == " ") ? L[x] : "*"
			line = line "  " ch
		}
		print line
	}
	line = "        +"
	for (c = 1; c <= n; c++)
		line = line "---"
	print line
	line = "         "
	for (c = 1; c <= n; c++)
		line = line sprintf("%3d", c)
	print line "   VMs"
	for (x = 1; x <= li; x++)
		print "   " L[x] ": " name[x]
	print "   *: two or more lines in one cell"
	print "```"
}
