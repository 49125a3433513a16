#!/bin/bash
# figment's vsock benchmark (part of `make bench`, called by bench/run.sh;
# runs alone too): throughput both ways and connection set-up latency
# between the lab host and a guest, figment's virtio-vsock (Firecracker's
# Unix-socket model) against QEMU microvm's vhost-vsock-device (the lab
# host's AF_VSOCK), in one nested-lab run.
#
#   bench/vsock.sh [FIGMENT]        (default build/figment)
#
# The guest (minimal 6.1 kernel, 1 vCPU, 256 MiB) boots from an ext4 root
# disk holding bench/vsockbench.c (static), which serves port 52; the lab
# host runs the same program as the client: SECONDS of sending each way
# (h2g: the host sends and the guest counts; g2h: the guest sends), then
# CONNECTIONS connections one after the other, each timed from connect to
# usable (figment: "CONNECT 52" to "OK"; QEMU: connect() on AF_VSOCK).
# Writes build/bench/vsock-raw.txt (every run) and
# build/bench/vsock-results.md (the table, also printed on stdout;
# bench/run.sh appends it to build/bench/results.md). See
# bench/vsock_lab.sh for what runs in the lab.
#
# Environment:
#   BENCH_VSOCK_RUNS     runs per VMM (default 5), interleaved
#   BENCH_VSOCK_SECONDS  length of each transfer (default 3)
#   BENCH_VSOCK_CONNS    connections per latency run (default 200)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FIGMENT=$(realpath "${1:-build/figment}")
RUNS=${BENCH_VSOCK_RUNS:-5}
SECS=${BENCH_VSOCK_SECONDS:-3}
CONNS=${BENCH_VSOCK_CONNS:-200}
OUT=$ROOT/build/bench
die() { echo "bench-vsock: error: $*" >&2; exit 1; }
step() { echo "bench-vsock: $*" >&2; }

[ -x "$FIGMENT" ] || die "$FIGMENT not found (make figment)"
case $RUNS$SECS$CONNS in '' | *[!0-9]*) die "BENCH_VSOCK_RUNS, _SECONDS and _CONNS take whole numbers" ;; esac
[ "$CONNS" -gt 0 ] || die "BENCH_VSOCK_CONNS must be at least 1"

# shellcheck source=tools/guest/paths.sh
. tools/guest/paths.sh
mkdir -p "$OUT"
rm -rf "$OUT/vsock-extra" "$OUT/vsock-rootfs"
mkdir -p "$OUT/vsock-extra/mod" "$OUT/vsock-rootfs/usr/bin"
# Static: the lab and the guest have only busybox.
gcc -O2 -static -Wall -Wextra -Werror -o "$OUT/vsock-extra/vsockbench" bench/vsockbench.c
cp "$OUT/vsock-extra/vsockbench" "$OUT/vsock-rootfs/usr/bin/"
tools/guest/mkrootfs.sh "$OUT/vsock-extra/root.ext4" 32 "$OUT/vsock-rootfs"
cp bench/vsock_lab.sh "$OUT/vsock-extra/"
# vhost-vsock for QEMU: the lab kernel's modules (the lab loads them)
for m in vsock vmw_vsock_virtio_transport_common vhost_iotlb vhost vhost_vsock; do
	f=$(find "/lib/modules/$CLOUD_KVER/kernel" -name "$m.ko*" | head -n 1)
	case $f in
	'') step "no $m module for $CLOUD_KVER: QEMU's vhost-vsock will be left out" ;;
	*.ko.xz) xz -dc "$f" >"$OUT/vsock-extra/mod/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$OUT/vsock-extra/mod/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$OUT/vsock-extra/mod/$m.ko" ;;
	*) cp "$f" "$OUT/vsock-extra/mod/$m.ko" ;;
	esac
done

RAW=$OUT/vsock-raw.txt
{
	echo "# figment vsock bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# figment: $FIGMENT, git $(git describe --always --dirty 2>/dev/null || echo '?')"
	echo "# host: $(uname -r), $(nproc) CPUs, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RAW"

step "lab: $RUNS runs each of figment and QEMU vhost-vsock, $SECS s per transfer, $CONNS connections"
timeout=$((300 + RUNS * 2 * (90 + 2 * (SECS + 10) + CONNS / 5)))
start=$(date +%s)
if ! tools/lab/run.sh --with-qemu --figment "$FIGMENT" --extra "$OUT/vsock-extra" --timeout "$timeout" \
	-- "sh /extra/vsock_lab.sh $RUNS $SECS $CONNS" >"$OUT/vsock-lab.txt" 2>"$OUT/vsock-lab.err"; then
	cat "$OUT/vsock-lab.err" >&2
	tail -n 30 "$OUT/vsock-lab.txt" >&2
	die "the lab run failed (output in $OUT/vsock-lab.txt, $OUT/vsock-lab.err)"
fi
grep -E '^(vsock=|#)' "$OUT/vsock-lab.txt" >>"$RAW"
grep -v -E '^(vsock=|#)' "$OUT/vsock-lab.txt" >&2 || true
echo "# lab run: $(($(date +%s) - start)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW"

BENCH_HEADER="$(grep '^# [^ ]' "$RAW" | grep -v 'failed\|did not\|^#   ' | sed 's/^# /- /')
- raw per-run numbers: build/bench/vsock-raw.txt (one line per VMM, run and test)" \
	awk -f bench/median.awk -f bench/vsock_report.awk "$RAW" >"$OUT/vsock-results.md"
cat "$OUT/vsock-results.md"
