#!/bin/sh
# l2tpvpnd with IPsec required, on this host (no ESP in the host kernel: no SA can be installed here, which is
# exactly the case "a host with no SA sends SCCRQ"). Needs root; runs in private network + mount namespaces.
#
# usage: daemon_ipsec.sh PATH/l2tpvpnd PATH/l2tp_probe PATH/status.schema.json
set -u
if [ -z "${L2TPVPN_IN_NS:-}" ]; then
  exec env L2TPVPN_IN_NS=1 unshare -mn --propagation private sh "$0" "$@"
fi
DAEMON=$1 PROBE=$2 SCHEMA=$3
W=$(mktemp -d /var/tmp/l2tpvpn-daemon.XXXXXX)
PASSES=0 FAILS=0
pass() { PASSES=$((PASSES + 1)); echo "PASS: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
check() { _n=$1; shift; if "$@"; then pass "$_n"; else fail "$_n"; fi; }
now_ms() { date +%s%3N; }
# wait_for SECONDS CMD...: poll every 0.1 s against the clock.
wait_for() {
  _end=$(( $(now_ms) + $1 * 1000 )); shift
  until "$@" >/dev/null 2>&1; do [ "$(now_ms)" -ge "$_end" ] && return 1; sleep 0.1; done
}
ip link set lo up
mount -t tmpfs tmpfs /run  # charon's /var/run/charon.pid, our control socket
PORT=8179
status() { python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$PORT/status', timeout=3).read().decode())"; }
q() { status | python3 -c "import json,sys; s=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
q_is() { [ "$(q "$1" 2>/dev/null)" = "$2" ]; }
valid_schema() {
  status | python3 -c "
import json, sys, jsonschema
jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1])))" "$SCHEMA"
}
printf 'alice password=alice-pass-1\n' >"$W/users"; chmod 600 "$W/users"
printf 'test-psk-0123456789\n' >"$W/psk"; chmod 600 "$W/psk"
write_conf() {  # REQUIRED(yes|no)
  cat >"$W/l2tpvpnd.conf" <<EOF
[log]
level = debug
[l2tp]
listen = 127.0.0.1
[status]
port = $PORT
[control]
socket = $W/control.sock
[server]
runtime_dir = $W/run
[users]
file = $W/users
[ipsec]
required = $1
charon = embedded
embedded_vici_socket = $W/run/charon.vici
psk_file = $W/psk
ike_port = 5500
nat_t_port = 5501
[firewall]
manage = no
EOF
}
start() {
  "$DAEMON" -c "$W/l2tpvpnd.conf" >>"$W/daemon.log" 2>&1 &
  DPID=$!
}

