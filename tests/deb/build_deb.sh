#!/bin/sh
# Builds the Debian package from a copy of the source tree (dpkg-buildpackage -us -uc -b), checks it with
# lintian (any error or warning fails; overrides carry their reasons in debian/l2tpvpn.lintian-overrides) and
# checks that it holds what a host needs. Leaves l2tpvpn_<version>_amd64.deb in OUT for the VM boot test.
#
# usage: tests/deb/build_deb.sh SOURCE_DIR OUT_DIR
set -u
SRC=$(cd "$1" && pwd) OUT=$2
PASSES=0 FAILS=0
pass() { PASSES=$((PASSES + 1)); echo "PASS: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
for p in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian; do
  command -v "${p%%:*}" >/dev/null || { echo "FAIL: ${p%%:*} not found (package ${p#*:})"; exit 1; }
done
rm -rf "$OUT" && mkdir -p "$OUT/src"
OUT=$(cd "$OUT" && pwd)
# The tree without build directories or VCS data (a build dir inside the tree would be copied otherwise).
(cd "$SRC" && tar --exclude=./.git --exclude='./build*' --exclude='./obj-*' --exclude='./debian/l2tpvpn' \
   --exclude='./debian/.debhelper' -cf - .) | tar -C "$OUT/src" -xf -
start=$(date +%s)
if (cd "$OUT/src" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
  pass "dpkg-buildpackage -us -uc -b ($(( $(date +%s) - start )) s)"
else
  fail "dpkg-buildpackage"; tail -n 30 "$OUT/build.log"; exit 1
fi
DEB=$(ls "$OUT"/l2tpvpn_*_amd64.deb)
if lintian --fail-on error,warning "$DEB" >"$OUT/lintian.log" 2>&1; then
  pass "lintian --fail-on error,warning: clean"
else
  fail "lintian"; cat "$OUT/lintian.log"
fi
contents=$(dpkg-deb -c "$DEB" | awk '{ print $6 }')
pppd_dir=/usr/lib/pppd/$(sed -n 's/^#define[ \t]*VERSION[ \t]*"\(.*\)"/\1/p' /usr/include/pppd/patchlevel.h)
for f in ./usr/sbin/l2tpvpnd ./usr/sbin/l2tpvpnctl ".$pppd_dir/l2tpvpn.so" ./lib/systemd/system/l2tpvpn.service \
         ./etc/l2tpvpn/l2tpvpnd.conf ./usr/share/man/man8/l2tpvpnd.8.gz ./usr/share/man/man8/l2tpvpnctl.8.gz \
         ./usr/share/man/man5/l2tpvpnd.conf.5.gz ./usr/share/bash-completion/completions/l2tpvpnctl; do
  if echo "$contents" | grep -qx "$f"; then pass "package holds $f"; else fail "package lacks $f"; fi
done
if dpkg-deb -I "$DEB" conffiles | grep -qx /etc/l2tpvpn/l2tpvpnd.conf; then
  pass "/etc/l2tpvpn/l2tpvpnd.conf is a conffile"
else
  fail "/etc/l2tpvpn/l2tpvpnd.conf is not a conffile"
fi
depends=$(dpkg-deb -f "$DEB" Depends)
for d in ppp strongswan-charon libstrongswan-standard-plugins strongswan-swanctl 'nftables | iptables' kmod; do
  case ", $depends," in *", $d,"* | *", $d "*) pass "Depends: $d" ;; *) fail "Depends lacks $d: $depends" ;; esac
done
version=$(dpkg-deb -f "$DEB" Version)
cmake_version=$(sed -n 's/^project(l2tpvpn VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
check_version() { [ "$version" = "$cmake_version" ]; }
if check_version; then pass "package version $version = CMake's project version"; else fail "package version $version, CMake $cmake_version"; fi
cp "$DEB" "$OUT/l2tpvpn.deb"
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
