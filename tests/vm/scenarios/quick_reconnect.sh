# quick_reconnect: one Windows-like client reconnecting again and again in quick succession, as a user who
# retries, or a laptop on flaky Wi-Fi, does. The client is tests/vm/os_clients.sh's `windows`: its own charon with
# Windows' IKEv1 proposals, xl2tpd sending from udp/1701 (as Windows always does) and pppd with MS-CHAPv2.
#
#   1. 10 cycles. Each disconnects as Windows does (L2TP first: xl2tpd stopped, so StopCCN; then the IKE_SA
#      deleted) and reconnects at once, while the server still holds the old tunnel closing (RFC 2661 §5.7).
#      Every cycle gets PPP up within 5 s of starting L2TP and passes a ping.
#   2. On the server, no pppd needed SIGKILL: each one exits soon after its L2TP session closed (the time from
#      pppd_stop to pppd_exit is printed, as is the time until the address went back to the pool).
#   3. A LAC that reconnects with its old tunnel ID (tests/interop/l2tp_probe --seed: the same IDs on every run)
#      from the same address and port, twice in a row within IPsec: the second run is answered at once.
#   4. Afterwards nothing is left: no session, tunnel, pppd, ppp interface, kernel session or pool address.

. "$VM_ROOT/tests/vm/os_clients.sh"
. "$VM_ROOT/tests/vm/lns.sh"
SRV_IP=192.0.2.1
PSK=quick-reconnect-psk-1701
CYCLES=${QR_CYCLES:-10}  # boot.sh --env QR_CYCLES=2 for a shorter debugging run
save_logs() {
  for n in srv windows; do
    mkdir -p "$VM_OUT/quick_reconnect-logs/$n" && cp -r "$(ns_dir $n)"/log/. "$VM_OUT/quick_reconnect-logs/$n/" 2>/dev/null
  done
  ip netns exec srv cat /proc/net/pppol2tp >"$VM_OUT/quick_reconnect-logs/srv/pppol2tp.final" 2>&1
}

ns_add srv $SRV_IP/24 || fail "namespace srv"
ns_add windows 192.0.2.11/24 || fail "namespace windows"
lns_secrets windows
{ lns_conf; cat <<EOF
[firewall]
manage = no
EOF
} >"$CONF"

start_daemon
if wait_for 60 daemon_started && wait_for 90 link_ready; then
  pass "l2tpvpnd started, embedded charon up"
else
  fail "l2tpvpnd/charon not ready"; DUMP_LINES=60 dump srv
fi
clients_prepare windows

pool_free() { q_is 0 path ppp.pool.in_use; }
server_idle() { q_is 0 sessions && q_is 0 path ppp.pppd_running && pool_free; }

# ===================== 1. ten quick reconnects =====================
log "=== stage 1"
slow=0 pings=0 ppp_times=""
i=1
while [ $i -le $CYCLES ]; do
  start_ipsec windows
  rc=$(bg_rc windows initiate 90)
  if [ "$rc" != 0 ]; then
    fail "1: cycle $i: IKE/IPsec not established (swanctl --initiate: $rc)"; tail -n 15 "$(ns_dir windows)/log/initiate.out"
    break
  fi
  t1=$(now_cs)
  start_xl2tpd windows
  if wait_for 30 client_up windows; then
    dt=$(( $(now_cs) - t1 ))
    ppp_times="$ppp_times $dt"
    [ $dt -le 500 ] || slow=$((slow + 1))
    pingp windows 10.99.0.1 1 >/dev/null 2>&1 && pings=$((pings + 1))
  else
    fail "1: cycle $i: no PPP within 30 s of starting L2TP"; DUMP_LINES=30 dump srv
    slow=$((slow + 1))
  fi
  # Windows' disconnect: L2TP goodbye, then the IKE_SA; the next cycle starts right away.
  stop_xl2tpd windows
  sw windows --terminate --ike l2tp --timeout 10 >/dev/null 2>&1
  i=$((i + 1))
done
log "PPP up after L2TP start (cs):$ppp_times"
n_up=$(echo $ppp_times | wc -w)
all_fast() { [ "$n_up" = $CYCLES ] && [ $slow = 0 ]; }
check "1: $n_up of $CYCLES reconnects got PPP up, each within 5 s of starting L2TP (cs:$ppp_times)" all_fast
check "1: a ping through the session passed in $pings of $CYCLES cycles" [ $pings = $CYCLES ]

# ===================== 2. pppd ends without SIGKILL =====================
log "=== stage 2"
t0=$(now_cs)
if wait_for 20 server_idle; then
  pass "2: server idle (no session, no pppd, pool empty) $(( ($(now_cs) - t0) / 100 )) s after the last disconnect"
