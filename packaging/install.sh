#!/bin/sh
# One command on a fresh Debian 12 server: install l2tpvpn, fit its configuration to this host, and print what to
# enter on Windows, macOS, iOS and Android.
#
#   packaging/install.sh                      build the .deb from this source tree and install it
#   packaging/install.sh --deb FILE           install a .deb built before
#   options: --public-address ADDR   the name or address clients dial (default: the address of the default route)
#            --wan-interface IF      where the pool is masqueraded out (default: the default route's interface)
#
# Idempotent: a second run with the same input changes nothing and says so. Before changing anything it checks
# that this is Debian 12, that it runs as root, and that no other program holds udp/1701 (L2TP) or udp/500 (IKE;
# strongSwan's charon there is fine: l2tpvpn loads its connection into it). On any of those it stops with a
# message and exit status 1, having changed nothing; 2 is a usage error.
set -eu
CONF=/etc/l2tpvpn/l2tpvpnd.conf
FIRST_USER=vpnuser
DEB= PUBLIC= WAN=
SRC=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "install.sh: $*" >&2; exit 1; }
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --deb) [ $# -ge 2 ] || usage; DEB=$2; shift 2 ;;
    --public-address) [ $# -ge 2 ] || usage; PUBLIC=$2; shift 2 ;;
    --wan-interface) [ $# -ge 2 ] || usage; WAN=$2; shift 2 ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done

# ---- checks: nothing is changed before all of them pass
[ "$(id -u)" = 0 ] || die "run as root (it installs a package and edits $CONF)"
# shellcheck disable=SC1091
. /etc/os-release 2>/dev/null || die "no /etc/os-release: this is not Debian 12"
[ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ] ||
  die "this is ${PRETTY_NAME:-an unknown system}; l2tpvpn's package is built for Debian 12 (bookworm)"
if [ -n "$DEB" ]; then
  [ -f "$DEB" ] || die "no such package file: $DEB"
  DEB=$(readlink -f "$DEB")
fi
# holders PORT: the names of the processes with a UDP socket bound to PORT (a socket shared by a parent and its
# children lists them all)
holders() { ss -Hulpn "sport = :$1" 2>/dev/null | grep -o '("[^"]*",pid=' | sed 's/^("//; s/",pid=$//' | sort -u | tr '\n' ' '; }
h=$(holders 1701)
case " $h" in
  " " | *" l2tpvpnd "*) ;;  # free, or ours already
  *) die "udp/1701 (L2TP) is held by ${h% }: stop it first (xl2tpd? another L2TP server?)" ;;
esac
h=$(holders 500)
case " $h" in
  " " | *" charon "* | *" charon-systemd "*) ;;  # free, or strongSwan's charon, which l2tpvpn uses
  *) die "udp/500 (IKE) is held by ${h% }, another IPsec daemon: stop and disable it first (l2tpvpn works with strongSwan's charon)" ;;
