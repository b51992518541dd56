#!/bin/bash
# Installs every dependency (Debian 12, as root), builds l2tpvpn with warnings as errors, and runs the whole test
# suite: unit + simulator tests, interop with real peers (xl2tpd, charon) in private namespaces, the end-to-end
# scenarios on Debian 12's own kernel under qemu (label vm: KVM when usable, else TCG), and then every fuzzer for
# a bounded time under ASan/UBSan (clang + libFuzzer). Prints each phase's and each VM scenario's wall time.
# Exits non-zero if anything fails; a test that lacks something on this machine fails and names it (no skips).
#
#   tests/run-all.sh                 # as root: everything
#   L2TPVPN_SKIP_INSTALL=1 ...       # don't touch apt
#   L2TPVPN_FUZZ_SECONDS=60 ...      # per fuzz target (default 30)
#   L2TPVPN_VM_ACCEL=tcg ...         # force the VM accelerator (kvm|tcg)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${L2TPVPN_BUILD_DIR:-$SRC/build-ci}
FUZZ_BUILD=${L2TPVPN_FUZZ_BUILD_DIR:-$SRC/build-fuzz}
JOBS=${L2TPVPN_JOBS:-$(nproc)}
# Tests that would skip for lack of root, a program or a package fail instead (tests/require.hpp).
export L2TPVPN_REQUIRE_ALL=1
T0=$(date +%s)
phase_start=$T0
# phase NAME: the wall time of the phase that just ended
phase() { local now; now=$(date +%s); echo "=== time: $1: $((now - phase_start)) s"; phase_start=$now; }

if [ -z "${L2TPVPN_SKIP_INSTALL:-}" ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "run as root (installs packages, creates namespaces)" >&2; exit 2; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $(grep -v '^#' "$SRC/packaging/build-deps.txt") >/dev/null
  phase "install"
fi

echo "=== build (warnings are errors) in $BUILD"
cmake -S "$SRC" -B "$BUILD" -G Ninja -DL2TPVPN_WERROR=ON >/dev/null
cmake --build "$BUILD" -j "$JOBS"
phase "build"

echo "=== ctest: unit, sim, interop, root, charon, daemon"
status=0
# (deb: the package build runs with the vm label, which needs its .deb: ctest pulls it in as a fixture)
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" -LE 'fuzz|bench|vm|deb' || status=1
phase "ctest (host)"

echo "=== ctest: vm (Debian 12's kernel under qemu; one boot per scenario) and the .deb it installs"
rm -rf "$BUILD/tests/vm/out"
ctest --test-dir "$BUILD" --output-on-failure -L vm || status=1
phase "ctest (vm)"
echo "=== VM scenarios: checks, and wall time in the guest (ctest's lines above give each boot's)"
for d in "$BUILD"/tests/vm/out/*/; do
  n=$(basename "$d")
  echo "$n: $(cat "$d/summary" 2>/dev/null || echo 'no summary'); $(grep -h '^TIME:' "$d/$n.log" 2>/dev/null | sed 's/^TIME: [^:]*: //')"
done

echo "=== benchmarks (numbers only, not judged)"
ctest --test-dir "$BUILD" -L bench -V 2>&1 | grep -E '^[0-9]+: ' | sed 's/^[0-9]*: //' || true
# Measurements the VM scenarios printed (iperf3 through the kernel and pty data paths, xl2tpd side by side).
# (each scenario's own log: console.log repeats what the guest printed)
for d in "$BUILD"/tests/vm/out/*/; do grep -h '^BENCH:' "$d/$(basename "$d").log" 2>/dev/null; done || true

echo "=== fuzzers under ASan/UBSan in $FUZZ_BUILD"
CC=clang CXX=clang++ cmake -S "$SRC" -B "$FUZZ_BUILD" -G Ninja -DL2TPVPN_FUZZ=ON -DL2TPVPN_TESTS=ON \
  -DL2TPVPN_FUZZ_SECONDS="${L2TPVPN_FUZZ_SECONDS:-30}" >/dev/null
cmake --build "$FUZZ_BUILD" -j "$JOBS" --target fuzzers
ctest --test-dir "$FUZZ_BUILD" --output-on-failure -L fuzz || status=1
phase "fuzz"

echo "=== time: whole run: $(( $(date +%s) - T0 )) s; exit $status"
exit $status
