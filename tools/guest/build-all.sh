#!/bin/bash
# Builds every guest artifact figment's tests use, into $GUEST_DIR
# (${FIGMENT_CACHE:-$HOME/.cache/figment}/guest): the minimal kernel (bzImage,
# vmlinux), the tiny-acpi kernel (tiny-acpi-bzImage, tiny-acpi-vmlinux),
# Debian's cloud kernel (cloud-bzImage), and the two initramfs images.
# Idempotent; prints nothing when everything is cached. See tools/guest/paths.sh.
set -eu
FIGMENT_TOOLS=$(cd "$(dirname "$0")/.." && pwd)
. "$FIGMENT_TOOLS/guest/paths.sh"
. "$FIGMENT_TOOLS/guest/lib.sh"

mkdir -p "$GUEST_DIR"
# One builder at a time (parallel test runs share the cache).
exec 9>"$GUEST_DIR/.build.lock"
flock 9
[ -n "$CLOUD_KVER" ] && [ -f "$CLOUD_VMLINUZ" ] ||
	fig_die "no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64: tools/deps.sh)"
if ! cmp -s "$CLOUD_VMLINUZ" "$GUEST_CLOUD_BZIMAGE" 2>/dev/null; then
	fig_step "copying $CLOUD_VMLINUZ to $GUEST_CLOUD_BZIMAGE"
	cp "$CLOUD_VMLINUZ" "$GUEST_CLOUD_BZIMAGE.tmp"
	mv -f "$GUEST_CLOUD_BZIMAGE.tmp" "$GUEST_CLOUD_BZIMAGE"
fi
"$FIGMENT_TOOLS/guest/build-initramfs.sh"
# Every kernel of build-kernel.sh (minimal, tiny-acpi), one after the other.
"$FIGMENT_TOOLS/guest/build-kernel.sh"
