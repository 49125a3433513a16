#!/bin/sh
# Runs inside the nested lab (busybox sh; see bench/hugepages.sh): boots the
# small guest kernel RUNS times on each kind of guest RAM page, rotating
# the order every run so that drift of the emulated machine hits all three:
#
#   4K   figment run --hugepages none   ordinary 4 KiB pages
#   THP  figment run --hugepages thp    MADV_HUGEPAGE (transparent huge pages)
#   2M   figment run --hugepages 2M     hugetlbfs 2 MiB pages (reserved here)
#
# and prints one vmm_timer line per boot (bench/vmm_timer.c; vmm=lab:MODE)
# plus "# ..." lines. The host's THP setting is "madvise" for the run, so
# that 4K is 4 KiB pages whatever the lab kernel's default.
#
#   sh /extra/hugepages_lab.sh RUNS
runs=${1:?runs}
T=/extra/vmm_timer
THP=/sys/kernel/mm/transparent_hugepage
MIB=128
common="console=ttyS0 panic=-1 quiet pci=off fig_exit=reboot fig_run=\"echo FIG-IN''IT\""

[ -w $THP/enabled ] && echo madvise >$THP/enabled
# the guest's pages and a few spare
echo $((MIB / 2 + 4)) >/proc/sys/vm/nr_hugepages
echo "# lab: $(uname -r), $(nproc) CPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo)"
echo "# thp enabled: $(cat $THP/enabled 2>/dev/null), defrag: $(cat $THP/defrag 2>/dev/null)"
echo "# 2 MiB pages reserved: $(cat /proc/sys/vm/nr_hugepages)"
echo "# lab figment: $(figment --version 2>&1 | head -n 1)"

one() { # MODE TAG
	case $1 in
	4K) flag=none ;;
	THP) flag=thp ;;
	2M) flag=2M ;;
	esac
	$T -n "$2:$1" -m FIG-INIT -e FIGMENT-RUN-EXIT -g $MIB -i 20 -t 120 \
		-b 'guest boot time ' -o /tmp/last-$1 -- \
		figment run --kernel /guest/bzImage --initrd /guest/initramfs.cpio.gz \
		--cpus 1 --mem $MIB --boot-timer --hugepages $flag \
		--cmdline "$common reboot=k"
}

cd /guest || exit 1
# one discarded boot each: the first pays for faulting figment in
for m in 4K THP 2M; do
	one $m warmup
done
i=0
while [ "$i" -lt "$runs" ]; do
	case $((i % 3)) in
	0) order="4K THP 2M" ;;
	1) order="THP 2M 4K" ;;
	2) order="2M 4K THP" ;;
	esac
	for m in $order; do
		one $m lab
	done
	i=$((i + 1))
done
for m in 4K THP 2M; do
	if [ -f /tmp/last-$m.out ] && ! grep -q FIG-INIT /tmp/last-$m.out; then
		echo "# $m: last run without FIG-INIT:"
		tail -n 5 /tmp/last-$m.out /tmp/last-$m.err | sed 's/^/#   /'
	fi
done
echo 0 >/proc/sys/vm/nr_hugepages
echo "# lab done"