esac
if [ -z "$WAN" ]; then
  WAN=$(ip -4 route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  [ -n "$WAN" ] || die "no IPv4 default route: give --wan-interface and --public-address"
fi
ip link show dev "$WAN" >/dev/null 2>&1 || die "no network interface $WAN"
if [ -z "$PUBLIC" ]; then
  PUBLIC=$(ip -4 -o addr show dev "$WAN" scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
  [ -n "$PUBLIC" ] || die "$WAN has no IPv4 address: give --public-address"
fi
case $PUBLIC in
  10.* | 192.168.* | 172.1[6-9].* | 172.2[0-9].* | 172.3[01].* | 100.6[4-9].* | 100.[7-9][0-9].* | 100.1[01][0-9].* | 100.12[0-7].*)
    echo "install.sh: note: $PUBLIC is a private address; if clients reach this server through NAT (a cloud VPS), run again with --public-address <the public address or name>" ;;
esac

changed=
# ---- the package
if [ -z "$DEB" ] && ! dpkg-query -W -f '${Status}' l2tpvpn 2>/dev/null | grep -q 'install ok installed'; then
  echo "install.sh: building the package from $SRC"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # debian/control's Build-Depends, and build-essential, which dpkg-buildpackage also checks for
  apt-get build-dep -y -qq -o APT::Install-Recommends=false "$SRC" >/dev/null || die "could not install the build dependencies"
  work=$(mktemp -d /var/tmp/l2tpvpn-build.XXXXXX)
  mkdir "$work/src"
  (cd "$SRC" && tar --exclude=./.git --exclude='./build*' --exclude='./obj-*' -cf - .) | tar -C "$work/src" -xf -
  (cd "$work/src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || die "the package build failed: $work/build.log"
  DEB=$(ls "$work"/l2tpvpn_*_amd64.deb | head -n 1)
fi
if [ -n "$DEB" ]; then
  want=$(dpkg-deb -f "$DEB" Version)
  have=$(dpkg-query -W -f '${Status} ${Version}' l2tpvpn 2>/dev/null | sed -n 's/^install ok installed //p')
  if [ "$have" != "$want" ]; then
    echo "install.sh: installing l2tpvpn $want${have:+ (was $have)}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$DEB" || die "apt-get install $DEB failed"
    changed="package"
  fi
fi

# ---- the configuration: [server] public_address and [firewall] wan_interface, only where they differ
# set_key SECTION KEY VALUE: VALUE for KEY in SECTION of $CONF (checked by l2tpvpnd --check-config before it
# replaces the file); sets key_changed=yes when it was different
set_key() {
  key_changed=
  cur=$(awk -v s="[$1]" -v k="$2" '$0 == s { in_s = 1; next } /^\[/ { in_s = 0 }
        in_s && $1 == k && $2 == "=" { v = $0; sub(/^[^=]*= */, "", v); print v; exit }' "$CONF")
  [ "$cur" = "$3" ] && return 0
  awk -v s="[$1]" -v k="$2" -v v="$3" '$0 == s { in_s = 1; print; next } /^\[/ { in_s = 0 }
        in_s && $1 == k && $2 == "=" { print k " = " v; next } { print }' "$CONF" >"$CONF.new"
  l2tpvpnd --check-config -c "$CONF.new" >/dev/null || { rm -f "$CONF.new"; die "$1.$2 = $3 is not accepted"; }
  chmod 644 "$CONF.new" && mv "$CONF.new" "$CONF"
  key_changed=yes
}
set_key server public_address "$PUBLIC"
[ -z "$key_changed" ] || changed="${changed:+$changed, }public_address = $PUBLIC"
set_key firewall wan_interface "$WAN"
if [ -n "$key_changed" ]; then
  changed="${changed:+$changed, }wan_interface = $WAN"
  restart=yes
fi
if [ -n "${restart:-}" ] && systemctl is-active -q l2tpvpn.service; then
  systemctl restart l2tpvpn.service  # the firewall's interface takes a restart; reload does not move it
fi
if ! systemctl is-active -q l2tpvpn.service; then
  systemctl enable -q --now l2tpvpn.service || die "l2tpvpn.service did not start: see journalctl -u l2tpvpn"
  changed="${changed:+$changed, }service started"
fi

if [ -n "$changed" ]; then
  echo "install.sh: done ($changed)."
else
  echo "install.sh: nothing to change: l2tpvpn $(dpkg-query -W -f '${Version}' l2tpvpn) is installed and running, public_address = $PUBLIC, wan_interface = $WAN."
fi
echo
if grep -q "^$FIRST_USER " /etc/l2tpvpn/users 2>/dev/null; then
  l2tpvpnctl client-setup --user "$FIRST_USER" --show-password
else
  l2tpvpnctl client-setup
fi
echo
echo "Open udp/500 and udp/4500 to this server in your provider's firewall. Add users: l2tpvpnctl user add NAME"
