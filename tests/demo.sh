#!/bin/sh
# Brings up l2tpvpnd as LNS and a real xl2tpd client (LAC) in a private network namespace on loopback, shows the
# session established on both sides, then tears everything down. Builds l2tpvpnd first if needed.
# (When the IPsec, PPP and supervisor issues land, this becomes the full L2TP/IPsec demo in User-Mode Linux.)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${L2TPVPN_BUILD_DIR:-$SRC/build}
if [ "$(id -u)" -ne 0 ]; then echo "run as root (creates a network namespace)" >&2; exit 2; fi
if ! command -v xl2tpd >/dev/null || ! command -v cmake >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $(grep -v '^#' "$SRC/packaging/build-deps.txt") >/dev/null
fi
cmake -S "$SRC" -B "$BUILD" -G Ninja >/dev/null
cmake --build "$BUILD" --target l2tpvpnd l2tp_probe
exec "$SRC/tests/interop/xl2tpd_interop.sh" "$BUILD/l2tpvpnd" "$BUILD/tests/interop/l2tp_probe"