# --- configuration errors name file, line and key
write_conf yes
out=$("$DAEMON" --check-config -c "$W/l2tpvpnd.conf" 2>&1); rc=$?
check "--check-config accepts the test configuration" [ $rc -eq 0 ]
sed 's/^ike_port = 5500/ike_port = 5501/' "$W/l2tpvpnd.conf" >"$W/bad.conf"
out=$("$DAEMON" --check-config -c "$W/bad.conf" 2>&1); rc=$?
line=$(grep -n '^nat_t_port' "$W/bad.conf" | cut -d: -f1)
case $out in *"$W/bad.conf:$line: ipsec.nat_t_port: "*) ok=1 ;; *) ok=0 ;; esac
check "--check-config rejects equal IKE ports naming file:line:key (exit $rc: $out)" [ $rc -ne 0 -a $ok = 1 ]
chmod 644 "$W/psk"
start
wait $DPID; rc=$?
grep -q "psk_file must not be accessible by group or others" "$W/daemon.log" && ok=1 || ok=0
check "a group/world-readable PSK file stops start-up with a message naming it (exit $rc)" [ $rc -ne 0 -a $ok = 1 ]
chmod 600 "$W/psk"
# No firewall tool on PATH, firewall managed, IPsec required: start-up stops with a message, charon stopped.
sed 's/^manage = no/manage = yes/' "$W/l2tpvpnd.conf" >"$W/fw.conf"
timeout 30 env PATH=/nonexistent "$DAEMON" -c "$W/fw.conf" >"$W/nofw.log" 2>&1; rc=$?  # bounded: a daemon that runs on is the failure
grep -q "firewall: no working backend found" "$W/nofw.log" && ok=1 || ok=0
check "no firewall backend with ipsec.required: refuses to start, naming the way out (exit $rc)" [ $rc -ne 0 -a $ok = 1 ]
nofw_charon=$(sed -n 's/.*event=charon_started .*pid=\([0-9]*\).*/\1/p' "$W/nofw.log")
# The firewall backend is chosen before charon is started, so none is; a charon that was started must be gone.
check "... and leaves no charon running (started: ${nofw_charon:-none})" sh -c "[ -z '$nofw_charon' ] || ! kill -0 '$nofw_charon' 2>/dev/null"
grep -q "nft: not found on PATH, iptables-nft: not found on PATH, iptables-legacy: not found on PATH" "$W/nofw.log" && ok=1 || ok=0
check "... naming each tool it looked for and what was wrong with it" [ $ok = 1 ]
# The same without IPsec required: a warning, and the daemon runs (the administrator chose plaintext L2TP).
sed 's/^manage = no/manage = yes/; s/^required = yes/required = no/' "$W/l2tpvpnd.conf" >"$W/fw-open.conf"
env PATH=/nonexistent "$DAEMON" -c "$W/fw-open.conf" >"$W/nofw-open.log" 2>&1 &
open_pid=$!
started_open() { grep -q 'event=started' "$W/nofw-open.log"; }
check "no firewall backend, ipsec.required = no: starts anyway" wait_for 20 started_open
check "... with a warning (event=firewall_skipped)" grep -q 'event=firewall_skipped' "$W/nofw-open.log"
kill -TERM $open_pid; wait $open_pid
# An inline secret in a configuration file others may read: --check-config and start-up refuse it, naming the
# file, the line and the key; the same file at 0600 is accepted.
sed 's|^psk_file = .*|psk = inline-psk-0123456789|' "$W/l2tpvpnd.conf" >"$W/inline.conf"; chmod 644 "$W/inline.conf"
line=$(grep -n '^psk = ' "$W/inline.conf" | cut -d: -f1)
want="$W/inline.conf:$line: ipsec.psk: holds a secret, but mode 0644 gives group or others access"
out=$("$DAEMON" --check-config -c "$W/inline.conf" 2>&1); rc=$?
case $out in *"$want"*) ok=1 ;; *) ok=0 ;; esac
check "--check-config refuses a world-readable file with an inline PSK, naming file:line:key (exit $rc: $out)" [ $rc -ne 0 -a $ok = 1 ]
timeout 30 "$DAEMON" -c "$W/inline.conf" >"$W/inline.log" 2>&1; rc=$?
grep -qF "$want" "$W/inline.log" && ok=1 || ok=0
check "... and so does start-up (exit $rc)" [ $rc -ne 0 -a $ok = 1 ]
chmod 600 "$W/inline.conf"
out=$("$DAEMON" --check-config -c "$W/inline.conf" 2>&1); rc=$?
check "... the same file at mode 0600 is accepted (exit $rc: $out)" [ $rc -eq 0 ]

# --- embedded charon, profile loaded
start
if wait_for 30 q_is 's["ipsec"]["link"]' ready; then
  pass "embedded charon started and our profile loaded (link ready, charon pid $(q 's["ipsec"]["charon_pid"]'))"
else
  fail "charon link not ready"; tail -n 30 "$W/daemon.log"
