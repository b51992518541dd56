# ipsec_profiles: our IKEv1 profile against each OS's proposal set, with real SAs in Debian's kernel (qemu guest).
#
# srv (192.0.2.1) runs tests/vm/ipsec_probe: the embedded charon (ipsec::EmbeddedCharon, our rendered
# strongswan.conf and plugin list) + vici::Client + CharonLink + SaRegistry, queried over a unix socket
# (`ipsec_probe query SOCK find IP PORT` prints SaRegistry::find() as JSON). The clients are IKEv1 main-mode PSK
# initiators in transport mode for udp/1701, each restricted to one OS's proposals, driven by swanctl. They run in
# a charon of their own (private strongswan.conf via STRONGSWAN_CONF, vici socket and pid file in the namespace's
# own /run): one charon in `cli` for the five directly connected clients, each a connection with its own local
# address (a charon start can cost 5-20 s in a slow guest), and one in `natc`:
#   win     192.0.2.11  Windows 10/11: AES-256/128-SHA1-MODP2048, ECP256, 3DES fallback; ESP AES-256/128-SHA1
#   winecp  192.0.2.12  Windows with only AES-128-SHA1-ECP256 / ESP AES-128-SHA1
#   mac     192.0.2.13  macOS/iOS: AES-256-SHA256-MODP2048 first; ESP AES-256/128-SHA1; ephemeral L2TP port
#   android 192.0.2.14  Android <= 11: MODP1024 only (AES/3DES, SHA1/SHA256); ESP AES-256-SHA512
#   tdes    192.0.2.15  legacy: 3DES-SHA1-MODP1024 / ESP 3DES-SHA1; rekeys its CHILD_SA
#   natc    10.1.0.2    Windows proposals behind `nat` (192.0.2.20), iptables-legacy MASQUERADE to ports 40000+
# Phase 1, default proposal set: win, winecp, mac connect; android and tdes are refused.
# Phase 2, the probe stopped (charon must go, with its SAs) and restarted with legacy on: android, tdes and the
# NATed client connect; the NATed client terminates and leaves the registry; tdes rekeys.
# Phase 3: charon killed with SIGKILL; the probe restarts it with back-off, reloads the profile; a client
# connects again.
# Per connection: swanctl --initiate succeeds; the child-updown event reached the registry (no list-sas in
# between) with the expected algorithms and NAT flags; the server kernel holds the transport SAs with the
# expected algorithms; a UDP datagram to port 1701 raises the inbound SA's packet counter, and the registry's
# counters after a refresh.

PROBE=$VM_BUILD/tests/vm/ipsec_probe
CHARON=/usr/lib/ipsec/charon
SRV_IP=192.0.2.1 NAT_IP=192.0.2.20
PSK=vm-test-psk-l2tp-1701
CTL=$(ns_dir srv)/probe.ctl
CLIENT_NS="cli natc"
ns_of() { case $1 in natc) echo natc ;; *) echo cli ;; esac; }

q() { "$PROBE" query "$CTL" "$@"; }
# jqt FILTER [FILE]: true if FILTER holds for the JSON read. Not `jq -e`: jq 1.6 exits 0 on empty input (a probe
# that is not there yet would pass every check).
jqt() { jq -en "input | ($1)" ${2:+"$2"} 2>/dev/null; }
link_ready() { q status | jqt '.link == "ready"'; }

