#!/bin/sh
# Runs inside the nested lab (busybox sh; see tools/lab/run.sh and
# bench/density.sh): the density benchmark. For each VMM and mode, starts N
# identical idle 128 MiB microVMs one after another (minimal kernel,
# initramfs, a guest that prints IDLE-READY and sleeps), and after each one
# measures the host memory all of them take; with page sharing on, it then
# waits for ksmd to converge. Modes:
#
#   none     figment: nothing            QEMU: -M microvm,mem-merge=off
#   ksm      figment: --merge-pages      QEMU: mem-merge=on
#   balloon  figment: --merge-pages --balloon amount_mib=0,free_page_reporting=on
#            QEMU: mem-merge=on -device virtio-balloon-device,free-page-reporting=on
#
# and prints (plus "# ..." lines):
#
#   density=VMM:MODE n=K used_kib=U pss_kib=P sharing=S
#   converge=VMM:MODE secs=T used_kib=U pss_kib=P sharing=S
#
# used_kib: the lab host's used memory (MemTotal - MemFree - Buffers -
# Cached + Shmem) less what it was before the first VM of the round: what the VMs
# cost the host, pages merged by KSM counted once. pss_kib: the VMM
# processes' proportional set size summed (a merged page split among its
# users). sharing: /sys/kernel/mm/ksm/pages_sharing.
#
#   sh /extra/density_lab.sh N "MODES" "VMMS"
set -u
W=/work
N=${1:?N}
MODES=${2:?modes}
VMMS=${3:?vmms}
KSM=/sys/kernel/mm/ksm
mkdir -p $W

if [ -w $KSM/run ]; then
	# ksmd's defaults (100 pages every 20 ms) take minutes for a few
	# hundred MiB: faster here, as the README suggests for dense hosts
	echo 1000 >$KSM/pages_to_scan
	echo 20 >$KSM/sleep_millisecs
	echo 1 >$KSM/run
	echo "# ksm: pages_to_scan $(cat $KSM/pages_to_scan), sleep_millisecs $(cat $KSM/sleep_millisecs)"
else
	echo "# no KSM in the lab kernel: the ksm and balloon modes share nothing"
fi
echo "# lab: $(nproc) CPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo); qemu: $(qemu-system-x86_64 --version | head -n 1)"

GUEST='echo IDLE-READY; while :; do sleep 3600; done'
CMDLINE="console=ttyS0 reboot=k panic=-1 quiet pci=off fig_run=\"$GUEST\""

# shared memory (a memfd's, tmpfs) is in Cached but cannot be dropped
used_kib() {
	awk '/^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 } /^Buffers:/ { b = $2 }
	     /^Cached:/ { c = $2 } /^Shmem:/ { s = $2 }
	     END { print t - f - b - c + s }' /proc/meminfo
}

pss_kib() { # PIDS...
	s=0
	for p in "$@"; do
		v=$(awk '/^Pss:/ { print $2 }' /proc/"$p"/smaps_rollup 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo $s
}

sharing() {
	cat $KSM/pages_sharing 2>/dev/null || echo 0
}

start_vm() { # VMM MODE I: starts VM I in the background, sets pid
	out=$W/c$3.out
	: >"$out"
	case $1:$2 in
	figment:none) extra="" ;;
	figment:ksm) extra="--merge-pages" ;;
	figment:balloon) extra="--merge-pages --balloon amount_mib=0,free_page_reporting=on" ;;
	qemu:none) m=off extra="" ;;
	qemu:ksm) m=on extra="" ;;
	qemu:balloon) m=on extra="-device virtio-balloon-device,free-page-reporting=on" ;;
	esac
	case $1 in
	figment)
		# shellcheck disable=SC2086 # extra: flags, one a word
		figment run --kernel /guest/bzImage --initrd /guest/initramfs.cpio.gz \
			--mem 128 --serial "$out" $extra --cmdline "$CMDLINE" \
			</dev/null >/dev/null 2>$W/e$3.err &
		;;
	qemu)
		# shellcheck disable=SC2086
		qemu-system-x86_64 -L /usr/share/qemu \
			-M microvm,x-option-roms=off,rtc=off,isa-serial=on,mem-merge=$m \
			-enable-kvm -cpu host -m 128 -smp 1 -nodefaults -no-user-config \
			-display none -serial file:"$out" -no-reboot $extra \
			-kernel /guest/bzImage -initrd /guest/initramfs.cpio.gz \
			-append "$CMDLINE" </dev/null >/dev/null 2>$W/e$3.err &
		;;
	esac
	pid=$!
}

# Waits for VM I's IDLE-READY: 0, or 1 when it died or 180 s passed.
wait_idle() { # I PID
	i=0
	while ! grep -q IDLE-READY $W/c$1.out 2>/dev/null; do
		kill -0 "$2" 2>/dev/null || return 1
		[ $i -lt 1800 ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

round() { # VMM MODE
	pids=""
	sleep 3 # what the last round freed is free
	base=$(used_kib)
	n=0
	while [ $n -lt "$N" ]; do
		n=$((n + 1))
		start_vm "$1" "$2" $n
		pids="$pids $pid"
		if ! wait_idle $n $pid; then
			echo "# $1:$2: VM $n did not come up:"
			tail -n 5 $W/e$n.err $W/c$n.out | sed 's/^/#   /'
			break
		fi
		sleep 2
		# shellcheck disable=SC2086 # pids: one a word
		echo "density=$1:$2 n=$n used_kib=$(($(used_kib) - base)) pss_kib=$(pss_kib $pids) sharing=$(sharing)"
	done
	if [ "$2" != none ] && [ -w $KSM/run ]; then
		# converged: pages_sharing moved by less than 1% over 3 samples
		# 2 s apart (at most 240 s)
		t0=$(date +%s)
		prev=$(sharing) still=0
		while [ $(($(date +%s) - t0)) -lt 240 ] && [ $still -lt 3 ]; do
			sleep 2
			cur=$(sharing)
			d=$((cur - prev))
			[ $d -lt 0 ] && d=$((-d))
			if [ $((d * 100)) -le "$cur" ] && [ "$cur" -gt 0 ]; then
				still=$((still + 1))
			else
				still=0
			fi
			prev=$cur
		done
		# shellcheck disable=SC2086
		echo "converge=$1:$2 secs=$(($(date +%s) - t0 - 6)) used_kib=$(($(used_kib) - base)) pss_kib=$(pss_kib $pids) sharing=$(sharing)"
	fi
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
}

for mode in $MODES; do
	for vmm in $VMMS; do
		round "$vmm" "$mode"
	done
done
echo "# lab done"
