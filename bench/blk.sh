#!/bin/bash
# figment's block I/O benchmark (part of `make bench`, called by
# bench/run.sh; runs alone too): figment's virtio-blk against QEMU microvm's
# virtio-blk-device on the same data disk image, in one nested-lab run.
#
#   bench/blk.sh [FIGMENT]        (default build/figment)
#
# The guest (minimal 6.1 kernel, 1 vCPU, 128 MiB) boots from an ext4 root disk
# that holds bench/blkio.c (static) and runs, on a raw data disk, three
# time-bound phases with O_DIRECT and one request at a time: 256 KiB
# sequential writes, 256 KiB sequential reads, 4 KiB random reads.
# bench/blkmon.c runs each VMM and samples its CPU time (/proc/PID/stat) when
# the guest prints the start and end of each phase.
# Writes build/bench/blk-raw.txt (every run) and build/bench/blk-results.md
# (the table, also printed on stdout; bench/run.sh appends it to
# build/bench/results.md).
#
# Environment:
#   BENCH_BLK_RUNS     runs per VMM (default 5), interleaved
#   BENCH_BLK_SECONDS  length of each I/O phase, guest clock (default 2)
#   BENCH_BLK_MIB      data disk size (default 256)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FIGMENT=$(realpath "${1:-build/figment}")
RUNS=${BENCH_BLK_RUNS:-5}
SECS=${BENCH_BLK_SECONDS:-2}
MIB=${BENCH_BLK_MIB:-256}
OUT=$ROOT/build/bench
die() { echo "bench-blk: error: $*" >&2; exit 1; }
step() { echo "bench-blk: $*" >&2; }

[ -x "$FIGMENT" ] || die "$FIGMENT not found (make figment)"
case $RUNS$MIB in *[!0-9]*) die "BENCH_BLK_RUNS and BENCH_BLK_MIB take numbers" ;; esac
mkdir -p "$OUT"
rm -rf "$OUT/blk-extra" "$OUT/blk-rootfs"
mkdir -p "$OUT/blk-extra" "$OUT/blk-rootfs"

# Static: the guest has only busybox, the lab only what figment and QEMU bring.
gcc -O2 -static -Wall -Wextra -Werror -o "$OUT/blk-rootfs/blkio" bench/blkio.c
gcc -O2 -static -Wall -Wextra -Werror -o "$OUT/blk-extra/blkmon" bench/blkmon.c
cp bench/blk_guest.sh "$OUT/blk-rootfs/blk-guest.sh"
tools/guest/mkrootfs.sh "$OUT/blk-extra/root.ext4" 24 "$OUT/blk-rootfs"
cp bench/blk_lab.sh "$OUT/blk-extra/"

RAW=$OUT/blk-raw.txt
{
	echo "# figment block bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# figment: $FIGMENT, git $(git describe --always --dirty 2>/dev/null || echo '?')"
	echo "# host: $(uname -r), $(nproc) CPUs, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RAW"

step "lab: $RUNS runs each of figment and QEMU, $SECS s per I/O phase, $MIB MiB data disk"
# Each run is a guest boot (a few seconds under TCG) plus three phases.
timeout=$((300 + (RUNS + 1) * 2 * (60 + 6 * SECS)))
if ! tools/lab/run.sh --with-qemu --figment "$FIGMENT" --extra "$OUT/blk-extra" \
	--timeout "$timeout" -- "sh /extra/blk_lab.sh $RUNS $SECS $MIB" \
	>"$OUT/blk-lab.txt" 2>"$OUT/blk-lab.err"; then
	cat "$OUT/blk-lab.err" >&2
	tail -n 20 "$OUT/blk-lab.txt" >&2
	die "the lab run failed (output in $OUT/blk-lab.txt, $OUT/blk-lab.err)"
fi
grep -E '^(blk=|#)' "$OUT/blk-lab.txt" >>"$RAW"
grep -v -E '^(blk=|#)' "$OUT/blk-lab.txt" >&2 || true
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW"

BENCH_HEADER="$(grep '^# [^ ]' "$RAW" | sed 's/^# /- /')
- raw per-run numbers: build/bench/blk-raw.txt (bench/blkmon.c lines)" \
	awk -f bench/median.awk -f bench/blk_report.awk "$RAW" >"$OUT/blk-results.md"
cat "$OUT/blk-results.md"