# ---- client side: a charon per namespace, configured with swanctl. swanctl loads only pem: with PSKs it needs
# no crypto, and initialising openssl costs seconds per swanctl start in a slow guest.
client_conf() {
  _d=$(ns_dir "$1")
  cat >"$_d/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = nonce pem x509 openssl kernel-netlink socket-default vici
  install_routes = no
  install_virtual_ip = no
  retransmit_tries = 2
  retransmit_timeout = 2
  plugins { vici { socket = unix:///run/charon.vici } }
  filelog { stderr { default = 1
                     time_format = %T
                     time_add_ms = yes
                     ike_name = yes
                     flush_line = yes } }
}
swanctl { load = pem }
EOF
}
# conn NAME LOCAL_ADDR "IKE PROPOSALS" "ESP PROPOSALS" LOCAL_TS: one client connection (IKE and CHILD config both
# named NAME), for the connections section of a swanctl.conf.
conn() {
  cat <<EOF
  $1 {
    version = 1
    aggressive = no
    local_addrs = $2
    remote_addrs = $SRV_IP
    proposals = $3
    encap = no
    local { auth = psk }
    remote { auth = psk }
    children {
      $1 {
        mode = transport
        local_ts = $5
        remote_ts = dynamic[udp/1701]
        esp_proposals = $4
      }
    }
  }
EOF
}
start_client() {
  client_conf "$1"
  ns_spawn "$1" "$(ns_dir "$1")/log/charon.log" env STRONGSWAN_CONF="$(ns_dir "$1")/strongswan.conf" $CHARON
}
sw() {
  _swns=$1; shift
  ns_exec "$_swns" env STRONGSWAN_CONF="$(ns_dir "$_swns")/strongswan.conf" swanctl "$@" --uri unix:///run/charon.vici
}
client_vici_up() { [ -S "$(ns_dir "$1")/run/charon.vici" ]; }
# Per-connection files live in the connection's namespace's log dir.
clog() { echo "$(ns_dir "$(ns_of "$1")")/log/$2-$1"; }
initiate() { sw "$(ns_of "$1")" --initiate --child "$1" --ike "$1" --timeout 40 >"$(clog "$1" initiate.out)" 2>&1; }

# ---- server side
start_probe() {
  # shellcheck disable=SC2086
  ns_spawn srv "$(ns_dir srv)/log/probe.log" "$PROBE" serve --control "$CTL" --runtime-dir /run/l2tpvpn --psk "$PSK" $1
  PROBE_PID=$SPAWNED_PID
}

# sa_json IP PORT: the registry's answer to find(IP, PORT), into $SA_FILE.
SA_FILE=$(ns_dir srv)/sa.json
sa_matches() { q find "$1" "$2" >"$SA_FILE" && jqt "$3" "$SA_FILE"; }
sa_absent() { q find "$1" "$2" | jqt '. == null'; }
# xfrm_packets NS SRC DST: the packet counters of the kernel SAs SRC -> DST, summed (empty if there is none;
# several after a charon crash: the dead charon's SAs stay in the kernel).
xfrm_packets() {
  ip -n "$1" -s xfrm state list src "$2" dst "$3" |
    awk '/lifetime current:/ { getline; sub(/\(packets\)/, "", $2); n += $2; seen = 1 } END { if (seen) print n }'
}
packets_above() { _p=$(xfrm_packets "$1" "$2" "$3"); [ -n "$_p" ] && [ "$_p" -gt "$4" ]; }
no_xfrm_state() { [ -z "$(ip -n "$1" xfrm state list)" ]; }
no_xfrm_state_for() { [ -z "$(ip -n srv xfrm state list src "$1")" ] && [ -z "$(ip -n srv xfrm state list dst "$1")" ]; }

# Initiations run in the background, several at once (most of an IKE exchange is waiting in a slow guest): start_initiate
# NAME... starts swanctl --initiate for each; initiate_rc NAME waits for its exit status.
start_initiate() {
  for _n in "$@"; do
    rm -f "$(clog "$_n" initiate.rc)"
    ( initiate "$_n"; echo $? >"$(clog "$_n" initiate.rc)" ) &
  done
}
initiated() { [ -s "$(clog "$1" initiate.rc)" ]; }
initiate_rc() {
  wait_for 60 initiated "$1" || { echo timeout; return; }
  cat "$(clog "$1" initiate.rc)"
}

# connect_case NAME PEER_IP PORT JQ_FILTER KERNEL_ENC [SRC_IP]: the checks for one client whose initiation was
# started. PEER_IP is what the server sees (the NAT's address for natc), SRC_IP the client's own address (default
# PEER_IP), PORT its L2TP port. Its variables are _c*: dash has no local variables, and sw/ns_exec set _ns.
connect_case() {
  _cn=$1 _peer=$2 _port=$3 _filter=$4 _enc=$5 _src=${6:-$2}
  _rc=$(initiate_rc "$_cn")
  if [ "$_rc" = 0 ]; then
    pass "$_cn: IKE_SA and CHILD_SA established (swanctl --initiate)"
  else
    fail "$_cn: swanctl --initiate failed ($_rc)"; tail -n 20 "$(clog "$_cn" initiate.out)"; return 1
  fi
  # The registry learns about the SA from the child-updown event (no snapshot was asked for).
  _retry=
  if ! wait_for 20 sa_matches "$_peer" "$_port" "$_filter" &&
     grep -q "closing expired CHILD_SA $_cn{" "$(ns_dir "$(ns_of "$_cn")")/log/charon.log"; then
    # Seen once on a heavily loaded host: the guest stalled while the client charon installed its SAs, the
    # kernel expired the client's allocated SPI, and the client deleted its brand-new CHILD_SA (the server and
    # the registry followed correctly). That is the test client's trouble, not ours: one more initiation, said so.
    log "$_cn: the client charon expired its own CHILD_SA (stalled guest); initiating once more"
    _retry=" (second initiation: the client had expired its first CHILD_SA)"
    initiate "$_cn" || log "$_cn: second initiation failed too"
  fi
  if [ -n "$_retry" ] && ! wait_for 20 sa_matches "$_peer" "$_port" "$_filter"; then _retry=failed; fi
  if [ "$_retry" != failed ] && sa_matches "$_peer" "$_port" "$_filter" >/dev/null; then
    pass "$_cn: registry find($_peer, $_port)$_retry: $(jq -c '{ike, esp, nat, encap, remote_port, remote_ts}' "$SA_FILE")"
  else
    fail "$_cn: registry find($_peer, $_port) does not match $_filter: $(cat "$SA_FILE")"
  fi
  _st=$(ip -n srv xfrm state list src "$_peer" dst "$SRV_IP")
  _st_out=$(ip -n srv xfrm state list src "$SRV_IP" dst "$_peer")
  case $_st in
    *"mode transport"*"$_enc"*) case $_st_out in
        *"mode transport"*"$_enc"*) pass "$_cn: kernel: transport SAs both ways ($_enc)" ;;
        *) fail "$_cn: kernel: no outbound transport SA"; echo "$_st_out" ;; esac ;;
    *) fail "$_cn: kernel: no inbound transport SA with $_enc"; echo "$_st" ;;
  esac
  # L2TP-shaped traffic: one UDP datagram to port 1701 must arrive through ESP.
  _before=$(xfrm_packets srv "$_peer" "$SRV_IP")
  ip netns exec "$(ns_of "$_cn")" "$PROBE" udp --src "$_src" --sport "$_port" "$SRV_IP" 1701
  if wait_for 10 packets_above srv "$_peer" "$SRV_IP" "${_before:-0}"; then
    q refresh >/dev/null
    if wait_for 10 sa_matches "$_peer" "$_port" '.packets_in >= 1 and .bytes_in > 0'; then
      pass "$_cn: udp/$_port -> $SRV_IP:1701 went through ESP (kernel inbound packets ${_before:-0} -> $(xfrm_packets srv "$_peer" "$SRV_IP"), registry packets_in $(jq .packets_in "$SA_FILE") after refresh)"
    else
      fail "$_cn: kernel counted the packet but the registry's counters did not rise: $(cat "$SA_FILE")"
    fi
  else
    fail "$_cn: udp/1701 datagram not counted on the inbound SA"; ip -n srv -s xfrm state
  fi
}

