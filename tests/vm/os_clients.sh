# Emulated built-in L2TP/IPsec clients for the VM scenarios (POSIX sh; a scenario sources it after lib.sh).
#
# Each client is a network namespace named after the OS it stands for, with real IKEv1 + ESP (its own strongSwan
# charon, configured by swanctl with the proposals that OS sends) and real L2TP + PPP (xl2tpd + pppd,
# MS-CHAPv2), as the OS's own client would do them:
#   windows  192.0.2.11  IKE aes256-sha1-modp2048 / aes128-sha1-ecp256, ESP aes256-sha1 / aes128-sha1, L2TP 1701
#   macos    192.0.2.13  IKE aes256-sha256-modp2048, ESP aes256-sha1, L2TP from port 50123
#   ios      10.1.0.2    IKE aes256-sha256-modp2048 / aes256-sha1-modp2048, ESP aes256-sha1, L2TP from 51234
#                        (the scenario puts it behind a NAT at $NAT_IP)
#   android  192.0.2.14  IKE aes256-sha1-modp1024 / 3des-sha1-modp1024, ESP aes256-sha1 / 3des-sha1, L2TP 1701
#   wN       10.1.0.1N   Windows-like (Windows' proposals, L2TP from 1701) behind the NAT ($NAT_IP): nat_client_add
#   aN       10.1.0.2N   Apple-like (iOS's proposals, L2TP from port 5123N) behind the NAT: nat_client_add
# The scenario sets SRV_IP (the server), PSK and, with ios or NAT clients, NAT_IP. User u-<name>, password
# pw-<name>-secret.

CHARON=/usr/lib/ipsec/charon

# ---- per-client facts
# lns_of NAME: the server the client connects to (IKE and L2TP): $SRV_IP, unless a scenario with several servers
# redefines it
lns_of() { echo "$SRV_IP"; }
client_ip() {
  case $1 in
    windows) echo 192.0.2.11 ;; macos) echo 192.0.2.13 ;; ios) echo 10.1.0.2 ;; android) echo 192.0.2.14 ;;
    w[1-9]) echo "10.1.0.1${1#w}" ;; a[1-9]) echo "10.1.0.2${1#a}" ;;
  esac
}
# the OS a client stands for
os_of() { case $1 in w[1-9]) echo windows ;; a[1-9]) echo ios ;; *) echo "$1" ;; esac; }
# the address the server sees
peer_ip() { case $1 in ios | w[1-9] | a[1-9]) echo "$NAT_IP" ;; *) client_ip "$1" ;; esac; }
l2tp_port() { case $1 in macos) echo 50123 ;; ios) echo 51234 ;; a[1-9]) echo "5123${1#a}" ;; *) echo 1701 ;; esac; }
user_of() { echo "u-$1"; }
password_of() { echo "pw-$1-secret"; }
ike_of() {
  case $(os_of "$1") in
    windows) echo "aes256-sha1-modp2048, aes128-sha1-ecp256" ;;
    macos) echo "aes256-sha256-modp2048" ;;
    ios) echo "aes256-sha256-modp2048, aes256-sha1-modp2048" ;;
    android) echo "aes256-sha1-modp1024, 3des-sha1-modp1024" ;;
  esac
}
esp_of() {
  case $(os_of "$1") in
    windows) echo "aes256-sha1, aes128-sha1" ;;
    android) echo "aes256-sha1, 3des-sha1" ;;
    *) echo "aes256-sha1" ;;
  esac
}
# what the server must pick (a substring of the session's ipsec.ike_proposal)
ike_expect() {
  case $(os_of "$1") in
    windows) echo "AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048" ;;
    macos | ios) echo "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" ;;
    android) echo "AES_CBC-256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024" ;;
  esac
}

# client_files NAME: the client's strongswan.conf, swanctl.conf, pppd options, chap secret and xl2tpd.conf.
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
  # UDP by number: a minimal root (the deb_systemd guest) has no /etc/protocols for charon to resolve "udp"
  _lts="dynamic[17/1701]"
  [ "$(l2tp_port "$_n")" = 1701 ] || _lts="dynamic[17]"
  cat >"$_d/swanctl.conf" <<EOF
connections {
  l2tp {
    version = 1
    aggressive = no
    remote_addrs = $(lns_of "$_n")
    proposals = $(ike_of "$_n")
    encap = no
    local { auth = psk }
    remote { auth = psk }
    children {
      l2tp {
        mode = transport
        local_ts = $_lts
        remote_ts = dynamic[17/1701]
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
  chap_secret "$_n" "$(user_of "$_n")" '*' "$(password_of "$_n")"
  cat >"$_d/etc/xl2tpd.conf" <<EOF
[global]
port = $(l2tp_port "$_n")
access control = no
[lac vpn]
lns = $(lns_of "$_n")
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

# clients_prepare NAME...: files, charon started and the connection loaded (charons start in parallel); FAILs
# name the client that did not get there.
clients_prepare() {
  for _c in "$@"; do client_files "$_c"; start_client_charon "$_c"; done
  for _c in "$@"; do wait_for 60 client_vici_up "$_c" || fail "$_c: client charon not up within 60 s"; done
  for _c in "$@"; do bg_sw "$_c" load --load-all --noprompt --file "$(ns_dir "$_c")/swanctl.conf"; done
  for _c in "$@"; do
    [ "$(bg_rc "$_c" load 60)" = 0 ] || { fail "$_c: swanctl --load-all"; cat "$(ns_dir "$_c")/log/load.out"; }
  done
}
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
# clients_stop NAME...: xl2tpd ended (its pppd with it), then whatever else runs in the namespaces
clients_stop() {
  for _n in "$@"; do stop_xl2tpd "$_n"; done
  for _n in "$@"; do ip netns pids "$_n" | xargs -r kill -TERM 2>/dev/null; done
}

# nat_add: namespace `nat` ($NAT_IP on the internet) with a LAN bridge (10.1.0.1/24) that masquerades UDP to
# ports 40000-40999 (iptables-legacy), as a home router does: every client behind it reaches the server from
# $NAT_IP, Windows-like ones all with L2TP source port 1701 (inside ESP, which NAT-T carries in UDP).
nat_add() {
  ns_add nat "$NAT_IP/24" || return 1
  ip -n nat link add lan type bridge && ip -n nat link set lan up && ip -n nat addr add 10.1.0.1/24 dev lan || return 1
  ip netns exec nat sysctl -q -w net.ipv4.ip_forward=1
  ip netns exec nat iptables-legacy -t nat -A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 40000-40999
}
# nat_client_add NAME: a client namespace (wN or aN) behind the NAT's LAN, with its private dirs.
nat_client_add() {
  _d=$(ns_dir "$1")
  mkdir -p "$_d/run/lock" "$_d/etc-ppp" "$_d/log" || return 1
  : >"$_d/etc-ppp/options"; : >"$_d/etc-ppp/chap-secrets"; chmod 600 "$_d/etc-ppp/chap-secrets"
  ip netns add "$1" && ip -n "$1" link set lo up || return 1
  ip link add name eth0 netns "$1" type veth peer name "l-$1" netns nat || return 1
  ip -n nat link set "l-$1" master lan up
  ip -n "$1" addr add "$(client_ip "$1")/24" dev eth0 && ip -n "$1" link set eth0 up &&
    ip -n "$1" route add default via 10.1.0.1
}
