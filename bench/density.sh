#!/bin/bash
# figment's density benchmark (`make bench-density`; not part of `make
# bench`, it takes a while): how much host memory N identical idle 128 MiB
# microVMs take, figment against QEMU microvm, with nothing shared, with
# page sharing (KSM), and with page sharing plus the balloon's free page
# reporting, in one nested-lab run. See bench/density_lab.sh for what runs
# in the lab.
#
#   bench/density.sh [FIGMENT]     (default build/figment)
#
# Writes build/bench/density-raw.txt (every sample) and
# build/bench/density-results.md (the table and a plot of memory per VM
# against N, one line per VMM and mode; also printed on stdout).
#
# Environment:
#   BENCH_DENSITY_N        VMs per round (default 8)
#   BENCH_DENSITY_MODES    which of "none ksm balloon" (default all three)
#   BENCH_DENSITY_VMMS     which of "figment qemu" (default both)
#   BENCH_DENSITY_BUDGET   the host memory budget for "VMs that fit", MiB
#                          (default 16384)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FIGMENT=$(realpath "${1:-build/figment}")
N=${BENCH_DENSITY_N:-8}
MODES=${BENCH_DENSITY_MODES:-none ksm balloon}
VMMS=${BENCH_DENSITY_VMMS:-figment qemu}
BUDGET=${BENCH_DENSITY_BUDGET:-16384}
OUT=$ROOT/build/bench
die() { echo "bench-density: error: $*" >&2; exit 1; }

[ -x "$FIGMENT" ] || die "$FIGMENT not found (make figment)"
case $N$BUDGET in '' | *[!0-9]*) die "BENCH_DENSITY_N and BENCH_DENSITY_BUDGET take whole numbers" ;; esac
[ "$N" -ge 1 ] && [ "$N" -le 32 ] || die "BENCH_DENSITY_N: 1 to 32"
for m in $MODES; do
	case $m in none | ksm | balloon) ;; *) die "BENCH_DENSITY_MODES: unknown mode '$m' (none, ksm, balloon)" ;; esac
done
for v in $VMMS; do
	case $v in figment | qemu) ;; *) die "BENCH_DENSITY_VMMS: unknown VMM '$v' (figment, qemu)" ;; esac
done

mkdir -p "$OUT"
rm -rf "$OUT/density-extra"
mkdir -p "$OUT/density-extra"
cp bench/density_lab.sh "$OUT/density-extra/"
RAW=$OUT/density-raw.txt
{
	echo "# figment density bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# figment: $FIGMENT, git $(git describe --always --dirty 2>/dev/null || echo '?')"
	echo "# host: $(uname -r), $(nproc) CPUs, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# $N VMs per round, 128 MiB each, minimal kernel and initramfs, idle; modes: $MODES"
} >"$RAW"
nm=$(echo "$MODES" | wc -w) nv=$(echo "$VMMS" | wc -w)
# each VM boots in several seconds under TCG; KSM may take minutes
timeout=$((600 + nm * nv * (N * 40 + 300)))
labmem=$((1024 + N * 192))
start=$(date +%s)
if ! tools/lab/run.sh --with-qemu --figment "$FIGMENT" --mem "$labmem" \
	--extra "$OUT/density-extra" --timeout "$timeout" -- "sh /extra/density_lab.sh $N '$MODES' '$VMMS'" \
	>"$OUT/density-lab.txt" 2>"$OUT/density-lab.err"; then
	cat "$OUT/density-lab.err" >&2
	tail -n 30 "$OUT/density-lab.txt" >&2
	die "the lab run failed (output in $OUT/density-lab.txt, $OUT/density-lab.err)"
fi
grep -E '^(density=|converge=|#)' "$OUT/density-lab.txt" >>"$RAW"
echo "# lab run: $(($(date +%s) - start)) s, lab memory $labmem MiB" >>"$RAW"
BENCH_HEADER="$(grep '^# [^ ]' "$RAW" | sed 's/^# /- /')
- raw samples: build/bench/density-raw.txt" \
	awk -v n="$N" -v budget="$BUDGET" -v modes="$MODES" -v vmms="$VMMS" \
	-f bench/density_report.awk "$RAW" >"$OUT/density-results.md"
cat "$OUT/density-results.md"
