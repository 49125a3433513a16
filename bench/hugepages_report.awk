# Turns bench/hugepages.sh's raw file (vmm_timer lines "vmm=lab:MODE ...",
# see bench/hugepages_lab.sh) into markdown: per mode (4K, THP, 2M) the
# medians of the guest's boot time (boottimer_us), exec to /init
# (marker_us), the figment process's peak host memory (peak_rss_kib,
# hugetlbfs pages included) and its guest RAM part (guest_kib), and each as
# a ratio to 4K. Runs that did not reach /init are counted, not used.
# POSIX awk (mawk); run with -f bench/median.awk first.

function kv(    i, eq) {
	split("", f)
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		if (eq)
			f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
}

function add(key, v) {
	cnt[key]++
	val[key, cnt[key]] = v
}

function ratio(m, key,    b) {
	b = median("4K" SUBSEP key)
	if (b == "" || b == 0 || median(m SUBSEP key) == "")
		return "-"
	return sprintf("%.2f", median(m SUBSEP key) / b)
}

function fmt(v, div) {
	return v == "" ? "-" : sprintf("%.1f", v / div)
}

/^#/ { hdr = hdr "- " substr($0, 3) "\n"; next }

/^vmm=lab:/ {
	kv()
	split(f["vmm"], id, ":")
	m = id[2]
	runs[m]++
	if (f["status"] != 0 || f["marker_us"] < 0) {
		failed[m]++
		next
	}
	add(m SUBSEP "boot", f["boottimer_us"])
	add(m SUBSEP "init", f["marker_us"])
	add(m SUBSEP "rss", f["peak_rss_kib"])
	add(m SUBSEP "guest", f["guest_kib"])
}

END {
	print "# Guest RAM on 4 KiB pages, transparent huge pages, hugetlbfs 2 MiB pages"
	print ""
	printf "%s", hdr
	print ""
	print "Medians over the runs that reached /init; lab times are emulated, compare the ratios."
	print ""
	print "| pages | runs (failed) | guest boot ms | ratio | exec to /init ms | ratio | peak host memory MiB | ratio | of it guest RAM MiB | ratio |"
	print "|---|---|---|---|---|---|---|---|---|---|"
	n = split("4K THP 2M", modes, " ")
	for (i = 1; i <= n; i++) {
		m = modes[i]
		printf "| %s | %d (%d) | %s | %s | %s | %s | %s | %s | %s | %s |\n", m,
			runs[m], failed[m],
			fmt(median(m SUBSEP "boot"), 1000), ratio(m, "boot"),
			fmt(median(m SUBSEP "init"), 1000), ratio(m, "init"),
			fmt(median(m SUBSEP "rss"), 1024), ratio(m, "rss"),
			fmt(median(m SUBSEP "guest"), 1024), ratio(m, "guest")
	}
	print ""
	print "2M reserves all of guest RAM in the host's hugetlbfs pool before boot (nr_hugepages),"
	print "whatever the guest touches: its host cost is the whole RAM size, not the resident figure."
}
