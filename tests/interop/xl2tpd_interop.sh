#!/bin/sh
# Interop between l2tpvpn's L2TP control plane and a real xl2tpd (Debian package), over loopback in a private
# network + mount namespace (needs root). pppd cannot run on a kernel without PPP, so a stand-in that just waits
# is bind-mounted over /usr/sbin/pppd inside the namespace: the bar here is the L2TP session reaching
# "established" on both sides (the PPP path is tested in UML).
#
#   A. xl2tpd as LAC -> l2tpvpnd as LNS: plain; tunnel auth; tunnel auth + hidden AVPs; wrong secret (refused).
#   B. l2tp_probe (our core as LAC, 3 sessions) -> xl2tpd as LNS: plain; tunnel auth; auth + hidden AVPs.
#
# usage: xl2tpd_interop.sh PATH/l2tpvpnd PATH/l2tp_probe
set -u
if [ -z "${L2TPVPN_IN_NS:-}" ]; then
  exec env L2TPVPN_IN_NS=1 unshare -mn --propagation private sh "$0" "$@"
fi
DAEMON=$1
PROBE=$2
W=$(mktemp -d /tmp/l2tp-interop.XXXXXX)
FAILS=0
PASSES=0

ip link set lo up
mount -t tmpfs tmpfs /run
mkdir -p /run/xl2tpd /run/lock
cat > "$W/pppd" <<EOS
#!/bin/sh
echo "\$*" >> $W/pppd.calls
exec sleep 120
EOS
chmod +x "$W/pppd"
mount --bind "$W/pppd" /usr/sbin/pppd

