# data_path_bench: the data path's TCP throughput through ESP, four configurations side by side in one boot.
# The numbers are BENCH lines, never a verdict; the PASS/FAIL checks only prove that each configuration really
# ran as named (its SA has the cipher, its ESP counters grew, its data went through the path it names, iperf3
# gave a result).
#
# Four server/client pairs on the internet bridge, all up at once, so the runs interleave (drift shows as spread
# between repetitions, not as a bias against whichever configuration ran last):
#   ceiling  srvc 192.0.2.4 <- cc 192.0.2.14  TCP straight over an ESP transport SA (manual SAs, `ip xfrm`), no
#                                             L2TP, no PPP: what the same cipher costs with nothing else on top
#   kernel   srv  192.0.2.1 <- ck 192.0.2.11  l2tpvpnd, ppp.data_path = kernel (PPPoL2TP), its embedded charon
#   pty      srvp 192.0.2.2 <- cp 192.0.2.12  l2tpvpnd, ppp.data_path = pty (pppd on a pty, HDLC framed by the
#                                             daemon), its embedded charon
#   xl2tpd   srvx 192.0.2.3 <- cx 192.0.2.13  xl2tpd 1.3.18 as the LNS (kernel mode) + pppd, a charon of its own
#                                             (swanctl, the connection shape l2tpvpnd loads)
# ck, cp and cx are os_clients.sh's Windows client (IKEv1 PSK, ESP transport udp/1701 without NAT-T, xl2tpd +
# pppd with PPPoL2TP in the kernel, MS-CHAPv2), offering only $DP_ESP so every SA has one cipher. The built-in
# clients' proposals (os_clients.sh) all contain aes256-sha1 and our server prefers it to aes128-sha1, so
# AES-256-CBC + HMAC-SHA1-96 is what they get: the default. PPP MTU/MRU 1350 everywhere (l2tpvpnd's default).
# A fifth configuration, ceiling_mss, is the ceiling with the TCP MSS the PPP runs have (1310 = 1350 - 40): how
# much of a gap is the smaller packets rather than L2TP and PPP.
#
# Each configuration: iperf3 client -> server ($DP_SECONDS s, $DP_REPS times) and server -> client (-R,
# $DP_REPS_REV times; not for ceiling_mss), repetitions interleaved, the order rotated from one repetition to the
# next; the median is reported. The defaults (3 s, 3 + 2 repetitions, a profile of pty only) keep the guest's
# time near 200 s for CI (214 s on a loaded 2-core host); docs/benchmarks/data_path.md was measured with more too
# (the command is there). In the middle of every run the guest's CPU (/proc/stat) and the CPU time of the
# server's L2TP daemon (l2tpvpnd or xl2tpd) and pppd are read: CPU per MB moved, and whether the daemon is
# CPU-bound. Then the pty path is looked into: l2tpvpnd's syscalls per frame (perf stat) and a
# whole-guest profile (perf record) of a pty run (DP_PROFILE=all: and of a kernel and a ceiling run).
#
# --env DP_ESP=aes128-sha1 (or aes256-sha256...), DP_SECONDS, DP_REPS, DP_REPS_REV, DP_PROFILE=all|pty|no,
# DP_CRYPTO=accel|generic.
# Raw results: $VM_OUT/data_path_bench.results (one line per run), $VM_OUT/data_path_bench-logs/.

. "$VM_ROOT/tests/vm/os_clients.sh"
. "$VM_ROOT/tests/vm/lns.sh"
PSK=bench-psk-l2tp-over-ipsec-1701
DP_ESP=${DP_ESP:-aes256-sha1}
DP_SECONDS=${DP_SECONDS:-3}
[ "$DP_SECONDS" -ge 3 ] || DP_SECONDS=3  # the CPU window is the middle of the run
DP_REPS=${DP_REPS:-3}
DP_REPS_REV=${DP_REPS_REV:-2}
MTU=1350 MSS=1310
SRV_IP=192.0.2.1 SRVP_IP=192.0.2.2 SRVX_IP=192.0.2.3 SRVC_IP=192.0.2.4 CC_IP=192.0.2.14
CLIENTS="ck cp cx"
RES=$VM_OUT/data_path_bench.results
LOGS=$VM_OUT/data_path_bench-logs
: >"$RES"

# ---- the clients: os_clients.sh's Windows client, three times, each towards its own server
client_ip() { case $1 in ck) echo 192.0.2.11 ;; cp) echo 192.0.2.12 ;; cx) echo 192.0.2.13 ;; esac; }
lns_of() { case $1 in ck) echo $SRV_IP ;; cp) echo $SRVP_IP ;; cx) echo $SRVX_IP ;; esac; }
os_of() { echo windows; }
esp_of() { echo "$DP_ESP"; }

