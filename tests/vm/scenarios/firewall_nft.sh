# firewall_nft: l2tpvpnd with `[firewall] backend = auto` on Debian's own kernel (nf_tables built in), end to end,
# and the kernel's l2tp generic-netlink family beside the data path the daemon picks.
#
#   srv      192.0.2.1; far0 198.51.100.1 towards `far` (198.51.100.2, no route back to the pool: only
#            masqueraded traffic can be answered). l2tpvpnd: IPsec required, embedded charon, PSK file,
#            firewall managed, backend auto, wan_interface far0.
#   windows, macos  emulated OS clients (tests/vm/os_clients.sh)
#   rogue    192.0.2.66  no IPsec: tests/interop/l2tp_probe sends a plaintext SCCRQ
#
#   1. auto picks nft: our table `ip l2tpvpn` with its input, output, forward, MSS and masquerade chains; no
#      iptables chain
#   2. both clients up; pings to the server and, masqueraded by nft, to far
#   3. the l2tp genetlink family lists the daemon's tunnels and sessions (whatever data path /status names)
#   4. L2TP counted by the IPsec (secpath) accept rule, none dropped in or out; a plaintext SCCRQ dropped and
#      counted by nft and never seen by the daemon; charon killed -9 while srv pings both clients through PPP: the
#      output rule (`rt ipsec missing`) drops what the live kernel tunnels send once the SAs are gone, and a
#      capture on srv's wire sees 0 plaintext datagrams from udp/1701 until the tunnels are closed
#   5. l2tpvpnd killed -9 and restarted: the leftover table replaced whole (one table, one set of chains), a
#      client connects through it
#   6. SIGTERM: exit 0, no table, ip_forward restored, no l2tp tunnel, SA or ppp interface left

. "$VM_ROOT/tests/vm/os_clients.sh"
. "$VM_ROOT/tests/vm/lns.sh"
SRV_IP=192.0.2.1 ROGUE_IP=192.0.2.66
PSK=nft-psk-l2tp-over-ipsec-1701
CLIENTS="windows macos"

table() { ip netns exec srv nft list table ip l2tpvpn 2>/dev/null; }
no_table() { ! ip netns exec srv nft list tables 2>/dev/null | grep -q 'table ip l2tpvpn'; }
# nft_count PATTERN [CHAIN]: the packet counter of the first rule of our chain (default input) matching PATTERN
nft_count() {
  ip netns exec srv nft list chain ip l2tpvpn "${2:-input}" 2>/dev/null |
    awk -v pat="$1" '$0 ~ pat { for (i = 1; i < NF; i++) if ($i == "packets") { print $(i + 1); exit } }'
}
l2tp_nl_tunnels() { ip -n srv l2tp show tunnel 2>/dev/null | awk '/^Tunnel/ { sub(",", "", $2); print $2 }' | sort -n | tr '\n' ' '; }
# (session 0 of each tunnel is the PPPoL2TP tunnel-management socket, not a session)
l2tp_nl_sessions() { ip -n srv l2tp show session 2>/dev/null | awk '/^Session/ && $2 != 0 { print $2 }' | sort -n | tr '\n' ' '; }
save_logs() {
  for n in srv far rogue $CLIENTS; do
    [ -d "$(ns_dir $n)/log" ] || continue
    mkdir -p "$VM_OUT/firewall_nft-logs/$n" && cp -r "$(ns_dir $n)"/log/. "$VM_OUT/firewall_nft-logs/$n/" 2>/dev/null
  done
  cp "$CONF" "$SNAP" "$VM_OUT/firewall_nft-logs/srv/" 2>/dev/null
}

# ===================== topology =====================
ns_add srv $SRV_IP/24 || fail "namespace srv"
ns_add windows "$(client_ip windows)/24" && ns_add macos "$(client_ip macos)/24" && ns_add rogue $ROGUE_IP/24 ||
  fail "namespaces windows, macos, rogue"
lns_far
forward_before=$(ip netns exec srv sysctl -n net.ipv4.ip_forward)

lns_secrets $CLIENTS
{ lns_conf; cat <<EOF
[firewall]
manage = yes
backend = auto
wan_interface = far0
EOF
} >"$CONF"
check "l2tpvpnd --check-config accepts the configuration" quiet "$D" --check-config -c "$CONF"

# ===================== 1. auto picks nft =====================
log "=== stage 1"
t0=$(now_cs)
start_daemon
if wait_for 60 daemon_started && wait_for 90 link_ready; then
  pass "1: l2tpvpnd started, embedded charon up and profile loaded after $(( ($(now_cs) - t0) / 100 )) s"
else
  fail "1: l2tpvpnd/charon not ready: link $(q path ipsec.link)"; DUMP_LINES=80 dump srv
