#!/bin/bash
# figment's benchmark (`make bench`): figment against QEMU microvm, the same
# guests, the same measuring code (bench/vmm_timer.c), runs alternating
# between the two VMMs so that machine noise hits both.
#
#   bench/run.sh [FIGMENT]        (default build/figment)
#
# 1. On the host's /dev/kvm (kvm_pvm: kernel-less guests only): exec to first
#    output and to exit, peak RSS and memory overhead, with a PVH guest both
#    VMMs can boot (bench/guest/hello_pvh.S); figment alone on
#    tests/guests/hello.bin and marker.bin (its boot timer).
# 2. In the nested lab (tools/lab/run.sh --with-qemu, one lab boot): each
#    kernel of BENCH_LAB_KERNELS + busybox initramfs, 1 vCPU, 128 MiB, exec
#    to the guest's /init and to exit, RSS and overhead (bench/lab.sh).
# 3. In a second lab run: block I/O, figment's virtio-blk vs QEMU's
#    virtio-blk-device on the same image (bench/blk.sh; its table is
#    appended to results.md).
# 3b. In another lab run: network throughput, iperf3 between the lab host
#    and the guest both ways, figment's virtio-net against QEMU's
#    virtio-net-device over a TAP, and figment's user-mode backends (passt,
#    figment-slirp) against QEMU's -netdev user (bench/net.sh; its table is
#    appended to results.md).
# 3c. In another lab run: vsock throughput both ways and connection set-up
#    latency, figment's virtio-vsock (Unix sockets) against QEMU's
#    vhost-vsock-device (bench/vsock.sh; its table is appended to results.md).
# 4. On the host: API latency (bench/api_latency.py) and snapshots of a
#    kernel-less guest (bench/snapshot.py).
# 5. In further lab runs (one per guest size): snapshots of a Linux guest,
#    figment's create/restore against QEMU saving to and restoring from a
#    migration file, 128 MiB and 1 GiB (bench/snapshot_lab.sh; its table is
#    appended to results.md).
# Writes build/bench/raw.txt (every run) and build/bench/results.md (the table,
# also printed on stdout).
#
# Environment:
#   BENCH_HOST_RUNS   runs per VMM on the host (default 30: they are cheap)
#   BENCH_LAB_RUNS    runs per VMM and kernel in the lab (default 10)
#   BENCH_LAB_KERNELS guest kernels in the lab, file names in the guest cache
#                     (default "bzImage vmlinux tiny-acpi-bzImage": the minimal
#                     kernel both ways, and tools/guest/tiny-acpi-kernel.config,
#                     ACPI without PCI, so that no ratio rests on one kernel)
#   BENCH_QEMU_NOACPI_KERNELS  those of them QEMU boots with -M microvm,acpi=off
#                     (default "tiny-acpi-bzImage": QEMU's hardware-reduced ACPI
#                     loses that kernel's user-space console, as figment's did
#                     before issue 12; with acpi=off it uses the MP table)
#   BENCH_GUEST_ARGS  appended to both VMMs' guest command line in the lab
#                     (default "pci=off": the minimal kernel has PCI support
#                     for ACPI's sake, and both machines have no PCI bus)
#   BENCH_BLK_RUNS, BENCH_BLK_SECONDS, BENCH_BLK_MIB  see bench/blk.sh
#   BENCH_NET_RUNS, BENCH_NET_SECONDS, BENCH_NET_MODES  see bench/net.sh
#   BENCH_VSOCK_RUNS, BENCH_VSOCK_SECONDS, BENCH_VSOCK_CONNS  see bench/vsock.sh
#   BENCH_SNAPSHOT_RUNS, BENCH_SNAPSHOT_CLONES  see bench/snapshot.py
#   BENCH_SNAPSHOT_LAB_RUNS, BENCH_SNAPSHOT_LAB_MIBS, ...  see bench/snapshot_lab.sh
#   BENCH_SKIP_LAB=1 / BENCH_SKIP_HOST=1 / BENCH_SKIP_BLK=1 / BENCH_SKIP_API=1
#   BENCH_SKIP_NET=1 / BENCH_SKIP_VSOCK=1 / BENCH_SKIP_SNAPSHOT=1
#   BENCH_SKIP_SNAPSHOT_LAB=1                           leave a part out
#                     (BENCH_SKIP_LAB=1 leaves out the block, network, vsock
#                     and lab snapshot benchmarks too)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
FIGMENT=$(realpath "${1:-build/figment}")
HOST_RUNS=${BENCH_HOST_RUNS:-30}
LAB_RUNS=${BENCH_LAB_RUNS:-10}
LAB_KERNELS=${BENCH_LAB_KERNELS:-bzImage vmlinux tiny-acpi-bzImage}
QEMU_NOACPI_KERNELS=${BENCH_QEMU_NOACPI_KERNELS-tiny-acpi-bzImage}
GUEST_ARGS=${BENCH_GUEST_ARGS-pci=off}
OUT=$ROOT/build/bench
QEMU=${BENCH_QEMU:-qemu-system-x86_64}

