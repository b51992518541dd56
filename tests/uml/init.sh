#!/bin/sh
# PID 1 of the UML guest (booted by boot.sh). The host's / is the guest's root, read-only (hostfs).
# Environment from the kernel command line: UML_ROOT (repo), UML_BUILD (build dir), UML_OUT (host dir, writable
# here through a hostfs mount), UML_SCENARIOS (':'-separated scenario files), plus any --env.
# Runs each scenario in a subshell with tests/uml/lib.sh sourced, tees its output to $UML_OUT/<name>.log, counts
# the PASS:/FAIL: lines into $UML_OUT/summary and powers off. PID 1 must never exit (the kernel would panic),
# so nothing here uses `set -e` and the power-off is unconditional.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mountpoint -q /dev || mount -t devtmpfs dev /dev  # the kernel may have mounted it (DEVTMPFS_MOUNT)
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mkdir -p "$UML_OUT"  # under the fresh /tmp: the mount point must be made again
mount -t hostfs -o "$UML_OUT" none "$UML_OUT"
. "$UML_ROOT/tests/uml/lib.sh"
log "init: kernel $(uname -r), scenarios $UML_SCENARIOS"

# Kernel modules come from the UML module tree, not the host's /lib/modules: a modprobe wrapper with -d, also
# for the kernel's own autoload (socket(AF_PPPOX) -> pppox-proto-1). bpfilter is refused: iptables makes the
# kernel try to start its usermode helper, which only costs time here.
K=$(uname -r)
mkdir -p "/tmp/modroot/lib/modules/$K"
mount --bind "/usr/lib/uml/modules/$K" "/tmp/modroot/lib/modules/$K"
printf '#!/bin/sh\ncase "$*" in *bpfilter*) exit 1;; esac\nexec /sbin/modprobe -d /tmp/modroot "$@"\n' >/tmp/modprobe
chmod +x /tmp/modprobe
echo /tmp/modprobe >/proc/sys/kernel/modprobe
# One modprobe for all: each process start costs a lot in UML. The IPsec/NAT ones serve later scenarios.
/tmp/modprobe -a ppp_generic ppp_async pppox l2tp_core l2tp_ppp veth bridge \
  esp4 xfrm_user cbc hmac authenc echainiv seqiv des_generic sha512_generic \
  xt_policy xt_tcpudp iptable_filter iptable_nat xt_MASQUERADE || log "init: modprobe reported a failure"
log "init: modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
ip link set lo up

IFS_SAVED=$IFS; IFS=:; set -- $UML_SCENARIOS; IFS=$IFS_SAVED
for scenario in "$@"; do
  name=$(basename "$scenario" .sh)
  log "init: === scenario $name"
  # A subshell: a scenario's `exit`, variables and traps stay its own.
  ( cd /tmp && . "$scenario" ) 2>&1 | tee "$UML_OUT/$name.log"
  if ! grep -qE '^(PASS|FAIL):' "$UML_OUT/$name.log"; then
    echo "FAIL: $name: the scenario reported no result" | tee -a "$UML_OUT/$name.log"
  fi
  uml_reset  # the next scenario starts from a clean network
done

passed=0 failed=0
for scenario in "$@"; do
  logf=$UML_OUT/$(basename "$scenario" .sh).log
  np=0 nf=1  # no log at all (hostfs trouble) counts as a failure; PID 1 must not die on bad arithmetic
  if [ -f "$logf" ]; then np=$(grep -c '^PASS:' "$logf") nf=$(grep -c '^FAIL:' "$logf"); fi
  passed=$((passed + ${np:-0})) failed=$((failed + ${nf:-0}))
done
echo "$passed passed, $failed failed" >"$UML_OUT/summary"
log "init: $passed passed, $failed failed"
sync
busybox poweroff -f
