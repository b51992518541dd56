# same_nat: several L2TP/IPsec clients behind one NAT, including Windows-like ones that all send L2TP from port
# 1701 (docs/same-nat.md). l2tpvpnd as a whole (embedded charon, nft firewall, kernel data path) on Debian's kernel.
#
#   srv   192.0.2.1; far0 198.51.100.1 towards `far` (198.51.100.2): the pool is masqueraded out of far0
#   nat   192.0.2.20, a home router: its LAN 10.1.0.0/24 masqueraded (UDP to ports 40000-40999)
#   w1 w2 w3   Windows-like clients behind nat (Windows' IKEv1/ESP proposals, NAT-T, xl2tpd from port 1701)
#   a1 a2      Apple-like clients behind nat (iOS's proposals, L2TP from ports 51231, 51232)
# Every one of them reaches srv as 192.0.2.20 (the Windows-like ones as 192.0.2.20:1701, with the same traffic
# selectors); each CHILD_SA gets a mark of its own, and each SA's data a port of its own, so each gets a kernel
# tunnel.
#
#   1. w1 and w2 up: PPP up on both, kernel data path on both, two SAs with two marks in /status; both ping srv
#      and far at the same time; iperf3 both directions on both at once moves data on each
#   2. throughput: w1 alone, then w1 and w2 at once (BENCH lines with the ratio; not a verdict)
#   3. w3 holds an SA but runs no L2TP: from inside its own SA it sends a StopCCN for w1's tunnel and an LCP
#      Terminate-Request into w1's session. Both are dropped (counted); w1 stays up on the same tunnel.
#   4. all five up at once (3 Windows-like, 2 Apple-like), each passing traffic (ping srv and far)
#   5. endings stay apart: w2's L2TP disconnect, w3's IKE delete and a2 vanishing (its processes killed) each
#      end that client's session and SAs only; the others keep passing traffic

. "$VM_ROOT/tests/vm/os_clients.sh"
. "$VM_ROOT/tests/vm/lns.sh"
SRV_IP=192.0.2.1 NAT_IP=192.0.2.20
PSK=same-nat-psk-l2tp-1701
CLIENTS="w1 w2 w3 a1 a2"
INJECT=$VM_ROOT/tests/vm/l2tp_inject.py

# ---- helpers
# sa_marks: the marks of srv's inbound ESP states from the NAT (one per client SA)
sa_marks() {
  ip -n srv xfrm state list src $NAT_IP dst $SRV_IP | sed -n 's/.*output-mark 0x\([0-9a-f]*\).*/\1/p' | sort -u | tr '\n' ' '
}
no_sa_with_mark() { ! ip -n srv xfrm state | grep -q "mark 0x$(printf %x "$1")/"; }
session_gone() { [ "$(q user "u-$1" state)" = - ]; }
users_up_are() { [ "$(q users_up)" = "$1" ]; }
drop_at_least() { [ "$(q drop "$1")" -ge "$2" ]; }
# pings_ok NAME...: each client pings srv's PPP address and far (through its ppp0), all at the same time
pings_ok() {
  for _n in "$@"; do
    ip -n "$_n" route replace 198.51.100.0/24 dev ppp0 2>/dev/null
    rm -f "$(ns_dir "$_n")/log/ping.rc"
    ( if ! pingp "$_n" 10.99.0.1 3 >/dev/null 2>&1; then echo srv
      elif ! pingp "$_n" $FAR_IP 3 >/dev/null 2>&1; then echo far
      else echo 0; fi >"$(ns_dir "$_n")/log/ping.rc" ) &
  done
  _bad=
  for _n in "$@"; do
    wait_for 40 test -s "$(ns_dir "$_n")/log/ping.rc" && [ "$(cat "$(ns_dir "$_n")/log/ping.rc")" = 0 ] ||
      _bad="$_bad $_n($(cat "$(ns_dir "$_n")/log/ping.rc" 2>/dev/null))"
  done
  [ -z "$_bad" ] || { echo "no ping through:$_bad"; return 1; }
}
# iperf_json NAME PORT SECONDS [--bidir]: iperf3 from the client to srv's PPP address, JSON
iperf_json() { ns_exec "$1" iperf3 -c 10.99.0.1 -p "$2" -t "$3" ${4:+$4} -J 2>/dev/null; }
# mbps FILE: "<Mbit/s received by srv> <Mbit/s of the reverse direction (--bidir), else 0>"
mbps() {
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["end"]
fwd = d.get("sum_received", {}).get("bits_per_second", 0) / 1e6
rev = d.get("sum_received_bidir_reverse", {}).get("bits_per_second", 0) / 1e6
print("%.1f %.1f" % (fwd, rev))' "$1" 2>/dev/null || echo "0 0"
}
all_positive() { python3 -c 'import sys; sys.exit(0 if all(float(x) > 0 for x in sys.argv[1:]) else 1)' "$@"; }
sas_from_nat() {
  q path ipsec.sas | python3 -c 'import json, sys; print(sum(1 for s in json.load(sys.stdin) if s.get("remote") == sys.argv[1]))' $NAT_IP
}

