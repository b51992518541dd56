# ppp_sessions: l2tpvpnd as the LNS with a real pppd per session (issue 4), no IPsec, against xl2tpd + pppd clients.
#
# srv (192.0.2.1) runs l2tpvpnd (kernel PPPoL2TP data path, then the pty fallback); cli (192.0.2.2) runs xl2tpd
# instances as LACs, each of whose sessions gets its own client pppd (MS-CHAPv2, one VPN user per session):
#   x0       tests/vm/l2tp_lac: one tunnel with 20 sessions (u02..u21), a client pppd on each
#   x1..x19  one tunnel and one session each (u01, u22..u39), from UDP ports 1702..1720
# So 20 tunnels and 39 sessions are up at once. The pool holds exactly 39 addresses, so a session that ends must
# give its address back for the next one to get any.
#   A. wrong password -> CDN, no interface
#   B. one session: MS-CHAPv2, ping both ways, iperf3 (kernel data path); a user added + SIGHUP connects, then
#      disconnect-user ends only that user's session
#   C. 20 tunnels + 20 sessions in one tunnel, all up, ping each client from the server
#   D. the server's pppd of one session is killed -> CDN, client pppd ends, redial gets the freed address
#   E. xl2tpd stops (StopCCN) -> its tunnel's sessions, pppd and interfaces go
#   F. SIGTERM to l2tpvpnd -> every session ends, nothing left in /proc/net/pppol2tp or `ip link`
#   G. the pty data path (ppp.data_path = pty): up, ping both ways, iperf3
#   H. xl2tpd as the LNS serving the same client: iperf3, for comparison (BENCH lines)

# PPP_STAGES (boot.sh --env PPP_STAGES=BC): run only those stages (debugging); default all.
want() { case ${PPP_STAGES:-ABCDEFGH} in *$1*) return 0 ;; esac; return 1; }
# Every log of both namespaces is copied to the host ($VM_OUT/ppp_sessions-logs) at the end.
save_logs() {
  mkdir -p "$VM_OUT/ppp_sessions-logs" && cp -r "$SD/log" "$VM_OUT/ppp_sessions-logs/srv" &&
    cp -r "$CD/log" "$VM_OUT/ppp_sessions-logs/cli"
}

D=$VM_BUILD/l2tpvpnd
PLUGIN=$VM_BUILD/l2tpvpn.so
Q=$VM_ROOT/tests/vm/status_query.py
SRV_IP=192.0.2.1 CLI_IP=192.0.2.2

ns_add srv $SRV_IP/24 && ns_add cli $CLI_IP/24 || fail "namespaces"
SD=$(ns_dir srv) CD=$(ns_dir cli)
mkdir -p "$SD/etc" "$CD/etc"

# Users u01..u39 (password pw-uNN-secret); the store is ours, mode 0600.
: >"$SD/etc/users"
for i in $(seq -w 1 39); do echo "u$i password=pw-u$i-secret" >>"$SD/etc/users"; done
chmod 600 "$SD/etc/users"
for i in $(seq -w 1 39); do chap_secret cli "u$i" '*' "pw-u$i-secret"; done
chap_secret cli mallory '*' not-the-password

# write_conf DATA_PATH
write_conf() {
  cat >"$SD/etc/l2tpvpnd.conf" <<EOF
[log]
level = debug
[l2tp]
listen = $SRV_IP
# Every client of this scenario is on one address (the limits are per address): room for all of them at once.
max_tunnels_per_peer = 32
[status]
listen = 127.0.0.1
port = 8171
[control]
socket = $SD/run/control.sock
[users]
file = $SD/etc/users
[ppp]
data_path = $1
plugin = $PLUGIN
max_unauthenticated_per_peer = 64
stop_timeout_ms = 3000
lcp_echo_interval = 10
[pool]
range = 10.99.0.10-10.99.0.48
server_address = 10.99.0.1
[ipsec]
required = no
[firewall]
manage = no
EOF
}