# refused_case NS IP: the server's proposal set must not serve this client (its initiation was started).
refused_case() {
  _rc=$(initiate_rc "$1")
  if [ "$_rc" = 0 ]; then
    fail "$1: established although the server runs the default (non-legacy) set"
  elif grep -q 'received NO_PROPOSAL_CHOSEN' "$(clog "$1" initiate.out)"; then
    pass "$1: refused by the default proposal set (NO_PROPOSAL_CHOSEN) and absent from the registry: $(q find "$2" 1701)"
  else
    fail "$1: failed ($_rc), but not for want of a proposal"; tail -n 10 "$(clog "$1" initiate.out)"
  fi
  sa_absent "$2" 1701 >/dev/null || fail "$1: in the registry although refused"
}

# ---- topology
ns_add srv $SRV_IP/24 || fail "namespace srv"
ns_add cli 192.0.2.11/24 || fail "namespace cli"
for i in 12 13 14 15; do ip -n cli addr add 192.0.2.$i/24 dev eth0; done
ns_add nat $NAT_IP/24 || fail "namespace nat"
# natc sits behind nat on a private link; nat masquerades UDP to ports 40000-40999, so the server sees both a
# different address and different ports (IKE 500 and NAT-T 4500 are translated).
mkdir -p "$(ns_dir natc)/run" "$(ns_dir natc)/etc-ppp" "$(ns_dir natc)/log"
ip netns add natc
ip -n natc link set lo up
ip link add name eth0 netns natc type veth peer name lan0 netns nat
ip -n natc addr add 10.1.0.2/24 dev eth0 && ip -n natc link set eth0 up
ip -n nat addr add 10.1.0.1/24 dev lan0 && ip -n nat link set lan0 up
ip -n natc route add default via 10.1.0.1
ip netns exec nat sysctl -q -w net.ipv4.ip_forward=1
if ip netns exec nat iptables-legacy -t nat -A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 40000-40999; then
  pass "nat: MASQUERADE (iptables-legacy) 10.1.0.0/24 -> $NAT_IP, udp ports 40000-40999"
