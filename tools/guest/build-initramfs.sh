#!/bin/bash
# Builds the guest initramfs images from busybox-static and tools/guest/init:
#   $GUEST_INITRAMFS        busybox, applet symlinks, /init, /dev/console
#   $GUEST_INITRAMFS_CLOUD  the same plus the cloud kernel's virtio modules
#                           under /lib/modules/$CLOUD_KVER/ (flat)
# Needs root (mknod /dev/console). Cached: prints nothing when up to date.
set -eu
FIGMENT_TOOLS=$(cd "$(dirname "$0")/.." && pwd)
. "$FIGMENT_TOOLS/guest/paths.sh"
. "$FIGMENT_TOOLS/guest/lib.sh"

BUSYBOX=/bin/busybox
INIT=$FIGMENT_TOOLS/guest/init
LOG=$GUEST_DIR/initramfs-build.log
# Loaded in this order by the init; dependencies first.
CLOUD_MODULES="virtio_ring virtio virtio_mmio virtio_blk failover net_failover
virtio_net virtio-rng virtio_balloon vsock vmw_vsock_virtio_transport_common
vmw_vsock_virtio_transport pvpanic pvpanic-mmio"

[ -x "$BUSYBOX" ] || fig_die "$BUSYBOX missing (install busybox-static: tools/deps.sh)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	fig_die "$BUSYBOX is not static (install busybox-static)"
[ -n "$CLOUD_KVER" ] || fig_die "no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)"

mods=""
for m in $CLOUD_MODULES; do
	f=$(modinfo -k "$CLOUD_KVER" -n "$m" 2>/dev/null) || fig_die "module $m not found for $CLOUD_KVER"
	mods="$mods $f"
done
ids=$(for f in "$BUSYBOX" $mods; do fig_fileid "$f"; done)
key=$(fig_key "$INIT" "$0" "$ids")
stamp=$GUEST_DIR/initramfs.key
if fig_stamp_ok "$stamp" "$key" && [ -f "$GUEST_INITRAMFS" ] && [ -f "$GUEST_INITRAMFS_CLOUD" ]; then
	exit 0
fi
[ "$(id -u)" = 0 ] || fig_die "building the initramfs needs root (mknod dev/console)"
fig_step "building guest initramfs images (busybox, init, cloud virtio modules)"
mkdir -p "$GUEST_DIR"
: >"$LOG"
work=$(mktemp -d "$GUEST_DIR/initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT

root=$work/root
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/dev \
	"$root"/proc "$root"/sys "$root"/tmp "$root"/root "$root"/etc "$root"/mnt
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
	[ "$applet" = bin/busybox ] && continue
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
install -m 0755 "$INIT" "$root/init"
: >"$root/.fig-initramfs" # tells /init it may switch to a root= disk
mknod "$root/dev/console" c 5 1
mknod "$root/dev/null" c 1 3

pack() { # DIR OUT
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n >"$2.tmp"
	mv -f "$2.tmp" "$2"
}
fig_logged "$LOG" pack "$root" "$GUEST_INITRAMFS"

mkdir -p "$root/lib/modules/$CLOUD_KVER"
for f in $mods; do
	cp "$f" "$root/lib/modules/$CLOUD_KVER/"
done
fig_logged "$LOG" pack "$root" "$GUEST_INITRAMFS_CLOUD"
fig_stamp_write "$stamp" "$key"
