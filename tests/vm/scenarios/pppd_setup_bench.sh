# pppd_setup_bench: session setup with the real pppd, against the bound set by pppd's own start cost on this
# (guest) machine, l2tpvpnd and xl2tpd side by side in one boot (docs/benchmarks/pppd_setup.md).
#
# "Running" is one event throughout: pppd has sent its first PPP frame (its first LCP Configure-Request).
#   1. The bound: tests/bench/pppd_start_bound starts /usr/sbin/pppd PB_N times with l2tpvpnd's argv
#      (build_pppd_args, our plugin with its report descriptor, its own data path per start), one at a time and
#      two at a time (the guest has 2 vCPUs; PB_PARALLEL), and times each until its first frame arrives.
#   2. l2tpvpnd in `srv` (IPsec off, max_control_rate = 0, limits raised: the host benchmark's configuration),
#      driven from `cli` by tests/bench/l2tp_loadgen: PB_N tunnels x 1 session, PB_IN_FLIGHT setups in flight;
#      --ppp-wait counts each session's first data message (pppd's first frame) at the LAC.
#   3. xl2tpd as the LNS in `srv`, the same load (it starts pppd itself; kernel data path), as the anchor.
#   4. The control: l2tpvpnd with the no-op stand-in (tests/bench/pppd_standin) as its pppd, the same load: the
#      ICCN ack when a session's "pppd" costs one tiny process.
# Per data path mode in PB_MODES (default "kernel"; "kernel pty" adds the pty fallback; xl2tpd runs in kernel
# mode only; the control too). BENCH lines carry the numbers; the PASS/FAIL checks are about correctness only: every session set
# up, every pppd started and running, and nothing left after teardown (no pppd, no ppp interface, an empty
# /proc/net/pppol2tp). Options: boot.sh --env PB_N=200 --env PB_IN_FLIGHT=100 --env PB_MODES="kernel pty"
# --env PB_BRACKET=1 (the bound measured again after l2tpvpnd, before xl2tpd) --env "PB_PARALLEL=1 2 4 8" (the
# bound's parallelisms; default "1 2") --env PB_CONTROL=0 (no control run).

# The default N is the CI shape (a few minutes in the guest under TCG); docs/benchmarks/pppd_setup.md used 200.
PB_N=${PB_N:-60}
PB_IN_FLIGHT=${PB_IN_FLIGHT:-100}
PB_MODES=${PB_MODES:-kernel}
D=$VM_BUILD/l2tpvpnd
PLUGIN=$VM_BUILD/l2tpvpn.so
BOUND=$VM_BUILD/tests/bench/pppd_start_bound
LOADGEN=$VM_BUILD/tests/bench/l2tp_loadgen
SRV_IP=192.0.2.1 CLI_IP=192.0.2.2
OUT=$VM_OUT/pppd_setup_bench
mkdir -p "$OUT"

ns_add srv $SRV_IP/24 && ns_add cli $CLI_IP/24 || fail "namespaces"
SD=$(ns_dir srv)
mkdir -p "$SD/etc"
echo "bench password=bench-secret" >"$SD/etc/users"
chmod 600 "$SD/etc/users"
bench "guest: $(grep -c ^processor /proc/cpuinfo) vCPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo), $(uname -r)"

# pppd processes in srv, and "nothing left there": no pppd, no ppp interface, no kernel tunnel or session.
srv_pppds() {
  _n=0
  for _p in $(ip netns pids srv 2>/dev/null); do
    read -r _c <"/proc/$_p/comm" 2>/dev/null && case $_c in pppd | pppd_standin) _n=$((_n + 1)) ;; esac
  done
  echo $_n
}
srv_clean() { [ "$(srv_pppds)" = 0 ] && no_ppp_iface srv && pppol2tp_clean srv; }
# One pppd command line of srv, digits folded to N (unit, addresses, IDs and tty numbers differ per session).
srv_pppd_argv_shape() {
  for _p in $(ip netns pids srv 2>/dev/null); do
    read -r _c <"/proc/$_p/comm" 2>/dev/null && [ "$_c" = pppd ] || continue
    tr '\0' ' ' <"/proc/$_p/cmdline" | sed 's/[0-9][0-9]*/N/g'
    return 0
  done
  return 1
}
udp_1701_open() { ip netns exec srv grep -q ':06A5 ' /proc/net/udp; }
json_of() { sed -n "s/^$1 //p" "$2" | tail -n 1; }  # json_of PREFIX FILE: the JSON after "PREFIX "

