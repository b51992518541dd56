# supervisor_e2e: issue 5's acceptance test. l2tpvpnd as a whole (embedded charon driven over VICI, RFC 3193
# admission, pppd per session, firewall) against four emulated OS clients, each with real IKEv1 + ESP (its own
# strongSwan charon, configured by swanctl) and real L2TP + PPP (xl2tpd + pppd, MS-CHAPv2).
#
#   srv      192.0.2.1 on the internet bridge; far0 198.51.100.1 towards `far` (198.51.100.2, a host behind the
#            server: the pool is masqueraded out of far0). l2tpvpnd: ipsec required, charon embedded, legacy on
#            (Android's MODP1024), PSK file, firewall managed with iptables-legacy (wan_interface = far0).
#   windows, macos, ios, android   emulated OS clients (tests/vm/os_clients.sh: each its own charon with that OS's
#            IKEv1 proposals + xl2tpd + pppd); ios behind `nat` (192.0.2.20, iptables-legacy MASQUERADE to ports
#            40000-40999): NAT-T
#   rogue    192.0.2.66  no IPsec at all: tests/interop/l2tp_probe sends a plaintext SCCRQ
#
#   1. all four up at once; pings to 10.99.0.1 and (masqueraded) to far; /status: users, pool addresses, the
#      session's ipsec object (NAT for ios with the NAT-mapped port), valid against docs/status.schema.json
#   2. transport SAs in the kernel, L2TP inside ESP (firewall counters), a plaintext SCCRQ gets nothing: the
#      firewall drops it, and with the firewall bypassed the daemon's admission drops it (not_admitted)
#   3. l2tpvpnctl disconnect --user: android's session ends, the others stay
#   4. macos deletes its IKE_SA -> the server closes its tunnel
#   5. charon killed -9 -> restarted; tunnels without SA closed; nothing stale. While srv pings its clients through
#      PPP, a capture on srv's wire counts plaintext datagrams from udp/1701 between the kill and the tunnels' end:
#      0 with the firewall's output rule (which counts its drops), and, as the control, more than 0 when the same
#      crash is repeated with that rule taken out (then put back, and the clients reconnected)
#   6. l2tpvpnd killed -9 and restarted -> stale pppd/charon cleaned up; every client connects again
#   7. SIGTERM -> exit 0; firewall rules, charon, ppp interfaces, kernel tunnels gone
#
# E2E_STAGES (boot.sh --env E2E_STAGES=12): run only the listed stages (debugging; each stage expects the state
# the earlier ones leave); default all.

want() { case ${E2E_STAGES:-1234567} in *$1*) return 0 ;; esac; return 1; }

. "$VM_ROOT/tests/vm/os_clients.sh"
. "$VM_ROOT/tests/vm/lns.sh"
SRV_IP=192.0.2.1 NAT_IP=192.0.2.20 ROGUE_IP=192.0.2.66
PSK=e2e-psk-l2tp-over-ipsec-1701
CLIENTS="windows macos ios android"

# ---- helpers (wire_start, crash_charon_watching, ...: tests/vm/lns.sh)
OUT_RULE="-p udp --sport 1701 -m policy --dir out --pol none -j DROP"
# fw_count CHAIN PATTERN: packet counter of the first rule of CHAIN (table filter) whose text matches PATTERN
fw_count() {
  ip netns exec srv iptables-legacy -t "${3:-filter}" -L "$1" -n -v -x 2>/dev/null | awk -v pat="$2" '$0 ~ pat { print $1; exit }'
}
save_logs() {
  for n in srv far rogue nat $CLIENTS; do
    [ -d "$(ns_dir $n)/log" ] || continue
    mkdir -p "$VM_OUT/supervisor_e2e-logs/$n" && cp -r "$(ns_dir $n)"/log/. "$VM_OUT/supervisor_e2e-logs/$n/" 2>/dev/null
  done
  cp "$CONF" "$SNAP" "$VM_OUT/supervisor_e2e-logs/srv/" 2>/dev/null
  ip -n srv -s xfrm state >"$VM_OUT/supervisor_e2e-logs/srv/xfrm-state.final" 2>&1
  ip -n srv xfrm policy >"$VM_OUT/supervisor_e2e-logs/srv/xfrm-policy.final" 2>&1
}

