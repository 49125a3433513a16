#!/bin/sh
# Runs inside the nested lab (busybox sh; see tools/lab/run.sh and
# bench/blk.sh): the block I/O benchmark. Boots the minimal guest kernel from
# /extra/root.ext4 (which holds /blkio and /blk-guest.sh) with a raw data disk
# as the device under test, RUNS times under figment and under QEMU microvm,
# alternating which goes first, and prints one bench/blkmon.c line per VMM,
# run and I/O phase (plus "# ..." comment lines).
#
#   sh /extra/blk_lab.sh RUNS SECONDS DATA_MIB
#     SECONDS   length of each I/O phase (guest clock)
#     DATA_MIB  size of the data disk, created here (zero-filled, so that no
#               read hits a hole)
#
# Both VMMs use the host page cache (figment cache=writeback, QEMU
# cache=writeback): the lab's files are on its initramfs (tmpfs), which has no
# O_DIRECT, so QEMU's cache=none cannot open them.
runs=${1:?runs} secs=${2:?seconds} data_mib=${3:?data MiB}
M=/extra/blkmon
W=/work
phases="seqwrite seqread randread"

mkdir -p $W
cp /extra/root.ext4 $W/root-figment.ext4
cp /extra/root.ext4 $W/root-qemu.ext4
dd if=/dev/zero of=$W/data.img bs=1M count="$data_mib" 2>/dev/null
sectors=$((data_mib * 2048))
echo "# blk lab: $(uname -r), $(nproc) CPUs, data disk $data_mib MiB on $(awk '$2 == "/" { print $3 }' /proc/mounts), $secs s per phase"

guest="sh /blk-guest.sh $sectors $secs $phases"
common="console=ttyS0 panic=-1 quiet pci=off fig_exit=reboot"

one() { # one VMM TAG
	case $1 in
	figment)
		$M -n "$2:figment" -t 300 -o /tmp/blk-last-figment -- \
			figment run --kernel /guest/bzImage --cpus 1 --mem 128 \
			--drive id=root,path=$W/root-figment.ext4,root=on \
			--drive id=data,path=$W/data.img,cache=writeback \
			--cmdline "$common reboot=k fig_run=\"$guest\""
		;;
	qemu)
		# The first -device is /dev/vda here too (checked); the guest
		# finds the data disk by its size all the same. debug-threads:
		# names the vCPU threads "CPU N/KVM", for blkmon.
		$M -n "$2:qemu" -t 300 -o /tmp/blk-last-qemu -- \
			qemu-system-x86_64 -L /usr/share/qemu -name blk,debug-threads=on \
			-M microvm,x-option-roms=off,rtc=off,isa-serial=on \
			-enable-kvm -cpu host -m 128 -smp 1 -nodefaults -no-user-config \
			-nographic -serial stdio -no-reboot \
			-drive id=root,file=$W/root-qemu.ext4,format=raw,if=none,cache=writeback \
			-device virtio-blk-device,drive=root \
			-drive id=data,file=$W/data.img,format=raw,if=none,cache=writeback \
			-device virtio-blk-device,drive=data \
			-kernel /guest/bzImage \
			-append "$common reboot=t root=/dev/vda rw fig_run=\"$guest\""
		;;
	esac
}

one figment warmup
one qemu warmup
i=0
while [ "$i" -lt "$runs" ]; do
	if [ $((i % 2)) = 0 ]; then
		one figment lab
		one qemu lab
	else
		one qemu lab
		one figment lab
	fi
	i=$((i + 1))
done
for v in figment qemu; do
	if [ -f /tmp/blk-last-$v.out ] && ! grep -q 'BLKIO-END randread' /tmp/blk-last-$v.out; then
		echo "# last $v run did not finish its I/O phases; its output:"
		tail -n 15 /tmp/blk-last-$v.out /tmp/blk-last-$v.err | sed 's/^/#   /'
	fi
done