# bound MODE PARALLEL: sets BOUND_RATE (starts/s) and prints the BENCH line.
bound() {
  _f=$OUT/bound-$1-$2.txt
  ns_exec srv "$BOUND" --mode "$1" --starts "$PB_N" --parallel "$2" --plugin "$PLUGIN" --users "$SD/etc/users" \
    --timeout-s 120 >"$_f" 2>"$OUT/bound-$1-$2.err"
  _rc=$?
  BOUND_ARGV=$(sed -n 's/^pppd_start_bound: argv: //p' "$OUT/bound-$1-$2.err" | sed 's/[0-9][0-9]*/N/g')
  _j=$(json_of BOUND "$_f")
  check "bound ($1, $2 at a time): all $PB_N pppds ran" [ "$_rc" = 0 ] || { tail -n 20 "$OUT/bound-$1-$2.err"; }
  BOUND_RATE=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["starts_per_s"])' "$_j" 2>/dev/null)
  python3 - "$_j" <<'PY' || fail "bound ($1, $2): no result line"
import json, sys
d = json.loads(sys.argv[1]); s = d["start_ms"]
print(f"BENCH: bound, {d['mode']}: {d['running']} pppd starts {d['parallel']} at a time in {d['wall_s']:.2f} s: "
      f"{d['starts_per_s']:.1f} starts/s; spawn to first frame p50 {s.get('p50', 0):.1f} ms, "
      f"p99 {s.get('p99', 0):.1f} ms; exit codes after SIGHUP {d['exit_codes']}")
PY
  check "bound ($1, $2 at a time): nothing left after SIGHUP" wait_for 20 srv_clean
}