else
  fail "2: server not idle: sessions $(q sessions), pppd $(q path ppp.pppd_running), pool $(q path ppp.pool.in_use)"
fi
LOGF=$(daemon_log)
exits=$(grep -c 'event=pppd_exit' "$LOGF")
killed=$(grep -c 'event=pppd_exit.*signal=9' "$LOGF")
# stop -> exit delay per pppd, in ms (pid on the stop line; exits are matched by tunnel and session)
delays=$(awk '
  function ms(t) { split(t, a, ":"); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 }
  /event=pppd_stop/ { match($0, /tunnel=[0-9]+ session=[0-9]+/); k = substr($0, RSTART, RLENGTH); stop[k] = ms($1) }
  /event=pppd_exit/ { match($0, /tunnel=[0-9]+ session=[0-9]+/); k = substr($0, RSTART, RLENGTH)
                      if (k in stop) { d = ms($1) - stop[k]; printf "%d ", d; if (d > max) max = d } }
  END { printf "max=%d", max }' "$LOGF")
log "pppd stop -> exit (ms): $delays"
max_delay=${delays##*max=}
none_killed() { [ "$exits" = $CYCLES ] && [ "$killed" = 0 ] && q_is 0 counter pppd_killed; }
check "2: $exits pppd exits, none by SIGKILL (pppd_killed $(q counter pppd_killed)); stop -> exit at most $max_delay ms" \
  none_killed
check "2: every pppd exited within 1.5 s of its L2TP session closing" [ "${max_delay:-99999}" -le 1500 ] ||
  cp "$LOGF" "$VM_OUT/quick_reconnect-daemon.log"
bench "quick_reconnect: PPP up after L2TP start (cs):$ppp_times; pppd stop -> exit (ms): $delays"

# ===================== 3. the same tunnel ID again =====================
log "=== stage 3"
start_ipsec windows
rc=$(bg_rc windows initiate 90)
[ "$rc" = 0 ] || fail "3: IKE/IPsec not established for the probe (swanctl --initiate: $rc)"
probe() {
  ip netns exec windows "$PROBE" --peer $SRV_IP --bind 192.0.2.11 --bind-port 1701 --seed 7 --hold-ms 200 \
    --timeout "$2" >"$(ns_dir windows)/log/probe-$1.out" 2>&1
}
probe 1 20; rc1=$?
# The server ended the IKE_SA with the probe's last tunnel (RFC 3193 coupling); a reconnect negotiates a new one
# while the old tunnel is still held closing.
start_ipsec windows
rc=$(bg_rc windows initiate 90)
[ "$rc" = 0 ] || fail "3: IKE/IPsec not re-established for the second probe (swanctl --initiate: $rc)"
old=$(q tunnels_from 192.0.2.11 closing)
t0=$(now_cs)
probe 2 10; rc2=$?
dt=$(( $(now_cs) - t0 ))
if [ $rc1 = 0 ] && [ $rc2 = 0 ] && [ "${old:-0}" -ge 1 ]; then
  pass "3: a LAC reusing its tunnel ID from the same address and port, while its old tunnel is held closing, is answered at once (second run $dt cs)"
else
  fail "3: probe runs with the same tunnel ID: exit $rc1, then $rc2 after $dt cs (closing tunnels from it before: $old)"
  tail -n 5 "$(ns_dir windows)/log/probe-1.out" "$(ns_dir windows)/log/probe-2.out"
fi
sw windows --terminate --ike l2tp --timeout 10 >/dev/null 2>&1

# ===================== 4. nothing left =====================
log "=== stage 4"
check "4: no session, pppd or pool address left" wait_for 20 server_idle
check "4: no ppp interface left on the server" wait_for 10 srv_ppp_is 0
no_kernel_sessions() { [ "$(kernel_sessions 2>/dev/null)" = 0 ]; }
check "4: no kernel L2TP session left" wait_for 10 no_kernel_sessions || ip netns exec srv cat /proc/net/pppol2tp
no_pppd() { ! ip netns pids srv | xargs -r -n1 sh -c 'cat /proc/$0/comm 2>/dev/null' | grep -qx pppd; }
check "4: no pppd process left in the server's namespace" no_pppd
check "4: no established tunnel left" q_is 0 tunnels
kill -TERM "$DAEMON_PID" 2>/dev/null
wait_exit 30 "$DAEMON_PID" || fail "4: l2tpvpnd did not exit on SIGTERM"
clients_stop windows
save_logs
