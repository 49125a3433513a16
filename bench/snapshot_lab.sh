#!/bin/bash
# figment's lab snapshot benchmark (part of `make bench`, called by
# bench/run.sh; runs alone too): snapshot create and restore of a Linux guest
# under figment against QEMU microvm saving to and restoring from a migration
# file (`-incoming`), one nested-lab run per guest size with both VMMs
# (bench/snapshot_lab_run.sh inside, timed by bench/snaptime.c).
#
#   bench/snapshot_lab.sh [FIGMENT]        (default build/figment)
#
# For each guest RAM size: create time (figment pause + create call, QEMU stop
# + migrate to a file), the files' allocated and apparent sizes, and restore
# latency until the guest runs again: exec of `figment run --restore` / of
# QEMU `-incoming`, and the load call (`PUT /snapshot/load` / QMP
# `migrate-incoming`). The guest (minimal 6.1 kernel, busybox initramfs, 1 vCPU)
# prints a tick every BENCH_SNAPSHOT_LAB_TICK seconds; "runs again" is the
# first tick after the snapshot's last one.
# Writes build/bench/snapshot-lab-raw.txt (every run) and
# build/bench/snapshot-lab-results.md (the table, also printed on stdout;
# bench/run.sh appends it to build/bench/results.md).
#
# Environment:
#   BENCH_SNAPSHOT_LAB_RUNS     runs per VMM and size (default 5), interleaved
#   BENCH_SNAPSHOT_LAB_MIBS     guest RAM sizes in MiB (default "128 1024")
#   BENCH_SNAPSHOT_LAB_TICK     the guest's tick period, s (default 0.01)
#   BENCH_SNAPSHOT_LAB_MEM      the lab's own memory, MiB (default 3072: a
#                               1 GiB guest, its files on the lab's tmpfs)
#   BENCH_SNAPSHOT_LAB_ATTEMPTS lab runs per size before giving up (default 3;
#                               see the lab freezes below)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FIGMENT=$(realpath "${1:-build/figment}")
RUNS=${BENCH_SNAPSHOT_LAB_RUNS:-5}
MIBS=${BENCH_SNAPSHOT_LAB_MIBS:-128 1024}
TICK=${BENCH_SNAPSHOT_LAB_TICK:-0.01}
LAB_MEM=${BENCH_SNAPSHOT_LAB_MEM:-3072}
ATTEMPTS=${BENCH_SNAPSHOT_LAB_ATTEMPTS:-3}
OUT=$ROOT/build/bench
die() { echo "bench-snapshot-lab: error: $*" >&2; exit 1; }
step() { echo "bench-snapshot-lab: $*" >&2; }

[ -x "$FIGMENT" ] || die "$FIGMENT not found (make figment)"
case $RUNS$LAB_MEM$ATTEMPTS${MIBS// /} in *[!0-9]*) die "BENCH_SNAPSHOT_LAB_RUNS, _MIBS, _MEM and _ATTEMPTS take numbers" ;; esac
case $TICK in '' | *[!0-9.]*) die "BENCH_SNAPSHOT_LAB_TICK takes seconds (0.01)" ;; esac
[ -n "${MIBS// /}" ] || die "BENCH_SNAPSHOT_LAB_MIBS is empty"
[ "$ATTEMPTS" -ge 1 ] || die "BENCH_SNAPSHOT_LAB_ATTEMPTS must be at least 1"
mkdir -p "$OUT"
rm -rf "$OUT/snapshot-lab-extra" "$OUT"/snapshot-lab-[0-9]*.txt "$OUT"/snapshot-lab-[0-9]*.err
mkdir -p "$OUT/snapshot-lab-extra"

# Static: the lab has no C library of its own beyond what figment and QEMU bring.
gcc -std=gnu11 -O2 -static -Wall -Wextra -Werror -o "$OUT/snapshot-lab-extra/snaptime" bench/snaptime.c
cp bench/snapshot_lab_run.sh "$OUT/snapshot-lab-extra/"

RAW=$OUT/snapshot-lab-raw.txt
{
	echo "# figment lab snapshot bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# figment: $FIGMENT, git $(git describe --always --dirty 2>/dev/null || echo '?')"
	echo "# host: $(uname -r), $(nproc) CPUs, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RAW"

step "lab: $RUNS runs each of figment and QEMU per guest size ($MIBS MiB), tick $TICK s"
# One lab run per guest size: figment and QEMU of one size are always measured
# in the same lab boot. The lab sometimes freezes as a whole (both of its
# vCPUs spinning in its kernel with interrupts off; seen a few times in a
# hundred QEMU restores, never with a way out): a lab run that does not finish
# in time is run again, up to ATTEMPTS times, and the header says so. A round
# (two guest boots to TICK 20, two snapshots, four restores) takes about 5 s
# in the lab; the timeout leaves room for a busy host.
timeout=$((120 + (RUNS + 1) * 2 * 20))
for mib in $MIBS; do
	attempt=1
	while :; do
		log=$OUT/snapshot-lab-$mib
		status=0
		tools/lab/run.sh --with-qemu --figment "$FIGMENT" --mem "$LAB_MEM" \
			--extra "$OUT/snapshot-lab-extra" --timeout "$timeout" \
			-- "sh /extra/snapshot_lab_run.sh $RUNS $TICK $mib" \
			>"$log.txt" 2>"$log.err" || status=$?
		[ "$status" = 0 ] && break
		cat "$log.err" >&2
		tail -n 5 "$log.txt" >&2
		[ "$attempt" -lt "$ATTEMPTS" ] ||
			die "$mib MiB: the lab run failed $attempt times (the last one's output in $log.txt, $log.err)"
		why="status $status"
		[ "$status" = 124 ] && why="it did not finish in $timeout s"
		echo "# $mib MiB: lab run $attempt of $ATTEMPTS failed ($why) and was run again" >>"$RAW"
		step "$mib MiB: lab run $attempt failed ($why), again"
		mv "$log.txt" "$log.try$attempt.txt"
		mv "$log.err" "$log.try$attempt.err"
		attempt=$((attempt + 1))
	done
	grep -E '^(snap=|#)' "$log.txt" >>"$RAW"
	grep -v -E '^(snap=|#)' "$log.txt" >&2 || true
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW"

# Each lab run says which lab, figment and QEMU it had: once in the header.
BENCH_MIBS=$MIBS BENCH_HEADER="$(grep '^# [^ ]' "$RAW" | awk '!seen[$0]++' | sed 's/^# /- /')
- raw per-run numbers: build/bench/snapshot-lab-raw.txt (bench/snaptime.c lines; times in µs)" \
	awk -f bench/median.awk -f bench/snapshot_lab_report.awk "$RAW" >"$OUT/snapshot-lab-results.md"
cat "$OUT/snapshot-lab-results.md"