# ---- the configurations
CONFIGS="ceiling ceiling_mss kernel xl2tpd pty"
cfg_cli() { case $1 in ceiling*) echo cc ;; kernel) echo ck ;; pty) echo cp ;; xl2tpd) echo cx ;; esac; }
cfg_srv() { case $1 in ceiling*) echo srvc ;; kernel) echo srv ;; pty) echo srvp ;; xl2tpd) echo srvx ;; esac; }
cfg_dst() { case $1 in ceiling*) echo $SRVC_IP ;; *) echo 10.99.0.1 ;; esac; }

# ---- helpers
# nsq NS QUERY...: the /status of the l2tpvpnd in NS, queried (lns.sh's q, for any namespace)
nsq() { _ns=$1; shift; ip netns exec "$_ns" busybox wget -q -O- http://127.0.0.1:8171/status 2>/dev/null | python3 "$Q" "$@" 2>/dev/null; }
nsq_is() { _want=$1; shift; [ "$(nsq "$@")" = "$_want" ]; }
# pty_counters: "FRAMES DROPS": frames l2tpvpnd in srvp moved so far (both ways) and frames it dropped because the
# pty did not take them fast enough (pty_overflow_drops); "0 0" when /status does not answer
pty_counters() {
  _f=$(nsq srvp path ppp.counters | python3 -c 'import json, sys; c = json.load(sys.stdin)
print(c["pty_frames_in"] + c["pty_frames_out"], c["pty_overflow_drops"])' 2>/dev/null)
  echo "${_f:-0 0}"
}
# esp_bytes NS: bytes counted by all ESP states in NS (`lifetime current:` is followed by "N(bytes), M(packets)")
esp_bytes() { ip -n "$1" -s xfrm state 2>/dev/null | awk '/lifetime current:/ { getline; sub(/\(bytes\).*/, ""); s += $1 } END { print s + 0 }'; }
# esp_algs NS: the distinct modes and algorithms of NS's ESP states ("auth-trunc ALG ICV-BITS", "enc ALG KEY-BITS",
# "mode MODE"), keys left out; `ip -s` prints the key sizes
esp_algs() {
  ip -n "$1" -s xfrm state 2>/dev/null | awk '
    $1 == "proto" { for (i = 1; i < NF; i++) if ($i == "mode") print "mode", $(i + 1) }
    $1 == "auth-trunc" { print "auth-trunc", $2, $NF }
    $1 == "enc" { k = $4; sub(/^\(/, "", k); print "enc", $2, k }' | sort -u | tr '\n' ' '
}
# pppol2tp_bytes NS: tx + rx bytes of the kernel's PPPoL2TP sessions in NS (not the 'sess T/0' tunnel sockets);
# the session's third line is "nr/ns tx_packets/tx_bytes/tx_errors rx_packets/rx_bytes/rx_errors"
pppol2tp_bytes() {
  ip netns exec "$1" cat /proc/net/pppol2tp 2>/dev/null | awk '
    /SESSION .sess [0-9]+\/[1-9][0-9]*./ { n = NR }
    n && NR == n + 2 { split($2, t, "/"); split($3, r, "/"); s += t[2] + r[2]; n = 0 }
    END { print s + 0 }'
}
# guest_cpu: GB = busy, GT = all jiffies of the guest so far (/proc/stat's first line), without a process
guest_cpu() {
  read -r _x _u _n _s _i _w _q _sq _st _rest </proc/stat
  GB=$((_u + _n + _s + _q + _sq + _st)) GT=$((_u + _n + _s + _i + _w + _q + _sq + _st))
}
# ticks PID: sets U and S, the process's user and system CPU time so far (ticks of 1/100 s, all its threads),
# 0 when it is gone; shell builtins only (a process start costs more than a run's accuracy under TCG)
ticks() {
  U=0 S=0
  [ -n "$1" ] && read -r _l </proc/"$1"/stat 2>/dev/null || return 0
  # shellcheck disable=SC2086
  set -- ${_l##*) }  # state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  U=${12} S=${13}
}
# srv_ticks CFG: sets DU, DS (the configuration's L2TP daemon: l2tpvpnd or xl2tpd) and PT (its pppd, user +
# system). The embedded charon is a process of its own and not counted: nothing of the data path is in it.
srv_ticks() {
  eval "ticks \"\${DAEMON_$1:-}\""; DU=$U DS=$S
  eval "ticks \"\${PPPD_$1:-}\""; PT=$((U + S))
}
comm_pid() { for _p in $(ip netns pids "$1" 2>/dev/null); do [ "$(cat /proc/$_p/comm 2>/dev/null)" = "$2" ] && echo "$_p" && return; done; }
ppp_mtus() { ip -n "$1" -o link show 2>/dev/null | awk '/: ppp/ { for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1) }' | tr '\n' ' '; }
iperf_listening() { ip netns exec "$1" grep -q ':1451 00000000' /proc/net/tcp /proc/net/tcp6; }
save_logs() {
  for n in srv srvp srvx srvc cc $CLIENTS; do
    [ -d "$(ns_dir $n)/log" ] || continue
    mkdir -p "$LOGS/$n" && cp -r "$(ns_dir $n)"/log/. "$LOGS/$n/" 2>/dev/null
    ip -n $n -s xfrm state >"$LOGS/$n/xfrm-state" 2>&1
  done
}

# ===================== topology =====================
log "=== setup (ESP $DP_ESP, PPP MTU $MTU, $DP_SECONDS s per run, $DP_REPS runs forward, $DP_REPS_REV reverse)"
t_setup=$(now_cs)
for n in srv:$SRV_IP srvp:$SRVP_IP srvx:$SRVX_IP srvc:$SRVC_IP cc:$CC_IP; do ns_add "${n%%:*}" "${n#*:}/24" || fail "namespace ${n%%:*}"; done
for c in $CLIENTS; do ns_add $c "$(client_ip $c)/24" || fail "namespace $c"; done
# iperf3 servers now (they listen on every address; the PPP ones are there once PPP is up), so they are ready by
# the first run
for ns in srvc srv srvp srvx; do
  ns_spawn $ns "$(ns_dir $ns)/log/iperf3-s.log" iperf3 -s
  eval "IPERF_$ns=\$SPAWNED_PID"
done

# ---- the kernel's crypto drivers: a Debian VPS's udev loads aesni_intel and sha1_ssse3 for its CPU (modalias);
# this guest has no udev, and without them AES and SHA-1 would run in generic C, which no real server does.
# DP_CRYPTO=generic leaves them out. Loaded before the first SA, which instantiates the templates on them.
if [ "${DP_CRYPTO:-accel}" = accel ]; then
  vm_modprobe aesni_intel sha1_ssse3 || log "aesni_intel/sha1_ssse3 not loaded (CPU without AES-NI/SSSE3?)"
fi

# ---- the ceiling: manual transport SAs between cc and srvc, the cipher the charons negotiate. Manual SAs rather
# than a fourth IKE pair: deterministic, nothing to wait for, and the kernel state is the same (algorithm, key
# sizes, ICV length, replay window 32 as charon's default, no ESN, no encapsulation: the L2TP clients here are not
# behind a NAT, so their SAs carry plain ESP too). Installed first, in the foreground: the first state with this
# cipher/integrity pair makes the kernel build its crypto instances (seconds under TCG), which the charons then
# find ready (README, pitfall 11).
K20=0x0102030405060708090a0b0c0d0e0f1011121314
K32=0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20
case $DP_ESP in aes128-*) EK=0x0102030405060708090a0b0c0d0e0f10 ;; *) EK=$K32 ;; esac
case $DP_ESP in *-sha256) AUTH="hmac(sha256) $K32 128" ;; *) AUTH="hmac(sha1) $K20 96" ;; esac
ceiling_ok=yes
for ns in cc srvc; do
  # shellcheck disable=SC2086
  ip -n $ns xfrm state add src $CC_IP dst $SRVC_IP proto esp spi 0x1001 reqid 1 mode transport replay-window 32 \
    auth-trunc $AUTH enc "cbc(aes)" $EK sel src $CC_IP/32 dst $SRVC_IP/32 &&
  ip -n $ns xfrm state add src $SRVC_IP dst $CC_IP proto esp spi 0x1002 reqid 1 mode transport replay-window 32 \
    auth-trunc $AUTH enc "cbc(aes)" $EK sel src $SRVC_IP/32 dst $CC_IP/32 || ceiling_ok=no