# ---- topology
ns_add srv $SRV_IP/24 || fail "namespace srv"
lns_far
nat_add || fail "nat: namespace, LAN bridge and MASQUERADE"
for c in $CLIENTS; do nat_client_add $c || fail "$c: namespace behind the NAT"; done

lns_secrets $CLIENTS
{ lns_conf; cat <<EOF
[firewall]
manage = yes
backend = nft
wan_interface = far0
EOF
} >"$CONF"
# HELLO every 5 s: a vanished client is noticed within a stage's budget
sed -i 's/^\[l2tp\]$/[l2tp]\nhello_interval_s = 5/' "$CONF"
check "l2tpvpnd --check-config accepts the configuration" quiet "$D" --check-config -c "$CONF"
t0=$(now_cs)
start_daemon
if wait_for 60 daemon_started && wait_for 90 link_ready; then
  pass "l2tpvpnd started, charon ready after $(( ($(now_cs) - t0) / 100 )) s"
else
  fail "l2tpvpnd/charon not ready: link $(q path ipsec.link)"; DUMP_LINES=80 dump srv
fi
check "the daemon gives each client SA a data port (event=same_nat data_ports=30000-31999)" \
  grep -q "event=same_nat data_ports=30000-31999" "$(daemon_log)"
clients_prepare $CLIENTS
for p in 5201 5202; do ns_spawn srv "$SD/log/iperf3-$p.log" iperf3 -s -p $p; done

# ===================== 1. two Windows-like clients behind one NAT =====================
log "=== stage 1"
t0=$(now_cs)
connect w1 w2
if wait_for 120 q_is 2 up && wait_for 30 all_up w1 w2; then
  pass "1: w1 and w2 up, $(( ($(now_cs) - t0) / 100 )) s after initiating IKE"
else
  fail "1: only $(q up) of 2 sessions up"; q users_up; DUMP_LINES=60 dump srv w1 w2
fi
snap
for n in w1 w2; do
  u=$(user_of $n)
  check "1: $n: session up, address $(qs user $u address), peer $(qs user $u peer) mark $(qs user $u peer_mark)" \
    [ "$(qs user $u peer)" = "$NAT_IP:1701" ]
  check "1: $n: kernel data path" [ "$(qs user $u data_path)" = kernel ]
done
m1=$(qs user u-w1 peer_mark) m2=$(qs user u-w2 peer_mark)
check "1: the two sessions came through two SAs with marks of their own ($m1, $m2)" \
  sh -c "[ '$m1' != '$m2' ] && [ '$m1' != 0 ] && [ '$m2' != 0 ] && [ '$m1' != - ]"