# drive LNS MODE [standin]: the load generator in cli against srv; holds until every pppd ran (or 90 s), then
# tears down. With `standin` (the LNS runs the no-op stand-in, which sends no frame): held until the daemon has
# logged every stand-in started ($DLOG). Sets LG (the result file) and prints the BENCH lines.
drive() {
  LG=$OUT/loadgen-$1-$2${3:+-$3}.txt
  _release=$OUT/release-$1-$2
  rm -f "$_release"
  if [ "${3:-}" = standin ]; then _hold="--hold-ms 90000 --release-file $_release"; else _hold="--hold-ms 90000 --ppp-wait"; fi
  ns_spawn cli "$LG" "$LOADGEN" --peer $SRV_IP --port 1701 --bind $CLI_IP --tunnels "$PB_N" --sessions 1 \
    --in-flight "$PB_IN_FLIGHT" $_hold --teardown --timeout-s 60 --latencies "$OUT/latencies-$1-$2${3:+-$3}.txt"
  _lg=$SPAWNED_PID
  # The guest's lowest MemAvailable while the load generator runs (every pppd costs memory), sampled each second.
  (_min=999999999; _i=0
   while running "$_lg" && [ $_i -lt 300 ]; do
     _a=$(sed -n 's/^MemAvailable: *\([0-9]*\).*/\1/p' /proc/meminfo); [ "$_a" -lt "$_min" ] && _min=$_a
     _i=$((_i + 1)); sleep 1
   done; echo "$_min" >"$LG.memmin") &
  _mem=$!
  if [ "${3:-}" = standin ]; then
    wait_for 90 sh -c "[ \$(grep -c event=pppd_started '$DLOG') -ge $PB_N ]"
    : >"$_release"
  elif wait_for 90 grep -q '^LOADGEN up' "$LG" && wait_for 30 srv_pppd_argv_shape; then
    _shape=$(srv_pppd_argv_shape)
    if [ "$1" = l2tpvpnd ]; then
      check "$1 ($2): the bound ran the daemon's pppd argv (up to numbers)" [ "$_shape" = "$BOUND_ARGV " ] ||
        { echo "daemon: $_shape"; echo "bound:  $BOUND_ARGV"; }
    else
      log "$1's pppd argv: $_shape"
    fi
  fi
  wait_exit 150 "$_lg"
  wait_exit 10 "$_mem"
  bench "$1 ($2${3:+, $3}): lowest MemAvailable during the run $(cat "$LG.memmin" 2>/dev/null) kB"
  _j=$(json_of "LOADGEN result" "$LG")
  python3 - "$_j" "$1" "$2${3:+, $3}" "$BOUNDS" <<'PY' || { fail "$1 ($2): no load generator result (exit $WAIT_RC)"; tail -n 5 "$LG"; }
import json, sys
g = json.loads(sys.argv[1]); who = f"{sys.argv[2]} ({sys.argv[3]})"; n = g["tunnels"] * g["sessions_per_tunnel"]
# Only l2tpvpnd is judged; xl2tpd is the anchor: its misses are reported as measurements.
def verdict(ok):
    return ("PASS:" if ok else "FAIL:") if who.startswith("l2tpvpnd") else "BENCH: (not judged)"
ok = g["tunnels_up"] == g["tunnels"] and g["sessions_up"] == n
print(verdict(ok), f"{who}: {g['tunnels_up']}/{g['tunnels']} tunnels, {g['sessions_up']}/{n} sessions set up")
print(verdict(g["teardown_unacked"] == 0), f"{who}: every StopCCN acknowledged")
a, c, t = g["iccn_ack_ms"], g["scccn_ack_ms"], g["session_setup_ms"]
acks = (f"ICCN ack p50 {a['p50']:.2f} ms p99 {a['p99']:.2f} ms max {a['max']:.2f} ms; "
        f"SCCCN ack p50 {c['p50']:.2f} ms p99 {c['p99']:.2f} ms; session setup p50 {t['p50']:.1f} ms p99 {t['p99']:.1f} ms")
if "standin" in who:
    print(f"BENCH: {who}, {n} sessions, {g['in_flight']} in flight: {g['sessions_per_s']:.1f} sessions/s (L2TP); {acks}; "
          f"retransmissions {g['setup_retransmissions']} in setup")
    sys.exit(0)
print(verdict(g["ppp_first_frames"] == n),
      f"{who}: every pppd running (first PPP frame of {g['ppp_first_frames']}/{n} sessions)")
rate = g["ppp_first_frames"] / g["ppp_all_s"] if g["ppp_all_s"] else 0
bounds = [(int(p), float(r)) for p, r in (w.split(":") for w in sys.argv[4].split() if not w.endswith(":"))]
f = g["ppp_first_frame_ms"]
ratio = ", ".join(f"{rate / r:.2f}x the bound {p} at a time ({r:.1f}/s)" for p, r in bounds if r) or "no bound"
if len(bounds) > 1 and max(r for _, r in bounds):
    ratio += f", {rate / max(r for _, r in bounds):.2f}x the best of them"
print(f"BENCH: {who}, {n} sessions, {g['in_flight']} in flight: {g['sessions_per_s']:.1f} sessions/s (L2TP), "
      f"{rate:.1f} sessions/s with every pppd running ({g['ppp_all_s']:.2f} s), {ratio}; "
      f"{acks}; "
      f"ICCN to first PPP frame p50 {f.get('p50', 0):.1f} ms p99 {f.get('p99', 0):.1f} ms; "
      f"retransmissions {g['setup_retransmissions']} in setup, {g['retransmissions']} in all; "
      f"ID collisions {g['tunnel_id_collisions']}/{g['session_id_collisions']}; "
      f"{g['lost_during_hold']['sessions']} sessions ended by the LNS before the teardown (pppd gave up LCP)")
PY
}

# run_l2tpvpnd MODE PPPD [standin]: l2tpvpnd in srv with that data path and pppd, driven by `drive`, then stopped.
run_l2tpvpnd() {
  cat >"$SD/etc/l2tpvpnd-$1$3.conf" <<EOF
[log]
level = info
[l2tp]
listen = $SRV_IP
max_tunnels = 65535
max_tunnels_per_peer = 65535
max_sessions_per_tunnel = 1000
max_control_rate = 0
[status]
listen = 127.0.0.1
port = 8171
[control]
socket = $SD/run/control.sock
[users]
file = $SD/etc/users
[ppp]
pppd = $2
plugin = $PLUGIN
data_path = $1
max_sessions_per_peer = 65535
max_unauthenticated_per_peer = 65535
max_unauthenticated = 65535
[pool]
range = 10.200.0.1-10.200.255.254
server_address = 10.199.0.1
[ipsec]
required = no
[firewall]
manage = no
EOF
  DLOG=$SD/log/l2tpvpnd-$1$3.log
  ns_spawn srv "$DLOG" "$D" -c "$SD/etc/l2tpvpnd-$1$3.conf"
  DPID=$SPAWNED_PID
  if wait_for 30 grep -q event=started "$DLOG"; then
    drive l2tpvpnd "$1" $3
    _started=$(grep -c event=pppd_started "$DLOG")
    check "l2tpvpnd ($1${3:+, $3}): every pppd started ($_started/$PB_N, none refused)" \
      sh -c "[ $_started = $PB_N ] && ! grep -q event=session_refused '$DLOG'"
    check "l2tpvpnd ($1${3:+, $3}): nothing left after teardown (pppd, ppp interface, /proc/net/pppol2tp)" wait_for 30 srv_clean ||
      log "left: $(srv_pppds) pppd, $(ip -n srv -o link show | grep -c ': ppp') ppp interfaces"
    kill -TERM "$DPID"; wait_exit 20 "$DPID"
    check "l2tpvpnd ($1${3:+, $3}): SIGTERM, exit 0" [ "$WAIT_RC" = 0 ]
  else
    fail "l2tpvpnd ($1) did not start"; tail -n 20 "$DLOG"
  fi
}