fi
check "status JSON valid against docs/status.schema.json (no tunnels)" valid_schema
metrics() { python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$PORT/metrics', timeout=3).read().decode())"; }
has_metric() { metrics | grep -qxF "$1"; }
check "/metrics: charon link ready (Prometheus text)" has_metric 'l2tpvpn_charon_link_ready 1'
check "/metrics: PPP session gauges" has_metric 'l2tpvpn_ppp_sessions{state="up"} 0'
check "kernel without l2tp_ppp: the pty data path is chosen automatically and reported" q_is 's["ppp"]["data_path"]' pty

# --- SIGHUP: proposals (legacy) and DNS reloaded; a broken file changes nothing and says where it is broken
cp "$W/l2tpvpnd.conf" "$W/good.conf"
printf '[ppp]\ndns = 10.0.0.53\n' >>"$W/l2tpvpnd.conf"
sed -i 's/^charon = embedded/charon = embedded\nlegacy = yes/' "$W/l2tpvpnd.conf"
kill -HUP "$DPID"
check "SIGHUP: profile rebuilt with the legacy set and re-sent to charon, new DNS taken" \
  wait_for 10 sh -c "grep -q 'event=ipsec_profile_reloaded legacy=yes' '$W/daemon.log' && grep -q 'event=reloaded users=1 dns=10.0.0.53 legacy=yes' '$W/daemon.log'"
check "SIGHUP: charon link still ready" wait_for 10 q_is 's["ipsec"]["link"]' ready
printf 'bogus line\n' >>"$W/l2tpvpnd.conf"
kill -HUP "$DPID"
badline=$(wc -l <"$W/l2tpvpnd.conf")
check "SIGHUP with a broken file: reload_failed naming $W/l2tpvpnd.conf:$badline, daemon still serving" \
  wait_for 10 sh -c "grep -q 'event=reload_failed error=\"$W/l2tpvpnd.conf:$badline: ' '$W/daemon.log' && kill -0 $DPID"
cp "$W/good.conf" "$W/l2tpvpnd.conf"

# --- RFC 3193 step 3: no SA -> no answer
timeout 10 "$PROBE" --peer 127.0.0.1 --bind 127.0.0.3 >"$W/probe.log" 2>&1; rc=$?
check "SCCRQ from a host without SA gets no answer (probe exit $rc)" [ $rc -ne 0 ]
check "... dropped and counted (not_admitted = $(q 's["l2tp"]["drops"].get("not_admitted", 0)'))" \
  test "$(q 's["l2tp"]["drops"].get("not_admitted", 0)')" -ge 1
check "... and nothing was created" q_is 'len(s["l2tp"]["tunnels"]) + s["l2tp"]["stats"]["tunnels_created"]' 0

# --- charon crashes: restarted, profile re-loaded
old=$(q 's["ipsec"]["charon_pid"]')
kill -KILL "$old"
if wait_for 30 sh -c "[ \"\$(python3 -c \"import json,urllib.request; s=json.load(urllib.request.urlopen('http://127.0.0.1:$PORT/status')); print(s['ipsec']['link'], s['ipsec']['charon_pid'])\")\" != 'ready $old' ] && python3 -c \"import json,urllib.request,sys; s=json.load(urllib.request.urlopen('http://127.0.0.1:$PORT/status')); sys.exit(0 if s['ipsec']['link']=='ready' and s['ipsec']['charon_pid'] not in (None, $old) else 1)\""; then
  pass "charon killed -9 (pid $old): restarted (pid $(q 's["ipsec"]["charon_pid"]')) and the profile re-loaded"
else
  fail "charon not restarted after kill -9"; tail -n 20 "$W/daemon.log"
fi

# --- l2tpvpnd killed -9: its charon is left; the next l2tpvpnd replaces it
orphan=$(q 's["ipsec"]["charon_pid"]')
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null
check "after l2tpvpnd -9 its charon $orphan is still running" kill -0 "$orphan"
start
if wait_for 30 q_is 's["ipsec"]["link"]' ready && ! kill -0 "$orphan" 2>/dev/null; then
  pass "restarted l2tpvpnd stopped the stale charon $orphan and runs its own ($(q 's["ipsec"]["charon_pid"]'))"
else
  fail "stale charon not replaced"; grep -E "stale|charon" "$W/daemon.log" | tail -n 10
fi

# --- SIGTERM: charon stopped, exit 0
cpid=$(q 's["ipsec"]["charon_pid"]')
kill -TERM "$DPID"
wait "$DPID"; rc=$?
check "SIGTERM: l2tpvpnd exits 0 (got $rc)" [ $rc -eq 0 ]
check "SIGTERM: the embedded charon is gone" wait_for 5 sh -c "! kill -0 $cpid 2>/dev/null"

# --- ipsec.required = no: the same probe gets a tunnel (and the status with a session still matches the schema)
write_conf no
start
wait_for 20 q_is 's["ipsec"]["required"]' False
timeout 20 "$PROBE" --peer 127.0.0.1 --bind 127.0.0.3 --hold-ms 3000 >"$W/probe2.log" 2>&1 &
ppid=$!
if wait_for 10 q_is 'len(s["l2tp"]["tunnels"])' 1; then
  pass "ipsec.required = no: the probe's SCCRQ is answered"
  wait_for 5 q_is 'len(s["sessions"]) > 0' True
  check "status JSON with a tunnel and a session valid against the schema" valid_schema
else
  fail "ipsec.required = no: no tunnel"; tail -n 20 "$W/daemon.log"
fi
wait $ppid 2>/dev/null
# A Host Name AVP of invalid UTF-8 with a newline and a quote (\xff \n evil "): /status must still answer, with the
# name escaped; the log line must stay one line.
timeout 20 "$PROBE" --peer 127.0.0.1 --bind 127.0.0.3 --hold-ms 3000 --host-name-hex ff0a6576696c22 >"$W/probe3.log" 2>&1 &
ppid=$!
hostile_listed() { status | tr -d ' ' | grep -qF '"peer_host_name":"\\xFF\\x0Aevil\\\""'; }
if wait_for 10 hostile_listed; then
  pass "hostile Host Name: /status answers and shows it escaped (\\xFF\\x0Aevil\\\")"
else
  fail "hostile Host Name: /status $(status >/dev/null 2>&1 && echo answers || echo 'does not answer'); daemon $(kill -0 "$DPID" 2>/dev/null && echo alive || echo dead)"
fi
wait $ppid 2>/dev/null
check "hostile Host Name: the daemon still runs and answers after the tunnel closed" sh -c "kill -0 $DPID && $(command -v python3) -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/status', timeout=3).read()\""
check "hostile Host Name: logged escaped on one line (no line starts with 'evil')" \
  sh -c "grep -qF 'host=\"\\xFF\\x0Aevil\\\"\"' '$W/daemon.log' && ! grep -q '^evil' '$W/daemon.log'"
kill -TERM "$DPID"; wait "$DPID"

# --- ipsec.charon = system: a charon that is already running (as charon-systemd would be) is used, not replaced;
# on SIGTERM our connection and secret are unloaded and that charon keeps running
printf 'charon {\n  port = 5600\n  port_nat_t = 5601\n  load = nonce pem x509 constraints openssl kernel-netlink socket-default vici\n  plugins { vici { socket = unix://%s/system.vici } }\n}\n' "$W" >"$W/system-strongswan.conf"
STRONGSWAN_CONF="$W/system-strongswan.conf" /usr/lib/ipsec/charon >"$W/system-charon.log" 2>&1 &
SYS=$!
wait_for 30 test -S "$W/system.vici"
write_conf yes
sed -i "s|^charon = embedded|charon = system\nsystem_vici_socket = $W/system.vici|" "$W/l2tpvpnd.conf"
start
conns() { swanctl --list-conns --uri "unix://$W/system.vici" 2>/dev/null; }
if wait_for 30 q_is 's["ipsec"]["charon"] + " " + s["ipsec"]["link"]' "system ready" && conns | grep -q '^l2tpvpn:'; then
  pass "ipsec.charon = system: the running charon is used and got our connection (charon_pid of our own: $(q 's["ipsec"]["charon_pid"]'))"
else
  fail "system charon not used"; tail -n 20 "$W/daemon.log"
fi
kill -TERM "$DPID"; wait "$DPID"; rc=$?
if [ $rc -eq 0 ] && kill -0 $SYS 2>/dev/null && ! conns | grep -q '^l2tpvpn:'; then
  pass "SIGTERM with a system charon: our connection unloaded, that charon still running"
else
  fail "system charon after SIGTERM: exit $rc, conns: $(conns | head -n 3)"
fi
kill -TERM $SYS; wait $SYS 2>/dev/null

echo "$PASSES passed, $FAILS failed"
if [ $FAILS -ne 0 ]; then
  echo "----- daemon log (tail)"; tail -n 60 "$W/daemon.log"
  exit 1
fi
rm -rf "$W"
[ $PASSES -gt 0 ]