done
# TCP only, as the L2TP SAs cover UDP/1701 only
ip -n cc xfrm policy add src $CC_IP/32 dst $SRVC_IP/32 proto tcp dir out tmpl src $CC_IP dst $SRVC_IP proto esp reqid 1 mode transport &&
ip -n cc xfrm policy add src $SRVC_IP/32 dst $CC_IP/32 proto tcp dir in tmpl src $SRVC_IP dst $CC_IP proto esp reqid 1 mode transport &&
ip -n srvc xfrm policy add src $SRVC_IP/32 dst $CC_IP/32 proto tcp dir out tmpl src $SRVC_IP dst $CC_IP proto esp reqid 1 mode transport &&
ip -n srvc xfrm policy add src $CC_IP/32 dst $SRVC_IP/32 proto tcp dir in tmpl src $CC_IP dst $SRVC_IP proto esp reqid 1 mode transport ||
  ceiling_ok=no
[ $ceiling_ok = yes ] || fail "ceiling: manual SAs/policies not installed"
# driver_of NAME: the driver the kernel picks for NAME (the registered one of highest priority, /proc/crypto)
driver_of() {
  awk -v want="$1" '$1 == "name" { n = $3 } $1 == "driver" { d = $3 }
    $1 == "priority" && n == want && $3 + 0 > best { best = $3 + 0; pick = d } END { print pick }' /proc/crypto
}
case $DP_ESP in *-sha256) H=sha256 ;; *) H=sha1 ;; esac
bench "crypto in the guest ($(grep -m1 -o -w aes /proc/cpuinfo || echo no) AES-NI in the CPU flags, DP_CRYPTO=${DP_CRYPTO:-accel}): cbc(aes) by $(driver_of 'cbc(aes)'), $H by $(driver_of $H), ESP's authenc(hmac($H),cbc(aes)) by $(driver_of "authenc(hmac($H),cbc(aes))")"

