#!/bin/sh
# The "bring it up" demo: l2tpvpnd with IPsec (its embedded charon), pppd per session and its firewall, and four
# emulated built-in clients (Windows, macOS, iOS behind NAT, Android: each strongSwan IKEv1 with that OS's
# proposals + xl2tpd + pppd MS-CHAPv2) connecting at once, on Debian 12's own kernel under qemu (the host
# kernel needs no ESP, PPP or L2TP support; KVM is used when it works, else TCG). Prints the checks as they
# pass, then the server's /status JSON taken while all four clients were connected. Installs what it needs
# (Debian 12, as root) and builds first.
#
#   tests/demo.sh                         # as root: the VM scenario tests/vm/scenarios/supervisor_e2e.sh
#   DEMO_SCENARIO=ppp_sessions ...        # another scenario (status JSON only where the scenario saves it)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${L2TPVPN_BUILD_DIR:-$SRC/build}
SCENARIO=${DEMO_SCENARIO:-supervisor_e2e}
OUT=${DEMO_OUT:-/var/tmp/l2tpvpn-demo}
if [ "$(id -u)" -ne 0 ]; then echo "run as root (installs packages)" >&2; exit 2; fi
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v cmake >/dev/null || ! command -v xl2tpd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $(grep -v '^#' "$SRC/packaging/build-deps.txt") >/dev/null
fi
cmake -S "$SRC" -B "$BUILD" -G Ninja >/dev/null
cmake --build "$BUILD"
rm -rf "$OUT"
rc=0
"$SRC/tests/vm/boot.sh" --build "$BUILD" --out "$OUT" --timeout 900 "$SCENARIO" || rc=$?
if [ -f "$OUT/status.json" ]; then
  echo "=== l2tpvpnd /status while the clients were connected ($OUT/status.json)"
  cat "$OUT/status.json"
fi
echo "=== logs: $OUT"
exit $rc
