#!/bin/sh
# Installs the Debian packages figment's build, tests, guests and lab need.
# Idempotent and quiet: does nothing when all are present.
set -e
PKGS="gcc make clang libclang-rt-14-dev binutils libjansson-dev libseccomp-dev
liburing-dev libcriterion-dev python3 python3-pytest acpica-tools
qemu-system-x86 busybox-static linux-image-cloud-amd64 linux-source-6.1 cpio
gzip xz-utils lz4 zstd bc flex bison libelf-dev libssl-dev kmod e2fsprogs
curl python3-yaml zlib1g-dev iproute2 libslirp-dev passt iperf3
libarchive-dev nettle-dev libzstd-dev liblz4-dev liblzma-dev libbz2-dev libacl1-dev
libattr1-dev umoci"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "figment: installing Debian packages:$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "figment: need root to install packages (run as root or install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
