# shellcheck shell=sh disable=SC3054,SC2012
# Sourced (". tools/guest/paths.sh") by figment's guest, lab and test scripts.
# Sets, without printing anything:
#   FIGMENT_CACHE          cache root (default $HOME/.cache/figment), outside the tree
#   FIGMENT_TOOLS          this repo's tools/ directory
#   GUEST_DIR              $FIGMENT_CACHE/guest: built guest artifacts
#   GUEST_BZIMAGE          minimal 6.1 kernel, bzImage (LZ4)
#   GUEST_VMLINUX          the same kernel as an ELF with a PVH entry note
#   GUEST_TINY_ACPI_BZIMAGE  6.1 kernel from tiny-acpi-kernel.config (ACPI, no PCI), bzImage
#   GUEST_TINY_ACPI_VMLINUX  the same kernel as an ELF with a PVH entry note
#   GUEST_CLOUD_BZIMAGE    Debian's cloud kernel, unmodified
#   GUEST_INITRAMFS        busybox initramfs (gzip cpio) with tools/guest/init
#   GUEST_INITRAMFS_CLOUD  the same plus the cloud kernel's virtio modules
#   CLOUD_KVER             the cloud kernel's version (newest installed)
#   CLOUD_VMLINUZ          /boot/vmlinuz-$CLOUD_KVER
#   CLOUD_MODDIR           /lib/modules/$CLOUD_KVER
#   LAB_DIR                $FIGMENT_CACHE/lab: the nested lab's pieces
# Works from sh and bash; needs FIGMENT_TOOLS to be set first when sourced from
# a shell that cannot tell where this file is (POSIX sh): scripts here set it.
FIGMENT_CACHE=${FIGMENT_CACHE:-${HOME:-/root}/.cache/figment}
if [ -z "${FIGMENT_TOOLS:-}" ]; then
	if [ -n "${BASH_SOURCE:-}" ]; then
		FIGMENT_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	else
		FIGMENT_TOOLS=$(pwd)/tools
	fi
fi
GUEST_DIR=$FIGMENT_CACHE/guest
LAB_DIR=$FIGMENT_CACHE/lab
GUEST_BZIMAGE=$GUEST_DIR/bzImage
GUEST_VMLINUX=$GUEST_DIR/vmlinux
GUEST_TINY_ACPI_BZIMAGE=$GUEST_DIR/tiny-acpi-bzImage
GUEST_TINY_ACPI_VMLINUX=$GUEST_DIR/tiny-acpi-vmlinux
GUEST_CLOUD_BZIMAGE=$GUEST_DIR/cloud-bzImage
GUEST_INITRAMFS=$GUEST_DIR/initramfs.cpio.gz
GUEST_INITRAMFS_CLOUD=$GUEST_DIR/initramfs-cloud.cpio.gz
CLOUD_VMLINUZ=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
CLOUD_KVER=${CLOUD_VMLINUZ#/boot/vmlinuz-}
CLOUD_MODDIR=/lib/modules/$CLOUD_KVER
export FIGMENT_CACHE FIGMENT_TOOLS GUEST_DIR LAB_DIR GUEST_BZIMAGE GUEST_VMLINUX \
	GUEST_TINY_ACPI_BZIMAGE GUEST_TINY_ACPI_VMLINUX \
	GUEST_CLOUD_BZIMAGE GUEST_INITRAMFS GUEST_INITRAMFS_CLOUD CLOUD_VMLINUZ \
	CLOUD_KVER CLOUD_MODDIR