fi
picked=$(grep -o 'event=firewall_installed backend=[a-z-]*' "$(daemon_log)" | head -n 1)
check "1: backend auto picked nft on kernel $(uname -r) ($picked)" [ "$picked" = "event=firewall_installed backend=nft" ]
t=$(table)
case $t in
  *"chain input"*"udp dport 1701 meta "*" exists counter"*"accept"*"udp dport 1701 counter"*"drop"*"chain forward"*"chain mss"*"maxseg size set rt mtu"*"chain postrouting"*'oifname "far0" masquerade'*)
    # (nft prints `meta secpath exists` back as `meta ipsec exists`)
    pass "1: table ip l2tpvpn: input (udp/1701 only with a secpath, else counted and dropped), forward, MSS clamp, masquerade out of far0" ;;
  *) fail "1: table ip l2tpvpn not as expected"; echo "$t" ;;
esac
case $t in
  *"chain output"*"type filter hook output priority filter; policy accept;"*"udp sport 1701 rt ipsec missing counter packets 0 bytes 0 drop"*)
    pass "1: output chain: udp from 1701 without an IPsec route (rt ipsec missing) counted and dropped (nft $(nft --version | cut -d' ' -f2), kernel $(uname -r))" ;;
  *) fail "1: no output rule for udp/1701 in table ip l2tpvpn"; echo "$t" ;;
esac
check "1: no iptables chain of ours (iptables-legacy-save, iptables-nft-save)" \
  sh -c "! ip netns exec srv iptables-legacy-save 2>/dev/null | grep -q L2TPVPN && ! ip netns exec srv iptables-nft-save 2>/dev/null | grep -q L2TPVPN"
check "1: ip_forward on while running (was $forward_before)" [ "$(ip netns exec srv sysctl -n net.ipv4.ip_forward)" = 1 ]

# ===================== 2. two clients through the nft rules =====================
log "=== stage 2"
clients_prepare $CLIENTS
t0=$(now_cs)
connect $CLIENTS
if wait_for 120 q_is 2 up && wait_for 30 all_up $CLIENTS; then
  pass "2: both sessions up, $(( ($(now_cs) - t0) / 100 )) s after initiating IKE"
else
  fail "2: only $(q up) of 2 sessions up"; DUMP_LINES=40 dump srv
fi
for n in $CLIENTS; do
  ip -n $n route add 198.51.100.0/24 dev ppp0 2>/dev/null
  check "2: $n: ping 10.99.0.1 through its session" quiet pingp $n 10.99.0.1 2
  check "2: $n: ping the far host $FAR_IP (masqueraded by nft out of far0)" quiet pingp $n $FAR_IP 2
done

# ===================== 3. l2tp genetlink =====================
log "=== stage 3"
snap
paths=$(python3 -c 'import json,sys; print(" ".join(sorted(set(s["data_path"] for s in json.load(sys.stdin)["sessions"]))))' <"$SNAP" 2>/dev/null)
want_t=$(python3 -c 'import json,sys; print(" ".join(str(t) for t in sorted(set(s["tunnel"] for s in json.load(sys.stdin)["sessions"]))))' <"$SNAP" 2>/dev/null)
want_s=$(python3 -c 'import json,sys; print(" ".join(str(t) for t in sorted(s["session"] for s in json.load(sys.stdin)["sessions"])))' <"$SNAP" 2>/dev/null)
bench "data path the daemon picked on $(uname -r): $paths (l2tp_ppp PPPoL2TP sockets; ppp.data_path = auto)"
if ip -n srv l2tp show tunnel >/dev/null 2>&1; then
  pass "3: the l2tp generic-netlink family answers (ip l2tp show tunnel)"
else
  fail "3: no l2tp generic-netlink family: $(ip -n srv l2tp show tunnel 2>&1 | head -n 1)"
fi
case $paths in
  kernel)
    got_t=$(l2tp_nl_tunnels) got_s=$(l2tp_nl_sessions)
    if [ "$got_t" = "$want_t " ] && [ "$got_s" = "$want_s " ]; then
      pass "3: genetlink lists the daemon's kernel tunnels ($want_t) and sessions ($want_s), as /status does"
    else
      fail "3: genetlink tunnels '$got_t' sessions '$got_s', /status tunnels '$want_t' sessions '$want_s'"
      ip -n srv l2tp show tunnel; ip -n srv l2tp show session
    fi ;;
  pty) check "3: pty data path: no kernel tunnel in genetlink" [ -z "$(l2tp_nl_tunnels)" ] ;;
  *) fail "3: unexpected data_path in /status: '$paths'" ;;
esac

# ===================== 4. counted by nft =====================
log "=== stage 4"
acc=$(nft_count 'meta (secpath|ipsec) exists') drop=$(nft_count 'dport 1701 .*counter.*drop') out_drop=$(nft_count 'rt ipsec missing' output)
if [ "${acc:-0}" -gt 0 ] && [ "$drop" = 0 ] && [ "$out_drop" = 0 ]; then
  pass "4: L2TP inside ESP: $acc udp/1701 packets accepted by the secpath rule, 0 dropped in, 0 dropped out"
