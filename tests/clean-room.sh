#!/bin/bash
# Proves that the install list is complete: a fresh clone of this repository's HEAD runs the README's test
# command (tests/run-all.sh) inside a minimal Debian 12 root that has nothing but what that command installs.
#
#   sudo tests/clean-room.sh [-- ARGS for run-all]     # exit status: run-all's
#
# The root comes from `mmdebstrap --variant=apt bookworm` (Debian's archive only, through this host's apt
# sources), cached as a tarball in $L2TPVPN_CLEAN_ROOM_CACHE (default /var/cache/l2tpvpn-clean-room; never in the
# tree: its sources.list names the mirror) and extracted afresh for every run under /var/tmp. The run happens in
# a chroot with /proc, /sys and /dev bound in; the qemu guest of the vm label then shares the chroot's / (the
# packages installed in there), not the host's. The root is deleted afterwards unless L2TPVPN_CLEAN_ROOM_KEEP=1.
# Environment passed through to run-all: L2TPVPN_VM_ACCEL, L2TPVPN_FUZZ_SECONDS, L2TPVPN_JOBS.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${L2TPVPN_CLEAN_ROOM_CACHE:-/var/cache/l2tpvpn-clean-room}
if [ "$(id -u)" -ne 0 ]; then echo "clean-room: run as root (mmdebstrap, chroot, mounts)" >&2; exit 2; fi
command -v mmdebstrap >/dev/null || { echo "clean-room: mmdebstrap not found (package mmdebstrap)" >&2; exit 2; }
[ "${1:-}" = -- ] && shift

mkdir -p "$CACHE"
TAR=$CACHE/bookworm-apt.tar
if [ ! -s "$TAR" ]; then
  echo "=== clean-room: mmdebstrap bookworm -> $TAR"
  # (the name must end in .tar: mmdebstrap picks its output format by the extension)
  mmdebstrap --variant=apt bookworm "$CACHE/part.tar"
  mv "$CACHE/part.tar" "$TAR"
fi

R=$(mktemp -d /var/tmp/l2tpvpn-clean-room.XXXXXX)
cleanup() {
  set +e
  if mountpoint -q "$R/proc" 2>/dev/null; then
    # `ip netns` leaves bind mounts under /run/netns inside the root: namespaces first, then the mounts.
    for n in $(chroot "$R" ip netns list 2>/dev/null | cut -d' ' -f1); do chroot "$R" ip netns delete "$n"; done
  fi
  for m in $(awk -v r="$R" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  if [ "${L2TPVPN_CLEAN_ROOM_KEEP:-}" = 1 ]; then echo "clean-room: root kept in $R"; else rm -rf "$R"; fi
}
trap cleanup EXIT
tar -C "$R" -xf "$TAR"
cp /etc/resolv.conf "$R/etc/resolv.conf"
# A fresh clone: what is committed, nothing else from this working tree.
git clone -q "$SRC" "$R/root/l2tpvpn"
echo "=== clean-room: $(git -C "$R/root/l2tpvpn" log --oneline -1) in $R"

# The root must be a mount point, or `ip netns add` fails inside (mount --make-rslave / : Invalid argument).
mount --bind "$R" "$R"
mount --rbind /proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=755 run "$R/run"

start=$(date +%s)
rc=0
chroot "$R" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  ${L2TPVPN_VM_ACCEL:+L2TPVPN_VM_ACCEL=$L2TPVPN_VM_ACCEL} ${L2TPVPN_FUZZ_SECONDS:+L2TPVPN_FUZZ_SECONDS=$L2TPVPN_FUZZ_SECONDS} \
  ${L2TPVPN_JOBS:+L2TPVPN_JOBS=$L2TPVPN_JOBS} \
  /bin/bash -c 'cd /root/l2tpvpn && apt-get update -qq && tests/run-all.sh "$@"' run-all "$@" || rc=$?
echo "=== clean-room: tests/run-all.sh exited $rc after $(( $(date +%s) - start )) s"
exit $rc
