# kernel_data_path: the PPPoL2TP data plane (server/kernel) without the L2TP control plane.
#
# Two namespaces, srv (192.0.2.1) and cli (192.0.2.2), each run tests/vm/pppol2tp_pair: it creates that side's
# kernel tunnel and session through PppoL2tpDataPlane and starts the real pppd on the session socket with
# pppol2tp.so. The IDs mirror each other, which is all the kernel needs to carry data; no L2TP control message is
# exchanged. srv is the LNS (MS-CHAPv2 required, 10.99.0.1:10.99.0.10), cli the client.

PAIR=$VM_BUILD/tests/vm/pppol2tp_pair
UNIT=$VM_BUILD/tests/kernel_pppol2tp_data_plane_test
SRV_IP=192.0.2.1 CLI_IP=192.0.2.2
PPP_COMMON="noccp nodefaultroute mtu 1400 mru 1400 debug"

# start_srv / start_cli: one side in the background; sets SRV_PID / CLI_PID (the pair's pid = ns_exec's).
start_srv() {
  _d=$(ns_dir srv)
  # shellcheck disable=SC2086
  ns_spawn srv "$_d/log/pair.out" "$PAIR" --local $SRV_IP:1701 --peer $CLI_IP:1701 --tunnel 11:22 \
    --session 101:202 --lns ${SEQ:-} -- name l2tpvpn auth require-mschap-v2 refuse-pap refuse-chap refuse-mschap \
    refuse-eap 10.99.0.1:10.99.0.10 $PPP_COMMON logfile "$_d/log/ppp.log"
  SRV_PID=$SPAWNED_PID
}
start_cli() {
  _d=$(ns_dir cli)
  # shellcheck disable=SC2086
  ns_spawn cli "$_d/log/pair.out" "$PAIR" --local $CLI_IP:1701 --peer $SRV_IP:1701 --tunnel 22:11 \
    --session 202:101 ${SEQ:-} -- name user remotename l2tpvpn noauth refuse-pap refuse-chap refuse-mschap refuse-eap \
    noipdefault ipcp-accept-local ipcp-accept-remote $PPP_COMMON logfile "$_d/log/ppp.log"
  CLI_PID=$SPAWNED_PID
}
no_ppp_ifaces() { no_ppp_iface srv && no_ppp_iface cli; }
reset_logs() { rm -f "$(ns_dir srv)"/log/* "$(ns_dir cli)"/log/*; }

# --- 1. the adapter's own unit tests, here where the kernel has l2tp_ppp (on the host those tests skip)
KERNEL_TESTS="LoopbackTunnelAndSession ControlMessagesStillArriveOnTheTunnelUdpSocket ControlMessagesArriveOnTheTunnelUdpSocketBesideAListenerOnTheSameAddress TheTunnelLastsUntilTheLastUdpDescriptorCloses"
if [ -x "$UNIT" ]; then
  out=$("$UNIT" 2>&1); rc=$?
  ok=0
  for t in $KERNEL_TESTS; do echo "$out" | grep -q "^\[       OK \] PppoL2tpDataPlaneTest.$t " && ok=$((ok + 1)); done
  if [ $rc -eq 0 ] && [ $ok -eq 4 ]; then
    pass "kernel_pppol2tp_data_plane_test in the guest: loopback tunnel/session lifecycle, control messages on the tunnel socket and the rest on the SO_REUSEPORT listener, stale-tunnel detection"
  else
    fail "kernel_pppol2tp_data_plane_test in the guest (exit $rc, $ok of 4 kernel tests ran OK)"; echo "$out" | tail -n 30
  fi
else
  fail "no $UNIT (build the target kernel_pppol2tp_data_plane_test)"
fi

# --- 2. PPP over the kernel data path, MS-CHAPv2
ns_add srv $SRV_IP/24 && ns_add cli $CLI_IP/24 || fail "namespaces"
chap_secret srv user '*' s3cret-pass '*'
chap_secret cli user '*' s3cret-pass '*'
t0=$(now_cs)
start_srv; start_cli
if wait_for 30 has_addr srv ppp0 10.99.0.1 && wait_for 10 has_addr cli ppp0 10.99.0.10; then
  pass "ppp0 up on both sides $(( ($(now_cs) - t0) * 10 )) ms after start: srv 10.99.0.1, cli 10.99.0.10"
else
  fail "ppp0 not up on both sides within 40 s"; dump srv cli
fi
if ip netns exec srv grep -q "SESSION 'sess 11/101'" /proc/net/pppol2tp &&
   ip netns exec cli grep -q "SESSION 'sess 22/202'" /proc/net/pppol2tp; then
  pass "kernel tunnel and session in /proc/net/pppol2tp on both sides (11/101 and 22/202)"
else
  fail "kernel session missing in /proc/net/pppol2tp"; ip netns exec srv cat /proc/net/pppol2tp
fi
check "ping cli -> 10.99.0.1 over ppp0" quiet pingp cli 10.99.0.1 3
check "ping srv -> 10.99.0.10 over ppp0" quiet pingp srv 10.99.0.10 3
srv_log=$(ns_dir srv)/log/ppp.log cli_log=$(ns_dir cli)/log/ppp.log
# pppd's debug log: the LNS asked for MS-CHAPv2 in LCP and sent a success with the authenticator response
# (S=...); the client verified it.
if grep -q 'sent \[LCP ConfReq .*<auth chap MS-v2>' "$srv_log" && grep -q 'sent \[CHAP Success .*S=' "$srv_log" &&
   grep -q 'CHAP authentication succeeded' "$cli_log"; then
  pass "MS-CHAPv2 negotiated and succeeded (pppd logs)"
else
  fail "no MS-CHAPv2 success in the pppd logs"; dump srv cli
fi
# data counters come from the kernel's session: proof that data went through PPPoL2TP, not elsewhere
log "srv session 11/101 counters: $(ip netns exec srv grep -A2 "SESSION 'sess 11/101'" /proc/net/pppol2tp | tail -n 2 | tr -s ' ' | tr '\n' ';')"

# --- 3. baseline throughput of the kernel data path (not a verdict)
# iperf3 listens on a dual-stack socket: port 5201 (0x1451) shows in /proc/net/tcp6.
iperf_listening() { ip netns exec srv grep -q ':1451 00000000' /proc/net/tcp /proc/net/tcp6; }
ns_spawn srv "$(ns_dir srv)/log/iperf3-s.out" iperf3 -s -1
iperf_pid=$SPAWNED_PID
if wait_for 10 iperf_listening; then
  r=$(ns_exec cli iperf3 -c 10.99.0.1 -t 5 -f m 2>&1 | grep receiver | awk '{print $7, $8}')
  bench "iperf3 cli->srv over ppp0 (kernel PPPoL2TP, no IPsec, MTU 1400, 5 s): ${r:-no result}"
fi
wait_exit 10 $iperf_pid
ns_spawn srv /dev/null iperf3 -s -1
iperf_pid=$SPAWNED_PID
if wait_for 10 iperf_listening; then
  r=$(ns_exec cli iperf3 -c $SRV_IP -t 3 -f m 2>&1 | grep receiver | awk '{print $7, $8}')
  bench "iperf3 cli->srv over the bare veth/bridge (same guest, 3 s): ${r:-no result}"
fi
wait_exit 10 $iperf_pid

# --- 4. tear-down: SIGTERM to both; pppd exits, the pairs close their sockets, the kernel forgets everything
kill -TERM $SRV_PID $CLI_PID
wait_exit 20 $SRV_PID; srv_rc=$WAIT_RC
wait_exit 20 $CLI_PID; cli_rc=$WAIT_RC
log "after SIGTERM: srv pair exit $srv_rc, cli pair exit $cli_rc"
case "$srv_rc $cli_rc" in *timeout*) fail "a pair did not exit within 20 s of SIGTERM" ;;
  *) pass "both pppd/pair processes exited after SIGTERM (srv $srv_rc, cli $cli_rc)" ;; esac
check "no ppp interface left (srv, cli)" wait_for 10 no_ppp_ifaces
if wait_for 10 pppol2tp_clean srv && wait_for 5 pppol2tp_clean cli; then
  pass "/proc/net/pppol2tp empty on both sides after close"
else
  fail "stale entries in /proc/net/pppol2tp"; ip netns exec srv cat /proc/net/pppol2tp; ip netns exec cli cat /proc/net/pppol2tp
fi

# --- 5. wrong password: the same IDs again (so also: nothing stale blocks them), pppd must fail authentication
reset_logs
: >"$(ns_dir cli)/etc-ppp/chap-secrets"
chap_secret cli user '*' wrong-pass '*'
start_srv; start_cli
wait_exit 40 $SRV_PID; srv_rc=$WAIT_RC
wait_exit 10 $CLI_PID; cli_rc=$WAIT_RC
log "wrong password: srv pair exit $srv_rc, cli pair exit $cli_rc"
if [ "$srv_rc" = 11 ] && [ "$cli_rc" = 19 ]; then
  pass "wrong password: server pppd exit 11 (peer auth failed), client pppd exit 19 (auth to peer failed)"
else
  fail "wrong password: expected srv 11 / cli 19, got srv $srv_rc / cli $cli_rc"; dump srv cli
fi
check "wrong password: no ppp interface left" wait_for 10 no_ppp_ifaces
if wait_for 10 pppol2tp_clean srv && wait_for 5 pppol2tp_clean cli; then
  pass "wrong password: /proc/net/pppol2tp empty on both sides"
else
  fail "wrong password: stale entries in /proc/net/pppol2tp"
fi

# --- 6. sequenced data (RFC 2661 §5.4): SessionOptions send_seq/recv_seq set by the adapter (pppd is not told)
reset_logs
: >"$(ns_dir cli)/etc-ppp/chap-secrets"
chap_secret cli user '*' s3cret-pass '*'
SEQ=--seq
start_srv; start_cli
SEQ=
if wait_for 30 has_addr srv ppp0 10.99.0.1 && wait_for 10 has_addr cli ppp0 10.99.0.10 &&
   quiet pingp cli 10.99.0.1 3; then
  pass "sequenced data: ppp0 up and ping through"
else
  fail "sequenced data: no ppp0 or no ping"; dump srv cli
fi
# /proc/net/pppol2tp session detail "mtu/mru/rcvseq/sendseq/lns": R and S set
if ip netns exec srv grep -A1 "SESSION 'sess 11/101'" /proc/net/pppol2tp | grep -q '/R/S/LNS' &&
   ip netns exec cli grep -A1 "SESSION 'sess 22/202'" /proc/net/pppol2tp | grep -q '/R/S/'; then
  pass "sequenced data: the kernel sessions have recv_seq and send_seq on (LNS mode on srv)"
else
  fail "sequenced data: sequencing flags not set"; ip netns exec srv cat /proc/net/pppol2tp
fi
kill -TERM $SRV_PID $CLI_PID
wait_exit 20 $SRV_PID; wait_exit 20 $CLI_PID
if wait_for 10 pppol2tp_clean srv && wait_for 5 pppol2tp_clean cli; then
  pass "sequenced data: /proc/net/pppol2tp empty after close"
else
  fail "sequenced data: stale entries after close"
fi
