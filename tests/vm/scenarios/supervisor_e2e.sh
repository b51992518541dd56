# supervisor_e2e: issue 5's acceptance test. l2tpvpnd as a whole (embedded charon driven over VICI, RFC 3193
# admission, pppd per session, firewall) against four emulated OS clients, each with real IKEv1 + ESP (its own
# strongSwan charon, configured by swanctl) and real L2TP + PPP (xl2tpd + pppd, MS-CHAPv2).
#
#   srv      192.0.2.1 on the internet bridge; far0 198.51.100.1 towards `far` (198.51.100.2, a host behind the
#            server: the pool is masqueraded out of far0). l2tpvpnd: ipsec required, charon embedded, legacy on
#            (Android's MODP1024), PSK file, firewall managed with iptables-legacy (wan_interface = far0).
#   windows  192.0.2.11  IKE aes256-sha1-modp2048 / aes128-sha1-ecp256, ESP aes256-sha1 / aes128-sha1, L2TP 1701
#   macos    192.0.2.13  IKE aes256-sha256-modp2048, ESP aes256-sha1, L2TP from port 50123
#   ios      10.1.0.2    behind `nat` (192.0.2.20, iptables-legacy MASQUERADE to ports 40000-40999): NAT-T;
#                        IKE aes256-sha256-modp2048 / aes256-sha1-modp2048, ESP aes256-sha1, L2TP from 51234
#   android  192.0.2.14  IKE aes256-sha1-modp1024 / 3des-sha1-modp1024, ESP aes256-sha1 / 3des-sha1, L2TP 1701
#   rogue    192.0.2.66  no IPsec at all: tests/interop/l2tp_probe sends a plaintext SCCRQ
#
#   1. all four up at once; pings to 10.99.0.1 and (masqueraded) to far; /status: users, pool addresses, the
#      session's ipsec object (NAT for ios with the NAT-mapped port), valid against docs/status.schema.json
#   2. transport SAs in the kernel, L2TP inside ESP (firewall counters), a plaintext SCCRQ gets nothing: the
#      firewall drops it, and with the firewall bypassed the daemon's admission drops it (not_admitted)
#   3. l2tpvpnctl disconnect --user: android's session ends, the others stay
#   4. macos deletes its IKE_SA -> the server closes its tunnel
#   5. charon killed -9 -> restarted; tunnels without SA closed; nothing stale
#   6. l2tpvpnd killed -9 and restarted -> stale pppd/charon cleaned up; every client connects again
#   7. SIGTERM -> exit 0; firewall rules, charon, ppp interfaces, kernel tunnels gone
#
# E2E_STAGES (boot.sh --env E2E_STAGES=12): run only the listed stages (debugging; each stage expects the state
# the earlier ones leave); default all.

want() { case ${E2E_STAGES:-1234567} in *$1*) return 0 ;; esac; return 1; }

D=$VM_BUILD/l2tpvpnd
CTL=$VM_BUILD/l2tpvpnctl
PLUGIN=$VM_BUILD/l2tpvpn.so
PROBE=$VM_BUILD/tests/interop/l2tp_probe
Q=$VM_ROOT/tests/vm/status_query.py
SCHEMA=$VM_ROOT/docs/status.schema.json
CHARON=/usr/lib/ipsec/charon
SRV_IP=192.0.2.1 NAT_IP=192.0.2.20 ROGUE_IP=192.0.2.66 FAR_IP=198.51.100.2 SRV_FAR_IP=198.51.100.1
PSK=e2e-psk-l2tp-over-ipsec-1701
CLIENTS="windows macos ios android"
SD=$(ns_dir srv)
CONF=$SD/etc/l2tpvpnd.conf

# ---- per-client facts
client_ip() { case $1 in windows) echo 192.0.2.11 ;; macos) echo 192.0.2.13 ;; ios) echo 10.1.0.2 ;; android) echo 192.0.2.14 ;; esac; }
# the address the server sees
peer_ip() { case $1 in ios) echo $NAT_IP ;; *) client_ip "$1" ;; esac; }
l2tp_port() { case $1 in macos) echo 50123 ;; ios) echo 51234 ;; *) echo 1701 ;; esac; }
user_of() { echo "u-$1"; }
ike_of() {
  case $1 in
    windows) echo "aes256-sha1-modp2048, aes128-sha1-ecp256" ;;
    macos) echo "aes256-sha256-modp2048" ;;
    ios) echo "aes256-sha256-modp2048, aes256-sha1-modp2048" ;;
    android) echo "aes256-sha1-modp1024, 3des-sha1-modp1024" ;;
  esac
}
esp_of() {
  case $1 in
    windows) echo "aes256-sha1, aes128-sha1" ;;
    android) echo "aes256-sha1, 3des-sha1" ;;
    *) echo "aes256-sha1" ;;
  esac
}
# what the server must pick (a substring of the session's ipsec.ike_proposal)
ike_expect() {
  case $1 in
    windows) echo "AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048" ;;
    macos | ios) echo "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" ;;
    android) echo "AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024" ;;
  esac
}

