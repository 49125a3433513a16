#!/bin/bash
# Runs a shell command inside figment's nested lab: QEMU (TCG, -cpu EPYC,+svm,+npt)
# boots Debian's cloud kernel with an initramfs that loads kvm-amd, so that the
# command sees a real /dev/kvm. Usage:
#
#   tools/lab/run.sh [options] [--] 'shell command'
#     --smp N         lab vCPUs (default 2)
#     --mem MiB       lab memory (default 2048)
#     --timeout S     kill the lab if it has not finished after S seconds (default 300)
#     --figment PATH  figment binary to put in the lab as /usr/local/bin/figment
#                     (default: build/figment in this repo when it exists)
#     --with-qemu     also put qemu-system-x86_64 (+ microvm firmware in /usr/share/qemu)
#     --extra DIR     copy DIR's contents to /extra in the lab
#     --tool PATH     also put the host program PATH (with its libraries) in
#                     /usr/local/bin of the lab; repeatable (e.g. curl)
#     --verbose       also print the lab console (stripped) and timings on stderr
#
# Inside the lab: the command runs with sh -c from /, stdin /dev/null; guest
# artifacts are in /guest (bzImage, vmlinux, cloud-bzImage, initramfs.cpio.gz,
# initramfs-cloud.cpio.gz). The command's stdout+stderr travel on a serial port
# of their own, so lab kernel messages never mix with them; escape codes and CRs
# are stripped. run.sh exits with the command's status; 124 when the lab did not
# finish in time, 125 when the lab itself failed (no /dev/kvm, QEMU died...).
# The last run's lab console is kept in $LAB_DIR/last-console.log.
set -eu
FIGMENT_TOOLS=$(cd "$(dirname "$0")/.." && pwd)
. "$FIGMENT_TOOLS/guest/paths.sh"
. "$FIGMENT_TOOLS/guest/lib.sh"

smp=2 mem=2048 timeout=300 with_qemu=0 extra="" verbose=0
tools=()
figment=""
[ -x "$FIGMENT_TOOLS/../build/figment" ] && figment=$FIGMENT_TOOLS/../build/figment
usage() { sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit "${1:-2}"; }
need() { [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; usage; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--smp) need "$@"; smp=$2; shift ;;
	--mem) need "$@"; mem=$2; shift ;;
	--timeout) need "$@"; timeout=$2; shift ;;
	--figment) need "$@"; figment=$2; shift ;;
	--extra) need "$@"; extra=$2; shift ;;
	--tool) need "$@"; tools+=("$2"); shift ;;
	--with-qemu) with_qemu=1 ;;
	--verbose) verbose=1 ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
	shift
done
[ $# -gt 0 ] || { echo "run.sh: no command given" >&2; usage; }
cmd="$*"
case $smp$mem$timeout in *[!0-9]*) echo "run.sh: --smp, --mem, --timeout take numbers" >&2; exit 2 ;; esac
[ -z "$extra" ] || [ -d "$extra" ] || fig_die "--extra $extra is not a directory"

build_args=()
[ "$with_qemu" = 1 ] && build_args+=(--with-qemu)
[ -n "$figment" ] && build_args+=("$figment")
"$FIGMENT_TOOLS/lab/build-lab.sh" "${build_args[@]}"

QEMU=${FIGMENT_LAB_QEMU:-/usr/bin/qemu-system-x86_64}
mkdir -p "$LAB_DIR/runs"
# Leftovers of runs that were killed hard.
find "$LAB_DIR/runs" -mindepth 1 -maxdepth 1 -name 'run.*' -mmin +180 -exec rm -rf {} + 2>/dev/null || true
run=$(mktemp -d "$LAB_DIR/runs/run.XXXXXX")
qpid="" tailpid="" awkpid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for p in $qpid $tailpid $awkpid; do
		kill "$p" 2>/dev/null || true
	done
	[ -f "$run/console.log" ] && cp "$run/console.log" "$LAB_DIR/last-console.log" 2>/dev/null
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The per-run cpio: the command, figment and its libraries, --extra.
root=$run/root
mkdir -p "$root/lab"
printf '%s\n' "$cmd" >"$root/lab/cmd"
[ -n "$figment" ] && fig_copy_binary "$root" "$figment" /usr/local/bin/figment
for t in "${tools[@]}"; do
	[ -x "$t" ] || fig_die "--tool $t is not an executable"
	fig_copy_binary "$root" "$t" "/usr/local/bin/$(basename "$t")"
done
if [ -n "$extra" ]; then
	mkdir -p "$root/extra"
	cp -a "$extra/." "$root/extra/"
