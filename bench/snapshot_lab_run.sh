#!/bin/sh
# Runs inside the nested lab (busybox sh; see tools/lab/run.sh and
# bench/snapshot_lab.sh): the snapshot benchmark with a Linux guest, figment
# against QEMU microvm saving to and restoring from a migration file. For each
# guest RAM size, RUNS rounds per VMM (alternating which goes first), each
# round on a fresh boot of the minimal kernel + busybox initramfs, 1 vCPU,
# whose /init prints "TICK <n>" every TICK seconds:
#   figment: boot behind an API socket (config file), wait for TICK 20,
#     PATCH /vm Paused + PUT /snapshot/create (timed), SIGKILL; restore with
#     `figment run --restore` (exec until the first new TICK), and in a fresh
#     `figment --api-sock` with PUT /snapshot/load, resume_vm (the call until
#     the first new TICK);
#   QEMU: boot with a QMP socket, wait for TICK 20, `stop` + `migrate` into a
#     file (timed), SIGKILL; restore with `-incoming fd:N` from that file (exec
#     until the first new TICK), and with `-incoming defer` + QMP
#     `migrate-incoming` (the call until the first new TICK).
# Prints one bench/snaptime.c line per measurement ("snap=..."), the create
# lines with the files' allocated and apparent sizes, after each restore a
# "#   NAME: before: ... || after: ..." line (its evidence), plus "# ..." lines.
# A restore counts only when the guest goes on with the next tick (snaptime
# fails it otherwise). bench/snapshot_lab.sh passes one size per lab run.
#
#   sh /extra/snapshot_lab_run.sh RUNS TICK MIB...
runs=${1:?runs} tick=${2:?tick seconds}
shift 2
S=/extra/snaptime
W=/work
mkdir -p $W

# The same guest for both VMMs; only the reboot method differs (see
# bench/lab.sh), and the guest never ends here anyway.
guest="i=0; while :; do i=\$((i+1)); echo TICK \$i; sleep $tick; done"
common="console=ttyS0 panic=-1 quiet pci=off fig_run=\"$guest\""

echo "# snapshot lab: $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB, files on $(awk '$2 == "/" { print $3 }' /proc/mounts), tick every $tick s"
echo "# lab figment: $(figment --version 2>&1 | head -n 1)"
echo "# lab qemu: $(qemu-system-x86_64 --version | head -n 1)"

# qemu_vm MIB QMP-SOCK INCOMING CMD...: runs CMD... qemu-system-x86_64 with
# the benchmark's machine (bench/lab.sh's), a QMP socket, and -incoming
# INCOMING when not empty. CMD may be `exec` or a snaptime command line.
# store-global-state=off: without it a VM saved while stopped (as here, like
# figment's paused VM) comes back stopped; with it, it runs after the load.
qemu_vm() {
	q_mem=$1 q_qmp=$2 q_incoming=$3
	shift 3
	set -- "$@" qemu-system-x86_64 -L /usr/share/qemu \
		-M microvm,x-option-roms=off,rtc=off,isa-serial=on \
		-enable-kvm -cpu host -m "$q_mem" -smp 1 -nodefaults -no-user-config \
		-nographic -serial stdio -no-reboot \
		-global migration.store-global-state=off \
		-qmp "unix:$q_qmp,server=on,wait=off" \
		-kernel /guest/bzImage -initrd /guest/initramfs.cpio.gz \
		-append "$common reboot=t"
	[ -n "$q_incoming" ] && set -- "$@" -incoming "$q_incoming"
	"$@"
}

fig_config() { # MIB: figment's config file for the same guest
	args=$(printf '%s' "$common reboot=k" | sed 's/\\/\\\\/g; s/"/\\"/g')
	printf '{"boot-source": {"kernel_image_path": "/guest/bzImage", "initrd_path": "/guest/initramfs.cpio.gz", "boot_args": "%s"}, "machine-config": {"vcpu_count": 1, "mem_size_mib": %s}}\n' \
		"$args" "$1" >"$W/vm-$1.json"
}

kib() { du -k "$1" | cut -f1; }
bytes() { stat -c %s "$1"; }

# show LOG-PREFIX...: the tail of each log, as comment lines (after a failure)
show() {
	for p in "$@"; do
		for f in "$p.out" "$p.err" "$p"; do
			[ -f "$f" ] || continue
			echo "#   --- $f"
			tail -n 8 "$f" | sed 's/^/#   /'
		done
	done
}

# boot_wait PID OUT ERR NAME: waits for TICK 20 of a booting VM
boot_wait() {
	if ! $S wait "$2" 20 300; then
		echo "# $4: the booted guest did not reach TICK 20"
		show "$2" "$3"
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 1
	fi
}

