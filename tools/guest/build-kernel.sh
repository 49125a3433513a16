#!/bin/bash
# Builds figment's guest kernels from Debian's linux-source-6.1, each one
# `make tinyconfig` + a fragment kept in tools/guest/ + `make olddefconfig`:
#
#   minimal    tools/guest/minimal-kernel.config   -> $GUEST_BZIMAGE, $GUEST_VMLINUX
#   tiny-acpi  tools/guest/tiny-acpi-kernel.config -> $GUEST_TINY_ACPI_BZIMAGE,
#                                                     $GUEST_TINY_ACPI_VMLINUX
#
# Usage: build-kernel.sh [KERNEL...]   (default: all of them, in that order)
#
# For each: checks that every option of the fragment took, builds bzImage and
# vmlinux, checks the vmlinux's PVH ELF note. Cached per kernel, keyed by its
# fragment, this script and the source tarball: prints nothing when up to
# date. Logs: $GUEST_DIR/kernel-build.log, $GUEST_DIR/tiny-acpi-kernel-build.log.
set -eu
FIGMENT_TOOLS=$(cd "$(dirname "$0")/.." && pwd)
. "$FIGMENT_TOOLS/guest/paths.sh"
. "$FIGMENT_TOOLS/guest/lib.sh"

TARBALL=/usr/src/linux-source-6.1.tar.xz
SRC_PARENT=$FIGMENT_CACHE/src
SRC=$SRC_PARENT/linux-source-6.1
JOBS=${FIGMENT_JOBS:-2}
ALL_KERNELS="minimal tiny-acpi"

# The source tree, extracted once per tarball and shared by every kernel
# (each builds out of tree, O=, so they never touch each other's objects).
extract_source() { # LOG
	local src_id
	src_id=$(fig_fileid "$TARBALL")
	exec 7>"$SRC_PARENT/linux-source-6.1.lock"
	flock 7
	if ! fig_stamp_ok "$SRC_PARENT/linux-source-6.1.id" "$src_id" || [ ! -f "$SRC/Makefile" ]; then
		fig_step "extracting $TARBALL (~15 s)"
		rm -rf "$SRC"
		fig_logged "$1" tar -C "$SRC_PARENT" -xJf "$TARBALL"
		[ -f "$SRC/Makefile" ] || fig_die "unexpected layout in $TARBALL (no linux-source-6.1/Makefile)"
		fig_stamp_write "$SRC_PARENT/linux-source-6.1.id" "$src_id"
	fi
	exec 7>&-
}

# Every line of FRAGMENT must have taken in CONFIG: "CONFIG_X=v" as is, and
# "# CONFIG_X is not set" must not be =y/=m. Dies naming what did not.
check_fragment() { # FRAGMENT CONFIG
	local line opt bad=""
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF -- "$line" "$2" || bad="$bad
  wanted $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$2" || echo "(absent)")"
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -qE "^$opt=(y|m)" "$2"; then
				bad="$bad
  wanted $opt off, got: $(grep -E "^$opt=" "$2")"
			fi
			;;
		esac
	done <"$1"
	if [ -n "$bad" ]; then
		fig_die "the kernel configuration does not match $1 (a missing dependency?):$bad"
	fi
}

# build_kernel NAME FRAGMENT BZIMAGE VMLINUX PREFIX: one kernel. PREFIX names
# its files in $GUEST_DIR: ${PREFIX}kbuild (the O= tree), ${PREFIX}kernel.key,
# ${PREFIX}kernel-build.log, ${PREFIX}kernel.config (the full configuration).
build_kernel() {
	local name=$1 fragment=$2 bzimage=$3 vmlinux=$4 prefix=$5
	local kbuild=$GUEST_DIR/${prefix}kbuild log=$GUEST_DIR/${prefix}kernel-build.log
	local stamp=$GUEST_DIR/${prefix}kernel.key key
	[ -f "$fragment" ] || fig_die "$fragment missing"
	key=$(fig_key "$fragment" "$0" "$(fig_fileid "$TARBALL")")
	if fig_stamp_ok "$stamp" "$key" && [ -f "$bzimage" ] && [ -f "$vmlinux" ]; then
		return 0
	fi
	mkdir -p "$GUEST_DIR" "$SRC_PARENT"
	# One build per kernel at a time, also when this script is called
	# directly (build-all.sh holds its own, different lock): two makes in
	# one O= tree corrupt each other's objects. The winner may have done
	# the work meanwhile: look again once the lock is ours.
	exec 8>"$GUEST_DIR/${prefix}kernel.lock"
	flock 8
	if fig_stamp_ok "$stamp" "$key" && [ -f "$bzimage" ] && [ -f "$vmlinux" ]; then
		exec 8>&-
		return 0
	fi
	: >"$log"
	extract_source "$log"

	fig_step "configuring the $name guest kernel (tinyconfig + $(basename "$fragment"))"
	mkdir -p "$kbuild"
	mk() { fig_logged "$log" make -C "$SRC" O="$kbuild" ARCH=x86_64 "$@"; }
	mk tinyconfig
	fig_logged "$log" "$SRC/scripts/kconfig/merge_config.sh" -m -O "$kbuild" \
		"$kbuild/.config" "$fragment"
	mk olddefconfig
	check_fragment "$fragment" "$kbuild/.config"

	fig_step "building the $name guest kernel (make -j$JOBS bzImage vmlinux, ~4 min)"
	mk -j"$JOBS" bzImage vmlinux

	# The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18) must be in vmlinux.
	if ! readelf -n "$kbuild/vmlinux" | grep -Eq 'Xen.*(0x00000012|PHYS32_ENTRY)'; then
		fig_die "$kbuild/vmlinux has no XEN_ELFNOTE_PHYS32_ENTRY note (is CONFIG_PVH on?)"
	fi

	cp "$kbuild/arch/x86/boot/bzImage" "$bzimage.tmp"
	cp "$kbuild/vmlinux" "$vmlinux.tmp"
	mv -f "$bzimage.tmp" "$bzimage"
	mv -f "$vmlinux.tmp" "$vmlinux"
	cp "$kbuild/.config" "$GUEST_DIR/${prefix}kernel.config"
	fig_stamp_write "$stamp" "$key"
	exec 8>&-
	fig_step "$name guest kernel ready: $bzimage ($(du -h "$bzimage" | cut -f1)), $vmlinux"
}

[ -f "$TARBALL" ] || fig_die "$TARBALL missing (install linux-source-6.1: tools/deps.sh)"
# shellcheck disable=SC2086 # the list splits into words on purpose
[ $# -gt 0 ] || set -- $ALL_KERNELS
for k in "$@"; do
	case $k in
	minimal)
		build_kernel minimal "$FIGMENT_TOOLS/guest/minimal-kernel.config" \
			"$GUEST_BZIMAGE" "$GUEST_VMLINUX" ""
		;;
	# ACPI and the MP table both on, no PCI, no PNP: the configuration a new
	# user tried first, whose console output from user space figment once
	# lost (tests/integration/test_lab_acpi_console.py keeps it working).
	tiny-acpi)
		build_kernel tiny-acpi "$FIGMENT_TOOLS/guest/tiny-acpi-kernel.config" \
			"$GUEST_TINY_ACPI_BZIMAGE" "$GUEST_TINY_ACPI_VMLINUX" tiny-acpi-
		;;
	*) fig_die "build-kernel.sh: unknown kernel $k (known: $ALL_KERNELS)" ;;
	esac
done