start_daemon() {
  write_conf "$1"
  ns_spawn srv "$SD/log/l2tpvpnd-$1.log" "$D" -c "$SD/etc/l2tpvpnd.conf"
  DAEMON_PID=$SPAWNED_PID
  wait_for 30 grep -q event=started "$SD/log/l2tpvpnd-$1.log"
}
status() { ip netns exec srv busybox wget -q -O- http://127.0.0.1:8171/status 2>/dev/null; }
q() { status | python3 "$Q" "$@" 2>/dev/null; }
q_is() { _want=$1; shift; [ "$(q "$@")" = "$_want" ]; }
srv_ppp_count() { ip -n srv -o link show 2>/dev/null | grep -c ': ppp-l2tp'; }
cli_ppp_count() { ip -n cli -o link show 2>/dev/null | grep -c ': ppp'; }
# kernel sessions (not the 'sess T/0' tunnel management entries) in srv's /proc/net/pppol2tp
kernel_sessions() { ip netns exec srv grep -cE "SESSION 'sess [0-9]+/[1-9][0-9]*'" /proc/net/pppol2tp; }

# lac NAME USER: an xl2tpd [lac] section and the pppd options file it uses.
lac() {
  cat >"$CD/etc/$2.options" <<EOF
name $2
remotename l2tpvpn
noauth
refuse-pap
refuse-chap
refuse-mschap
refuse-eap
noipdefault
ipcp-accept-local
ipcp-accept-remote
nodefaultroute
noccp
mtu 1350
mru 1350
debug
logfile $CD/log/ppp-$2.log
EOF
  cat <<EOF
[lac $1]
lns = $SRV_IP
pppoptfile = $CD/etc/$2.options
length bit = yes
redial = no
autodial = yes
EOF
}
# xl2tpd_client NAME PORT LAC...: starts one xl2tpd in cli from UDP port PORT with the given [lac] text.
xl2tpd_client() {
  _n=$1 _port=$2; shift 2
  { printf '[global]\nport = %s\naccess control = no\n' "$_port"; echo "$@"; } >"$CD/etc/$_n.conf"
  ns_spawn cli "$CD/log/$_n.log" xl2tpd -D -c "$CD/etc/$_n.conf" -p "$CD/run/$_n.pid" -C "$CD/run/$_n.control"
  eval "PID_$_n=\$SPAWNED_PID"
}

iperf_listening() { ip netns exec "$1" grep -q ':1451 00000000' /proc/net/tcp /proc/net/tcp6; }
# iperf_run NAME SERVER_ADDR: iperf3 client in cli -> server in srv, 5 s; prints a BENCH line.
iperf_run() {
  ns_spawn srv "$SD/log/iperf3-$1.out" iperf3 -s -1
  _ip=$SPAWNED_PID
  if wait_for 10 iperf_listening srv; then
    _r=$(ns_exec cli iperf3 -c "$2" -t 5 -f m 2>&1 | grep receiver | awk '{print $7, $8}')
    bench "iperf3 cli->srv, $1: ${_r:-no result}"
  fi
  wait_exit 15 "$_ip"
}

# ===================== kernel data path =====================
if start_daemon kernel; then
  pass "l2tpvpnd started (kernel data path: $(q path ppp.data_path))"
else
  fail "l2tpvpnd did not start"; dump srv
fi

if want A; then
# --- A. wrong password
xl2tpd_client xbad 1790 "$(lac bad mallory)"
if wait_for 60 q_is 1 counter auth_failures; then
  pass "wrong password: the server's pppd exited with 'peer auth failed' (auth_failures = 1)"
else
  fail "wrong password: no authentication failure reported"; dump srv cli
fi
no_sessions_no_iface() { q_is 0 sessions && no_ppp_iface srv; }
check "wrong password: the session is gone (CDN) and no server interface is left" wait_for 20 no_sessions_no_iface
if grep -q 'event=ppp_auth_failed .*user="mallory"' "$SD/log/l2tpvpnd-kernel.log"; then
  pass "wrong password: our plugin refused mallory ($(grep -o 'event=pppd_exit .*' "$SD/log/l2tpvpnd-kernel.log" | head -n 1 | grep -o 'status=[a-z-]*'))"
else
  fail "wrong password: no ppp_auth_failed for mallory in the daemon log"; grep -E "pppd_exit|auth" "$SD/log/l2tpvpnd-kernel.log"
fi
kill -TERM "$PID_xbad"; wait_exit 15 "$PID_xbad"

fi
if want B; then
# --- B. one session
xl2tpd_client x1 1702 "$(lac l1 u01)"
if wait_for 60 q_is 1 up; then
  pass "u01: session up ($(q user u01 address) on $(q user u01 interface), user authenticated by MS-CHAPv2)"
else
  fail "u01: session not up"; status; dump srv cli
fi
if grep -q 'CHAP authentication succeeded' "$CD/log/ppp-u01.log" && grep -q 'MS-v2' "$CD/log/ppp-u01.log"; then
  pass "u01: client pppd log shows MS-CHAPv2 success (server authenticated back: S= verified)"
else
  fail "u01: no MS-CHAPv2 success in the client pppd log"; tail -n 30 "$CD/log/ppp-u01.log"
fi
check "ping cli -> 10.99.0.1 through the session" quiet pingp cli 10.99.0.1 3
check "ping srv -> $(q user u01 address) through the session" quiet pingp srv "$(q user u01 address)" 3
check "kernel session for u01 in /proc/net/pppol2tp" [ "$(kernel_sessions)" = 1 ]
iperf_run "l2tpvpnd kernel PPPoL2TP data path (no IPsec, MTU 1350)" 10.99.0.1
# The session's counters in /status come from one rtnetlink dump for all sessions (server/link_stats), at most
# 1 s old: iperf3 sent the server well over 1 MB (bytes_in) and the acknowledgements came back (bytes_out).
u01_counted() { [ "$(q user u01 bytes_in)" -gt 1000000 ] 2>/dev/null && [ "$(q user u01 bytes_out)" -gt 0 ] 2>/dev/null; }
if wait_for 5 u01_counted; then
  pass "u01's /status counters show the iperf3 traffic: bytes_in $(q user u01 bytes_in), bytes_out $(q user u01 bytes_out), packets_in $(q user u01 packets_in)"
else
  fail "u01's /status counters: bytes_in $(q user u01 bytes_in), bytes_out $(q user u01 bytes_out)"
fi

# --- B2. users change without a restart: a new user via SIGHUP, removed with disconnect-user; u01 untouched
pid_u01=$(q user u01 pppd_pid)
echo "u40 password=pw-u40-secret" >>"$SD/etc/users"
chap_secret cli u40 '*' pw-u40-secret
kill -HUP "$DAEMON_PID"
check "SIGHUP: users reloaded (40 users)" wait_for 10 grep -q "event=reloaded users=40" "$SD/log/l2tpvpnd-kernel.log"
xl2tpd_client xnew 1799 "$(lac lnew u40)"
if wait_for 60 q_is up user u40 state; then
  pass "u40 (added while running) connects: $(q user u40 address)"
else
  fail "u40 did not come up after the reload"; status
fi
check "u01's session was not touched by the reload (same pppd $pid_u01, still up)" q_is "$pid_u01" user u01 pppd_pid
# disconnect-user over the control socket (what l2tpvpnctl sends)
control() {
  ip netns exec srv python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode()); print(s.makefile().readline().strip())' "$SD/run/control.sock" "$1"
}
r=$(control '{"cmd":"disconnect-user","user":"u40"}')
check "control disconnect-user u40 answers one session ($r)" [ "$r" = '{"ok":true,"sessions":1}' ]
u40_gone_u01_up() { q_is - user u40 address && q_is up user u01 state; }
check "u40's session ends; u01 stays up" wait_for 20 u40_gone_u01_up
kill -TERM "$PID_xnew"; wait_exit 15 "$PID_xnew"
fi
if want C; then
# --- C. 20 tunnels, 20 sessions in one of them
# x0 is tests/vm/l2tp_lac (xl2tpd cannot place two calls in one tunnel): one tunnel, 20 calls, a client pppd
# on each (u02..u21).
for k in $(seq 1 20); do
  lac x "u$(printf %02d $((k + 1)))" >/dev/null
  cp "$CD/etc/u$(printf %02d $((k + 1))).options" "$CD/etc/lac-$(printf %02d "$k").options"