# join: stdin's lines on one line, CRs dropped, " | " between them
# shellcheck disable=SC2016 # sed, not the shell, reads the $
join() { tr -d '\r' | sed -n 'H; ${x; s/^\n//; s/\n/ | /g; p}'; }

# measure NAME BOOT-OUT LOG-PREFIX snaptime-args...: one snaptime line, then
# (as "#   " lines, which the report leaves out of its header) the end of the
# snapshotted VM's console and the first lines the restored one wrote, each
# with the µs since exec it was read at: the evidence that the guest went on
# where it was; the logs on failure
measure() {
	m_name=$1 m_boot=$2 m_log=$3
	shift 3
	$S restore -n "$m_name" -o "$m_log" "$@" || show "$m_log"
	echo "#   $m_name: before: $(tail -n 2 "$m_boot" | join) || after: $(head -n 3 "$m_log.lines" 2>/dev/null | join)"
}

figment_round() { # TAG MIB
	name=$1:figment:$2
	# The logs too: the background VM's redirections truncate them only
	# once it has started, and boot_wait must not see the last round's ticks.
	rm -rf $W/fsnap $W/f.sock $W/fl.sock $W/fboot.out $W/fboot.err
	mkdir -p $W/fsnap
	figment --api-sock $W/f.sock --config-file "$W/vm-$2.json" >$W/fboot.out 2>$W/fboot.err &
	pid=$!
	boot_wait $pid $W/fboot.out $W/fboot.err "$name" || return 0
	line=$($S fig-create "$name:create" $W/f.sock $W/fsnap)
	kill -9 $pid
	wait $pid 2>/dev/null
	if [ ! -f $W/fsnap/state ] || [ ! -f $W/fsnap/memory ]; then
		echo "${line:-snap=$name:create status=fail}"
		show $W/fboot
		return 0
	fi
	echo "$line state_kib=$(kib $W/fsnap/state) memory_kib=$(kib $W/fsnap/memory)" \
		"state_bytes=$(bytes $W/fsnap/state) memory_bytes=$(bytes $W/fsnap/memory)"
	after=$($S last $W/fboot.out)
	measure "$name:exec" $W/fboot.out /tmp/sl-figment-exec -a "$after" -t 120 -l 'restored from' -- \
		figment run --restore $W/fsnap --level info
	measure "$name:api" $W/fboot.out /tmp/sl-figment-api -a "$after" -t 120 -f $W/fl.sock -d $W/fsnap -- \
		figment --api-sock $W/fl.sock
}

qemu_round() { # TAG MIB
	name=$1:qemu:$2
	rm -f $W/q.mig $W/q.qmp $W/qr.qmp $W/qd.qmp $W/qboot.out $W/qboot.err
	qemu_vm "$2" $W/q.qmp "" exec >$W/qboot.out 2>$W/qboot.err &
	pid=$!
	boot_wait $pid $W/qboot.out $W/qboot.err "$name" || return 0
	line=$($S qemu-save "$name:create" $W/q.qmp $W/q.mig)
	kill -9 $pid
	wait $pid 2>/dev/null
	case $line in
	*status=ok*) ;;
	*)
		echo "${line:-snap=$name:create status=fail}"
		show $W/qboot
		return 0
		;;
	esac
	echo "$line file_kib=$(kib $W/q.mig) file_bytes=$(bytes $W/q.mig)"
	after=$($S last $W/qboot.out)
	# The file on a descriptor QEMU reads itself, as figment reads its own.
	qemu_vm "$2" $W/qr.qmp fd:4 measure "$name:exec" $W/qboot.out /tmp/sl-qemu-exec \
		-a "$after" -t 120 -- 4<$W/q.mig
	qemu_vm "$2" $W/qd.qmp defer measure "$name:api" $W/qboot.out /tmp/sl-qemu-api \
		-a "$after" -t 120 -q $W/qd.qmp -u fd:4 -- 4<$W/q.mig
}

first=1
for mem in "$@"; do
	fig_config "$mem"
	if [ $first = 1 ]; then
		# One discarded round each: the first run of a binary pays for
		# faulting it in, which is not what the comparison is about.
		figment_round warmup "$mem"
		qemu_round warmup "$mem"
		first=0
	fi
	i=0
	while [ "$i" -lt "$runs" ]; do
		if [ $((i % 2)) = 0 ]; then
			figment_round lab "$mem"
			qemu_round lab "$mem"
		else
			qemu_round lab "$mem"
			figment_round lab "$mem"
		fi
		i=$((i + 1))
	done
done
