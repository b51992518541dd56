#!/bin/sh
# Boot the Debian UML kernel once and run one or more scenarios in it (tests/uml/README.md).
#
# usage: tests/uml/boot.sh [--build DIR] [--out DIR] [--timeout SEC] [--mem SIZE] [--env KEY=VALUE]...
#                          SCENARIO[,SCENARIO...]
#   SCENARIO   a name under tests/uml/scenarios/ (kernel_data_path) or a path to a .sh file
#   --build    the CMake build dir the scenarios take binaries from (default: <repo>/build); $UML_BUILD in the guest
#   --out      host directory for the guest's logs (default: a new /tmp/l2tpvpn-uml.XXXXXX); $UML_OUT in the guest
#   --timeout  wall-clock seconds for the whole boot (default 280); the guest is killed after that
#   --env      an extra variable for the scenarios (reaches init through the kernel command line: no spaces)
# Prints the guest's PASS:/FAIL:/BENCH: lines and its summary. Exit status: 0 when the guest reported at least
# one PASS and no FAIL; 1 on failures, a timeout or a guest that never wrote its summary; 2 on a usage error.
set -eu
U=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$U/../.." && pwd)
BUILD=$ROOT/build OUT= TIMEOUT=280 MEM=1G EXTRA= SCENARIOS=

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --env) case $2 in *' '*|*=*=*|=*) echo "boot.sh: bad --env '$2'" >&2; exit 2 ;; esac
           EXTRA="$EXTRA $2"; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "$SCENARIOS" ] || usage; SCENARIOS=$1; shift ;;
  esac
done
[ -n "$SCENARIOS" ] || usage
# The guest mounts a fresh tmpfs on /tmp: host files under /tmp are invisible to it (except --out, which init
# mounts through hostfs).
under_tmp() { case $1 in /tmp/*) echo "boot.sh: $2 $1 is under /tmp, which the guest cannot see" >&2; exit 2 ;; esac; }
under_tmp "$BUILD" "build dir"
command -v linux.uml >/dev/null || { echo "boot.sh: linux.uml not found (apt install user-mode-linux)" >&2; exit 2; }

# Scenario names -> absolute paths, ':'-separated for init (the kernel command line splits on spaces).
LIST=
for s in $(echo "$SCENARIOS" | tr ',' ' '); do
  case $s in */*) f=$(cd "$(dirname "$s")" && pwd)/$(basename "$s") ;; *) f=$U/scenarios/$s.sh ;; esac
  [ -f "$f" ] || { echo "boot.sh: no scenario $f" >&2; exit 2; }
  under_tmp "$f" scenario
  LIST=${LIST:+$LIST:}$f
done
OUT=${OUT:-$(mktemp -d /tmp/l2tpvpn-uml.XXXXXX)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
rm -f "$OUT/summary" "$OUT"/*.log

start=$(date +%s)
# Unknown KEY=VALUE kernel parameters become init's environment. `setsid` (not forking: a background job of a
# script is no process group leader) puts linux.uml and its helper processes in a group of their own, so a
# timeout can end exactly them.
# shellcheck disable=SC2086
setsid linux.uml mem="$MEM" rootfstype=hostfs rootflags=/ ro init="$U/init.sh" \
  UML_ROOT="$ROOT" UML_BUILD="$BUILD" UML_OUT="$OUT" UML_SCENARIOS="$LIST" $EXTRA \
  con=null con0=fd:0,fd:1 </dev/null >"$OUT/console.log" 2>&1 &
pid=$!
timed_out=0
while kill -0 "$pid" 2>/dev/null; do
  if [ "$(date +%s)" -ge $((start + TIMEOUT)) ]; then
    timed_out=1
    # The whole group: UML's helper processes too. (dash's kill takes no `--`; "-PID" is the group.)
    kill -KILL "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 1
done
wait "$pid" 2>/dev/null || true
end=$(date +%s)

echo "uml: $SCENARIOS: $((end - start)) s wall; logs in $OUT"
for f in "$OUT"/*.log; do
  [ -f "$f" ] && [ "$(basename "$f")" != console.log ] || continue
  grep -E '^(PASS|FAIL|BENCH):' "$f" || true
done
if [ "$timed_out" = 1 ]; then
  echo "uml: TIMEOUT after $TIMEOUT s; last console lines:"; tail -n 30 "$OUT/console.log"
  exit 1
fi
if [ ! -f "$OUT/summary" ]; then
  echo "uml: the guest wrote no summary; last console lines:"; tail -n 30 "$OUT/console.log"
  exit 1
fi
echo "uml: $(cat "$OUT/summary")"
# "N passed, M failed"
set -- $(cat "$OUT/summary")
[ "$1" -gt 0 ] && [ "$3" -eq 0 ]
