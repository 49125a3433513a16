#!/bin/sh
# The whole default test suite: C unit suites (normal and sanitizer builds),
# small-guest tests on the host's /dev/kvm, bad-input tests, API tests and
# the nested-lab tests with real Linux guests. pytest prints the summary
# line last. Extra arguments go to pytest (e.g. -k lab).
# The lab suites listed in tests/long-lab.txt take many minutes each: they
# are left to `make test-lab-long` (tools/run-tests.sh --long), so the
# default run stays short.
set -eu
cd "$(dirname "$0")/.."
LONG=$(grep -v '^#' tests/long-lab.txt)
if [ "${1:-}" = "--long" ]; then
	shift
	exec /usr/bin/python3 -m pytest -q -p no:cacheprovider -rs --durations=20 $LONG "$@"
fi
IGNORE=""
for f in $LONG; do IGNORE="$IGNORE --ignore=$f"; done
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider -rs --durations=20 $IGNORE tests "$@"