for MODE in $PB_MODES; do
  log "=== $MODE: the bound"
  # BOUNDS: "P:starts/s ..." for each parallelism of PB_PARALLEL (default: one and two at a time).
  BOUNDS=
  for P in ${PB_PARALLEL:-1 2}; do
    bound "$MODE" "$P"
    BOUNDS="$BOUNDS $P:$BOUND_RATE"
  done

  log "=== $MODE: l2tpvpnd"
  run_l2tpvpnd "$MODE" /usr/sbin/pppd

  # PB_BRACKET=1: the bound again after the LNS runs, so a change of the host's load during the run shows.
  if [ "${PB_BRACKET:-0}" = 1 ]; then
    log "=== $MODE: the bound again"
    for P in ${PB_PARALLEL:-1 2}; do bound "$MODE" "$P"; done
  fi

  [ "$MODE" = kernel ] || continue
  log "=== $MODE: xl2tpd"
  chap_secret srv bench '*' bench-secret
  # xl2tpd's pppd: the same authentication and link options l2tpvpnd's argv carries (no plugin: xl2tpd has none)
  cat >"$SD/etc/xl2tpd-ppp.options" <<EOF
name l2tpvpn
auth
require-mschap-v2
refuse-pap
refuse-chap
refuse-mschap
refuse-eap
noccp
mtu 1350
mru 1350
lcp-echo-interval 30
lcp-echo-failure 4
noipdefault
nodefaultroute
noproxyarp
EOF
  cat >"$SD/etc/xl2tpd.conf" <<EOF
[global]
listen-addr = $SRV_IP
port = 1701
access control = no
[lns default]
ip range = 10.201.0.1-10.201.255.254
local ip = 10.199.0.2
require authentication = yes
name = l2tpvpn
pppoptfile = $SD/etc/xl2tpd-ppp.options
length bit = yes
EOF
  XLOG=$SD/log/xl2tpd.log
  ns_spawn srv "$XLOG" xl2tpd -D -c "$SD/etc/xl2tpd.conf" -p "$SD/run/xl2tpd.pid" -C "$SD/run/xl2tpd.control"
  XPID=$SPAWNED_PID
  if wait_for 30 udp_1701_open; then
    drive xl2tpd "$MODE"
    log "xl2tpd: $(grep -m1 -i 'kernel support' "$XLOG")"
    # xl2tpd is the anchor, not under test: what it leaves behind is reported, not judged.
    if wait_for 15 srv_clean; then
      bench "xl2tpd ($MODE): nothing left 15 s after the teardown"
    else
      bench "xl2tpd ($MODE): 15 s after every StopCCN was acknowledged, $(srv_pppds) pppd and" \
        "$(ip -n srv -o link show | grep -c ': ppp') ppp interfaces were still there"
    fi
    kill -TERM "$XPID"; wait_exit 20 "$XPID"
    wait_for 30 srv_clean || log "after xl2tpd's SIGTERM: $(srv_pppds) pppd left (vm_reset ends them)"
  else
    fail "xl2tpd did not start"; tail -n 20 "$XLOG"
  fi

  # The control: l2tpvpnd with the no-op stand-in as its pppd, the same load. What the ICCN ack costs in this guest
  # when starting a "pppd" costs one tiny process (PB_CONTROL=0 leaves it out).
  if [ "${PB_CONTROL:-1}" = 1 ]; then
    log "=== $MODE: l2tpvpnd with the stand-in"
    srv_clean || kill -KILL $(ip netns pids srv) 2>/dev/null  # xl2tpd's leftover pppds, if any
    wait_for 10 srv_clean
    run_l2tpvpnd "$MODE" "$VM_BUILD/tests/bench/pppd_standin" standin
  fi
done
cp -r "$SD/log" "$OUT/srv-log" 2>/dev/null
