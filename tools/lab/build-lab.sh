#!/bin/bash
# Builds the nested lab's cached pieces into $LAB_DIR (see tools/guest/paths.sh):
#   base.cpio   busybox, tools/lab/init, irqbypass/kvm/kvm-amd from the cloud
#               kernel, /dev/console
#   guest.cpio  the guest artifacts (tools/guest/build-all.sh) under /guest/
#   qemu.cpio   (with --with-qemu) qemu-system-x86_64, its libraries and the
#               firmware `-M microvm` needs, under /usr/share/qemu
# The lab kernel is Debian's cloud kernel ($GUEST_CLOUD_BZIMAGE).
# Usage: build-lab.sh [--with-qemu] [FIGMENT_BINARY]
# FIGMENT_BINARY, when given, is only checked (it exists, ldd finds its
# libraries): run.sh packs it per run. Quiet when everything is cached.
set -eu
FIGMENT_TOOLS=$(cd "$(dirname "$0")/.." && pwd)
. "$FIGMENT_TOOLS/guest/paths.sh"
. "$FIGMENT_TOOLS/guest/lib.sh"

with_qemu=0
figment=""
while [ $# -gt 0 ]; do
	case $1 in
	--with-qemu) with_qemu=1 ;;
	-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
	-*) fig_die "build-lab.sh: unknown option $1" ;;
	*) figment=$1 ;;
	esac
	shift
done

if [ -n "$figment" ]; then
	[ -f "$figment" ] && [ -x "$figment" ] || fig_die "figment binary $figment not found (make figment)"
	if ldd "$figment" 2>/dev/null | grep -q 'not found'; then
		fig_die "$figment: ldd cannot find some of its libraries: $(ldd "$figment" | grep 'not found' | tr '\n' ' ')"
	fi
fi

"$FIGMENT_TOOLS/guest/build-all.sh"
mkdir -p "$LAB_DIR"
# One builder at a time (parallel lab runs share the cache).
exec 9>"$LAB_DIR/.build.lock"
flock 9
LOG=$LAB_DIR/build.log
QEMU=${FIGMENT_LAB_QEMU:-/usr/bin/qemu-system-x86_64}
# Firmware QEMU's `-M microvm,x-option-roms=off` loads: bios-microvm.bin, or
# qboot.rom with acpi=off (seen with Debian 12's QEMU 7.2).
QEMU_FIRMWARE="bios-microvm.bin qboot.rom"

# base.cpio: busybox, lab init, kvm modules.
LAB_MODULES="irqbypass kvm kvm-amd tun"
mods=""
for m in $LAB_MODULES; do
	f=$(modinfo -k "$CLOUD_KVER" -n "$m" 2>/dev/null) || fig_die "module $m not found for $CLOUD_KVER"
	mods="$mods $f"
done
ids=$(for f in /bin/busybox $mods; do fig_fileid "$f"; done)
key=$(fig_key "$FIGMENT_TOOLS/lab/init" "$0" "$FIGMENT_TOOLS/guest/lib.sh" "$ids")
if ! fig_stamp_ok "$LAB_DIR/base.key" "$key" || [ ! -f "$LAB_DIR/base.cpio" ]; then
	[ "$(id -u)" = 0 ] || fig_die "building the lab initramfs needs root (mknod dev/console)"
	fig_step "building the lab's base initramfs (busybox, kvm modules, init)"
	work=$(mktemp -d "$LAB_DIR/base.XXXXXX")
	root=$work/root
	mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/dev \
		"$root"/proc "$root"/sys "$root"/tmp "$root"/root "$root"/etc \
		"$root"/lib/modules/lab "$root"/usr/local/bin "$root"/lab
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list-full); do
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
	install -m 0755 "$FIGMENT_TOOLS/lab/init" "$root/init"
	mknod "$root/dev/console" c 5 1
	mknod "$root/dev/null" c 1 3
	for f in $mods; do
		name=$(basename "$f")
		case $f in
		*.ko.xz) xz -dc "$f" >"$root/lib/modules/lab/${name%.xz}" ;;
		*.ko.zst) zstd -qdc "$f" >"$root/lib/modules/lab/${name%.zst}" ;;
		*.ko.gz) gzip -dc "$f" >"$root/lib/modules/lab/${name%.gz}" ;;
		*) cp "$f" "$root/lib/modules/lab/$name" ;;
		esac
	done
	fig_logged "$LOG" fig_cpio "$root" "$LAB_DIR/base.cpio"
	rm -rf "$work"
	fig_stamp_write "$LAB_DIR/base.key" "$key"
fi

# guest.cpio: the guest artifacts under /guest.
GUEST_FILES="$GUEST_BZIMAGE $GUEST_VMLINUX $GUEST_CLOUD_BZIMAGE $GUEST_INITRAMFS $GUEST_INITRAMFS_CLOUD"
ids=$(for f in $GUEST_FILES; do fig_fileid "$f"; done)
key=$(fig_key "$0" "$ids")
if ! fig_stamp_ok "$LAB_DIR/guest.key" "$key" || [ ! -f "$LAB_DIR/guest.cpio" ]; then
	fig_step "packing the guest artifacts for the lab"
	work=$(mktemp -d "$LAB_DIR/guest.XXXXXX")
	mkdir -p "$work/guest"
	# shellcheck disable=SC2086 # a list of paths without spaces
	cp $GUEST_FILES "$work/guest/"
	fig_logged "$LOG" fig_cpio "$work" "$LAB_DIR/guest.cpio"
	rm -rf "$work"
	fig_stamp_write "$LAB_DIR/guest.key" "$key"
fi

# qemu.cpio: QEMU as a second VMM inside the lab, for comparisons.
if [ "$with_qemu" = 1 ]; then
	[ -x "$QEMU" ] || fig_die "$QEMU missing (install qemu-system-x86: tools/deps.sh)"
	libs=$(ldd "$QEMU" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
	ids=$(for f in "$QEMU" $libs; do fig_fileid "$f"; done;
		for f in $QEMU_FIRMWARE; do fig_fileid "/usr/share/qemu/$f"; done)
	key=$(fig_key "$0" "$FIGMENT_TOOLS/guest/lib.sh" "$ids")
	if ! fig_stamp_ok "$LAB_DIR/qemu.key" "$key" || [ ! -f "$LAB_DIR/qemu.cpio" ]; then
		fig_step "packing qemu-system-x86_64 and its libraries for the lab"
		work=$(mktemp -d "$LAB_DIR/qemu.XXXXXX")
		fig_copy_binary "$work" "$QEMU" /usr/bin/qemu-system-x86_64
		mkdir -p "$work/usr/share/qemu"
		for f in $QEMU_FIRMWARE; do
			cp -L "/usr/share/qemu/$f" "$work/usr/share/qemu/"
		done
		fig_logged "$LOG" fig_cpio "$work" "$LAB_DIR/qemu.cpio"
		rm -rf "$work"
		fig_stamp_write "$LAB_DIR/qemu.key" "$key"
	fi
fi
