#!/bin/bash
# Builds an ext4 root disk image for figment guests, without root or loop
# devices (mke2fs -d): the busybox tree of the guest initramfs (same /init,
# which then finds itself on a disk), plus the contents of EXTRA_DIR if given.
#
#   tools/guest/mkrootfs.sh OUT.ext4 [SIZE_MiB (default 64)] [EXTRA_DIR]
#
# Boot it with `figment run --kernel K --drive id=root,path=OUT.ext4,root=on`
# (no initrd for the minimal kernel; Debian's cloud kernel needs its virtio
# modules first: add --initrd initramfs-cloud.cpio.gz, whose /init mounts the
# root= device and switches to it).
set -eu
FIGMENT_TOOLS=$(cd "$(dirname "$0")/.." && pwd)
. "$FIGMENT_TOOLS/guest/paths.sh"
. "$FIGMENT_TOOLS/guest/lib.sh"

[ $# -ge 1 ] && [ $# -le 3 ] || fig_die "usage: mkrootfs.sh OUT.ext4 [SIZE_MiB] [EXTRA_DIR]"
out=$1 size=${2:-64} extra=${3:-}
case $size in '' | *[!0-9]*) fig_die "size '$size' is not a number of MiB" ;; esac
[ -z "$extra" ] || [ -d "$extra" ] || fig_die "$extra is not a directory"
[ -f "$GUEST_INITRAMFS" ] || "$FIGMENT_TOOLS/guest/build-all.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && gzip -dc "$GUEST_INITRAMFS" | cpio -id --quiet)
# On a disk the kernel starts /sbin/init; make that our /init, and drop the
# marker that tells /init it runs from an initramfs.
rm -f "$work/sbin/init" "$work/.fig-initramfs"
ln -s /init "$work/sbin/init"
[ -z "$extra" ] || cp -a "$extra/." "$work/"
rm -f "$out"
mke2fs -q -F -t ext4 -L figroot -d "$work" "$out" "${size}M" >/dev/null