now() { date +%s; }
# wait_for FILE PATTERN SECONDS [COUNT]: poll until PATTERN appears COUNT times in FILE or the deadline passes.
wait_for() {
  _end=$(( $(now) + $3 ))
  while [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -lt "${4:-1}" ]; do
    [ "$(now)" -ge "$_end" ] && return 1
    sleep 0.1
  done
  return 0
}
pass() { PASSES=$((PASSES + 1)); echo "PASS: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
dump() { for f in "$@"; do echo "----- $f"; tail -n 40 "$f"; done; }
# start_xl2tpd NAME SECRET: runs xl2tpd with $W/NAME-xl2tpd.conf, logs to $W/NAME-xl2tpd.log, waits for its
# control pipe.
start_xl2tpd() {
  echo "* * $2" > "$W/$1-secrets"
  : > "$W/options"
  xl2tpd -D -c "$W/$1-xl2tpd.conf" -s "$W/$1-secrets" -p "$W/xl2tpd.pid" -C "$W/control" > "$W/$1-xl2tpd.log" 2>&1 &
  _end=$(( $(now) + 10 )); while [ ! -p "$W/control" ] && [ "$(now)" -lt "$_end" ]; do sleep 0.1; done
}
stop_xl2tpd() { [ -f "$W/xl2tpd.pid" ] && kill "$(cat "$W/xl2tpd.pid")" 2>/dev/null; sleep 0.3; pkill -x xl2tpd; rm -f "$W/xl2tpd.pid" "$W/control"; }

# ---- A: xl2tpd LAC -> l2tpvpnd LNS ----
# lac_case NAME SERVER_SECRET CLIENT_SECRET HIDDEN EXPECT(up|refused)
lac_case() {
  name=$1 ssecret=$2 csecret=$3 hidden=$4 expect=$5
  log=$W/$name-l2tpvpnd.log xlog=$W/$name-xl2tpd.log
  hide=no; [ "$hidden" = yes ] && hide=yes
  cat > "$W/$name.conf" <<EOC
[log]
level = debug
[l2tp]
listen = 127.0.0.1
port = 1701
secret = $ssecret
hide_avps = $hide
[ipsec]
# L2TP alone: xl2tpd here has no IPsec in front of it (RFC 3193 admission is tested in tests/daemon and UML)
required = no
[firewall]
manage = no
[control]
socket = $W/$name-control.sock
[server]
runtime_dir = $W/run
[users]
file = $W/users
EOC
  chmod 600 "$W/$name.conf"  # it holds the tunnel secret inline: l2tpvpnd refuses it readable by others
  "$DAEMON" -c "$W/$name.conf" > "$log" 2>&1 &
  dpid=$!
  wait_for "$log" "event=started" 10 || { fail "$name: l2tpvpnd did not start"; dump "$log"; return; }
  chal=no; [ -n "$csecret" ] && chal=yes
  cat > "$W/$name-xl2tpd.conf" <<EOC
[global]
listen-addr = 127.0.0.2
port = 1701
access control = no
[lac test]
lns = 127.0.0.1
name = testuser
challenge = $chal
hidden bit = $hidden
require authentication = no
autodial = no
redial = no
pppoptfile = $W/options
EOC
  start_xl2tpd "$name" "$csecret"
  echo "c test" > "$W/control"
  if [ "$expect" = up ]; then
    if wait_for "$log" "event=session_up" 15 && wait_for "$xlog" "Call established" 15; then
      pass "$name: xl2tpd LAC -> l2tpvpnd LNS session established on both sides"
    else
      fail "$name: session not established"; dump "$log" "$xlog"
    fi
    echo "d test" > "$W/control"
    if wait_for "$log" "event=tunnel_down.*by_peer=yes" 15; then
      pass "$name: xl2tpd disconnect ends the tunnel on our side"
    else
      fail "$name: no tunnel_down after xl2tpd disconnect"; dump "$log" "$xlog"
    fi
  else
    if wait_for "$log" "event=tunnel_down" 15 && ! grep -q "event=session_up" "$log"; then
      pass "$name: wrong tunnel secret refused, no session"
    else
      fail "$name: wrong secret not refused"; dump "$log" "$xlog"
    fi
  fi
  stop_xl2tpd
  kill -TERM "$dpid"
  if wait "$dpid"; then pass "$name: l2tpvpnd exits 0 on SIGTERM"; else fail "$name: l2tpvpnd exit status"; fi
}

lac_case plain "" "" no up
lac_case auth "s3cret-tunnel" "s3cret-tunnel" no up
lac_case hidden "s3cret-tunnel" "s3cret-tunnel" yes up
lac_case badsecret "s3cret-tunnel" "wrong-secret" no refused

# ---- B: l2tp_probe (our LAC) -> xl2tpd LNS ----
# lns_case NAME SECRET HIDDEN
lns_case() {
  name=$1 secret=$2 hidden=$3
  xlog=$W/$name-xl2tpd.log
  chal=no; [ -n "$secret" ] && chal=yes
  cat > "$W/$name-xl2tpd.conf" <<EOC
[global]
listen-addr = 127.0.0.1
port = 1701
access control = no
[lns default]
ip range = 10.99.0.10-10.99.0.50
local ip = 10.99.0.1
challenge = $chal
hidden bit = $hidden
require authentication = no
pppoptfile = $W/options
EOC
  start_xl2tpd "$name" "$secret"
  set -- --peer 127.0.0.1 --bind 127.0.0.3 --sessions 3 --timeout 20
  [ -n "$secret" ] && set -- "$@" --secret "$secret"
  [ "$hidden" = yes ] && set -- "$@" --hide
  if "$PROBE" "$@" > "$W/$name-probe.log" 2>&1 && wait_for "$xlog" "Call established" 5 3; then
    pass "$name: l2tp_probe LAC -> xl2tpd LNS, 3 sessions established on both sides, closed cleanly"
  else
    fail "$name: probe against xl2tpd LNS"; dump "$W/$name-probe.log" "$xlog"
  fi
  stop_xl2tpd
}

lns_case lns-plain "" no
lns_case lns-auth "s3cret-tunnel" no
lns_case lns-hidden "s3cret-tunnel" yes

echo "logs in $W"
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