die() { echo "bench: error: $*" >&2; exit 1; }
step() { echo "bench: $*" >&2; }

[ -x "$FIGMENT" ] || die "$FIGMENT not found (make figment)"
command -v "$QEMU" >/dev/null || die "$QEMU missing (tools/deps.sh installs qemu-system-x86)"
for g in hello marker; do
	[ -f build/guests/$g.bin ] || die "build/guests/$g.bin missing (make test-guests)"
done
mkdir -p "$OUT"
rm -rf "$OUT/extra"
mkdir -p "$OUT/extra" "$OUT/logs"

# Static, so the same binary runs in the lab, which has no libc of its own
# beyond what figment and QEMU bring.
gcc -O2 -static -Wall -Wextra -Werror -o "$OUT/vmm_timer" bench/vmm_timer.c
gcc -c -o "$OUT/hello_pvh.o" bench/guest/hello_pvh.S
ld --no-warn-rwx-segments -T bench/guest/bench_guest.ld -o "$OUT/hello_pvh.elf" "$OUT/hello_pvh.o"

RAW=$OUT/raw.txt
: >"$RAW"
{
	echo "# figment bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# figment: $FIGMENT, git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
	echo "# host: $(uname -r), $(nproc) CPUs, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# qemu: $("$QEMU" --version | head -n 1)"
} >>"$RAW"

T=$OUT/vmm_timer
QEMU_MICROVM=(-M 'microvm,x-option-roms=off,rtc=off,isa-serial=on' -enable-kvm -m 128 -smp 1
	-nodefaults -no-user-config -nographic -serial stdio -no-reboot)

host_figment() { # GUEST-NAME KERNEL MARKER END [figment flags...]
	local name=$1 kernel=$2 mark=$3 end=$4
	shift 4
	"$T" -n "host:figment:$name" -m "$mark" -e "$end" -g 128 -i 5 -t 30 \
		-b 'guest boot time ' -o "$OUT/logs/figment-$name" -- \
		"$FIGMENT" run --kernel "$kernel" --mem 128 "$@"
}

host_qemu() { # GUEST-NAME KERNEL MARKER END
	# -cpu host,-arch-capabilities: QEMU aborts on kvm_pvm setting MSR 0x10a
	# otherwise. -device i8042: the guest ends through an i8042 reset, which
	# microvm lacks (with -no-reboot the reset ends QEMU).
	"$T" -n "host:qemu:$1" -m "$3" -e "$4" -g 128 -i 5 -t 30 -o "$OUT/logs/qemu-$1" -- \
		"$QEMU" "${QEMU_MICROVM[@]}" -cpu host,-arch-capabilities -device i8042 \
		-kernel "$2"
}

if [ "${BENCH_SKIP_HOST:-0}" != 1 ]; then
	[ -w /dev/kvm ] || die "/dev/kvm is missing or not writable (BENCH_SKIP_HOST=1 leaves this part out)"
	step "host: $HOST_RUNS rounds of figment and QEMU on the PVH bench guest, figment on hello.bin and marker.bin"
	pvh=$OUT/hello_pvh.elf
	host_figment hello_pvh "$pvh" hello resetting | sed 's/^vmm=host:/vmm=warmup:/' >>"$RAW"
	host_qemu hello_pvh "$pvh" hello resetting | sed 's/^vmm=host:/vmm=warmup:/' >>"$RAW"
	# One round runs every guest once, so that the load of whatever else
	# runs on this machine spreads over all rows alike.
	for i in $(seq "$HOST_RUNS"); do
		if [ $((i % 2)) = 1 ]; then
			host_figment hello_pvh "$pvh" hello resetting >>"$RAW"
			host_qemu hello_pvh "$pvh" hello resetting >>"$RAW"
		else
			host_qemu hello_pvh "$pvh" hello resetting >>"$RAW"
			host_figment hello_pvh "$pvh" hello resetting >>"$RAW"
		fi
		host_figment hello.bin build/guests/hello.bin hello resetting >>"$RAW"
		host_figment marker.bin build/guests/marker.bin M M --boot-timer >>"$RAW"
	done
fi