# ---- l2tpvpnd twice: srv (kernel) and srvp (pty). lns.sh's configuration with $SD and $SRV_IP of that namespace;
# firewall not managed (xl2tpd and the ceiling have none either; the data path is what is compared).
# lns_at NS ADDRESS DATA_PATH CLIENT
lns_at() {
  ( SD=$(ns_dir $1) SRV_IP=$2
    lns_secrets $4
    { lns_conf; cat <<EOF
[ppp]
data_path = $3
mtu = $MTU
mru = $MTU
[firewall]
manage = no
EOF
    } >"$SD/etc/l2tpvpnd.conf" )
}
lns_at srv $SRV_IP kernel ck
lns_at srvp $SRVP_IP pty cp
ns_spawn srv "$(ns_dir srv)/log/l2tpvpnd.log" "$D" -c "$(ns_dir srv)/etc/l2tpvpnd.conf"
DK_PID=$SPAWNED_PID
ns_spawn srvp "$(ns_dir srvp)/log/l2tpvpnd.log" "$D" -c "$(ns_dir srvp)/etc/l2tpvpnd.conf"
DP_PID=$SPAWNED_PID

# ---- xl2tpd as the LNS in srvx (as ppp_sessions' stage H), with a charon loaded with the connection l2tpvpnd
# loads into its embedded one (ipsec/profile.cpp: IKEv1 main mode, transport, udp/1701 to any UDP port, no
# server-side rekeying), the ESP proposal fixed to $DP_ESP.
XD=$(ns_dir srvx)
mkdir -p "$XD/etc"
chap_secret srvx "$(user_of cx)" '*' "$(password_of cx)"
cat >"$XD/etc/ppp.options" <<EOF
name l2tpvpn
require-mschap-v2
refuse-pap
refuse-chap
refuse-mschap
refuse-eap
nodefaultroute
noccp
mtu $MTU
mru $MTU
logfile $XD/log/pppd.log
EOF
cat >"$XD/etc/xl2tpd.conf" <<EOF
[global]
listen-addr = $SRVX_IP
port = 1701
access control = no
[lns default]
ip range = 10.99.0.10-10.99.0.20
local ip = 10.99.0.1
require authentication = yes
name = l2tpvpn
pppoptfile = $XD/etc/ppp.options
length bit = yes
EOF
cat >"$XD/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = nonce pem x509 openssl kernel-netlink socket-default vici
  install_routes = no
  install_virtual_ip = no
  plugins { vici { socket = unix:///run/charon.vici } }
  filelog { stderr { default = 1
                     time_format = %T
                     ike_name = yes
                     flush_line = yes } }
}
swanctl { load = pem }
EOF
cat >"$XD/swanctl.conf" <<EOF
connections {
  l2tp {
    version = 1
    aggressive = no
    local_addrs = $SRVX_IP
    proposals = $(ike_of cx)
    encap = no
    unique = never
    rekey_time = 0s
    reauth_time = 0s
    send_certreq = no
    local { auth = psk }
    remote { auth = psk }
    children {
      l2tp {
        mode = transport
        local_ts = dynamic[17/1701]
        remote_ts = dynamic[17]
        esp_proposals = $DP_ESP
        rekey_time = 0s
        rand_time = 0s
        dpd_action = clear
      }
    }
  }
}
secrets { ike-l2tp { secret = "$PSK" } }
EOF
start_client_charon srvx
ns_spawn srvx "$XD/log/xl2tpd-lns.log" xl2tpd -D -c "$XD/etc/xl2tpd.conf" -p "$XD/run/xl2tpd.pid" -C "$XD/run/xl2tpd.control"
XLNS_PID=$SPAWNED_PID

# ---- the clients' charons (in parallel with the servers' start), then the server charons ready
clients_prepare $CLIENTS
if wait_for 60 client_vici_up srvx; then
  bg_sw srvx load --load-all --noprompt --file "$XD/swanctl.conf"
  [ "$(bg_rc srvx load 60)" = 0 ] || { fail "srvx: swanctl --load-all"; cat "$XD/log/load.out"; }
else
  fail "srvx: charon not up within 60 s"
fi
link_ready_in() { nsq_is ready "$1" path ipsec.link; }
for ns in srv srvp; do
  wait_for 60 grep -q event=started "$(ns_dir $ns)/log/l2tpvpnd.log" && wait_for 90 link_ready_in $ns ||
    { fail "$ns: l2tpvpnd/charon not ready: link $(nsq $ns path ipsec.link)"; DUMP_LINES=40 dump $ns; }
done

# ---- IKE + L2TP + PPP for the three clients
connect $CLIENTS
srvx_up() { has_addr srvx ppp0 10.99.0.1; }
all_servers_up() { nsq_is 1 srv up && nsq_is 1 srvp up && srvx_up; }
if wait_for 120 all_up $CLIENTS && wait_for 30 all_servers_up; then
  pass "setup: the three L2TP/IPsec sessions and the ceiling SAs up $(( ($(now_cs) - t_setup) / 100 )) s after the start"
else
  fail "setup: not every session up (clients: ck $(client_up ck && echo up), cp $(client_up cp && echo up), cx $(client_up cx && echo up); servers: srv $(nsq srv up), srvp $(nsq srvp up), srvx $(srvx_up && echo up))"
  DUMP_LINES=30 dump srv srvp srvx $CLIENTS
fi

# ---- each configuration is what it claims to be
want_algs="auth-trunc hmac(sha1) 96 enc cbc(aes) 256 mode transport "
case $DP_ESP in aes128-*) want_algs="auth-trunc hmac(sha1) 96 enc cbc(aes) 128 mode transport " ;; esac
case $DP_ESP in *-sha256) want_algs=$(echo "$want_algs" | sed 's/hmac(sha1) 96/hmac(sha256) 128/') ;; esac
for ns in srvc srv srvp srvx; do
  a=$(esp_algs $ns)
  check "$ns: its ESP states: $a(nothing else)" [ "$a" = "$want_algs" ]
