#!/bin/sh
# A Debian 12 root with the given l2tpvpn .deb installed by apt (its Depends resolved from Debian's archive, its
# postinst run as on a fresh server) plus what the emulated clients of a VM scenario need (xl2tpd, busybox for
# ping, jq, socat), made with mmdebstrap; systemd is its init. xl2tpd is only the clients' tool here: its system service is
# masked (it would hold udp/1701, and l2tpvpnd refuses to start beside another L2TP server). Cached by the .deb's checksum under
# $L2TPVPN_VM_CACHE/deb-root/ (default ~/.cache/l2tpvpn-vm), only the newest kept. Prints the root's directory.
#
# usage: tests/vm/deb_root.sh PATH/l2tpvpn_*.deb
set -eu
DEB=$(readlink -f "$1")
CACHE=${L2TPVPN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/l2tpvpn-vm}/deb-root
command -v mmdebstrap >/dev/null || { echo "vm/deb_root: mmdebstrap not found (package mmdebstrap)" >&2; exit 2; }
[ -f "$DEB" ] || { echo "vm/deb_root: no package $1" >&2; exit 2; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
KEY=$(cat "$DEB" "$0" | cksum | cut -d' ' -f1)
DIR=$CACHE/$KEY
if [ ! -f "$DIR/ready" ]; then
  for old in "$CACHE"/*/; do [ -d "$old" ] && rm -rf "$old"; done
  mkdir -p "$DIR"
  # mmdebstrap installs the .deb with apt, as `apt install ./l2tpvpn_*.deb` would on a server (services are not
  # started inside the build; systemd starts them at boot).
  # (the hook makes the .deb visible to dpkg inside the root, at the path apt gives it)
  mmdebstrap --variant=apt --include=systemd-sysv,busybox,jq,xl2tpd,procps,socat --include="$DEB" \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --customize-hook='echo l2tpvpn-vm >"$1/etc/hostname"' \
    --customize-hook='ln -sf /dev/null "$1/etc/systemd/system/xl2tpd.service"' \
    bookworm "$DIR/root" >"$DIR/mmdebstrap.log" 2>&1 ||
    { echo "vm/deb_root: mmdebstrap failed; last lines:" >&2; tail -n 20 "$DIR/mmdebstrap.log" >&2; rm -rf "$DIR"; exit 2; }
  touch "$DIR/ready"
fi
echo "$DIR/root"