check "1: /status lists two SAs from the NAT" [ "$(sas_from_nat)" = 2 ]
check "1: srv holds two kernel L2TP tunnels" [ "$(ip netns exec srv grep -c "TUNNEL '" /proc/net/pppol2tp)" -ge 2 ]
check "1: w1 and w2 both ping srv (10.99.0.1) and far ($FAR_IP) at the same time" pings_ok w1 w2
( iperf_json w1 5201 4 --bidir >"$SD/log/iperf-w1.json" ) & i1=$!
( iperf_json w2 5202 4 --bidir >"$SD/log/iperf-w2.json" ) & i2=$!
wait $i1 $i2
r1=$(mbps "$SD/log/iperf-w1.json") r2=$(mbps "$SD/log/iperf-w2.json")
bench "1: iperf3 --bidir 4 s, w1 and w2 at once: w1 up/down ${r1% *}/${r1#* } Mbit/s, w2 up/down ${r2% *}/${r2#* } Mbit/s"
check "1: iperf3 in both directions on both at once moves data on each (w1: $r1, w2: $r2)" all_positive $r1 $r2

# ===================== 2. throughput: one client alone, two at once =====================
log "=== stage 2"
iperf_json w1 5201 5 >"$SD/log/iperf-alone.json"
alone=$(mbps "$SD/log/iperf-alone.json")
( iperf_json w1 5201 5 >"$SD/log/iperf-pair1.json" ) & i1=$!
( iperf_json w2 5202 5 >"$SD/log/iperf-pair2.json" ) & i2=$!
wait $i1 $i2
p1=$(mbps "$SD/log/iperf-pair1.json") p2=$(mbps "$SD/log/iperf-pair2.json")
ratio=$(python3 -c 'import sys; a = float(sys.argv[1]); print("%.2f" % ((float(sys.argv[2]) + float(sys.argv[3])) / a) if a else "n/a")' ${alone% *} ${p1% *} ${p2% *})
bench "2: kernel data path through ESP, w1 alone: ${alone% *} Mbit/s; w1 and w2 at once: ${p1% *} + ${p2% *} Mbit/s; (w1 + w2) / alone = $ratio (TCG guest: the ratio is the claim)"

# ===================== 3. injection from another client's SA =====================
log "=== stage 3"
start_ipsec w3
[ "$(bg_rc w3 initiate 90)" = 0 ] && pass "3: w3 holds an SA of its own (no L2TP)" || fail "3: w3's SA"
snap
t1=$(qs user u-w1 tunnel) s1=$(qs user u-w1 session)
wp0=$(qs drop wrong_peer) du0=$(qs drop data_unknown_tunnel)
ns_exec w3 python3 "$INJECT" "$(client_ip w3)" $SRV_IP "$t1" "$s1" || fail "3: the injector could not send"
check "3: w3's StopCCNs for w1's tunnel $t1 are dropped as from the wrong client (wrong_peer $wp0 -> at least $((wp0 + 3)))" \
  wait_for 20 drop_at_least wrong_peer $((wp0 + 3))
check "3: w3's LCP Terminate-Requests for w1's session $t1/$s1 are dropped (data_unknown_tunnel $du0 -> at least $((du0 + 3)))" \
  wait_for 20 drop_at_least data_unknown_tunnel $((du0 + 3))
check "3: w1 still pings srv and far" pings_ok w1
check "3: w1's session is still up on the same tunnel" q_is "$t1" user u-w1 tunnel

# ===================== 4. five clients behind one NAT =====================
log "=== stage 4"
t0=$(now_cs)
sw w3 --terminate --ike l2tp --timeout 20 >/dev/null 2>&1  # connect starts it again, then L2TP
connect w3 a1 a2
if wait_for 150 q_is 5 up && wait_for 30 all_up $CLIENTS; then
  pass "4: all five up (w1 w2 w3 a1 a2), $(( ($(now_cs) - t0) / 100 )) s after initiating the last three"
else
  fail "4: only $(q up) of 5 sessions up: $(q users_up)"; DUMP_LINES=40 dump srv w3 a1 a2
fi
snap
check "4: five SAs from the NAT with five marks ($(sa_marks))" [ "$(sa_marks | wc -w)" = 5 ]
for n in $CLIENTS; do
  check "4: $n: kernel data path, peer $(qs user u-$n peer) mark $(qs user u-$n peer_mark)" [ "$(qs user u-$n data_path)" = kernel ]
done
check "4: all five ping srv and far at the same time" pings_ok $CLIENTS

# ===================== 5. each client's end is its own =====================
log "=== stage 5"
marks_before=$(sa_marks)
mw2=$(qs user u-w2 peer_mark) mw3=$(qs user u-w3 peer_mark) ma2=$(qs user u-a2 peer_mark)
stop_xl2tpd w2
check "5: w2's L2TP disconnect ends w2's session" wait_for 60 session_gone w2
check "5: ... and the server ends w2's SAs (mark $mw2)" wait_for 60 no_sa_with_mark "$mw2"
check "5: w1, w3, a1 and a2 are still up" users_up_are "u-a1 u-a2 u-w1 u-w3"
sw w3 --terminate --ike l2tp --timeout 30 >/dev/null 2>&1
check "5: w3's IKE delete ends w3's session" wait_for 60 session_gone w3
check "5: ... and w3's SAs (mark $mw3) are gone from srv" wait_for 30 no_sa_with_mark "$mw3"
for p in $(ip netns pids a2); do kill -KILL "$p" 2>/dev/null; done
check "5: a2 vanishing (its processes killed) ends a2's session (HELLOs unanswered)" wait_for 120 session_gone a2
check "5: ... and a2's SAs (mark $ma2) are gone from srv" wait_for 60 no_sa_with_mark "$ma2"
check "5: w1 and a1 are still up" users_up_are "u-a1 u-w1"
check "5: w1 and a1 ping srv and far" pings_ok w1 a1
log "SA marks before stage 5: $marks_before; after: $(sa_marks)"

clients_stop $CLIENTS
kill -TERM "$DAEMON_PID" 2>/dev/null
wait_exit 30 "$DAEMON_PID"
check "l2tpvpnd exits 0 on SIGTERM" [ "$WAIT_RC" = 0 ]
