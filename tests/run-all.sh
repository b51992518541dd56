#!/bin/bash
# Installs every dependency (Debian 12, as root), builds l2tpvpn with warnings as errors, and runs the whole test
# suite: unit + simulator tests, interop with real peers (xl2tpd, charon) in private namespaces, the User-Mode
# Linux end-to-end tests, and then every fuzzer for a bounded time under ASan/UBSan (clang + libFuzzer).
# Exits non-zero if anything fails.
#
#   sudo tests/run-all.sh            # everything
#   L2TPVPN_SKIP_INSTALL=1 ...       # don't touch apt
#   L2TPVPN_FUZZ_SECONDS=60 ...      # per fuzz target (default 30)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
# The User-Mode Linux guest mounts its own /tmp, so a tree under the host's /tmp is invisible to it: work on a
# copy elsewhere in that case.
case "$SRC" in
  /tmp/*)
    COPY=/var/tmp/l2tpvpn-src
    rm -rf "$COPY" && mkdir -p "$COPY" && cp -a "$SRC/." "$COPY/"
    exec "$COPY/tests/run-all.sh" "$@"
    ;;
esac
BUILD=${L2TPVPN_BUILD_DIR:-$SRC/build-ci}
FUZZ_BUILD=${L2TPVPN_FUZZ_BUILD_DIR:-$SRC/build-fuzz}
JOBS=${L2TPVPN_JOBS:-$(nproc)}

if [ -z "${L2TPVPN_SKIP_INSTALL:-}" ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "run as root (installs packages, creates namespaces)" >&2; exit 2; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $(grep -v '^#' "$SRC/packaging/build-deps.txt") >/dev/null
fi

echo "=== build (warnings are errors) in $BUILD"
cmake -S "$SRC" -B "$BUILD" -G Ninja -DL2TPVPN_WERROR=ON >/dev/null
cmake --build "$BUILD" -j "$JOBS"

echo "=== ctest: unit, sim, interop, charon, uml"
status=0
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" -LE 'fuzz|bench' || status=1

echo "=== benchmarks (numbers only, not judged)"
ctest --test-dir "$BUILD" -L bench -V 2>&1 | grep -E '^[0-9]+: ' | sed 's/^[0-9]*: //' || true
# Measurements the UML scenarios printed (iperf3 through the kernel and pty data paths, xl2tpd side by side).
grep -h '^BENCH:' "$BUILD"/tests/uml/out/*/*.log 2>/dev/null || true

echo "=== fuzzers under ASan/UBSan in $FUZZ_BUILD"
CC=clang CXX=clang++ cmake -S "$SRC" -B "$FUZZ_BUILD" -G Ninja -DL2TPVPN_FUZZ=ON -DL2TPVPN_TESTS=ON \
  -DL2TPVPN_FUZZ_SECONDS="${L2TPVPN_FUZZ_SECONDS:-30}" >/dev/null
cmake --build "$FUZZ_BUILD" -j "$JOBS" --target fuzzers
ctest --test-dir "$FUZZ_BUILD" --output-on-failure -L fuzz || status=1

exit $status
