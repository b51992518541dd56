# l2tpvpnd as the server of a VM scenario (POSIX sh; a scenario sources it after lib.sh and os_clients.sh).
#
# The server runs in namespace `srv`; its files live in $SD=$(ns_dir srv) (etc/ for configuration, users and PSK,
# log/ for its logs); its status endpoint is 127.0.0.1:8171 inside srv. The scenario writes $CONF (lns_conf gives
# the common part) and calls start_daemon.

D=$VM_BUILD/l2tpvpnd
CTL=$VM_BUILD/l2tpvpnctl
PLUGIN=$VM_BUILD/l2tpvpn.so
PROBE=$VM_BUILD/tests/interop/l2tp_probe
Q=$VM_ROOT/tests/vm/status_query.py
SCHEMA=$VM_ROOT/docs/status.schema.json
SD=$(ns_dir srv)
CONF=$SD/etc/l2tpvpnd.conf
SNAP=$SD/status.json
FAR_IP=198.51.100.2 SRV_FAR_IP=198.51.100.1

# (no `-T`: busybox-static 1.35's wget segfaults with it)
status() { ip netns exec srv busybox wget -q -O- http://127.0.0.1:8171/status 2>/dev/null; }
# snap: one /status into $SNAP (each wget + python start is slow under TCG); qs queries the snapshot.
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

# lns_secrets CLIENT...: the users file (each client's user and password) and the PSK file, both 0600
lns_secrets() {
  mkdir -p "$SD/etc"
  : >"$SD/etc/users"
  for _c in "$@"; do echo "$(user_of "$_c") password=$(password_of "$_c")" >>"$SD/etc/users"; done
  chmod 600 "$SD/etc/users"
  echo "$PSK" >"$SD/etc/ipsec.secret"; chmod 600 "$SD/etc/ipsec.secret"
}
# lns_conf: the configuration every scenario shares (listen on $SRV_IP, status on 8171, our plugin, pool
# 10.99.0.10-50, IPsec required with the embedded charon and the PSK file). It ends inside [ipsec]: the scenario
# appends more [ipsec] keys, then its other sections.
lns_conf() {
  cat <<EOF
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
EOF
}

# lns_far: `far` ($FAR_IP), a host on the server's other side through srv's far0 ($SRV_FAR_IP); it has no route
# back to the pool, so only traffic the server masquerades out of far0 can be answered.
lns_far() {
  mkdir -p "$(ns_dir far)/log"
  ip netns add far && ip -n far link set lo up
  ip link add name far0 netns srv type veth peer name eth0 netns far
  ip -n srv addr add $SRV_FAR_IP/24 dev far0 && ip -n srv link set far0 up
  ip -n far addr add $FAR_IP/24 dev eth0 && ip -n far link set eth0 up
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

# What srv sends on its wire, counted on v-srv (the internet side of its veth) by tests/vm/wire_count.py:
# wire_start FILE; wire_stop; wire plain|esp FILE
WIRE=$VM_ROOT/tests/vm/wire_count.py
wire_start() { rm -f "$1"; python3 "$WIRE" v-srv $SRV_IP 1701 "$1" & WIRE_PID=$!; wait_for 30 test -s "$1"; }
wire_stop() { kill -TERM "$WIRE_PID" 2>/dev/null; wait "$WIRE_PID" 2>/dev/null; }
wire() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$2"; }
wire_at_least() { [ "$(wire "$1" "$3")" -ge "$2" ]; }
# srv_pings_start USER...: srv pings each user's PPP address every 0.2 s (PPP data the server itself sends out
# through the L2TP tunnel, whatever happens to the clients' own packets); srv_pings_stop
srv_pings_start() {
  PING_PIDS=
  for _u in "$@"; do
    ip netns exec srv busybox ping -q -i 0.2 "$(q user "$_u" address)" >/dev/null 2>&1 &
    PING_PIDS="$PING_PIDS $!"
  done
}
srv_pings_stop() { for _p in $PING_PIDS; do kill "$_p" 2>/dev/null; wait "$_p" 2>/dev/null; done; }
# crash_charon_watching FILE: with srv pinging every user up and its wire counted into FILE (ESP seen first, so the
# capture is known to see srv's traffic), kill -9 the embedded charon and wait for the new one and for every
# tunnel to be gone; sets CRASH_OLD_PID, CRASH_TUNNELS, CRASH_READY_S
crash_charon_watching() {
  CRASH_OLD_PID=$(q path ipsec.charon_pid)
  CRASH_TUNNELS=$(q tunnels)
  wire_start "$1" || fail "wire capture did not start"
  srv_pings_start $(q users_up)
  wait_for 30 wire_at_least esp 10 "$1" || fail "the capture saw no ESP from srv before the kill: $(cat "$1")"
  kill -KILL "$CRASH_OLD_PID"
  _t0=$(now_cs)
  if wait_for 60 new_charon; then CRASH_READY_S=$(( ($(now_cs) - _t0) / 100 )); else CRASH_READY_S=never; fi
  wait_for 40 nothing_up
  srv_pings_stop
  wire_stop
}
new_charon() { _p=$(q path ipsec.charon_pid); [ -n "$_p" ] && [ "$_p" != None ] && [ "$_p" != "$CRASH_OLD_PID" ] && link_ready; }
nothing_up() { q_is 0 tunnels && q_is 0 sessions && no_ppp_iface srv && pppol2tp_clean srv; }