else
  fail "4: nft counters: secpath-accepted ${acc:-?}, dropped in ${drop:-?}, dropped out ${out_drop:-?}"; table
fi
na0=$(q drop not_admitted)
ip netns exec rogue "$PROBE" --peer $SRV_IP --bind $ROGUE_IP --bind-port 1701 --timeout 6 >"$(ns_dir rogue)/log/probe.out" 2>&1
rc=$?
drop=$(nft_count 'dport 1701 .*counter.*drop')
if [ $rc != 0 ] && ! grep -q tunnel_up "$(ns_dir rogue)/log/probe.out" && [ "${drop:-0}" -ge 1 ]; then
  pass "4: rogue's plaintext SCCRQ: no answer; nft dropped and counted $drop datagram(s)"
else
  fail "4: rogue's plaintext SCCRQ (probe exit $rc, nft drops ${drop:-?})"; tail -n 5 "$(ns_dir rogue)/log/probe.out"
fi
snap
if [ "$(qs drop not_admitted)" = "$na0" ] && [ "$(qs tunnels_from $ROGUE_IP)" = 0 ]; then
  pass "4: ... and it never reached the daemon (not_admitted still $na0, no tunnel from rogue)"
else
  fail "4: the daemon saw rogue: not_admitted $na0 -> $(qs drop not_admitted), tunnels from rogue $(qs tunnels_from $ROGUE_IP)"
fi

# charon killed -9 with both sessions up and srv sending to them (tests/vm/lns.sh: crash_charon_watching)
crash_charon_watching "$VM_OUT/wire-4"
plain=$(wire plain "$VM_OUT/wire-4") esp=$(wire esp "$VM_OUT/wire-4") out_drop=$(nft_count 'rt ipsec missing' output)
check "4: charon killed -9: restarted, link ready after $CRASH_READY_S s, the $CRASH_TUNNELS tunnels closed" nothing_up
if [ "$plain" = 0 ] && [ "${out_drop:-0}" -gt 0 ]; then
  pass "4: nothing left srv unencrypted meanwhile: 0 plaintext datagrams from udp/1701 on the wire ($esp ESP before the kill); nft's output rule dropped and counted $out_drop"
else
  fail "4: after charon's death: $plain plaintext datagram(s) from udp/1701 on the wire ($esp ESP); output drops ${out_drop:-?}"; table
fi

# ===================== 5. l2tpvpnd killed -9, restarted =====================
log "=== stage 5"
kill -KILL "$DAEMON_PID"
wait_exit 10 "$DAEMON_PID"
has_input_chain() { table | grep -q 'chain input'; }
check "5: the killed daemon's table is still there (nothing removed it)" has_input_chain
for n in $CLIENTS; do stop_xl2tpd $n; done
start_daemon
if wait_for 60 daemon_started && wait_for 90 link_ready; then
  pass "5: l2tpvpnd restarted, link ready"
else
  fail "5: l2tpvpnd did not come back"; tail -n 30 "$(daemon_log)"
fi
ntables=$(ip netns exec srv nft list tables | grep -c 'table ip l2tpvpn')
nchains=$(table | grep -c 'chain input')
check "5: the leftover table was replaced whole: $ntables table, $nchains input chain" [ "$ntables/$nchains" = 1/1 ]
check "5: its counters start again from 0 (drop counter $(nft_count 'dport 1701 .*counter.*drop'))" [ "$(nft_count 'dport 1701 .*counter.*drop')" = 0 ]
connect windows
if wait_for 120 q_is 1 up && wait_for 30 client_up windows; then
  pass "5: windows connects through the restarted daemon"
else
  fail "5: windows did not connect after the restart ($(q up) up)"
fi
check "5: windows: ping 10.99.0.1" quiet pingp windows 10.99.0.1 2

# ===================== 6. SIGTERM =====================
log "=== stage 6"
kill -TERM "$DAEMON_PID"
wait_exit 60 "$DAEMON_PID"
check "6: l2tpvpnd exited 0 after SIGTERM ($WAIT_RC)" [ "$WAIT_RC" = 0 ]
check "6: table ip l2tpvpn removed" no_table
check "6: ip_forward restored to $forward_before" [ "$(ip netns exec srv sysctl -n net.ipv4.ip_forward)" = "$forward_before" ]
check "6: no l2tp tunnel left (genetlink)" wait_for 10 sh -c "[ -z \"\$(ip -n srv l2tp show tunnel)\" ]"
check "6: no ppp interface on the server" wait_for 10 no_ppp_iface srv
check "6: no SA or policy left in the kernel" wait_for 10 no_xfrm

clients_stop $CLIENTS
save_logs