if [ "${BENCH_SKIP_LAB:-0}" != 1 ]; then
	step "lab: $LAB_RUNS runs each of figment and QEMU per kernel ($LAB_KERNELS), in one lab boot"
	cp "$T" bench/lab.sh "$OUT/extra/"
	printf '%s\n' "$GUEST_ARGS" >"$OUT/extra/guest-args"
	printf '%s\n' "$QEMU_NOACPI_KERNELS" >"$OUT/extra/qemu-noacpi-kernels"
	# The lab's /guest has the artifacts tools/lab/build-lab.sh packs; any
	# other kernel comes from the guest cache through /extra (built first:
	# quiet when it is up to date).
	tools/guest/build-all.sh
	# shellcheck source=tools/guest/paths.sh
	. tools/guest/paths.sh
	for k in $LAB_KERNELS; do
		case $k in
		bzImage | vmlinux | cloud-bzImage) ;;
		*)
			[ -f "$GUEST_DIR/$k" ] || die "BENCH_LAB_KERNELS: no $k in $GUEST_DIR"
			cp "$GUEST_DIR/$k" "$OUT/extra/"
			;;
		esac
	done
	# A lab run takes 2-4 s per guest boot under TCG, more on a busy machine.
	lab_timeout=$((300 + LAB_RUNS * 2 * 30 * $(echo "$LAB_KERNELS" | wc -w)))
	# shellcheck disable=SC2086
	if ! tools/lab/run.sh --with-qemu --extra "$OUT/extra" --timeout "$lab_timeout" \
		-- "sh /extra/lab.sh $LAB_RUNS $LAB_KERNELS" >"$OUT/lab.txt" 2>"$OUT/lab.err"; then
		cat "$OUT/lab.err" >&2
		tail -n 20 "$OUT/lab.txt" >&2
		die "the lab run failed (output in $OUT/lab.txt, $OUT/lab.err)"
	fi
	grep -E '^(vmm=|#)' "$OUT/lab.txt" >>"$RAW"
	grep -v -E '^(vmm=|#)' "$OUT/lab.txt" >&2 || true
fi
# Other work on the machine shows in the figures: say how busy it was.
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW"

# Through the environment: awk -v would mangle the newlines and backslashes.
BENCH_HEADER="# figment vs QEMU microvm
$(grep '^# [^ ]' "$RAW" | sed 's/^# /- /')
- raw per-run numbers: build/bench/raw.txt (vmm_timer lines; times in µs since fork, memory in KiB)" \
awk -v lab_kernels="$LAB_KERNELS" -v qemu_noacpi_kernels="$QEMU_NOACPI_KERNELS" \
	-f bench/median.awk -f bench/report.awk "$RAW" >"$OUT/results.md"
cat "$OUT/results.md"

if [ "${BENCH_SKIP_LAB:-0}" != 1 ] && [ "${BENCH_SKIP_BLK:-0}" != 1 ]; then
	step "lab: block I/O (bench/blk.sh)"
	echo
	bench/blk.sh "$FIGMENT"
	{ echo; cat "$OUT/blk-results.md"; } >>"$OUT/results.md"
fi

if [ "${BENCH_SKIP_LAB:-0}" != 1 ] && [ "${BENCH_SKIP_NET:-0}" != 1 ]; then
	step "lab: network (bench/net.sh)"
	echo
	bench/net.sh "$FIGMENT"
	{ echo; cat "$OUT/net-results.md"; } >>"$OUT/results.md"
fi

if [ "${BENCH_SKIP_LAB:-0}" != 1 ] && [ "${BENCH_SKIP_VSOCK:-0}" != 1 ]; then
	step "lab: vsock (bench/vsock.sh)"
	echo
	bench/vsock.sh "$FIGMENT"
	{ echo; cat "$OUT/vsock-results.md"; } >>"$OUT/results.md"
fi

if [ "${BENCH_SKIP_API:-0}" != 1 ]; then
	step "host: API latency (bench/api_latency.py)"
	{
		echo
		echo "## API latency on the host (10,000 requests on one keep-alive connection)"
		echo
		echo '```'
		/usr/bin/python3 bench/api_latency.py "$FIGMENT" -n 10000 --starts 20
		echo '```'
	} | tee -a "$OUT/results.md"
fi

if [ "${BENCH_SKIP_SNAPSHOT:-0}" != 1 ]; then
	step "host: snapshots (bench/snapshot.py)"
	{
		echo
		echo "## Snapshots on the host (kernel-less counting guest; the VMM's own cost)"
		echo
		/usr/bin/python3 bench/snapshot.py "$FIGMENT" --runs "${BENCH_SNAPSHOT_RUNS:-10}" \
			--clones "${BENCH_SNAPSHOT_CLONES:-50}"
	} | tee -a "$OUT/results.md"
fi

if [ "${BENCH_SKIP_LAB:-0}" != 1 ] && [ "${BENCH_SKIP_SNAPSHOT_LAB:-0}" != 1 ]; then
	step "lab: snapshots, figment vs QEMU migration files (bench/snapshot_lab.sh)"
	echo
	bench/snapshot_lab.sh "$FIGMENT"
	{ echo; cat "$OUT/snapshot-lab-results.md"; } >>"$OUT/results.md"
fi