# ===================== topology =====================
# Netfilter modules the firewall plan needs beyond init's list (the kernel would autoload them, one by one).
vm_modprobe iptable_mangle xt_TCPMSS xt_conntrack nf_conntrack 2>/dev/null
ns_add srv $SRV_IP/24 || fail "namespace srv"
ns_add windows 192.0.2.11/24 && ns_add macos 192.0.2.13/24 && ns_add android 192.0.2.14/24 || fail "client namespaces"
ns_add nat $NAT_IP/24 && ns_add rogue $ROGUE_IP/24 || fail "namespaces nat, rogue"
# ios behind nat on a private link; nat masquerades UDP to ports 40000-40999 (IKE 500 and NAT-T 4500 translated)
mkdir -p "$(ns_dir ios)/run/lock" "$(ns_dir ios)/etc-ppp" "$(ns_dir ios)/log"
: >"$(ns_dir ios)/etc-ppp/options"; : >"$(ns_dir ios)/etc-ppp/chap-secrets"; chmod 600 "$(ns_dir ios)/etc-ppp/chap-secrets"
ip netns add ios && ip -n ios link set lo up
ip link add name eth0 netns ios type veth peer name lan0 netns nat
ip -n ios addr add 10.1.0.2/24 dev eth0 && ip -n ios link set eth0 up
ip -n nat addr add 10.1.0.1/24 dev lan0 && ip -n nat link set lan0 up
ip -n ios route add default via 10.1.0.1
ip netns exec nat sysctl -q -w net.ipv4.ip_forward=1
ip netns exec nat iptables-legacy -t nat -A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 40000-40999 ||
  fail "nat: iptables-legacy MASQUERADE"
lns_far

# server files: four users, PSK, configuration
lns_secrets $CLIENTS
{ lns_conf; cat <<EOF
legacy = yes
[firewall]
manage = yes
backend = iptables-legacy
wan_interface = far0
EOF
} >"$CONF"
check "l2tpvpnd --check-config accepts the configuration" quiet "$D" --check-config -c "$CONF"

# ===================== start =====================
t0=$(now_cs)
start_daemon
if wait_for 60 daemon_started && wait_for 90 link_ready; then
  pass "l2tpvpnd started, embedded charon up and profile loaded after $(( ($(now_cs) - t0) / 100 )) s (charon pid $(q path ipsec.charon_pid))"
else
  fail "l2tpvpnd/charon not ready: link $(q path ipsec.link)"; DUMP_LINES=80 dump srv
fi
check "firewall installed: L2TPVPN chains in filter, nat and mangle (iptables-legacy), udp/1701 out only with IPsec" \
  sh -c "ip netns exec srv iptables-legacy-save | grep -q '^-A INPUT -j L2TPVPN-INPUT' &&
         ip netns exec srv iptables-legacy-save | grep -q '^-A OUTPUT -j L2TPVPN-OUTPUT' &&
         ip netns exec srv iptables-legacy-save | grep -q '^-A L2TPVPN-OUTPUT -p udp -m udp --sport 1701 -m policy --dir out --pol none -j DROP' &&
         ip netns exec srv iptables-legacy-save -t nat | grep -q '^-A L2TPVPN-POSTROUTING .*-o far0 -j MASQUERADE' &&
         ip netns exec srv iptables-legacy-save -t mangle | grep -q '^:L2TPVPN-MSS'"
clients_prepare $CLIENTS

# ===================== 1. four clients at once =====================
if want 1; then
log "=== stage 1"
t0=$(now_cs)
connect $CLIENTS
if wait_for 120 q_is 4 up && wait_for 30 all_up $CLIENTS; then
  pass "1: all four sessions up at once, $(( ($(now_cs) - t0) / 100 )) s after initiating IKE"
else
  fail "1: only $(q up) of 4 sessions up"; q users_up; DUMP_LINES=40 dump srv
fi
snap
check "1: /status lists the four users up" [ "$(qs users_up)" = "u-android u-ios u-macos u-windows" ]
for n in $CLIENTS; do
  u=$(user_of $n) a=$(qs user "$(user_of $n)" address)
  case $a in
    10.99.0.[1-5][0-9] | 10.99.0.[1-9]) pass "1: $n: $u has pool address $a on $(qs user $u interface), peer $(qs user $u peer)" ;;
    *) fail "1: $n: $u has no pool address ($a)" ;;
  esac
  sa=$(qs user_json $u ipsec)
  case $sa in
    *"$(ike_expect $n)"*) pass "1: $n: session's ipsec object: $sa" ;;
    *) fail "1: $n: session's ipsec object is not the expected SA ($(ike_expect $n)): $sa" ;;
  esac
  if [ "$(qs user $u peer)" != "$(peer_ip $n):$(l2tp_port $n)" ]; then
    fail "1: $n: session peer $(qs user $u peer), expected $(peer_ip $n):$(l2tp_port $n)"
  fi