done
check "no ESP in UDP anywhere (no NAT here, as for the ceiling)" sh -c "! ip -n srv xfrm state | grep -q encap && ! ip -n srvp xfrm state | grep -q encap && ! ip -n srvx xfrm state | grep -q encap"
for ns in srv srvx ck cp cx; do
  check "$ns: a PPPoL2TP session in the kernel (/proc/net/pppol2tp)" \
    ip netns exec $ns grep -qE "SESSION 'sess [0-9]+/[1-9][0-9]*'" /proc/net/pppol2tp
done
check "srv: l2tpvpnd's session has data_path kernel" nsq_is kernel srv user "$(user_of ck)" data_path
check "srvp: l2tpvpnd's session has data_path pty" nsq_is pty srvp user "$(user_of cp)" data_path
check "srvp: /proc/net/pppol2tp has no tunnel or session (the pty path uses none)" pppol2tp_clean srvp
for ns in srv srvp srvx ck cp cx; do
  m=$(ppp_mtus $ns)
  check "$ns: PPP interface MTU $MTU ($m)" [ "$m" = "$MTU " ]
done
log "xl2tpd LNS: $(grep -m1 -i 'kernel support' "$XD/log/xl2tpd-lns.log")"
log "ESP states (srv, charon's): $(ip -n srv xfrm state | tr -s ' \t\n' ' ')"
log "ESP states (srvc, manual): $(ip -n srvc xfrm state | tr -s ' \t\n' ' ')"

# ===================== the runs =====================
for ns in srvc srv srvp srvx; do wait_for 10 iperf_listening $ns || fail "$ns: iperf3 server not listening"; done
for ns in srvc srv srvp srvx; do eval "ESP0_$ns=\$(esp_bytes $ns)"; done
PB0_srv=$(pppol2tp_bytes srv) PB0_srvx=$(pppol2tp_bytes srvx)
set -- $(pty_counters); FR0=$1 DROP0=$2
# whose CPU time is read around each run: the L2TP daemon and pppd of each server (none for the ceiling)
DAEMON_kernel=$DK_PID DAEMON_pty=$DP_PID DAEMON_xl2tpd=$XLNS_PID
PPPD_kernel=$(comm_pid srv pppd) PPPD_pty=$(comm_pid srvp pppd) PPPD_xl2tpd=$(comm_pid srvx pppd)
log "server pids: kernel $DK_PID/$PPPD_kernel, pty $DP_PID/$PPPD_pty, xl2tpd $XLNS_PID/$PPPD_xl2tpd (daemon/pppd)"

