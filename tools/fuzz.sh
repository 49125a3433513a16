#!/bin/sh
# Builds and runs figment's libFuzzer harnesses (tests/fuzz/fuzz_*.c).
#
#   tools/fuzz.sh [run] [name...]   build into build-fuzz/ and fuzz each for
#                                   ${FUZZ_SECONDS:-60} s; seeds come from
#                                   tests/fuzz/corpus/<name>/, new inputs go to
#                                   build-fuzz/corpus/<name>/, crashes to
#                                   build-fuzz/crashes/<name>/ (copy them into
#                                   tests/fuzz/regressions/<name>/ once fixed)
#   tools/fuzz.sh campaign [name...]  `make fuzz-campaign`: as run, for
#                                   ${FUZZ_SECONDS:-300} s each, then a report
#                                   (build-fuzz/campaign.md: executions, rate,
#                                   coverage, corpus, crashes); crashes are
#                                   copied to tests/fuzz/regressions/<name>/,
#                                   where `make test` replays them until fixed
#   tools/fuzz.sh replay [name...]  build each harness as a plain program
#                                   (tests/fuzz/replay_main.c) with ASan and
#                                   UBSan and replay every corpus and
#                                   regression input; used by `make test`
set -eu
cd "$(dirname "$0")/.."

CC=${FUZZ_CC:-clang}
OUT=build-fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
ALL="fuzz_virtqueue fuzz_virtio_blk fuzz_virtio_mmio fuzz_virtio_net fuzz_user_net fuzz_virtio_vsock fuzz_virtio_balloon fuzz_http
fuzz_config_json fuzz_boot fuzz_snapshot fuzz_mmds fuzz_oci_layer"
# Only the code under test: the harnesses do not need KVM or the rest.
SRCS="src/devices/virtio/queue.c src/devices/virtio/mmio.c src/devices/virtio/virtio_dev.c
src/devices/virtio/blk/blk.c src/devices/virtio/rng/rng.c
src/devices/virtio/net/net.c src/devices/virtio/net/tap.c src/devices/virtio/net/net_backend.c src/devices/virtio/net/user_net.c
src/devices/virtio/vsock/vsock.c src/devices/virtio/vsock/vsock_muxer.c
src/devices/virtio/balloon/*.c src/devices/virtio/virtio_persist.c
src/vstate/memory.c src/util/log.c src/util/safe_open.c src/util/token_bucket.c src/util/instance_id.c src/api/http.c src/config/*.c
src/util/metrics.c src/util/event_loop.c src/arch/x86/boot.c src/mmds/*.c
src/arch/x86/boot_bzimage.c src/arch/x86/boot_elf.c src/arch/x86/e820.c
src/persist/snapshot_file.c src/persist/snap_buf.c src/arch/x86/aml.c
src/container/layer_unpack.c"
LIBS="-ljansson -larchive -lz"
CFLAGS="-std=gnu11 -g -O1 -Isrc -Itests -D_GNU_SOURCE -pthread -fno-omit-frame-pointer"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# The loader harness also starts from the test guests (built, not committed).
extra_seeds() {
	if [ "$1" = fuzz_boot ] && [ -d build/guests ]; then
		echo build/guests
	fi
}

mode=run
case "${1:-}" in
run | replay | campaign)
	mode=$1
	shift
	;;
esac
if [ "$mode" = campaign ]; then
	SECONDS_EACH=${FUZZ_SECONDS:-300}
	REPORT=$OUT/campaign.md
	mkdir -p "$OUT"
	{
		echo "# Fuzz campaign, $(date -u +%Y-%m-%dT%H:%MZ), ${SECONDS_EACH} s per harness"
		echo
		echo "| harness | seconds | executions | per second | coverage (edges) | features | corpus | new crashes |"
		echo "|---|---|---|---|---|---|---|---|"
	} >"$REPORT"
fi
names=${*:-$ALL}

status=0
for n in $names; do
	if [ ! -f "tests/fuzz/$n.c" ]; then
		echo "fuzz: no harness tests/fuzz/$n.c" >&2
		exit 2
	fi
	mkdir -p "tests/fuzz/corpus/$n" "tests/fuzz/regressions/$n"
	if [ "$mode" = replay ]; then
		mkdir -p "$OUT/replay"
		# shellcheck disable=SC2086
		$CC $CFLAGS $SAN -o "$OUT/replay/$n" "tests/fuzz/$n.c" \
			tests/fuzz/replay_main.c $SRCS $LIBS
		"$OUT/replay/$n" "tests/fuzz/corpus/$n" \
			"tests/fuzz/regressions/$n" $(extra_seeds "$n") || status=1
		continue
	fi
	mkdir -p "$OUT/corpus/$n" "$OUT/crashes/$n"
	# shellcheck disable=SC2086
	$CC $CFLAGS -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o "$OUT/$n" "tests/fuzz/$n.c" $SRCS $LIBS
	echo "fuzz: $n for ${SECONDS_EACH}s" >&2
	before=$(ls "$OUT/crashes/$n" | wc -l)
	"$OUT/$n" -max_total_time="$SECONDS_EACH" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$OUT/crashes/$n/" \
		"$OUT/corpus/$n" "tests/fuzz/corpus/$n" $(extra_seeds "$n") \
		2>"$OUT/$n.log" || status=1
	tail -n 5 "$OUT/$n.log" >&2
	if [ "$mode" = campaign ]; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$n.log")
		secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$OUT/$n.log")
		last=$(grep -E '^#[0-9]+' "$OUT/$n.log" | tail -n 1)
		cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
		ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
		corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
		crashes=$(($(ls "$OUT/crashes/$n" | wc -l) - before))
		rate=$([ -n "$secs" ] && [ "${secs:-0}" -gt 0 ] && echo $((${execs:-0} / secs)) || echo -)
		echo "| $n | ${secs:--} | ${execs:--} | $rate | ${cov:--} | ${ft:--} | ${corp:--} | $crashes |" >>"$REPORT"
		# A crash becomes a regression input: `make test` replays it and
		# fails until the bug is fixed.
		for c in "$OUT/crashes/$n"/*; do
			[ -f "$c" ] && cp -n "$c" "tests/fuzz/regressions/$n/"
		done
	fi
done
[ "$mode" = campaign ] && cat "$REPORT"
exit $status
