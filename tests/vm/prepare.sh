#!/bin/sh
# Fetch Debian 12's own kernel (the package linux-image-amd64 depends on), unpack it into a cache, index its
# modules, and build the small initramfs that mounts the host's / over 9p and hands over to tests/vm/init.sh.
# Idempotent and safe to run concurrently (flock); boot.sh runs it before every boot, and it costs nothing once
# the cache is complete. Prints the directory of the prepared kernel on stdout.
#
# usage: tests/vm/prepare.sh            cache: $L2TPVPN_VM_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/l2tpvpn-vm
#
# Needs apt (apt-get download), dpkg, kmod (depmod) and busybox-static; exits 2 naming what is missing.
set -eu
CACHE=${L2TPVPN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/l2tpvpn-vm}
need() { command -v "$1" >/dev/null 2>&1 || { echo "vm/prepare: $1 not found (package $2)" >&2; exit 2; }; }
need apt-get apt
need dpkg-deb dpkg
need depmod kmod
[ -x /bin/busybox ] || { echo "vm/prepare: /bin/busybox not found (package busybox-static)" >&2; exit 2; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# The kernel package that linux-image-amd64 points at today (e.g. linux-image-6.1.0-41-amd64).
PKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$PKG" ]; then
  # Without apt lists (no `apt-get update` yet), fall back to what the cache already holds.
  PKG=$(ls "$CACHE" | grep '^linux-image-[0-9]' | sort -V | tail -n 1 || true)
  [ -n "$PKG" ] || { echo "vm/prepare: apt knows no linux-image-amd64 (run apt-get update)" >&2; exit 2; }
fi
DIR=$CACHE/$PKG
if [ ! -f "$DIR/ready" ]; then
  rm -rf "$DIR" "$CACHE/dl"
  mkdir -p "$CACHE/dl"
  (cd "$CACHE/dl" && apt-get download -q -o APT::Sandbox::User=root "$PKG" >&2) || { echo "vm/prepare: apt-get download $PKG failed" >&2; exit 2; }
  mkdir -p "$DIR/root"
  dpkg-deb -x "$CACHE"/dl/"$PKG"_*.deb "$DIR/root"
  rm -rf "$CACHE/dl"
  KVER=$(ls "$DIR/root/lib/modules")
  # The package ships no modules.dep (its postinst runs depmod on a real system).
  depmod -b "$DIR/root" "$KVER"
  ln -s "root/boot/vmlinuz-$KVER" "$DIR/vmlinuz"
  echo "$KVER" >"$DIR/kver"
  touch "$DIR/ready"
  echo "vm/prepare: kernel $KVER in $DIR" >&2
fi

# The initramfs, rebuilt whenever this script changes (its text is the initramfs's definition).
IR_ID=$(cksum <"$0" | cut -d' ' -f1)
if [ "$(cat "$DIR/initrd.id" 2>/dev/null)" != "$IR_ID" ]; then
  KVER=$(cat "$DIR/kver")
  IR=$DIR/ir
  rm -rf "$IR"
  # The initramfs: busybox and the modules needed to reach the host's / (virtio PCI transport, 9p over virtio)
  # and to put a writable layer over a read-only one (overlay), in dependency order; they are modules in
  # Debian's kernel.
  mkdir -p "$IR/bin" "$IR/mods" "$IR/dev" "$IR/proc" "$IR/sys" "$IR/newroot"
  cp /bin/busybox "$IR/bin/busybox"
  M=$DIR/root/lib/modules/$KVER/kernel
  for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
           drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache \
           net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay; do
    cp "$M/$m.ko" "$IR/mods/"
    echo "$(basename "$m").ko" >>"$IR/mods/order"
  done
  cat >"$IR/init" <<'INIT'
#!/bin/busybox sh
# The initramfs's PID 1. Two modes, chosen on the kernel command line:
#  - vm_init=SCRIPT: the host's / (9p "hostroot", read-only) becomes the root and SCRIPT its PID 1
#    (tests/vm/init.sh: the scenarios on the host's programs);
#  - vm_systemd=1: an installed Debian root (9p "vmroot", read-only) under a tmpfs overlay, with the kernel's
#    modules at /usr/lib/modules, the host's / at /mnt/host and the results share at vm_out; systemd is PID 1.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod "/mods/$m" || echo "vm-initramfs: insmod $m failed"; done
p9() { mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000$3" "$1" "$2"; }
# multidevs=remap (qemu side): the host's / spans several file systems; without it inode numbers collide and
# proc/sysfs mounted later over the 9p /proc and /sys stay invisible. cache=loose: nothing on the host changes
# during a boot.
if [ -n "$vm_systemd" ]; then
  mkdir -p /lower /rw
  p9 vmroot /lower ,cache=loose,ro || { echo "vm-initramfs: cannot mount the root over 9p"; poweroff -f; }
  mount -t tmpfs -o mode=755 rw /rw && mkdir -p /rw/upper /rw/work
  mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
    { echo "vm-initramfs: overlay failed"; poweroff -f; }
  mkdir -p /newroot/usr/lib/modules /newroot/mnt/host "/newroot$vm_out"
  p9 kmods /newroot/usr/lib/modules ,ro
  p9 hostroot /newroot/mnt/host ,cache=loose,ro
  p9 out "/newroot$vm_out" ""
  # The test unit and anything else the boot needs come from the results share (boot.sh writes them).
  [ -x "/newroot$vm_out/guest-setup.sh" ] && "/newroot$vm_out/guest-setup.sh" /newroot
  umount /proc /sys /dev
  exec switch_root /newroot /sbin/init
fi
p9 hostroot /newroot ,cache=loose,ro || { echo "vm-initramfs: cannot mount the host's / over 9p"; poweroff -f; }
umount /proc /sys /dev
exec switch_root /newroot /bin/sh "$vm_init"
INIT
  chmod +x "$IR/init"
  (cd "$IR" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$DIR/initrd.gz"
  echo "$IR_ID" >"$DIR/initrd.id"
fi
echo "$DIR"
