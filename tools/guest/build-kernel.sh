#!/bin/bash
# Builds figment's minimal guest kernel from Debian's linux-source-6.1:
# `make tinyconfig` + tools/guest/minimal-kernel.config + `make olddefconfig`,
# checks that every option of the fragment took, builds bzImage and vmlinux,
# checks the vmlinux's PVH ELF note. Outputs $GUEST_BZIMAGE and $GUEST_VMLINUX.
# Cached, keyed by the fragment, this script and the source tarball: prints
# nothing when up to date. Log: $GUEST_DIR/kernel-build.log.
set -eu
FIGMENT_TOOLS=$(cd "$(dirname "$0")/.." && pwd)
. "$FIGMENT_TOOLS/guest/paths.sh"
. "$FIGMENT_TOOLS/guest/lib.sh"

FRAGMENT=$FIGMENT_TOOLS/guest/minimal-kernel.config
TARBALL=/usr/src/linux-source-6.1.tar.xz
SRC_PARENT=$FIGMENT_CACHE/src
SRC=$SRC_PARENT/linux-source-6.1
KBUILD=$GUEST_DIR/kbuild
LOG=$GUEST_DIR/kernel-build.log
STAMP=$GUEST_DIR/kernel.key
JOBS=${FIGMENT_JOBS:-2}

[ -f "$TARBALL" ] || fig_die "$TARBALL missing (install linux-source-6.1: tools/deps.sh)"
key=$(fig_key "$FRAGMENT" "$0" "$(fig_fileid "$TARBALL")")
if fig_stamp_ok "$STAMP" "$key" && [ -f "$GUEST_BZIMAGE" ] && [ -f "$GUEST_VMLINUX" ]; then
	exit 0
fi
mkdir -p "$GUEST_DIR" "$SRC_PARENT"
: >"$LOG"

# 1. The source tree, extracted once per tarball.
src_id=$(fig_fileid "$TARBALL")
if ! fig_stamp_ok "$SRC_PARENT/linux-source-6.1.id" "$src_id" || [ ! -f "$SRC/Makefile" ]; then
	fig_step "extracting $TARBALL (~15 s)"
	rm -rf "$SRC"
	fig_logged "$LOG" tar -C "$SRC_PARENT" -xJf "$TARBALL"
	[ -f "$SRC/Makefile" ] || fig_die "unexpected layout in $TARBALL (no linux-source-6.1/Makefile)"
	fig_stamp_write "$SRC_PARENT/linux-source-6.1.id" "$src_id"
fi

# 2. The configuration: tinyconfig, then the fragment, then olddefconfig.
fig_step "configuring the minimal guest kernel (tinyconfig + minimal-kernel.config)"
mkdir -p "$KBUILD"
mk() { fig_logged "$LOG" make -C "$SRC" O="$KBUILD" ARCH=x86_64 "$@"; }
mk tinyconfig
fig_logged "$LOG" "$SRC/scripts/kconfig/merge_config.sh" -m -O "$KBUILD" \
	"$KBUILD/.config" "$FRAGMENT"
mk olddefconfig

# Every line of the fragment must have taken: "CONFIG_X=v" as is, and
# "# CONFIG_X is not set" must not be =y/=m.
bad=""
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF -- "$line" "$KBUILD/.config" || bad="$bad
  wanted $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$KBUILD/.config" || echo "(absent)")"
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -qE "^$opt=(y|m)" "$KBUILD/.config"; then
			bad="$bad
  wanted $opt off, got: $(grep -E "^$opt=" "$KBUILD/.config")"
		fi
		;;
	esac
done <"$FRAGMENT"
if [ -n "$bad" ]; then
	fig_die "the kernel configuration does not match $FRAGMENT (a missing dependency?):$bad"
fi

# 3. The build.
fig_step "building the minimal guest kernel (make -j$JOBS bzImage vmlinux, ~4 min)"
mk -j"$JOBS" bzImage vmlinux

# 4. The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18) must be in vmlinux.
if ! readelf -n "$KBUILD/vmlinux" | grep -Eq 'Xen.*(0x00000012|PHYS32_ENTRY)'; then
	fig_die "$KBUILD/vmlinux has no XEN_ELFNOTE_PHYS32_ENTRY note (is CONFIG_PVH on?)"
fi

cp "$KBUILD/arch/x86/boot/bzImage" "$GUEST_BZIMAGE.tmp"
cp "$KBUILD/vmlinux" "$GUEST_VMLINUX.tmp"
mv -f "$GUEST_BZIMAGE.tmp" "$GUEST_BZIMAGE"
mv -f "$GUEST_VMLINUX.tmp" "$GUEST_VMLINUX"
cp "$KBUILD/.config" "$GUEST_DIR/kernel.config"
fig_stamp_write "$STAMP" "$key"
fig_step "guest kernel ready: $GUEST_BZIMAGE ($(du -h "$GUEST_BZIMAGE" | cut -f1)), $GUEST_VMLINUX"
