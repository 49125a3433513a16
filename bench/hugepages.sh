#!/bin/bash
# Huge pages for guest RAM, measured (`make bench-hugepages`): the small
# guest kernel booted RUNS times each on 4 KiB pages, transparent huge
# pages (--hugepages thp) and hugetlbfs 2 MiB pages (--hugepages 2M), in
# one nested-lab run (bench/hugepages_lab.sh). Reports per mode the median
# boot time (the guest's own, figment --boot-timer, and exec to /init),
# the median peak host memory of the figment process (guest RAM included,
# hugetlbfs pages counted) and its guest RAM part, each as a ratio to 4K.
# Lab times are emulated: only the ratios mean anything.
#
#   bench/hugepages.sh [FIGMENT]     (default build/figment)
#
# Writes build/bench/hugepages-raw.txt (every vmm_timer line) and
# build/bench/hugepages-results.md (also printed).
#
# Environment: BENCH_HUGEPAGES_RUNS  boots per mode (default 9)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FIGMENT=$(realpath "${1:-build/figment}")
RUNS=${BENCH_HUGEPAGES_RUNS:-9}
OUT=$ROOT/build/bench
die() { echo "bench-hugepages: error: $*" >&2; exit 1; }

[ -x "$FIGMENT" ] || die "$FIGMENT not found (make figment)"
case $RUNS in '' | *[!0-9]*) die "BENCH_HUGEPAGES_RUNS takes a whole number" ;; esac
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 50 ] || die "BENCH_HUGEPAGES_RUNS: 1 to 50"

mkdir -p "$OUT"
rm -rf "$OUT/hugepages-extra"
mkdir -p "$OUT/hugepages-extra"
# static: the lab has no libc of its own beyond what figment brings
gcc -O2 -static -Wall -Wextra -Werror -o "$OUT/hugepages-extra/vmm_timer" bench/vmm_timer.c
cp bench/hugepages_lab.sh "$OUT/hugepages-extra/"
RAW=$OUT/hugepages-raw.txt
{
	echo "# figment huge pages bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# figment: $FIGMENT, git $(git describe --always --dirty 2>/dev/null || echo '?')"
	echo "# host: $(uname -r), $(nproc) CPUs, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# $RUNS boots per mode, 128 MiB guest, small kernel (/guest/bzImage) and initramfs"
} >"$RAW"
# a boot takes 2-10 s under TCG
timeout=$((300 + RUNS * 3 * 40))
start=$(date +%s)
if ! tools/lab/run.sh --figment "$FIGMENT" --extra "$OUT/hugepages-extra" --timeout "$timeout" \
	-- "sh /extra/hugepages_lab.sh $RUNS" >"$OUT/hugepages-lab.txt" 2>"$OUT/hugepages-lab.err"; then
	cat "$OUT/hugepages-lab.err" >&2
	tail -n 20 "$OUT/hugepages-lab.txt" >&2
	die "the lab run failed (output in $OUT/hugepages-lab.txt, $OUT/hugepages-lab.err)"
fi
grep -E '^(vmm=|#)' "$OUT/hugepages-lab.txt" >>"$RAW"
echo "# lab run: $(($(date +%s) - start)) s" >>"$RAW"
awk -f bench/median.awk -f bench/hugepages_report.awk "$RAW" >"$OUT/hugepages-results.md"
cat "$OUT/hugepages-results.md"
