#!/bin/sh
# The whole default test suite: C unit suites (normal and sanitizer builds),
# small-guest tests on the host's /dev/kvm, bad-input tests, API tests and
# the nested-lab tests with real Linux guests. pytest prints the summary
# line last. Extra arguments go to pytest (e.g. -k lab).
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider -rs --durations=20 tests "$@"
