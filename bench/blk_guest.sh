#!/bin/sh
# Runs in the benchmark's guest (from its root disk, as /blk-guest.sh; see
# bench/blk_lab.sh): finds the data disk, the virtio disk of SECTORS 512-byte
# sectors (the VMMs name their disks in different orders), and runs
# /blkio on it.
#   sh /blk-guest.sh SECTORS SECONDS PHASE...
sectors=$1 secs=$2
shift 2
dev=
for d in /sys/block/vd*; do
	[ "$(cat "$d/size")" = "$sectors" ] && dev=/dev/${d##*/}
done
[ -n "$dev" ] || { echo "blk-guest: no disk of $sectors sectors"; exit 1; }
exec /blkio "$dev" "$secs" "$@"
