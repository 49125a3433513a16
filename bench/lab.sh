#!/bin/sh
# Runs inside the nested lab (busybox sh; see tools/lab/run.sh): boots each
# guest kernel RUNS times under figment and under QEMU microvm, alternating
# the two so that any drift of the emulated machine hits both, and prints
# one vmm_timer line per run (plus "# ..." comment lines).
# Usage (from bench/run.sh): sh /extra/lab.sh RUNS KERNEL...
#   KERNEL: file names in /guest (bzImage, vmlinux) or in /extra
#   (tiny-acpi-bzImage, which bench/run.sh copies there)
# BENCH_GUEST_ARGS (from /extra/guest-args when present) is appended to both
# command lines. The kernels listed in /extra/qemu-noacpi-kernels boot under
# QEMU with -M microvm,acpi=off (see BENCH_QEMU_NOACPI_KERNELS in run.sh).
runs=${1:?runs}
shift
T=/extra/vmm_timer
[ -f /extra/guest-args ] && BENCH_GUEST_ARGS=$(cat /extra/guest-args)
extra_args=${BENCH_GUEST_ARGS-pci=off}
qemu_noacpi=""
[ -f /extra/qemu-noacpi-kernels ] && qemu_noacpi=$(cat /extra/qemu-noacpi-kernels)

# The same guest command line for both VMMs, except the reboot method each
# needs: figment ends on an i8042 reset (reboot=k); QEMU microvm has no i8042
# and ends on a triple fault under -no-reboot (reboot=t). fig_exit=reboot makes
# /init end both the same way, whether or not the kernel found ACPI. The marker is written
# FIG-IN''IT so that the command line itself never contains "FIG-INIT" (the
# shell in the guest removes the quotes).
common="console=ttyS0 panic=-1 quiet $extra_args fig_exit=reboot fig_run=\"echo FIG-IN''IT\""

cd /guest || exit 1
echo "# lab: $(uname -r), $(nproc) CPUs, guest args: $extra_args"
[ -n "$qemu_noacpi" ] && echo "# QEMU with -M microvm,acpi=off for: $qemu_noacpi"
echo "# lab figment: $(figment --version 2>&1 | head -n 1)"
echo "# lab qemu: $(qemu-system-x86_64 --version | head -n 1)"

one() { # one VMM KERNEL TAG
	vmm=$1 kernel=$2 tag=$3
	file=$kernel
	[ -f "$file" ] || file=/extra/$kernel
	case $vmm in
	figment)
		$T -n "$tag:figment:$kernel" -m FIG-INIT -e FIGMENT-RUN-EXIT \
			-g 128 -i 20 -t 120 -b 'guest boot time ' -o /tmp/last-figment -- \
			figment run --kernel "$file" --initrd initramfs.cpio.gz \
			--cpus 1 --mem 128 --boot-timer --cmdline "$common reboot=k"
		;;
	qemu)
		machine=microvm,x-option-roms=off,rtc=off,isa-serial=on
		case " $qemu_noacpi " in
		*" $kernel "*) machine=$machine,acpi=off ;;
		esac
		$T -n "$tag:qemu:$kernel" -m FIG-INIT -e FIGMENT-RUN-EXIT \
			-g 128 -i 20 -t 120 -o /tmp/last-qemu -- \
			qemu-system-x86_64 -L /usr/share/qemu -M "$machine" \
			-enable-kvm -cpu host -m 128 -smp 1 -nodefaults -no-user-config \
			-nographic -serial stdio -no-reboot \
			-kernel "$file" -initrd initramfs.cpio.gz \
			-append "$common reboot=t"
		;;
	esac
}

for kernel in "$@"; do
	# One discarded run each: the first boot of a binary pays for faulting
	# it in, which is not what the comparison is about.
	one figment "$kernel" warmup
	one qemu "$kernel" warmup
	i=0
	while [ "$i" -lt "$runs" ]; do
		# Alternate which VMM goes first, so neither always follows the other.
		if [ $((i % 2)) = 0 ]; then
			one figment "$kernel" lab
			one qemu "$kernel" lab
		else
			one qemu "$kernel" lab
			one figment "$kernel" lab
		fi
		i=$((i + 1))
	done
	# When a run failed, its output tells why; show the last of each.
	for v in figment qemu; do
		if [ -f /tmp/last-$v.out ] && ! grep -q FIG-INIT /tmp/last-$v.out; then
			echo "# last $v run on $kernel did not reach /init; its output:"
			tail -n 15 /tmp/last-$v.out /tmp/last-$v.err | sed 's/^/#   /'
		fi
	done
done