else
  fail "nat: iptables-legacy MASQUERADE"
fi

# The first SA with a given cipher/integrity pair makes the kernel instantiate its crypto templates
# (echainiv(authenc(hmac(sha1),cbc(aes))), ...), asking modprobe for each name it does not know yet: several
# process starts, which take seconds in a loaded guest, while the installing charon waits and its allocated
# SPI may expire (seen: the client then deleted its new CHILD_SA). Do that once up front with a throw-away state
# per pair used here, in the root namespace (the crypto API is global).
K20=0x0102030405060708090a0b0c0d0e0f1011121314 K24=0x0102030405060708090a0b0c0d0e0f101112131415161718
K32=0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
K64=${K32}0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
# In the background, while the charons start (they need as long); phase 1 waits for it.
WARM_DONE=$(ns_dir srv)/crypto-warm.done
(
  t0=$(now_cs) spi=256
  for pair in "hmac(sha1) $K20 96 cbc(aes) $K32" "hmac(sha256) $K32 128 cbc(aes) $K32" \
              "hmac(sha512) $K64 256 cbc(aes) $K32" "hmac(sha1) $K20 96 cbc(des3_ede) $K24"; do
    set -- $pair
    spi=$((spi + 1))
    ip xfrm state add src 198.51.100.1 dst 198.51.100.2 proto esp spi $spi mode transport \
      auth-trunc "$1" "$2" "$3" enc "$4" "$5" || fail "warming up the kernel's $1 + $4"
  done
  ip xfrm state flush
  log "kernel crypto instances for the SAs ready in $(( ($(now_cs) - t0) * 10 )) ms"
  : >"$WARM_DONE"
) &

# ---- phase 1: default proposal set
t0=$(now_cs)
start_probe ""
for n in $CLIENT_NS; do start_client $n; done
if wait_for 90 link_ready; then
  pass "embedded charon up and profile loaded $(( ($(now_cs) - t0) * 10 )) ms after start: $(q status | jq -c '{link, syncs, load_failures, charon_starts}')"
else
  fail "embedded charon/link not ready within 90 s: $(q status)"; DUMP_LINES=40 dump srv
fi
if grep -q 'loaded plugins: charon nonce pem x509 constraints openssl kernel-netlink socket-default vici$' "$(ns_dir srv)/log/probe.log"; then
  pass "embedded charon loaded exactly our plugin list"