done
for n in windows macos android; do
  case $(qs user_json "$(user_of $n)" ipsec) in
    *'"nat": false'*'"remote_port": 500'*) ;;
    *) fail "1: $n: expected no NAT and IKE port 500: $(qs user_json "$(user_of $n)" ipsec)" ;;
  esac
done
ios_port=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["remote_port"])' <<EOF 2>/dev/null
$(qs user_json u-ios ipsec)
EOF
)
if qs user_json u-ios ipsec | grep -q '"nat": true' && [ "${ios_port:-0}" -ge 40000 ] && [ "${ios_port:-0}" -le 40999 ] &&
   ip -n srv xfrm state list src $NAT_IP dst $SRV_IP | grep -q "encap type espinudp sport $ios_port dport 4500"; then
  pass "1: ios: nat = true, remote_port $ios_port = the NAT's mapping of its NAT-T port (kernel ESP-in-UDP sport)"
else
  fail "1: ios: NAT-T not as expected: $(qs user_json u-ios ipsec)"; ip -n srv xfrm state list src $NAT_IP
fi
schema_rc=$(qs validate "$SCHEMA")
cp "$SNAP" "$VM_OUT/status.json" 2>/dev/null  # tests/demo.sh prints it: /status with the four clients connected
check "1: /status with four sessions is valid against docs/status.schema.json ($schema_rc)" [ "$schema_rc" = valid ]
# l2tpvpnctl reads the same document back into typed values: four sessions in its tables, nothing unread.
ns_exec srv "$CTL" -c "$CONF" status >"$VM_OUT/ctl-status.out" 2>"$VM_OUT/ctl-status.err"; ctl_rc=$?
ns_exec srv "$CTL" -c "$CONF" sessions >"$VM_OUT/ctl-sessions.out" 2>"$VM_OUT/ctl-sessions.err"; ctl_rc2=$?
ctl_ok() {
  [ "$ctl_rc" = 0 ] && [ "$ctl_rc2" = 0 ] && [ ! -s "$VM_OUT/ctl-status.err" ] && [ ! -s "$VM_OUT/ctl-sessions.err" ] &&
    grep -q '^SESSIONS (4)$' "$VM_OUT/ctl-status.out" && grep -q '^TUNNELS (4)$' "$VM_OUT/ctl-status.out" &&
    [ "$(grep -c ' up  .*esp' "$VM_OUT/ctl-sessions.out")" = 4 ] && grep -q 'esp+nat-t' "$VM_OUT/ctl-sessions.out"
}
check "1: l2tpvpnctl status/sessions: 4 tunnels, 4 sessions up with their ESP, nothing it could not read" ctl_ok
ctl_ok || { cat "$VM_OUT/ctl-status.out" "$VM_OUT/ctl-status.err" "$VM_OUT/ctl-sessions.err"; } | head -40
for n in $CLIENTS; do
  ip -n $n route add 198.51.100.0/24 dev ppp0 2>/dev/null
  check "1: $n: ping 10.99.0.1 through its session" quiet pingp $n 10.99.0.1 2
  check "1: $n: ping the far host $FAR_IP (masqueraded out of far0)" quiet pingp $n $FAR_IP 2
done
masq=$(fw_count L2TPVPN-POSTROUTING MASQUERADE nat)
check "1: the masquerade rule translated the clients' traffic to far ($masq connections)" [ "${masq:-0}" -ge 4 ]
fi

