#!/bin/bash
# figment's network benchmark (part of `make bench`, called by bench/run.sh;
# runs alone too): iperf3 between the lab host and a guest, figment's
# virtio-net against QEMU microvm's virtio-net-device, over a TAP and over
# user-mode networking (figment's two backends, passt and figment-slirp,
# against QEMU's -netdev user), in one nested-lab run.
#
#   bench/net.sh [FIGMENT]        (default build/figment; figment-slirp is
#                                  taken from the same directory)
#
# The guest (minimal 6.1 kernel, 1 vCPU, 256 MiB) boots from an ext4 root
# disk that holds Debian's /usr/bin/iperf3 with its shared libraries and
# runs `iperf3 -s`; the lab host runs `iperf3 -c` for SECONDS each way
# (host to guest, then `-R`, guest to host). bench/netmon.c samples the
# CPU time of the VMM process (all threads, and its vCPU threads apart)
# and of its helper processes (passt, figment-slirp) around each transfer.
# Writes build/bench/net-raw.txt (every run) and build/bench/net-results.md
# (the table, also printed on stdout; bench/run.sh appends it to
# build/bench/results.md). See bench/net_lab.sh for what runs in the lab.
#
# Environment:
#   BENCH_NET_RUNS     runs per VMM and mode (default 5), interleaved
#   BENCH_NET_SECONDS  length of each iperf3 transfer (default 5)
#   BENCH_NET_MODES    which of "tap passt slirp" (default all three; QEMU
#                      runs -netdev tap against tap, -netdev user against
#                      passt and slirp)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FIGMENT=$(realpath "${1:-build/figment}")
SLIRP=$(dirname "$FIGMENT")/figment-slirp
RUNS=${BENCH_NET_RUNS:-5}
SECS=${BENCH_NET_SECONDS:-5}
MODES=${BENCH_NET_MODES:-tap passt slirp}
OUT=$ROOT/build/bench
die() { echo "bench-net: error: $*" >&2; exit 1; }
step() { echo "bench-net: $*" >&2; }

[ -x "$FIGMENT" ] || die "$FIGMENT not found (make figment)"
case $RUNS$SECS in '' | *[!0-9]*) die "BENCH_NET_RUNS and BENCH_NET_SECONDS take whole numbers" ;; esac
for m in $MODES; do
	case $m in tap | passt | slirp) ;; *) die "BENCH_NET_MODES: unknown mode '$m' (tap, passt, slirp)" ;; esac
done
tools=(--tool /usr/bin/iperf3)
[ -x /usr/bin/iperf3 ] || die "/usr/bin/iperf3 missing (apt-get install iperf3)"
case " $MODES " in *" passt "*)
	[ -x /usr/bin/passt ] || die "/usr/bin/passt missing (apt-get install passt)"
	tools+=(--tool /usr/bin/passt) ;;
esac
case " $MODES " in *" slirp "*)
	[ -x "$SLIRP" ] || die "$SLIRP not found (make figment)"
	tools+=(--tool "$SLIRP") ;;
esac

# shellcheck source=tools/guest/paths.sh
. tools/guest/paths.sh
# shellcheck source=tools/guest/lib.sh
. tools/guest/lib.sh
mkdir -p "$OUT"
rm -rf "$OUT/net-extra" "$OUT/net-rootfs"
mkdir -p "$OUT/net-extra" "$OUT/net-rootfs"
# Static: the lab has only what figment, QEMU and the --tool programs bring.
gcc -O2 -static -Wall -Wextra -Werror -o "$OUT/net-extra/netmon" bench/netmon.c
# The guest's iperf3: Debian's, with its libraries and the dynamic loader.
fig_copy_binary "$OUT/net-rootfs" /usr/bin/iperf3 /usr/bin/iperf3
tools/guest/mkrootfs.sh "$OUT/net-extra/root.ext4" 48 "$OUT/net-rootfs"
cp bench/net_lab.sh "$OUT/net-extra/"

RAW=$OUT/net-raw.txt
{
	echo "# figment network bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# figment: $FIGMENT, git $(git describe --always --dirty 2>/dev/null || echo '?')"
	echo "# host: $(uname -r), $(nproc) CPUs, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# $(iperf3 --version | head -n 1); passt $(dpkg-query -W -f '${Version}' passt 2>/dev/null || echo '?');" \
		"libslirp $(dpkg-query -W -f '${Version}' libslirp0 2>/dev/null || echo '?')"
} >"$RAW"

nvm=0
for m in $MODES; do case $m in tap) nvm=$((nvm + 2)) ;; *) nvm=$((nvm + 1)) ;; esac; done
case " $MODES " in *" passt "* | *" slirp "*) nvm=$((nvm + 1)) ;; esac
step "lab: $RUNS runs of each of $nvm VMM/mode pairs ($MODES), $SECS s per transfer each way"
# Each VM: a guest boot (several seconds under TCG) plus two transfers.
timeout=$((300 + RUNS * nvm * (90 + 2 * (SECS + 10))))
start=$(date +%s)
if ! tools/lab/run.sh --with-qemu --figment "$FIGMENT" "${tools[@]}" --mem 2560 \
	--extra "$OUT/net-extra" --timeout "$timeout" -- "sh /extra/net_lab.sh $RUNS $SECS '$MODES'" \
	>"$OUT/net-lab.txt" 2>"$OUT/net-lab.err"; then
	cat "$OUT/net-lab.err" >&2
	tail -n 30 "$OUT/net-lab.txt" >&2
	die "the lab run failed (output in $OUT/net-lab.txt, $OUT/net-lab.err)"
fi
grep -E '^(net=|#)' "$OUT/net-lab.txt" >>"$RAW"
grep -v -E '^(net=|#)' "$OUT/net-lab.txt" >&2 || true
echo "# lab run: $(($(date +%s) - start)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW"

BENCH_HEADER="$(grep '^# [^ ]' "$RAW" | grep -v ' failed\|did not\|^#   ' | sed 's/^# /- /')
- raw per-run numbers: build/bench/net-raw.txt (one line per VMM, mode, run and direction)" \
	awk -v modes="$MODES" -f bench/median.awk -f bench/net_report.awk "$RAW" >"$OUT/net-results.md"
cat "$OUT/net-results.md"
