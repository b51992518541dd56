#!/bin/sh
# PID 1 of the qemu guest (booted by boot.sh; the initramfs execs it on the host's / mounted read-only over 9p).
# From the kernel command line: vm_out, the host directory boot.sh shares writable (the 9p tag "out"); it holds
# guest.env with VM_ROOT (repo), VM_BUILD (build dir), VM_OUT (= vm_out), VM_SCENARIOS (':'-separated scenario
# files), VM_KVER and any --env.
# Runs the scenarios (vm_run_scenarios in lib.sh: each in a subshell, output teed to $VM_OUT/<name>.log), counts
# the PASS:/FAIL: lines into $VM_OUT/summary and powers off. PID 1 must never exit (the kernel would panic), so
# nothing here uses `set -e` and the power-off is unconditional.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=666 devpts /dev/pts
mount -t tmpfs shm /dev/shm
mount -t tmpfs -o mode=755 run /run
# /tmp and /var/tmp: writable, and still showing the host's files (a clone or build dir under /tmp must be
# visible in here): an overlay with the host's directory as its read-only lower layer and a tmpfs on top.
for d in /tmp /var/tmp; do
  w=/run/vm-overlay$d
  mkdir -p "$w/upper" "$w/work"
  mount -t overlay -o "lowerdir=$d,upperdir=$w/upper,workdir=$w/work" overlay "$d" ||
    mount -t tmpfs -o mode=1777 tmp "$d"
done
chmod 1777 /tmp /var/tmp
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "$vm_out"
. "$vm_out/guest.env"
# The kernel's module tree (9p tag "kmods": the package's lib/modules, with <version>/ in it) and a modprobe that
# looks there, also for the kernel's own autoload (socket(AF_PPPOX) -> pppox-proto-1, crypto templates, nft
# expressions). The host has no module tree of this kernel.
mkdir -p /run/vm-k/lib/modules
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro kmods /run/vm-k/lib/modules
printf '#!/bin/sh\nexec /sbin/modprobe -d /run/vm-k "$@"\n' >/run/modprobe
chmod +x /run/modprobe
echo /run/modprobe >/proc/sys/kernel/modprobe
. "$VM_ROOT/tests/vm/lib.sh"
log "init: kernel $(uname -r), scenarios $VM_SCENARIOS"

# One modprobe for the common set; scenarios load what else they need with vm_modprobe (or the kernel autoloads).
vm_modprobe ppp_generic ppp_async pppox l2tp_core l2tp_ppp l2tp_netlink veth bridge \
  esp4 xfrm_user cbc hmac authenc echainiv seqiv des_generic sha512_generic \
  xt_policy xt_tcpudp iptable_filter iptable_nat xt_MASQUERADE || log "init: modprobe reported a failure"
log "init: modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
ip link set lo up

vm_run_scenarios
sync
busybox poweroff -f