done
ns_spawn cli "$CD/log/x0.log" "$VM_BUILD/tests/vm/l2tp_lac" --peer $SRV_IP --bind $CLI_IP --sessions 20 \
  --options "$CD/etc/lac-{i}.options"
PID_x0=$SPAWNED_PID
for k in $(seq 2 19); do
  i=$(printf %02d $((k + 20)))
  xl2tpd_client "x$k" $((1701 + k)) "$(lac "l$i" "u$i")"
done
t0=$(now_cs)
if wait_for 180 q_is 39 up; then
  pass "39 sessions up $(( ($(now_cs) - t0) / 100 )) s after starting the clients"
else
  fail "only $(q up) of 39 sessions up"; DUMP_LINES=20 dump srv
fi
status >"$VM_OUT/status.json" 2>/dev/null  # tests/demo.sh shows it
schema_ok() { python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' "$VM_OUT/status.json" "$VM_ROOT/docs/status.schema.json"; }
check "status JSON with 39 sessions valid against docs/status.schema.json" schema_ok
check "20 L2TP tunnels established" q_is 20 tunnels
check "20 sessions in one tunnel (x0, l2tp_lac)" q_is 20 max_per_tunnel
expected_users=$(for i in $(seq -w 1 39); do printf 'u%s ' "$i"; done | sed 's/ $//')
check "every session authenticated as its own user (u02..u21 in one tunnel)" q_is "$expected_users" users_up
check "39 kernel sessions and 39 ppp-l2tp interfaces on the server" [ "$(kernel_sessions) $(srv_ppp_count)" = "39 39" ]
bad=""
for a in $(status | python3 -c 'import json,sys; print(" ".join(s["address"] for s in json.load(sys.stdin)["sessions"]))'); do
  ip netns exec srv busybox ping -c 1 -W 3 "$a" >/dev/null 2>&1 || bad="$bad $a"
done
if [ -z "$bad" ]; then pass "server pings all 39 client addresses through their sessions"; else fail "no ping reply from:$bad"; fi
pool_in_use=$(q path ppp.pool.in_use)
distinct=$(status | python3 -c 'import json,sys; print(len({s["address"] for s in json.load(sys.stdin)["sessions"]}))')
check "pool: 39 of 39 addresses in use, 39 distinct addresses in the sessions" [ "$pool_in_use $distinct" = "39 39" ]

fi
if want D; then
# --- D. the server's pppd for u23 (xl2tpd x3) is killed
pid5=$(q user u23 pppd_pid) addr5=$(q user u23 address)
kill -KILL "$pid5"
if wait_for 20 q_is - user u23 address; then
  pass "u23's pppd (pid $pid5) killed: session cleared"
else
  fail "u23's session still listed after its pppd was killed"
fi
# the client's side of u23 gets the CDN: its pppd ends (38 client interfaces left)
cli_ifaces_are() { [ "$(cli_ppp_count)" = "$1" ]; }
kernel_sessions_are() { [ "$(kernel_sessions)" = "$1" ]; }
check "the client's pppd for u23 ended after the CDN (38 client interfaces)" wait_for 30 cli_ifaces_are 38
check "kernel session of u23 gone (38 left)" wait_for 10 kernel_sessions_are 38
echo "c l23" >"$CD/run/x3.control"
if wait_for 60 q_is up user u23 state; then
  if [ "$(q user u23 address)" = "$addr5" ]; then
    pass "u23 redialled: up again with the freed address $addr5 (the pool's only free one)"
  else
    fail "u23 redialled but got $(q user u23 address), not the freed $addr5"
  fi
else
  fail "u23 did not come back up after redial"; tail -n 20 "$CD/log/x3.log"
fi

fi
if want E; then
# --- E. xl2tpd x5 stops: StopCCN for its tunnel
a25=$(q user u25 address)
kill -TERM "$PID_x5"
wait_exit 20 "$PID_x5"
x5_gone() { q_is - user u25 address && q_is 19 tunnels && [ "$(srv_ppp_count)" = 38 ]; }
check "x5 stopped (StopCCN): u25's session, pppd and interface gone, 19 tunnels left" wait_for 30 x5_gone
kill -TERM "$PID_x0"
wait_exit 20 "$PID_x0"
x0_gone() { q_is 18 sessions && q_is 18 up && [ "$(srv_ppp_count)" = 18 ] && [ "$(kernel_sessions)" = 18 ]; }
check "x0 (l2tp_lac) stopped with StopCCN: its 20 sessions gone (18 left), the others untouched" wait_for 40 x0_gone
log "pool after: $(q path ppp.pool); counters: $(q path ppp.counters)"

fi
if want F; then
# --- F. SIGTERM to the daemon
kill -TERM "$DAEMON_PID"
wait_exit 30 "$DAEMON_PID"
if [ "$WAIT_RC" = 0 ]; then pass "l2tpvpnd exited 0 after SIGTERM"; else fail "l2tpvpnd exit after SIGTERM: $WAIT_RC"; fi
check "after SIGTERM: no ppp interface on the server" wait_for 10 no_ppp_iface srv
check "after SIGTERM: /proc/net/pppol2tp empty on the server" wait_for 10 pppol2tp_clean srv
no_srv_pppd() { ! ip netns pids srv | xargs -r ps -o comm= -p 2>/dev/null | grep -q pppd; }
check "after SIGTERM: no server pppd left" no_srv_pppd
check "after SIGTERM: every client pppd ended (StopCCN reached the clients)" wait_for 40 no_ppp_iface cli
for k in $(seq 1 19); do eval "p=\${PID_x$k:-}"; [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
for k in $(seq 1 19); do eval "p=\${PID_x$k:-}"; [ -n "$p" ] && wait_exit 15 "$p"; done

fi

# ===================== pty data path =====================
if want G; then
if start_daemon pty && q_is pty path ppp.data_path; then
  pass "l2tpvpnd started with the pty data path"
else
  fail "l2tpvpnd (pty) did not start"; dump srv
fi
xl2tpd_client x1 1702 "$(lac l1 u01)"
if wait_for 60 q_is 1 up; then
  pass "pty: u01 up ($(q user u01 address), data_path $(q user u01 data_path))"
else
  fail "pty: session not up"; status; dump srv cli
fi
check "pty: ping cli -> 10.99.0.1" quiet pingp cli 10.99.0.1 3
check "pty: ping srv -> client" quiet pingp srv "$(q user u01 address)" 3
check "pty: no kernel L2TP session used" pppol2tp_clean srv
iperf_run "l2tpvpnd pty + async HDLC data path (no IPsec, MTU 1350)" 10.99.0.1
log "pty counters: $(q path ppp.counters)"
check "pty: no HDLC frame dropped" q_is 0 counter hdlc_bad_fcs
kill -TERM "$DAEMON_PID"; wait_exit 30 "$DAEMON_PID"
check "pty: l2tpvpnd exited 0 after SIGTERM" [ "$WAIT_RC" = 0 ]
no_ppp_anywhere() { no_ppp_iface srv && no_ppp_iface cli; }
check "pty: no ppp interface left on either side" wait_for 30 no_ppp_anywhere
kill -TERM "$PID_x1"; wait_exit 15 "$PID_x1"

fi

# ===================== xl2tpd as the LNS (the anchor) =====================
if want H; then
for i in 01; do chap_secret srv "u$i" '*' "pw-u$i-secret"; done
cat >"$SD/etc/xl2tpd-ppp.options" <<EOF
name l2tpvpn
require-mschap-v2
refuse-pap
refuse-chap
refuse-mschap
refuse-eap
nodefaultroute
noccp
mtu 1350
mru 1350
logfile $SD/log/xl2tpd-ppp.log
EOF
cat >"$SD/etc/xl2tpd.conf" <<EOF
[global]
listen-addr = $SRV_IP
port = 1701
access control = no
[lns default]
ip range = 10.99.0.10-10.99.0.20
local ip = 10.99.0.1
require authentication = yes
name = l2tpvpn
pppoptfile = $SD/etc/xl2tpd-ppp.options
length bit = yes
EOF
ns_spawn srv "$SD/log/xl2tpd-lns.log" xl2tpd -D -c "$SD/etc/xl2tpd.conf" -p "$SD/run/xl2tpd.pid" -C "$SD/run/xl2tpd.control"
XLNS=$SPAWNED_PID
xl2tpd_client x1 1702 "$(lac l1 u01)"
if wait_for 60 has_addr srv ppp0 10.99.0.1; then
  pass "xl2tpd LNS: session up for comparison"
  iperf_run "xl2tpd 1.3.18 as the LNS, same client (no IPsec, MTU 1350)" 10.99.0.1
else
  fail "xl2tpd LNS: no session"; tail -n 30 "$SD/log/xl2tpd-lns.log"
fi
# One end after the other, as on two machines: both xl2tpds tearing their kernel tunnels down at once in this one
# guest kernel once locked a CPU inside it for good (soft lockup in xl2tpd, pppd blocked; seen once in about ten
# runs, with the client and the server stopped together).
kill -TERM "$PID_x1"; wait_exit 15 "$PID_x1"
kill -TERM "$XLNS"; wait_exit 15 "$XLNS"
fi
save_logs