# run CFG fwd|rev REP: one iperf3 run; appends to $RES
#   CFG DIR REP MBIT/S MBYTES GUEST_BUSY GUEST_ALL DAEMON_USER DAEMON_SYS PPPD RETRANSMITS
# GUEST_BUSY..PPPD in ticks of 1/100 s (guest: summed over its CPUs, /proc/stat), read over a window in the middle of
# the transfer (from 1.5 s after iperf3's start to 0.5 s before its end), so iperf3's own start, slow under TCG,
# is not in them. iperf3 straight through `ip netns exec` (no private /run needed): every process start counts.
run() {
  _o=
  [ $1 = ceiling_mss ] && _o="-M $MSS"
  [ $2 = rev ] && _o="$_o -R"
  # shellcheck disable=SC2086
  ip netns exec "$(cfg_cli $1)" timeout $((DP_SECONDS + 20)) iperf3 -c "$(cfg_dst $1)" -t $DP_SECONDS -f m \
    --connect-timeout 5000 $_o >/tmp/dp-iperf.out 2>&1 &
  _ipid=$!
  sleep 1.5
  srv_ticks $1; _du=$DU _ds=$DS _pt=$PT
  guest_cpu; _b0=$GB _t0=$GT
  sleep $((DP_SECONDS - 2))
  guest_cpu
  srv_ticks $1
  wait_exit $((DP_SECONDS + 30)) $_ipid
  # the receiver's line: "[  5]   0.00-4.04  sec  15.2 MBytes  31.6 Mbits/sec   receiver"
  _r=$(awk '/receiver/ && $(NF - 1) == "Mbits/sec" { print $(NF - 2), $(NF - 4) }' /tmp/dp-iperf.out)
  # TCP retransmissions of the sending side: "[  5]   0.00-4.00  sec  15.3 MBytes  32.0 Mbits/sec  12   sender"
  _retr=$(awk '$NF == "sender" && $(NF - 2) == "Mbits/sec" { print $(NF - 1) }' /tmp/dp-iperf.out)
  if [ -z "$_r" ]; then
    fail "$1 $2 run $3: iperf3 gave no result: $(tail -n 2 /tmp/dp-iperf.out | tr '\n' ' ')"
    return
  fi
  echo "$1 $2 $3 $_r $((GB - _b0)) $((GT - _t0)) $((DU - _du)) $((DS - _ds)) $((PT - _pt)) ${_retr:--}" >>"$RES"
  log "run: $1 $2 $3: $_r (Mbit/s MB), ${_retr:-?} retransmitted; in the window: guest busy $((GB - _b0)) of $((GT - _t0)), daemon user $((DU - _du)) sys $((DS - _ds)), pppd $((PT - _pt))"
}
# rotated ARGS...: ARGS rotated left by $rep - 1, so no configuration always runs right after the same other one
# (repetition 1: ceiling ceiling_mss kernel xl2tpd pty; 2: ceiling_mss kernel xl2tpd pty ceiling; ...)
rotated() {
  _k=$(( (rep - 1) % $# ))
  while [ $_k -gt 0 ]; do _f=$1; shift; set -- "$@" "$_f"; _k=$((_k - 1)); done
  echo "$@"
}
log "=== runs"
t_runs=$(now_cs)
rep=1
while [ $rep -le "$DP_REPS" ]; do
  for cfg in $(rotated $CONFIGS); do run $cfg fwd $rep; done
  if [ $rep -le "$DP_REPS_REV" ]; then for cfg in $(rotated ceiling kernel xl2tpd pty); do run $cfg rev $rep; done; fi
  rep=$((rep + 1))
done
log "runs took $(( ($(now_cs) - t_runs) / 100 )) s"

# ---- they ran through what they name
for cfg in $CONFIGS; do
  n=$(awk -v c=$cfg '$1 == c' "$RES" | wc -l)
  want=$((DP_REPS + DP_REPS_REV)); [ $cfg = ceiling_mss ] && want=$DP_REPS
  check "$cfg: iperf3 gave a result in each of its $want runs ($n)" [ "$n" = "$want" ]
done
# bytes moved per server namespace (MBytes are MiB in iperf3): its ESP states must have carried at least that
moved() { awk -v s="$1" '{ if (($1 == "ceiling" || $1 == "ceiling_mss") && s == "srvc" || $1 == "kernel" && s == "srv" ||
                               $1 == "pty" && s == "srvp" || $1 == "xl2tpd" && s == "srvx") b += $5 * 1048576 }
                         END { printf "%.0f\n", b }' "$RES"; }
for ns in srvc srv srvp srvx; do
  eval "e0=\$ESP0_$ns"
  e=$(( $(esp_bytes $ns) - e0 )) m=$(moved $ns)
  check "$ns: its ESP SAs carried the runs' bytes ($((e / 1000000)) MB counted in the SAs, $((m / 1000000)) MB received by iperf3)" \
    [ "$e" -ge "$m" ]
done
for ns in srv srvx; do
  eval "p0=\$PB0_$ns"
  p=$(( $(pppol2tp_bytes $ns) - p0 )) m=$(moved $ns)
  check "$ns: the kernel PPPoL2TP session carried them ($((p / 1000000)) MB, $((m / 1000000)) MB received by iperf3)" \
    [ "$p" -ge "$m" ]
done
set -- $(pty_counters); fr=$(($1 - FR0)) drops=$(($2 - DROP0)) m=$(moved srvp)
check "srvp: l2tpvpnd framed them on the pty ($fr frames both ways, at most $((MSS - 12)) bytes of TCP payload each)" \
  [ $((fr * (MSS - 12))) -ge "$m" ]
bench "pty path: l2tpvpnd dropped $drops frames from L2TP because the pty had 64 KiB waiting (pty_overflow_drops), $fr frames moved"
log "pty counters: $(nsq srvp path ppp.counters)"

# ===================== the summary =====================
# Per configuration and direction: the median Mbit/s and the runs; the ratios to the ceiling, both of the medians
# and the median of each repetition's own ratio (a run against the ceiling run of the same repetition, a minute
# apart at most: most of the host's drift cancels); CPU in the runs' windows: how many of the guest's CPUs were busy on average, the guest's CPU per MB
# moved (busy CPUs / MB per second), the L2TP daemon's (user and system) and pppd's.
NCPU=$(nproc)
summary=$(awk -v ncpu="$NCPU" '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { k = $1 " " $2; runs[k] = runs[k] " " $4; retr[k] = retr[k] " " $11; n[k]++; sum[k] += $4; rate[k " " $3] = $4
    busy[k] += $6; wall[k] += $7 / ncpu; du[k] += $8; ds[k] += $9; p[k] += $10 }
  END {
    split("ceiling ceiling_mss kernel xl2tpd pty", cfgs, " ")
    for (di = 1; di <= 2; di++) {
      dir = di == 1 ? "fwd" : "rev"
      line = ""; cpu = ""; rat = ""
      for (ci = 1; ci <= 5; ci++) {
        k = cfgs[ci] " " dir
        if (!(k in runs)) continue
        med[k] = median(runs[k])
        line = line sprintf("; %s %.1f [%s ] (TCP retransmissions [%s ])", cfgs[ci], med[k], runs[k], retr[k])
        mbs = sum[k] / n[k] / 8  # MB/s, the mean of the runs the CPU was averaged over
        if (wall[k] <= 0 || mbs <= 0) continue
        cpu = cpu sprintf("; %s: %.2f CPUs busy, %.0f ms/MB", cfgs[ci], busy[k] / wall[k], 1000 * busy[k] / wall[k] / mbs)
        if (ci >= 3)
          cpu = cpu sprintf(" (L2TP daemon %.0f%% of a CPU, %.0f ms/MB: user %.0f, sys %.0f; pppd %.0f ms/MB)",
                            100 * (du[k] + ds[k]) / wall[k], 1000 * (du[k] + ds[k]) / wall[k] / mbs, 1000 * du[k] / wall[k] / mbs,
                            1000 * ds[k] / wall[k] / mbs, 1000 * p[k] / wall[k] / mbs)
      }
      c = med["ceiling " dir]; cm = med["ceiling_mss " dir]
      for (ci = 3; ci <= 5; ci++) {
        k = cfgs[ci] " " dir
        if (!(k in med) || c <= 0) continue
        per = ""
        for (r = 1; r <= 9; r++)
          if ((k " " r) in rate && ("ceiling " dir " " r) in rate && rate["ceiling " dir " " r] > 0)
            per = per sprintf(" %.2f", rate[k " " r] / rate["ceiling " dir " " r])
        rat = rat sprintf(", %s/ceiling %.2f (per repetition [%s ] median %.2f", cfgs[ci], med[k] / c, per, median(per))
        rat = rat (cm > 0 ? sprintf("; /ceiling_mss %.2f)", med[k] / cm) : ")")
      }
      print dir "\tMbit/s, median [runs]" line
      print dir "\tratios of the medians" rat
      print dir "\tCPU during the transfer" cpu
    }
  }' "$RES")
dirname_of() { case $1 in fwd) echo "client -> server" ;; rev) echo "server -> client (-R)" ;; esac; }
TAB=$(printf '\t')
echo "$summary" | while IFS=$TAB read -r dir text; do
  bench "ESP $DP_ESP, PPP MTU $MTU, $DP_SECONDS s runs, $(dirname_of "$dir"): $text"