else
  fail "embedded charon plugin list"; grep 'loaded plugins' "$(ns_dir srv)/log/probe.log"
fi
check "srv: charon's pid file in the namespace's own /run" test -s "$(ns_dir srv)/run/charon.pid"
check "srv: no policy-routing rule added (routing_table = 0)" sh -c "! ip -n srv rule | grep -q 220"
for n in $CLIENT_NS; do wait_for 60 client_vici_up $n || fail "$n: client charon not up within 60 s"; done

{
  echo "connections {"
  conn win 192.0.2.11 "aes256-sha1-modp2048, aes128-sha1-modp2048, aes128-sha1-ecp256, 3des-sha1-modp1024" \
    "aes256-sha1, aes128-sha1, 3des-sha1" "dynamic[udp/1701]"
  conn winecp 192.0.2.12 "aes128-sha1-ecp256" "aes128-sha1" "dynamic[udp/1701]"
  conn mac 192.0.2.13 "aes256-sha256-modp2048, aes256-sha1-modp2048, aes128-sha1-modp2048, 3des-sha1-modp1024" \
    "aes256-sha1, aes128-sha1" "dynamic[udp]"
  conn android 192.0.2.14 "aes256-sha256-modp1024, aes256-sha1-modp1024, aes128-sha1-modp1024, 3des-sha1-modp1024" \
    "aes256-sha512" "dynamic[udp/1701]"
  conn tdes 192.0.2.15 "3des-sha1-modp1024" "3des-sha1" "dynamic[udp/1701]"
  echo "}"
  echo "secrets { ike-l2tp { secret = \"$PSK\" } }"
} >"$(ns_dir cli)/swanctl.conf"
{
  echo "connections {"
  conn natc %any "aes256-sha1-modp2048, aes128-sha1-modp2048, aes128-sha1-ecp256" "aes256-sha1, aes128-sha1" \
    "dynamic[udp/1701]"
  echo "}"
  echo "secrets { ike-l2tp { secret = \"$PSK\" } }"
} >"$(ns_dir natc)/swanctl.conf"
for n in $CLIENT_NS; do
  if ! sw $n --load-all --noprompt --file "$(ns_dir $n)/swanctl.conf" >"$(ns_dir $n)/log/load.out" 2>&1; then
    fail "$n: swanctl --load-all"; cat "$(ns_dir $n)/log/load.out"
  fi
done

wait_for 60 test -e "$WARM_DONE" || fail "kernel crypto warm-up did not finish within 60 s"
t0=$(now_cs)
start_initiate win winecp mac android tdes
# Windows: the server prefers aes256-sha1-modp2048 among what the client offers.
connect_case win 192.0.2.11 1701 '.ike.encr == "AES_CBC-256" and .ike.integ == "HMAC_SHA1_96" and
  .ike.prf == "PRF_HMAC_SHA1" and .ike.dh == "MODP_2048" and .esp.encr == "AES_CBC-256" and
  .esp.integ == "HMAC_SHA1_96" and .nat == false and .encap == false and .remote_port == 500' "enc cbc(aes)"
connect_case winecp 192.0.2.12 1701 '.ike.encr == "AES_CBC-128" and .ike.dh == "ECP_256" and
  .esp.encr == "AES_CBC-128" and .esp.integ == "HMAC_SHA1_96" and .nat == false' "enc cbc(aes)"
# macOS/iOS: SHA-256 for IKE; L2TP from an ephemeral port, covered by the remote selector [udp].
connect_case mac 192.0.2.13 50123 '.ike.encr == "AES_CBC-256" and .ike.integ == "HMAC_SHA2_256_128" and
  .ike.dh == "MODP_2048" and .esp.encr == "AES_CBC-256" and .esp.integ == "HMAC_SHA1_96" and .nat == false' \
  "enc cbc(aes)"
