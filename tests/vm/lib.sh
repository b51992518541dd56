# Helpers for the VM scenarios (POSIX sh; sourced by init.sh, so every scenario has them).
#
# Topology: the guest's root network namespace is the "internet": a bridge named `internet`. Each endpoint
# is a network namespace attached to it by a veth pair (eth0 inside, v-<ns> on the bridge). Each namespace also
# has a directory /tmp/vm/<ns> with its own run/ and etc-ppp/: ns_exec binds them over /run and /etc/ppp
# (`ip netns exec` gives every command a private mount namespace, so the binds are seen by that command and its
# children only; the directories persist, so pid files and secrets survive between commands).
#
# Timing: under TCG (no KVM) the guest computes 6-10x and starts processes 15-30x slower than the host, so every
# wait has a deadline on the clock (/proc/uptime), never a count of loop iterations.

VM_NS_ROOT=/tmp/vm

# vm_modprobe MODULE...: load modules from the guest kernel's own tree (init.sh mounts it; one call for many is
# much cheaper than one each).
vm_modprobe() { ${VM_MODPROBE:-/run/modprobe} -a "$@"; }

# Monotonic time in centiseconds (uptime has two decimals). `read` is a builtin: no process per call.
now_cs() {
  read -r _up _idle </proc/uptime
  _s=${_up%.*} _f=${_up#*.}
  _f=${_f#0}  # "07" would be octal in $(( ))
  echo $((_s * 100 + _f))
}

log() {
  read -r _up _idle </proc/uptime
  echo "[$_up] $*"
}

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
bench() { echo "BENCH: $*"; }  # a measurement, not a verdict
# check NAME CMD...: PASS/FAIL by the command's status; returns it.
check() {
  _name=$1; shift
  if "$@"; then pass "$_name"; return 0; fi
  fail "$_name"; return 1
}

# wait_for SECONDS CMD...: run CMD until it succeeds or the deadline passes (status 1). Polls every 0.1 s.
wait_for() {
  _deadline=$(($(now_cs) + $1 * 100)); shift
  while ! "$@" >/dev/null 2>&1; do
    [ "$(now_cs)" -ge "$_deadline" ] && return 1
    sleep 0.1
  done
  return 0
}

# running PID: the process exists and has not exited (a zombie the shell has not reaped yet counts as exited).
running() {
  [ -r "/proc/$1/stat" ] || return 1
  read -r _stat <"/proc/$1/stat" 2>/dev/null || return 1
  _state=${_stat##*) }
  [ "${_state%% *}" != Z ]
}
not_running() { ! running "$1"; }

# wait_exit SECONDS PID: wait for a background child of this shell and set WAIT_RC to its exit status. On
# timeout it is sent SIGKILL and WAIT_RC=timeout (status 1). Not usable inside $(...): a command substitution
# is a subshell, and `wait` there knows no children of ours (it returns 127).
wait_exit() {
  if wait_for "$1" not_running "$2"; then
    wait "$2"; WAIT_RC=$?
    return 0
  fi
  kill -KILL "$2" 2>/dev/null; wait "$2" 2>/dev/null
  WAIT_RC=timeout
  return 1
}

internet_up() {
  ip link show internet >/dev/null 2>&1 && return 0
  ip link add name internet type bridge && ip link set internet up
}

ns_dir() { echo "$VM_NS_ROOT/$1"; }

# ns_add NAME ADDR/PREFIX: a namespace on the internet bridge with eth0 = ADDR, lo up, and its private dirs.
# /etc/ppp starts empty apart from an empty `options` (so the host's /etc/ppp/options and ip-up scripts stay out).
ns_add() {
  internet_up || return 1
  _d=$(ns_dir "$1")
  mkdir -p "$_d/run/lock" "$_d/etc-ppp" "$_d/log" || return 1
  : >"$_d/etc-ppp/options"
  : >"$_d/etc-ppp/chap-secrets"; chmod 600 "$_d/etc-ppp/chap-secrets"
  ip netns add "$1" || return 1
  ip -n "$1" link set lo up
  ip link add name eth0 netns "$1" type veth peer name "v-$1" || return 1
  ip link set "v-$1" master internet up
  ip -n "$1" addr add "$2" dev eth0
  ip -n "$1" link set eth0 up
}

# ns_exec NAME CMD...: CMD inside the namespace with its own /run and /etc/ppp, in the foreground.
_NS_SETUP='mount --bind "$0/run" /run && mount --bind "$0/etc-ppp" /etc/ppp && exec "$@"'
ns_exec() {
  _ns=$1; shift
  ip netns exec "$_ns" sh -c "$_NS_SETUP" "$(ns_dir "$_ns")" "$@"
}
# ns_spawn NAME OUTFILE CMD...: the same in the background, stdout+stderr to OUTFILE; sets SPAWNED_PID.
# exec all the way down (subshell -> ip -> sh -> CMD), so SPAWNED_PID is CMD's own pid once it started and a
# signal sent to it reaches CMD, not a wrapper shell. (`ns_exec ... &` would give the pid of a forked shell
# running the function, which would die alone.)
ns_spawn() {
  _ns=$1 _outf=$2; shift 2
  (exec ip netns exec "$_ns" sh -c "$_NS_SETUP" "$(ns_dir "$_ns")" "$@" >"$_outf" 2>&1) &
  SPAWNED_PID=$!
}
quiet() { "$@" >/dev/null 2>&1; }

# chap_secret NS CLIENT SERVER SECRET [IP]: one line of the namespace's chap-secrets.
chap_secret() {
  printf '"%s" %s "%s" %s\n' "$2" "$3" "$4" "${5:-*}" >>"$(ns_dir "$1")/etc-ppp/chap-secrets"
}

# has_addr NS DEV [ADDR]: DEV has an IPv4 address (ADDR when given).
has_addr() {
  _a=$(ip -n "$1" -4 -o addr show dev "$2" 2>/dev/null) || return 1
  case $_a in *"inet ${3:-}"*) return 0 ;; esac
  return 1
}
no_ppp_iface() { ! ip -n "$1" -o link show 2>/dev/null | grep -q ': ppp'; }
pingp() { ip netns exec "$1" busybox ping -c "${3:-3}" -W 2 "$2"; }

# pppol2tp_clean NS: no tunnel or session left in the namespace's /proc/net/pppol2tp (the header lines contain
# no quote; every tunnel/session line names it in quotes: TUNNEL 'tunl 11', SESSION 'sess 11/101').
pppol2tp_clean() { ! ip netns exec "$1" grep -qE "TUNNEL '|SESSION '" /proc/net/pppol2tp; }

# dump NS...: the namespaces' logs, for the scenario log when something failed.
dump() {
  for _n in "$@"; do
    for _f in "$(ns_dir "$_n")"/log/*; do
      [ -f "$_f" ] || continue
      echo "----- $_f"; tail -n "${DUMP_LINES:-60}" "$_f"
    done
  done
}

# Between scenarios (init.sh): every namespace and the bridge go, with whatever still ran in them.
vm_reset() {
  for _n in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
    for _p in $(ip netns pids "$_n" 2>/dev/null); do kill -KILL "$_p" 2>/dev/null; done
    ip netns delete "$_n"
  done
  ip link del internet 2>/dev/null
  rm -rf "$VM_NS_ROOT"
  return 0
}

# vm_run_scenarios: each of $VM_SCENARIOS (':'-separated files) in a subshell of its own, its output teed to
# $VM_OUT/<name>.log with a TIME: line added, the network reset after it; then "N passed, M failed" (the PASS:
# and FAIL: lines of all logs) into $VM_OUT/summary. A scenario that printed no result counts as failed.
vm_run_scenarios() {
  _saved_ifs=$IFS; IFS=:; set -- $VM_SCENARIOS; IFS=$_saved_ifs
  for _scenario in "$@"; do
    _name=$(basename "$_scenario" .sh)
    log "init: === scenario $_name"
    _t0=$(now_cs)
    # A subshell: a scenario's `exit`, variables and traps stay its own.
    ( cd /tmp && . "$_scenario" ) 2>&1 | tee "$VM_OUT/$_name.log"
    if ! grep -qE '^(PASS|FAIL):' "$VM_OUT/$_name.log"; then
      echo "FAIL: $_name: the scenario reported no result" | tee -a "$VM_OUT/$_name.log"
    fi
    echo "TIME: $_name: $(( ($(now_cs) - _t0) / 100 )) s in the guest" | tee -a "$VM_OUT/$_name.log"
    vm_reset  # the next scenario starts from a clean network
  done
  _passed=0 _failed=0
  for _scenario in "$@"; do
    _logf=$VM_OUT/$(basename "$_scenario" .sh).log
    _np=0 _nf=1  # no log at all (9p trouble) counts as a failure; PID 1 must not die on bad arithmetic
    if [ -f "$_logf" ]; then _np=$(grep -c '^PASS:' "$_logf") _nf=$(grep -c '^FAIL:' "$_logf"); fi
    _passed=$((_passed + ${_np:-0})) _failed=$((_failed + ${_nf:-0}))
  done
  echo "$_passed passed, $_failed failed" >"$VM_OUT/summary"
  log "init: $_passed passed, $_failed failed"
}