done

# ===================== the pty path, looked into =====================
# Not counted in the medians (the tools cost CPU too). During one forward run of pty (DP_PROFILE=all: and one each
# of kernel and ceiling, for comparison): perf samples the whole guest (cpu-clock: where the CPU goes, by process and function),
# and, for pty, perf counts l2tpvpnd's syscalls (tracepoints, not ptrace, so the rate stays near the measured one)
# while the workload it times reads the daemon's frame counters at its start and end (two /status fetches:
# frames moved in about the same window). iperf3 runs longer than the sampling and starts first: perf's own start
# takes seconds under TCG. perf's files live in the guest's /tmp (it cannot mmap its output on 9p); the reports
# go to $LOGS.
case ${DP_PROFILE:-pty} in all) PROFILED="pty kernel ceiling" ;; no) PROFILED= ;; *) PROFILED=pty ;; esac
if [ -n "$PROFILED" ]; then
  mkdir -p "$LOGS" /tmp/dp-perf
  [ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
  SYSCALLS=syscalls:sys_enter_recvmsg,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,raw_syscalls:sys_enter
  for cfg in $PROFILED; do
    ns_spawn $(cfg_cli $cfg) /tmp/dp-perf/iperf-$cfg.out timeout $((DP_SECONDS + 30)) iperf3 -c "$(cfg_dst $cfg)" -t $((DP_SECONDS + 4)) -f m
    iperf_pid=$SPAWNED_PID
    sleep 1
    stat_pid=
    if [ $cfg = pty ]; then
      _get="ip netns exec srvp busybox wget -q -O /tmp/dp-perf/status" _url=http://127.0.0.1:8171/status
      perf stat -e "$SYSCALLS,context-switches" -x, -p "$DP_PID" -o /tmp/dp-perf/stat-pty.csv -- \
        sh -c "$_get-0.json $_url; sleep $DP_SECONDS; $_get-1.json $_url" >/dev/null 2>&1 &
      stat_pid=$!
    fi
    perf record -e cpu-clock -F 499 -a -o /tmp/dp-perf/$cfg.data -- sleep $DP_SECONDS >/tmp/dp-perf/record-$cfg.log 2>&1
    [ -n "$stat_pid" ] && wait_exit 20 $stat_pid
    wait_exit $((DP_SECONDS + 40)) $iperf_pid
    perf report -i /tmp/dp-perf/$cfg.data --stdio --no-children --sort comm,dso,sym >"$LOGS/perf-$cfg.sym.txt" 2>/dev/null
    rate=$(awk '/receiver/ { print $(NF - 2) }' /tmp/dp-perf/iperf-$cfg.out)
    # by process: the samples of each comm summed (kworker/1:2-events and the like by their first word)
    comms=$(grep -E '^ +[0-9.]+%' "$LOGS/perf-$cfg.sym.txt" | awk '{ c = $2; sub(/[\/].*/, "", c); s[c] += $1 + 0 }
              END { for (c in s) printf "%.1f%% %s\n", s[c], c }' | sort -rn | head -n 8 | awk '{ printf "%s %s, ", $2, $1 }')
    syms=$(grep -E '^ +[0-9.]+%' "$LOGS/perf-$cfg.sym.txt" | grep -v native_safe_halt | head -n 12 |
           awk '{ i = index($0, "] "); printf "%s:%s %s, ", $2, substr($0, i + 2, 60), $1 }')
    if [ -n "$comms" ]; then
      bench "$cfg path, perf cpu-clock over the guest for $DP_SECONDS s of a forward run (${rate:-?} Mbit/s): by process $comms busiest functions (idle left out) $syms"
    else
      log "perf gave nothing for $cfg: $(tail -n 3 /tmp/dp-perf/record-$cfg.log | tr '\n' ' ')"
    fi
  done
  cp /tmp/dp-perf/stat-pty.csv /tmp/dp-perf/*.log "$LOGS/" 2>/dev/null
  # "COUNT,,EVENT,..." lines; raw_syscalls:sys_enter is every syscall
  counts=$(awk -F, '$1 ~ /^[0-9]+$/ { e = $3; sub(/.*sys_enter_?/, "", e); if (e == "") e = "all"; printf "%s %s, ", e, $1 }' \
           /tmp/dp-perf/stat-pty.csv 2>/dev/null)
  all=$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' /tmp/dp-perf/stat-pty.csv 2>/dev/null)
  frames=$(python3 -c 'import json, sys
f = [json.load(open(p))["ppp"]["counters"] for p in sys.argv[1:]]
print(sum(f[1][k] - f[0][k] for k in ("pty_frames_in", "pty_frames_out")))' /tmp/dp-perf/status-0.json /tmp/dp-perf/status-1.json 2>/dev/null)
  if [ -n "$all" ] && [ "${frames:-0}" -gt 0 ]; then
    bench "pty path, l2tpvpnd's syscalls over about $DP_SECONDS s (perf stat): $counts for $frames frames: $(awk -v c="$all" -v f="$frames" 'BEGIN { printf "%.2f", c / f }') syscalls per frame"
  else
    log "perf stat on l2tpvpnd gave nothing: $(head -c 400 /tmp/dp-perf/stat-pty.csv 2>/dev/null)"
  fi
fi

# ===================== stop =====================
# Clients first, then the servers, one side after the other (ppp_sessions: both xl2tpds of one guest tearing
# their kernel tunnels down at once once locked a CPU).
for ns in srvc srv srvp srvx; do eval "p=\$IPERF_$ns"; kill -TERM "$p" 2>/dev/null; wait_exit 10 "$p"; done
for c in $CLIENTS; do stop_xl2tpd $c; done
kill -TERM "$XLNS_PID"; wait_exit 15 "$XLNS_PID"
kill -TERM "$DK_PID" "$DP_PID"
wait_exit 30 "$DK_PID"; rc_k=$WAIT_RC
wait_exit 30 "$DP_PID"; rc_p=$WAIT_RC
check "both l2tpvpnd exited 0 after SIGTERM (kernel: $rc_k, pty: $rc_p)" [ "$rc_k $rc_p" = "0 0" ]
save_logs
cp "$RES" "$LOGS/" 2>/dev/null
clients_stop $CLIENTS