refused_case android 192.0.2.14
refused_case tdes 192.0.2.15
log "phase 1: five clients initiated and checked in $(( ($(now_cs) - t0) * 10 )) ms"
if sa_absent 192.0.2.99 1701 >/dev/null; then pass "registry: no SA for a host that has none"; else fail "registry: phantom SA"; fi
registry_clean() { q status | jqt '.registry.malformed == 0 and .registry.events > 0'; }
check "phase 1: every SA event was understood (registry: $(q status | jq -c .registry))" registry_clean
log "phase 1 registry: $(q sas | jq -c '[.sas[] | {remote, child_id, esp: .esp.encr}]')"

# ---- phase 2: stop (the daemon's shutdown path), legacy on
kill -TERM "$PROBE_PID"
wait_exit 30 "$PROBE_PID"
if [ "$WAIT_RC" = 0 ] && grep -q ' probe: charon: stopped, exit 0$' "$(ns_dir srv)/log/probe.log"; then
  pass "probe stopped on SIGTERM; EmbeddedCharon::stop: charon exited 0"
else
  fail "probe/charon stop (probe exit $WAIT_RC)"; tail -n 5 "$(ns_dir srv)/log/probe.log"
fi
check "srv: no process left in the namespace" test -z "$(ip netns pids srv)"
check "srv: charon removed its SAs from the kernel on shutdown" wait_for 10 no_xfrm_state srv
check "srv: no pid file left" test ! -e "$(ns_dir srv)/run/charon.pid"
check "srv: no vici socket left" test ! -e "$(ns_dir srv)/run/l2tpvpn/charon.vici"

mv "$(ns_dir srv)/log/probe.log" "$(ns_dir srv)/log/probe-phase1.log"
t0=$(now_cs)
start_probe --legacy
if wait_for 90 link_ready; then
  pass "restarted with legacy on, ready after $(( ($(now_cs) - t0) * 10 )) ms"
else
  fail "legacy probe not ready: $(q status)"
fi
t0=$(now_cs)
start_initiate android tdes natc
# Android <= 11: MODP1024 only; the server's first legacy proposal it offers is aes256-sha256-modp1024; ESP
# with HMAC-SHA2-512 (the kernel needs sha512_generic).
connect_case android 192.0.2.14 1701 '.ike.encr == "AES_CBC-256" and .ike.integ == "HMAC_SHA2_256_128" and
  .ike.dh == "MODP_1024" and .esp.encr == "AES_CBC-256" and .esp.integ == "HMAC_SHA2_512_256"' "enc cbc(aes)"
connect_case tdes 192.0.2.15 1701 '.ike.encr == "3DES_CBC" and .ike.integ == "HMAC_SHA1_96" and
  .ike.dh == "MODP_1024" and .esp.encr == "3DES_CBC" and .esp.integ == "HMAC_SHA1_96"' "enc cbc(des3_ede)"
tdes_child=$(jq .child_id "$SA_FILE")

# NAT-T: the server sees the NAT's address with a translated NAT-T port, ESP in UDP.
connect_case natc $NAT_IP 1701 '.nat == true and .encap == true and .remote_port >= 40000 and
  .remote_port <= 40999 and .ike.encr == "AES_CBC-256" and .esp.encr == "AES_CBC-256"' "encap type espinudp" 10.1.0.2
log "phase 2: three clients initiated and checked in $(( ($(now_cs) - t0) * 10 )) ms"
nat_port=$(jq .remote_port "$SA_FILE")
if ip -n srv xfrm state list src $NAT_IP dst $SRV_IP | grep -q "encap type espinudp sport $nat_port dport 4500"; then
  pass "natc: registry remote_port $nat_port is the NAT's mapping of the client's NAT-T port (kernel encap sport)"
else
  fail "natc: registry port $nat_port not the kernel's encap port"; ip -n srv xfrm state list src $NAT_IP
fi
if sw natc --terminate --ike natc --timeout 20 >"$(clog natc terminate.out)" 2>&1; then
  pass "natc: swanctl --terminate --ike"
else
  fail "natc: swanctl --terminate"; tail -n 5 "$(clog natc terminate.out)"