fi
fig_cpio "$root" "$run/run.cpio"
parts="$LAB_DIR/base.cpio $LAB_DIR/guest.cpio"
[ "$with_qemu" = 1 ] && parts="$parts $LAB_DIR/qemu.cpio"
# shellcheck disable=SC2086
cat $parts "$run/run.cpio" >"$run/initrd"
rm -rf "$root" "$run/run.cpio"

# Strip CRs and terminal escape sequences; stop at the sentinel, keeping any
# text before it on the same line; write the status to $run/status.
filter() {
	awk -v st="$run/status" '
	BEGIN { esc = sprintf("%c", 27) }
	{
		gsub(/\r/, "")
		gsub(esc "\\[[0-9;?]*[ -/]*[@-~]", "")
		gsub(esc "[()][0-9A-Za-z]", "")
		gsub(esc ".", "")
		if (match($0, /LAB-EXIT [0-9]+$/)) {
			if (RSTART > 1) print substr($0, 1, RSTART - 1)
			split(substr($0, RSTART), w, " ")
			print w[2] > st
			close(st)
			exit
		}
		print
		fflush()
	}'
}

: >"$run/console.log"
: >"$run/out.log"
start=$(date +%s.%N)
"$QEMU" -accel tcg,thread=multi -cpu EPYC,+svm,+npt -smp "$smp" -m "$mem" \
	-M pc -nodefaults -no-user-config -nographic -no-reboot \
	-serial "file:$run/console.log" -serial "file:$run/out.log" \
	-kernel "$GUEST_CLOUD_BZIMAGE" -initrd "$run/initrd" \
	-append "console=ttyS0 quiet panic=-1" \
	</dev/null >"$run/qemu.log" 2>&1 &
qpid=$!
mkfifo "$run/fifo"
tail -n +1 -s 0.1 -f --pid="$qpid" "$run/out.log" >"$run/fifo" 2>/dev/null &
tailpid=$!
filter <"$run/fifo" &
awkpid=$!

status="" timed_out=0
deadline=$(($(date +%s) + timeout))
while :; do
	if [ -s "$run/status" ]; then
		status=$(cat "$run/status")
		break
	fi
	if ! kill -0 "$qpid" 2>/dev/null; then
		wait "$awkpid" 2>/dev/null || true
		[ -s "$run/status" ] && continue
		break
	fi
	if [ "$(date +%s)" -ge "$deadline" ]; then
		timed_out=1
		break
	fi
	sleep 0.1
done
end=$(date +%s.%N)

# Let the lab power off by itself for a moment, then make sure it is gone.
for _ in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
kill "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true
kill "$tailpid" "$awkpid" 2>/dev/null || true
wait "$tailpid" "$awkpid" 2>/dev/null || true

console_tail() {
	echo "lab: last lines of the lab console:" >&2
	tr -d '\r' <"$run/console.log" | sed 's#\x1b\[[0-9;?]*[ -/]*[@-~]##g; s#\x1b.##g' | tail -n 20 >&2
	if [ -s "$run/qemu.log" ]; then
		echo "lab: QEMU said:" >&2
		grep -v "TCG doesn't support requested feature" "$run/qemu.log" | tail -n 10 >&2
	fi
}
if [ "$verbose" = 1 ]; then
	echo "lab: ---- console ----" >&2
	tr -d '\r' <"$run/console.log" | sed 's#\x1b\[[0-9;?]*[ -/]*[@-~]##g; s#\x1b.##g' >&2
	start_up=$(sed -n 's/.*LAB-START \([0-9.]*\).*/\1/p' "$run/console.log" | head -n 1)
	echo "lab: wall time $(echo "$end - $start" | bc) s (QEMU start to LAB-EXIT);" \
		"lab kernel uptime at command start: ${start_up:-?} s" >&2
fi
if [ -z "$status" ]; then
	if grep -q 'LAB-EXIT' "$run/console.log"; then
		status=$(tr -d '\r' <"$run/console.log" | sed -n 's/.*LAB-EXIT \([0-9]*\).*/\1/p' | tail -n 1)
		grep 'LAB-ERROR' "$run/console.log" | tr -d '\r' >&2 || true
		exit "${status:-125}"
	fi
	if [ "$timed_out" = 1 ]; then
		echo "lab: timed out after $timeout s without reaching LAB-EXIT (QEMU killed)" >&2
		console_tail
		exit 124
	fi
	echo "lab: QEMU exited before the lab finished" >&2
	console_tail
	exit 125
fi
exit "$status"
