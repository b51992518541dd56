#!/bin/sh
# Boot Debian 12's own kernel under qemu once and run one or more scenarios in it (tests/vm/README.md).
#
# usage: tests/vm/boot.sh [--build DIR] [--out DIR] [--timeout SEC] [--mem MB] [--env KEY=VALUE]...
#                         SCENARIO[,SCENARIO...]
#   SCENARIO   a name under tests/vm/scenarios/ (kernel_data_path) or a path to a .sh file
#   --build    the CMake build dir the scenarios take binaries from (default: <repo>/build); $VM_BUILD in the guest
#   --out      host directory for the guest's logs (default: a new /tmp/l2tpvpn-vm.XXXXXX); $VM_OUT in the guest,
#              the same path on both sides
#   --timeout  wall-clock seconds for the whole boot (default 300); qemu is killed after that
#   --mem      guest memory in MiB (default 2048)
#   --env      an extra variable for the scenarios (KEY=VALUE, no quotes needed)
#   --deb FILE boot an installed system instead: a Debian 12 root with FILE (an l2tpvpn .deb) installed by apt
#              (tests/vm/deb_root.sh), systemd as PID 1, the scenarios run by a unit once multi-user is up; the
#              host's / is at /mnt/host inside, so $VM_ROOT and $VM_BUILD point there
# Environment: L2TPVPN_VM_ACCEL=kvm|tcg forces the accelerator (default: KVM when a probe guest boots on it, else
# TCG, which emulates the CPU and runs anywhere); L2TPVPN_VM_CACHE is the kernel cache (tests/vm/prepare.sh).
# Prints the guest's PASS:/FAIL:/BENCH: lines and its summary. Exit status: 0 when the guest reported at least
# one PASS and no FAIL; 1 on failures, a timeout or a guest that never wrote its summary; 2 when something
# needed is missing (named on stderr) or on a usage error.
set -eu
V=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$V/../.." && pwd)
BUILD=$ROOT/build OUT= TIMEOUT=300 MEM=2048 SCENARIOS= DEB=
ENVF=$(mktemp)
trap 'rm -f "$ENVF"' EXIT

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
# quote VALUE: VALUE as one single-quoted shell word
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --deb) DEB=$2; shift 2 ;;
    --env) case $2 in [A-Za-z_]*=*) ;; *) echo "boot.sh: bad --env '$2'" >&2; exit 2 ;; esac
           echo "export ${2%%=*}=$(quote "${2#*=}")" >>"$ENVF"; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "$SCENARIOS" ] || usage; SCENARIOS=$1; shift ;;
  esac
done
[ -n "$SCENARIOS" ] || usage
command -v qemu-system-x86_64 >/dev/null || { echo "boot.sh: qemu-system-x86_64 not found (package qemu-system-x86)" >&2; exit 2; }
# The guest runs on this host's /: what its init and every scenario use must be installed here.
for need in mount:mount ip:iproute2 modprobe:kmod busybox:busybox-static python3:python3 jq:jq; do
  command -v "${need%%:*}" >/dev/null ||
    { echo "boot.sh: ${need%%:*} not found (package ${need#*:}); the guest's init and scenarios need it" >&2; exit 2; }
done
KDIR=$("$V/prepare.sh") || exit 2

# In a systemd guest the host's / is mounted at /mnt/host: host paths the guest uses get that prefix.
HP=
if [ -n "$DEB" ]; then
  ROOTFS=$("$V/deb_root.sh" "$DEB") || exit 2
  HP=/mnt/host
fi
LIST=
for s in $(echo "$SCENARIOS" | tr ',' ' '); do
  case $s in */*) f=$(cd "$(dirname "$s")" && pwd)/$(basename "$s") ;; *) f=$V/scenarios/$s.sh ;; esac
  [ -f "$f" ] || { echo "boot.sh: no scenario $f" >&2; exit 2; }
  LIST=${LIST:+$LIST:}$HP$f
done
OUT=${OUT:-$(mktemp -d /tmp/l2tpvpn-vm.XXXXXX)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
rm -f "$OUT/summary" "$OUT"/*.log "$OUT/guest.env"
{
  echo "export VM_ROOT=$(quote "$HP$ROOT") VM_BUILD=$(quote "$HP$BUILD") VM_OUT=$(quote "$OUT")"
  echo "export VM_SCENARIOS=$(quote "$LIST") VM_KVER=$(quote "$(cat "$KDIR/kver")")"
  [ -z "$DEB" ] || echo "export VM_DEB=$(quote "$HP$(readlink -f "$DEB")")"
  cat "$ENVF"
} >"$OUT/guest.env"

# kvm_works: /dev/kvm can be opened AND a guest boots on it. Both are needed: inside some VMs /dev/kvm opens but
# qemu aborts (an MSR it cannot set) or the guest never prints a line. The probe boots the kernel without a root
# (it panics at once: ~1 s with KVM, 10 s allowed) and reads the console; its verdict is cached per host kernel
# and qemu version.
kvm_works() {
  [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null || return 1
  _key="$(uname -r) $(qemu-system-x86_64 --version | head -n 1)"
  _cachef=$(dirname "$KDIR")/kvm-verdict
  if [ -f "$_cachef" ] && [ "$(sed -n 2p "$_cachef")" = "$_key" ]; then
    [ "$(sed -n 1p "$_cachef")" = yes ]; return
  fi
  _log=$(mktemp)
  timeout 10 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nodefaults -display none -no-reboot \
    -serial "file:$_log" -kernel "$KDIR/vmlinuz" -append "console=ttyS0 panic=-1" >/dev/null 2>&1
  _v=no; grep -q 'Kernel panic' "$_log" && _v=yes
  rm -f "$_log"
  printf '%s\n%s\n' "$_v" "$_key" >"$_cachef"
  [ "$_v" = yes ]
}
accel=${L2TPVPN_VM_ACCEL:-}
if [ -z "$accel" ]; then
  if kvm_works; then accel=kvm; else accel=tcg; fi
fi
case $accel in
  kvm) cpu=host ;;
  tcg) cpu=max ;;
  *) echo "boot.sh: L2TPVPN_VM_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

if [ -n "$DEB" ]; then
  # Run by the initramfs (busybox) on the new root before systemd starts: the unit that runs the scenarios, and
  # no getty on the serial console (without udev its device never appears).
  cat >"$OUT/guest-setup.sh" <<EOF2
#!/bin/sh
R=\$1
cat >\$R/etc/systemd/system/vm-test.service <<'UNIT'
[Unit]
Description=l2tpvpn VM scenarios
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh $HP$V/systemd-init.sh $OUT
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=default.target
UNIT
mkdir -p \$R/etc/systemd/system/default.target.wants
ln -sf /etc/systemd/system/vm-test.service \$R/etc/systemd/system/default.target.wants/vm-test.service
ln -sf /dev/null \$R/etc/systemd/system/serial-getty@ttyS0.service
EOF2
  chmod +x "$OUT/guest-setup.sh"
  APPEND="console=ttyS0 rdinit=/init panic=-1 loglevel=4 vm_systemd=1 vm_out=$OUT"
  SHARES="-virtfs local,path=$ROOTFS,mount_tag=vmroot,security_model=passthrough,readonly=on,multidevs=remap"
else
  APPEND="console=ttyS0 rdinit=/init panic=-1 loglevel=4 vm_init=$V/init.sh vm_out=$OUT"
  SHARES=
fi

start=$(date +%s)
# Three 9p shares: the host's / (read-only root), the kernel's module tree (read-only), and OUT (writable;
# mounted at the same path inside). `setsid` puts qemu in a process group of its own, so a timeout ends exactly it.
setsid qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m "$MEM" -smp 2 -nodefaults -display none -no-reboot \
  -serial "file:$OUT/console.log" -nic none \
  -kernel "$KDIR/vmlinuz" -initrd "$KDIR/initrd.gz" \
  -append "$APPEND" $SHARES \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$KDIR/root/lib/modules,mount_tag=kmods,security_model=none,readonly=on" \
  -virtfs "local,path=$OUT,mount_tag=out,security_model=none" \
  </dev/null >"$OUT/qemu.log" 2>&1 &
pid=$!
timed_out=0
while kill -0 "$pid" 2>/dev/null; do
  if [ "$(date +%s)" -ge $((start + TIMEOUT)) ]; then
    timed_out=1
    kill -KILL "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 1
done
qrc=0
wait "$pid" 2>/dev/null || qrc=$?
end=$(date +%s)

echo "vm: $SCENARIOS: $((end - start)) s wall ($accel, kernel $(cat "$KDIR/kver")); logs in $OUT"
for f in "$OUT"/*.log; do
  [ -f "$f" ] && [ "$(basename "$f")" != console.log ] && [ "$(basename "$f")" != qemu.log ] || continue
  grep -E '^(PASS|FAIL|BENCH|TIME):' "$f" || true
done
if [ "$timed_out" = 1 ]; then
  echo "vm: TIMEOUT after $TIMEOUT s; last console lines:"; tail -n 30 "$OUT/console.log"
  exit 1
fi
if [ ! -f "$OUT/summary" ]; then
  echo "vm: the guest wrote no summary (qemu exit $qrc); qemu said:"; tail -n 10 "$OUT/qemu.log"
  echo "vm: last console lines:"; tail -n 30 "$OUT/console.log"
  exit 1
fi
echo "vm: $(cat "$OUT/summary")"
# "N passed, M failed"
set -- $(cat "$OUT/summary")
[ "$1" -gt 0 ] && [ "$3" -eq 0 ]