fi
check "natc: removed from the registry after the client deleted its SA" wait_for 20 sa_absent $NAT_IP 1701
check "natc: the server's kernel SAs for $NAT_IP are gone" wait_for 10 no_xfrm_state_for $NAT_IP
sa_matches 192.0.2.14 1701 '.esp.integ == "HMAC_SHA2_512_256"' >/dev/null ||
  fail "android: lost from the registry when natc left"

# Rekeying: tdes's client rekeys its CHILD_SA (a Quick Mode from the client, as clients do when their lifetime
# runs out; asked for with swanctl --rekey so that it cannot race the checks above). The registry must follow: the
# new CHILD_SA found, the old one gone (one entry for the peer), traffic counted on the new one; and the server
# never starts a Quick Mode itself.
one_tdes_entry() { q sas | jqt '[.sas[] | select(.remote == "192.0.2.15")] | length == 1'; }
tdes_rekeyed() { sa_matches 192.0.2.15 1701 ".child_id != ${tdes_child:-0}" && one_tdes_entry; }
sw cli --rekey --child tdes >"$(clog tdes rekey.out)" 2>&1 || fail "tdes: swanctl --rekey"
if [ -n "$tdes_child" ] && wait_for 30 tdes_rekeyed; then
  pass "tdes: CHILD_SA rekeyed by the client; registry follows (child $tdes_child -> $(jq .child_id "$SA_FILE"), one entry for the peer)"
  new_child=$(jq .child_id "$SA_FILE")
  ip netns exec cli "$PROBE" udp --src 192.0.2.15 "$SRV_IP" 1701
  tdes_counted() { q refresh >/dev/null; sa_matches 192.0.2.15 1701 ".child_id == $new_child and .packets_in >= 1"; }
  check "tdes: a datagram after the rekey is counted on the new CHILD_SA" wait_for 20 tdes_counted
else
  fail "tdes: registry after the client's rekey: $(q sas | jq -c '[.sas[] | select(.remote == "192.0.2.15") | {child_id, child_name}]')"
fi
if grep -q 'generating QUICK_MODE request' "$(ns_dir srv)/log/probe.log"; then
  fail "srv: the server initiated a Quick Mode (it must leave rekeying to the clients)"
else
  pass "srv: never initiated a Quick Mode (rekeying left to the clients)"
fi

check "phase 2: every SA event was understood (registry: $(q status | jq -c .registry))" registry_clean

# ---- phase 3: charon crashes; the probe (as the daemon will) restarts it with back-off and reloads the profile
old_pid=$(q status | jq .charon_pid)
kill -KILL "$old_pid"
restarted() { q status | jqt ".link == \"ready\" and .charon_starts == 2 and .charon_pid != $old_pid"; }
if wait_for 60 restarted; then
  pass "charon SIGKILLed: restarted with back-off, profile reloaded: $(q status | jq -c '{charon_last_exit, charon_starts, syncs, sas}')"
else
  fail "charon not restarted: $(q status)"
fi
# The new charon knows no SA (the old one took them to its grave), so the registry is empty.
registry_empty() { q sas | jqt '.sas | length == 0'; }
check "after the restart the registry is empty" registry_empty
# The kernel still holds the dead charon's SAs for win; the client re-establishes (new SPIs).
sw cli --terminate --ike win --timeout 10 >/dev/null 2>&1
start_initiate win
connect_case win 192.0.2.11 1701 '.ike.encr == "AES_CBC-256" and .esp.encr == "AES_CBC-256" and .nat == false' \
  "enc cbc(aes)"

# ---- clean up
kill -TERM "$PROBE_PID"
wait_exit 30 "$PROBE_PID"
for n in $CLIENT_NS; do ip netns pids $n | xargs -r kill -TERM 2>/dev/null; done
# Every namespace's logs (charons, swanctl output) next to the scenario log, for reading on the host.
for n in srv $CLIENT_NS; do
  mkdir -p "$VM_OUT/ipsec_profiles/$n" && cp "$(ns_dir $n)"/log/* "$VM_OUT/ipsec_profiles/$n/" 2>/dev/null
done