# ===================== 2. L2TP only inside ESP =====================
if want 2; then
log "=== stage 2"
for n in $CLIENTS; do
  p=$(peer_ip $n)
  in=$(ip -n srv xfrm state list src "$p" dst $SRV_IP) out=$(ip -n srv xfrm state list src $SRV_IP dst "$p")
  case "$in/$out" in
    *"proto esp"*"mode transport"*/*"proto esp"*"mode transport"*) pass "2: $n: kernel holds ESP transport SAs both ways with $p" ;;
    *) fail "2: $n: no ESP transport SAs both ways with $p"; echo "$in"; echo "$out" ;;
  esac
done
pol=$(ip -n srv xfrm policy list)
case $pol in
  *"proto udp sport 1701"*"proto udp"*"dport 1701"* | *"proto udp"*"dport 1701"*"proto udp sport 1701"*)
    pass "2: kernel transport policies for udp/1701" ;;
  *) fail "2: no udp/1701 policies in the kernel"; echo "$pol" ;;
esac
ipsec_in=$(fw_count L2TPVPN-INPUT 'policy match dir in pol ipsec')
dropped=$(fw_count L2TPVPN-INPUT 'DROP.*dpt:1701')
out_dropped=$(fw_count L2TPVPN-OUTPUT 'DROP.*spt:1701')
if [ "${ipsec_in:-0}" -gt 0 ] && [ "$dropped" = 0 ] && [ "$out_dropped" = 0 ]; then
  pass "2: L2TP runs inside ESP: $ipsec_in udp/1701 packets accepted by the IPsec policy rule, 0 dropped in, 0 dropped out"
else
  fail "2: firewall counters: ipsec-accepted ${ipsec_in:-?}, dropped in ${dropped:-?}, dropped out ${out_dropped:-?}"
  ip netns exec srv iptables-legacy -L L2TPVPN-INPUT -n -v -x; ip netns exec srv iptables-legacy -L L2TPVPN-OUTPUT -n -v -x
fi
# A plaintext SCCRQ from a host without SA: the firewall drops it...
na0=$(q drop not_admitted)
ip netns exec rogue "$PROBE" --peer $SRV_IP --bind $ROGUE_IP --bind-port 1701 --timeout 6 >"$(ns_dir rogue)/log/probe-1.out" 2>&1
rc=$?
dropped=$(fw_count L2TPVPN-INPUT 'DROP.*dpt:1701')
if [ $rc != 0 ] && ! grep -q 'tunnel_up' "$(ns_dir rogue)/log/probe-1.out" && [ "${dropped:-0}" -ge 1 ]; then
  pass "2: rogue's plaintext SCCRQ: no answer; the firewall dropped $dropped datagram(s)"
else
  fail "2: rogue's plaintext SCCRQ (probe exit $rc, firewall drops ${dropped:-?})"; tail -n 5 "$(ns_dir rogue)/log/probe-1.out"
fi
not_admitted_is() { [ -n "$1" ] && q_is "$1" drop not_admitted; }
check "2: ... and it never reached the daemon (not_admitted still $na0)" not_admitted_is "$na0"
# ...and with the firewall bypassed the daemon's own admission check (RFC 3193) drops it
ip netns exec srv iptables-legacy -I INPUT 1 -s $ROGUE_IP -p udp --dport 1701 -j ACCEPT
ip netns exec rogue "$PROBE" --peer $SRV_IP --bind $ROGUE_IP --bind-port 1701 --timeout 6 >"$(ns_dir rogue)/log/probe-2.out" 2>&1
rc=$?
snap
na1=$(qs drop not_admitted)
if [ $rc != 0 ] && ! grep -q 'tunnel_up' "$(ns_dir rogue)/log/probe-2.out" && [ "$na1" -gt "$na0" ] &&
   [ "$(qs tunnels_from $ROGUE_IP)" = 0 ] && [ "$(qs tunnels)" = 4 ] && [ "$(qs sessions)" = 4 ]; then
  pass "2: firewall bypassed: SCCRQ without SA unanswered, drops.not_admitted $na0 -> $na1, no tunnel created"
else
  fail "2: admission without SA: probe exit $rc, not_admitted $na0 -> $na1, tunnels from rogue $(qs tunnels_from $ROGUE_IP), tunnels $(qs tunnels)"
  tail -n 5 "$(ns_dir rogue)/log/probe-2.out"
fi
ip netns exec srv iptables-legacy -D INPUT -s $ROGUE_IP -p udp --dport 1701 -j ACCEPT
fi

# ===================== 3. l2tpvpnctl disconnect --user =====================
if want 3; then
log "=== stage 3"
out=$(ns_exec srv "$CTL" -c "$CONF" disconnect --user u-android 2>&1)
case $out in
  *"disconnected 1 session"*) pass "3: l2tpvpnctl disconnect --user u-android: $out" ;;
  *) fail "3: l2tpvpnctl disconnect --user u-android: $out" ;;
esac
android_gone() { q_is - user u-android state && srv_ppp_is 3 && ! client_up android; }
check "3: android's session, server interface and client pppd are gone" wait_for 30 android_gone
snap
check "3: the three others stay up ($(qs users_up))" [ "$(qs users_up)" = "u-ios u-macos u-windows" ]
check "3: windows still reaches 10.99.0.1" quiet pingp windows 10.99.0.1 2
fi

# ===================== 4. a client deletes its IKE_SA =====================
if want 4; then
log "=== stage 4"
if sw macos --terminate --ike l2tp --timeout 20 >"$(ns_dir macos)/log/terminate.out" 2>&1; then
  pass "4: macos: swanctl --terminate --ike (client deletes its IKE_SA)"
else
  fail "4: macos: swanctl --terminate"; tail -n 5 "$(ns_dir macos)/log/terminate.out"
fi
mac_closed() { q_is 0 tunnels_from 192.0.2.13 established && q_is - user u-macos state && srv_ppp_is 2; }
check "4: the server closed macos's tunnel (StopCCN; its session, pppd and interface gone)" wait_for 30 mac_closed
# The StopCCN is retransmitted until acknowledged (RFC 2661 §5.7), but the client's acknowledgement is plaintext
# now that its SA is gone, and our firewall drops it: the tunnel leaves the list after the retransmission cycle.
check "4: macos's tunnel is gone from /status after the StopCCN's retransmission cycle" wait_for 60 q_is 0 tunnels_from 192.0.2.13
check "4: ... because its SA ended (event=tunnel_without_sa in the daemon log)" grep -q 'event=tunnel_without_sa' "$(daemon_log)"
check "4: the server's kernel SAs for macos are gone" sh -c "[ -z \"\$(ip -n srv xfrm state list src 192.0.2.13)\" ]"
snap
check "4: windows and ios stay up ($(qs users_up))" [ "$(qs users_up)" = "u-ios u-windows" ]
stop_xl2tpd macos
fi

# ===================== 5. charon killed -9 =====================
if want 5; then
log "=== stage 5"
out0=$(fw_count L2TPVPN-OUTPUT 'DROP.*spt:1701')
crash_charon_watching "$VM_OUT/wire-5-protected"
if [ "$CRASH_READY_S" != never ]; then
  pass "5: charon (pid $CRASH_OLD_PID) killed -9: restarted as pid $(q path ipsec.charon_pid), link ready after $CRASH_READY_S s"
else
  fail "5: charon not restarted: $(q path ipsec)"; grep -E 'charon_(exited|started|restart)' "$(daemon_log)"
fi
check "5: the $CRASH_TUNNELS tunnel(s) whose SAs vanished with charon were closed: no tunnel, session, ppp interface or kernel tunnel left" wait_for 40 nothing_up
plain=$(wire plain "$VM_OUT/wire-5-protected") esp=$(wire esp "$VM_OUT/wire-5-protected")
out1=$(fw_count L2TPVPN-OUTPUT 'DROP.*spt:1701')
if [ "$plain" = 0 ] && [ "${out1:-0}" -gt "${out0:-0}" ]; then
  pass "5: nothing left srv unencrypted while its tunnels outlived charon's SAs: 0 plaintext datagrams from udp/1701 on the wire ($esp ESP before the kill); the output rule dropped and counted $((out1 - out0))"
else
  fail "5: plaintext L2TP on the wire after charon's death: $plain datagram(s) from udp/1701 ($esp ESP); output rule drops $out0 -> $out1"
  ip netns exec srv iptables-legacy -L L2TPVPN-OUTPUT -n -v -x
fi
check "5: the registry is empty (the new charon knows no SA)" q_is '[]' path ipsec.sas
if wait_for 20 no_xfrm; then
  pass "5: no stale SA or policy in the kernel ($(grep -o 'event=stale_xfrm_purged.*' "$(daemon_log)"))"
else
  fail "5: stale kernel state after the charon crash: $(ip -n srv xfrm state list | grep -c '^src') SA(s), $(xfrm_policies) policies"
  ip -n srv xfrm state list | grep -E '^src|proto'; ip -n srv xfrm policy list
fi
# the clients come back (a real client after DPD; here the stale client IKE_SA is terminated first)
for n in windows ios; do stop_xl2tpd $n; done
connect windows ios
check "5: windows and ios connect again through the restarted charon" wait_for 90 q_is 2 up
# The control: the same crash with the output rule taken out shows what the capture sees when L2TP leaks.
ip netns exec srv iptables-legacy -D L2TPVPN-OUTPUT $OUT_RULE || fail "5: could not take the output rule out"
crash_charon_watching "$VM_OUT/wire-5-control"
plain=$(wire plain "$VM_OUT/wire-5-control") esp=$(wire esp "$VM_OUT/wire-5-control")
check "5: control: without the output rule the same crash sends $plain plaintext datagram(s) from udp/1701 onto the wire ($esp ESP before the kill; link ready after $CRASH_READY_S s)" \
  [ "${plain:-0}" -gt 0 ]
ip netns exec srv iptables-legacy -A L2TPVPN-OUTPUT $OUT_RULE || fail "5: could not put the output rule back"
check "5: control: tunnels closed after the second crash as well" wait_for 40 nothing_up
for n in windows ios; do stop_xl2tpd $n; done
connect windows ios
check "5: windows and ios connect again after the control crash" wait_for 90 q_is 2 up
fi

# ===================== 6. l2tpvpnd killed -9 =====================
if want 6; then
log "=== stage 6"
kill -KILL "$DAEMON_PID"
wait_exit 10 "$DAEMON_PID"
stale_pppd=$(ip netns pids srv | xargs -r ps -o comm= -p 2>/dev/null | grep -c pppd)
log "6: l2tpvpnd killed -9; left behind: $stale_pppd pppd, $(srv_ppp_count) ppp interface(s), $(kernel_sessions) kernel session(s), charon $(cat "$SD/run/charon.pid" 2>/dev/null)"
start_daemon
if wait_for 60 daemon_started; then
  pass "6: l2tpvpnd restarted"
else
  fail "6: l2tpvpnd did not restart"; tail -n 30 "$(daemon_log)"
fi
check "6: stale pppd cleaned at start ($(grep -o 'event=stale_pppd_cleaned count=[0-9]*' "$(daemon_log)"))" grep -q 'event=stale_pppd_cleaned count=2' "$(daemon_log)"
check "6: the stale charon was stopped and replaced ($(grep -o 'event=stale_charon pid=[0-9]*' "$(daemon_log)"))" grep -q 'event=stale_charon' "$(daemon_log)"
stale_gone() { no_ppp_iface srv && pppol2tp_clean srv; }
check "6: no stale ppp interface or kernel tunnel" wait_for 20 stale_gone
check "6: link to the new charon ready" wait_for 60 link_ready
check "6: firewall hooks installed once (no duplicates after the crash)" \
  [ "$(ip netns exec srv iptables-legacy-save | grep -c '^-A INPUT -j L2TPVPN-INPUT')" = 1 ]
for n in $CLIENTS; do stop_xl2tpd $n; done
t0=$(now_cs)
connect $CLIENTS
if wait_for 120 q_is 4 up && wait_for 30 all_up $CLIENTS; then
  pass "6: all four clients connected again after the restart ($(( ($(now_cs) - t0) / 100 )) s)"
else
  fail "6: after the restart only $(q up) of 4 sessions up"
fi
for n in $CLIENTS; do check "6: $n: ping 10.99.0.1" quiet pingp $n 10.99.0.1 2; done
fi

# ===================== 7. SIGTERM =====================
if want 7; then
log "=== stage 7"
kill -TERM "$DAEMON_PID"
wait_exit 60 "$DAEMON_PID"
check "7: l2tpvpnd exited 0 after SIGTERM ($WAIT_RC)" [ "$WAIT_RC" = 0 ]
check "7: no L2TPVPN chain or hook left (iptables-legacy-save, every table)" \
  sh -c "! ip netns exec srv iptables-legacy-save | grep -q L2TPVPN"
check "7: charon stopped (no process, no pid file)" sh -c "! ip netns pids srv | xargs -r ps -o comm= -p 2>/dev/null | grep -qE 'charon|pppd' && [ ! -e '$SD/run/charon.pid' ]"
check "7: no ppp interface on the server" wait_for 10 no_ppp_iface srv
check "7: /proc/net/pppol2tp empty" wait_for 10 pppol2tp_clean srv
check "7: no SA or policy left in the kernel" wait_for 10 no_xfrm
check "7: every client's pppd ended" wait_for 40 sh -c 'for n in windows macos ios android; do ! ip -n $n -o link show | grep -q ": ppp" || exit 1; done'
fi

# ---- clean up
clients_stop $CLIENTS
save_logs