# ---- helpers
# (no `-T`: busybox-static 1.35's wget segfaults with it)
status() { ip netns exec srv busybox wget -q -O- http://127.0.0.1:8171/status 2>/dev/null; }
# snap: one /status into $SNAP (each wget + python start costs a lot in a TCG guest); qs queries the snapshot.
SNAP=$SD/status.json
snap() { status >"$SNAP.new" && [ -s "$SNAP.new" ] && mv "$SNAP.new" "$SNAP"; }
qs() { python3 "$Q" "$@" <"$SNAP" 2>/dev/null; }
q() { status | python3 "$Q" "$@" 2>/dev/null; }
q_is() { _want=$1; shift; [ "$(q "$@")" = "$_want" ]; }
srv_ppp_count() { ip -n srv -o link show 2>/dev/null | grep -c ': ppp-l2tp'; }
srv_ppp_is() { [ "$(srv_ppp_count)" = "$1" ]; }
kernel_sessions() { ip netns exec srv grep -cE "SESSION 'sess [0-9]+/[1-9][0-9]*'" /proc/net/pppol2tp; }
# SPD entries other than per-socket policies (a running charon's IKE sockets carry bypass policies: "socket in")
xfrm_policies() {
  ip -n srv xfrm policy list | awk '/^src/ { if (rec && !sock) n++; rec = 1; sock = 0 } /socket (in|out)/ { sock = 1 }
                                      END { if (rec && !sock) n++; print n + 0 }'
}
no_xfrm() { [ -z "$(ip -n srv xfrm state list)" ] && [ "$(xfrm_policies)" = 0 ]; }
# fw_count CHAIN PATTERN: packet counter of the first rule of CHAIN (table filter) whose text matches PATTERN
fw_count() {
  ip netns exec srv iptables-legacy -t "${3:-filter}" -L "$1" -n -v -x 2>/dev/null | awk -v pat="$2" '$0 ~ pat { print $1; exit }'
}
daemon_log() { echo "$SD/log/l2tpvpnd-$DAEMON_RUN.log"; }
DAEMON_RUN=0
start_daemon() {
  DAEMON_RUN=$((DAEMON_RUN + 1))
  ns_spawn srv "$(daemon_log)" "$D" -c "$CONF"
  DAEMON_PID=$SPAWNED_PID
}
daemon_started() { grep -q event=started "$(daemon_log)"; }
link_ready() { q_is ready path ipsec.link; }
save_logs() {
  for n in srv far rogue nat $CLIENTS; do
    [ -d "$(ns_dir $n)/log" ] || continue
    mkdir -p "$VM_OUT/supervisor_e2e-logs/$n" && cp -r "$(ns_dir $n)"/log/. "$VM_OUT/supervisor_e2e-logs/$n/" 2>/dev/null
  done
  cp "$CONF" "$SNAP" "$VM_OUT/supervisor_e2e-logs/srv/" 2>/dev/null
  ip -n srv -s xfrm state >"$VM_OUT/supervisor_e2e-logs/srv/xfrm-state.final" 2>&1
  ip -n srv xfrm policy >"$VM_OUT/supervisor_e2e-logs/srv/xfrm-policy.final" 2>&1
}

# ---- client side: charon + swanctl (the technique of ipsec_profiles), xl2tpd + pppd (that of ppp_sessions)
client_files() {
  _n=$1 _d=$(ns_dir "$1")
  mkdir -p "$_d/etc"
  cat >"$_d/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = nonce pem x509 openssl kernel-netlink socket-default vici
  install_routes = no
  install_virtual_ip = no
  retransmit_tries = 3
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
  _lts="dynamic[udp/1701]"
  [ "$(l2tp_port "$_n")" = 1701 ] || _lts="dynamic[udp]"
  cat >"$_d/swanctl.conf" <<EOF
connections {
  l2tp {
    version = 1
    aggressive = no
    remote_addrs = $SRV_IP
    proposals = $(ike_of "$_n")
    encap = no
    local { auth = psk }
    remote { auth = psk }
    children {
      l2tp {
        mode = transport
        local_ts = $_lts
        remote_ts = dynamic[udp/1701]
        esp_proposals = $(esp_of "$_n")
      }
    }
  }
}
secrets { ike-l2tp { secret = "$PSK" } }
EOF
  cat >"$_d/etc/ppp.options" <<EOF
name $(user_of "$_n")
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
logfile $_d/log/pppd.log
EOF
  chap_secret "$_n" "$(user_of "$_n")" '*' "pw-$_n-secret"
  cat >"$_d/etc/xl2tpd.conf" <<EOF
[global]
port = $(l2tp_port "$_n")
access control = no
[lac vpn]
lns = $SRV_IP
pppoptfile = $_d/etc/ppp.options
length bit = yes
redial = no
autodial = yes
EOF
}
start_client_charon() {
  ns_spawn "$1" "$(ns_dir "$1")/log/charon.log" env STRONGSWAN_CONF="$(ns_dir "$1")/strongswan.conf" $CHARON
}
sw() {
  _ns=$1; shift
  ns_exec "$_ns" env STRONGSWAN_CONF="$(ns_dir "$_ns")/strongswan.conf" swanctl "$@" --uri unix:///run/charon.vici
}
client_vici_up() { [ -S "$(ns_dir "$1")/run/charon.vici" ]; }
# bg_sw NS TAG ARGS...: swanctl in the background; its exit status lands in log/TAG.rc, its output in log/TAG.out
bg_sw() {
  _n=$1 _t=$2; shift 2
  rm -f "$(ns_dir "$_n")/log/$_t.rc"
  ( sw "$_n" "$@" >"$(ns_dir "$_n")/log/$_t.out" 2>&1; echo $? >"$(ns_dir "$_n")/log/$_t.rc" ) &
}
bg_done() { [ -s "$(ns_dir "$1")/log/$2.rc" ]; }
bg_rc() { wait_for "$3" bg_done "$1" "$2" || { echo timeout; return; }; cat "$(ns_dir "$1")/log/$2.rc"; }
# start_ipsec NS...: (client side) a stale IKE_SA is terminated, then the connection initiated; in the background
start_ipsec() {
  for _n in "$@"; do
    rm -f "$(ns_dir "$_n")/log/initiate.rc"
    ( sw "$_n" --terminate --ike l2tp --timeout 10 >/dev/null 2>&1
      sw "$_n" --initiate --child l2tp --ike l2tp --timeout 60 >"$(ns_dir "$_n")/log/initiate.out" 2>&1
      echo $? >"$(ns_dir "$_n")/log/initiate.rc" ) &
  done
}
start_xl2tpd() {
  _d=$(ns_dir "$1")
  ns_spawn "$1" "$_d/log/xl2tpd-$(now_cs).log" xl2tpd -D -c "$_d/etc/xl2tpd.conf" -p "$_d/run/xl2tpd.pid" -C "$_d/run/xl2tpd.control"
  eval "XL2TPD_$1=\$SPAWNED_PID"
}
stop_xl2tpd() {
  eval "_p=\${XL2TPD_$1:-}"
  [ -n "$_p" ] || return 0
  kill -TERM "$_p" 2>/dev/null
  wait_exit 20 "$_p"
  eval "XL2TPD_$1="
  wait_for 10 no_ppp_iface "$1"
}
# connect NS...: IPsec first (as the OS clients do), then L2TP; fails the client whose IKE/IPsec fails
connect() {
  start_ipsec "$@"
  for _n in "$@"; do
    _rc=$(bg_rc "$_n" initiate 90)
    if [ "$_rc" = 0 ]; then
      start_xl2tpd "$_n"
    else
      fail "$_n: IKE/IPsec not established (swanctl --initiate: $_rc)"; tail -n 15 "$(ns_dir "$_n")/log/initiate.out"
    fi
  done
}
client_up() { has_addr "$1" ppp0; }
all_up() { for _n in "$@"; do client_up "$_n" || return 1; done; }

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
# far: a host on the server's other side; no route back to the pool (only masqueraded traffic can be answered)
mkdir -p "$(ns_dir far)/log"
ip netns add far && ip -n far link set lo up
ip link add name far0 netns srv type veth peer name eth0 netns far
ip -n srv addr add $SRV_FAR_IP/24 dev far0 && ip -n srv link set far0 up
ip -n far addr add $FAR_IP/24 dev eth0 && ip -n far link set eth0 up

# server files: four users, PSK, configuration
mkdir -p "$SD/etc"
: >"$SD/etc/users"
for n in $CLIENTS; do echo "$(user_of $n) password=pw-$n-secret" >>"$SD/etc/users"; done
chmod 600 "$SD/etc/users"
echo "$PSK" >"$SD/etc/ipsec.secret"; chmod 600 "$SD/etc/ipsec.secret"
cat >"$CONF" <<EOF
[log]
level = debug
[l2tp]
listen = $SRV_IP
[status]
listen = 127.0.0.1
port = 8171
[control]
socket = $SD/run/control.sock
[server]
runtime_dir = /run/l2tpvpn
[users]
file = $SD/etc/users
[ppp]
plugin = $PLUGIN
stop_timeout_ms = 3000
lcp_echo_interval = 10
[pool]
range = 10.99.0.10-10.99.0.50
server_address = 10.99.0.1
[ipsec]
required = yes
charon = embedded
psk_file = $SD/etc/ipsec.secret
legacy = yes
[firewall]
manage = yes
backend = iptables-legacy
wan_interface = far0
EOF
check "l2tpvpnd --check-config accepts the configuration" quiet "$D" --check-config -c "$CONF"
for n in $CLIENTS; do client_files $n; done

# ===================== start =====================
t0=$(now_cs)
start_daemon
for n in $CLIENTS; do start_client_charon $n; done
if wait_for 60 daemon_started && wait_for 90 link_ready; then
  pass "l2tpvpnd started, embedded charon up and profile loaded after $(( ($(now_cs) - t0) / 100 )) s (charon pid $(q path ipsec.charon_pid))"
else
  fail "l2tpvpnd/charon not ready: link $(q path ipsec.link)"; DUMP_LINES=80 dump srv
fi
check "firewall installed: L2TPVPN chains in filter, nat and mangle (iptables-legacy)" \
  sh -c "ip netns exec srv iptables-legacy-save | grep -q '^-A INPUT -j L2TPVPN-INPUT' &&
         ip netns exec srv iptables-legacy-save -t nat | grep -q '^-A L2TPVPN-POSTROUTING .*-o far0 -j MASQUERADE' &&
         ip netns exec srv iptables-legacy-save -t mangle | grep -q '^:L2TPVPN-MSS'"
for n in $CLIENTS; do wait_for 60 client_vici_up $n || fail "$n: client charon not up within 60 s"; done
for n in $CLIENTS; do bg_sw $n load --load-all --noprompt --file "$(ns_dir $n)/swanctl.conf"; done
for n in $CLIENTS; do
  [ "$(bg_rc $n load 60)" = 0 ] || { fail "$n: swanctl --load-all"; cat "$(ns_dir $n)/log/load.out"; }
done

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
if [ "${ipsec_in:-0}" -gt 0 ] && [ "$dropped" = 0 ]; then
  pass "2: L2TP runs inside ESP: $ipsec_in udp/1701 packets accepted by the IPsec policy rule, 0 dropped"
else
  fail "2: firewall counters: ipsec-accepted ${ipsec_in:-?}, dropped ${dropped:-?}"
  ip netns exec srv iptables-legacy -L L2TPVPN-INPUT -n -v -x
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
old_pid=$(q path ipsec.charon_pid)
tunnels_before=$(q tunnels)
kill -KILL "$old_pid"
new_charon() { _p=$(q path ipsec.charon_pid); [ -n "$_p" ] && [ "$_p" != None ] && [ "$_p" != "$old_pid" ] && link_ready; }
t0=$(now_cs)
if wait_for 60 new_charon; then
  pass "5: charon (pid $old_pid) killed -9: restarted as pid $(q path ipsec.charon_pid), link ready after $(( ($(now_cs) - t0) / 100 )) s"
else
  fail "5: charon not restarted: $(q path ipsec)"; grep -E 'charon_(exited|started|restart)' "$(daemon_log)"
fi
nothing_up() { q_is 0 tunnels && q_is 0 sessions && no_ppp_iface srv && pppol2tp_clean srv; }
check "5: the $tunnels_before tunnel(s) whose SAs vanished with charon were closed: no tunnel, session, ppp interface or kernel tunnel left" wait_for 40 nothing_up
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
for n in $CLIENTS; do stop_xl2tpd $n; done
for n in $CLIENTS; do ip netns pids $n | xargs -r kill -TERM 2>/dev/null; done
save_logs
