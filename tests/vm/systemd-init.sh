#!/bin/sh
# The scenario runner of a systemd guest (boot.sh --deb): an installed Debian root booted with systemd as PID 1,
# this script run by the unit vm-test.service once multi-user.target is reached. The host's / is at /mnt/host
# (read-only); $vm_out (the results share) is at the same path as on the host and holds guest.env.
# Runs the scenarios like tests/vm/init.sh does, then powers the guest off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C
. "$1/guest.env"
# Modules live at the usual place here (/usr/lib/modules, a 9p share): plain modprobe.
export VM_MODPROBE=/sbin/modprobe
. "$VM_ROOT/tests/vm/lib.sh"
log "init: systemd guest, kernel $(uname -r), scenarios $VM_SCENARIOS"
vm_run_scenarios
sync
systemctl poweroff --force
