# deb_systemd: the package as a user gets it. Runs in a Debian 12 root where apt installed the .deb CI built
# (tests/vm/deb_root.sh), booted with systemd as PID 1 (boot.sh --deb): the postinst made the secrets and the first
# user, systemd started l2tpvpn.service. An emulated Windows client (tests/vm/os_clients.sh) connects with exactly
# what `l2tpvpnctl client-setup` tells its user.
#
#   1. l2tpvpn.service active; PSK and users files root-only; charon link ready; firewall installed
#   2. the Windows client, with the PSK, user and password from client-setup, gets PPP up and pings the server
#   3. a user added to the users file + `systemctl reload l2tpvpn`: taken, the session stays (same pppd, pings)
#   4. `systemctl stop l2tpvpn`: no firewall rule, ppp interface, kernel tunnel, SA or process left
#   5. `apt-get purge l2tpvpn`: no secret or users file left
#   6. packaging/install.sh (the one-command install): refuses without root, on another system than Debian 12,
#      and with udp/1701 or udp/500 held by another program, changing nothing; installs and starts; a second run
#      changes nothing and says so; an upgrade (reinstall) keeps the secrets and restarts the daemon

. "$VM_ROOT/tests/vm/os_clients.sh"
SRV_IP=192.0.2.1
status() { busybox wget -q -O- http://127.0.0.1:8171/status 2>/dev/null; }
js() { status | jq -r "$1" 2>/dev/null; }
js_is() { [ "$(js "$1")" = "$2" ]; }
unit_state() { systemctl is-active l2tpvpn.service 2>/dev/null; }
unit_active() { [ "$(unit_state)" = active ]; }
journal() { journalctl -u l2tpvpn.service --no-pager -o cat 2>/dev/null; }
mode_of() { stat -c %a "$1" 2>/dev/null; }
save_logs() {
  mkdir -p "$VM_OUT/deb_systemd-logs"
  journal >"$VM_OUT/deb_systemd-logs/l2tpvpn.journal"
  journalctl -b --no-pager >"$VM_OUT/deb_systemd-logs/boot.journal" 2>&1
  cp -r "$(ns_dir windows)/log" "$VM_OUT/deb_systemd-logs/windows" 2>/dev/null
}

# ===================== 1. installed and started by systemd =====================
log "=== stage 1"
if wait_for 90 unit_active; then
  up_us=$(systemctl show -p ActiveEnterTimestampMonotonic --value l2tpvpn.service)
  pass "1: l2tpvpn.service active (systemd started it at boot, $((up_us / 1000)) ms after the kernel started)"
else
  fail "1: l2tpvpn.service not active: $(unit_state)"; journal | tail -n 20
fi
check "1: ipsec.secret made by postinst, mode 600, $(wc -c </etc/l2tpvpn/ipsec.secret 2>/dev/null) bytes" \
  sh -c "[ $(mode_of /etc/l2tpvpn/ipsec.secret) = 600 ] && [ \$(tr -d '\n' </etc/l2tpvpn/ipsec.secret | wc -c) -ge 32 ]"
check "1: users file made by postinst, mode 600, with the first user vpnuser" \
  sh -c "[ $(mode_of /etc/l2tpvpn/users) = 600 ] && grep -q '^vpnuser ' /etc/l2tpvpn/users"
if wait_for 90 js_is .ipsec.link ready; then
  pass "1: charon link ready: charon $(js .ipsec.charon) (strongswan-starter.service $(systemctl is-active strongswan-starter.service))"
else
  fail "1: charon link not ready: $(js .ipsec)"; journal | tail -n 30
fi
fw_installed() { journal | grep -q event=firewall_installed; }
check "1: firewall installed ($(journal | grep -o 'event=firewall_installed backend=[a-z-]*' | tail -n 1))" fw_installed

# ===================== 2. a Windows client with what client-setup says =====================
log "=== stage 2"
setup=$(l2tpvpnctl client-setup --user vpnuser --show-password --json --server $SRV_IP 2>&1)
PSK=$(printf "%s\n" "$setup" | jq -r .psk) FIRST_PASSWORD=$(printf "%s\n" "$setup" | jq -r .password)
setup_ok() {
  [ "$(printf "%s\n" "$setup" | jq -r .user)" = vpnuser ] && [ -n "$FIRST_PASSWORD" ] && [ "$FIRST_PASSWORD" != null ] &&
    [ "$PSK" = "$(cat /etc/l2tpvpn/ipsec.secret)" ]
}
check "2: l2tpvpnctl client-setup gives the PSK (the file's), the user and a password" setup_ok
user_of() { echo vpnuser; }
password_of() { echo "$FIRST_PASSWORD"; }
# The server is this (root) namespace: the internet bridge carries its address.
internet_up && ip addr add $SRV_IP/24 dev internet
ns_add windows "$(client_ip windows)/24" || fail "namespace windows"
clients_prepare windows
t0=$(now_cs)
connect windows
if wait_for 120 client_up windows && wait_for 30 js_is '[.sessions[] | select(.state == "up")] | length' 1; then
  pass "2: windows: PPP up as vpnuser $(( ($(now_cs) - t0) / 100 )) s after initiating IKE ($(js '.sessions[0].address'), data path $(js '.sessions[0].data_path'))"
else
  fail "2: windows did not connect"; journal | tail -n 30; DUMP_LINES=30 dump windows
fi
check "2: windows: ping the server's tunnel address 10.99.0.1" quiet pingp windows 10.99.0.1 3

# ===================== 3. reload =====================
log "=== stage 3"
pid0=$(js '.sessions[0].pppd_pid') main0=$(systemctl show -p MainPID --value l2tpvpn.service)
echo "second password=second-secret-2" >>/etc/l2tpvpn/users
systemctl reload l2tpvpn.service
reloaded() { journal | grep -q 'event=reloaded users=2'; }
check "3: systemctl reload: the new users file is taken (event=reloaded users=2)" wait_for 30 reloaded
check "3: the daemon kept running (MainPID $main0) and the session its pppd (pid $pid0)" \
  sh -c "[ '$(systemctl show -p MainPID --value l2tpvpn.service)' = '$main0' ] && [ \"\$(busybox wget -q -O- http://127.0.0.1:8171/status | jq -r '.sessions[0].pppd_pid')\" = '$pid0' ]"
check "3: windows still pings 10.99.0.1" quiet pingp windows 10.99.0.1 2

# ===================== 4. stop =====================
log "=== stage 4"
systemctl stop l2tpvpn.service
check "4: systemctl stop: unit inactive ($(unit_state))" [ "$(unit_state)" = inactive ]
check "4: no l2tpvpnd or pppd process left" sh -c "! pgrep -x l2tpvpnd && ! pgrep -x pppd"
check "4: no firewall rule of ours (nft table, iptables chains)" \
  sh -c "! nft list tables 2>/dev/null | grep -q l2tpvpn && ! iptables-save 2>/dev/null | grep -q L2TPVPN"
check "4: no ppp interface" sh -c "! ip -o link show | grep -q ': ppp'"
check "4: no kernel L2TP tunnel" sh -c "[ -z \"\$(ip l2tp show tunnel 2>/dev/null)\" ]"
check "4: no SA with the client left in the kernel" wait_for 20 sh -c "! ip xfrm state list src $(client_ip windows) | grep -q '^src'"
check "4: the client's PPP ended" wait_for 40 no_ppp_iface windows
clients_stop windows
save_logs

# ===================== 5. purge =====================
log "=== stage 5"
if apt-get purge -y -q l2tpvpn >"$VM_OUT/deb_systemd-logs/purge.log" 2>&1; then
  pass "5: apt-get purge l2tpvpn"
else
  fail "5: apt-get purge l2tpvpn"; tail -n 20 "$VM_OUT/deb_systemd-logs/purge.log"
fi
check "5: no secret, users or configuration file left (/etc/l2tpvpn gone)" [ ! -e /etc/l2tpvpn ]
check "5: the unit is gone" sh -c "! systemctl cat l2tpvpn.service >/dev/null 2>&1"

# ===================== 6. packaging/install.sh =====================
log "=== stage 6"
INSTALL=$VM_ROOT/packaging/install.sh
fingerprint() { { cat /etc/l2tpvpn/* 2>/dev/null; dpkg-query -W -f '${Status} ${Version}' l2tpvpn 2>/dev/null; } | cksum; }
# Refusals first: each must leave the system exactly as it was (here: l2tpvpn purged).
fp0=$(fingerprint)
# (from a world-readable copy: the clone may sit under /root, which nobody else can enter, as in tests/clean-room.sh)
cp "$INSTALL" /tmp/install.sh && chmod 755 /tmp/install.sh
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups sh /tmp/install.sh --deb "$VM_DEB" 2>&1); rc=$?
check "6: not root: refused ($rc: $out), nothing changed" sh -c "[ $rc = 1 ] && [ '$(fingerprint)' = '$fp0' ]"
# not Debian 12: another os-release, in a mount namespace of its own
printf 'ID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04"\n' >/tmp/os-release.other
out=$(unshare -m sh -c 'mount --bind /tmp/os-release.other /etc/os-release && exec sh "$0" --deb "$1"' "$INSTALL" "$VM_DEB" 2>&1); rc=$?
case $out in *"this is Ubuntu 22.04"*) named=yes ;; *) named=no ;; esac
check "6: not Debian 12: refused ($rc: $out), nothing changed" sh -c "[ $rc = 1 ] && [ $named = yes ] && [ '$(fingerprint)' = '$fp0' ]"
# another L2TP server on udp/1701
socat -u UDP-RECV:1701 /dev/null &
holder=$!
wait_for 10 sh -c "ss -Huln 'sport = :1701' | grep -q ."
out=$(sh "$INSTALL" --deb "$VM_DEB" 2>&1); rc=$?
kill $holder; wait $holder 2>/dev/null
case $out in *"udp/1701 (L2TP) is held by socat"*) named=yes ;; *) named=no ;; esac
check "6: udp/1701 held by another program: refused, naming it ($rc), nothing changed" \
  sh -c "[ $rc = 1 ] && [ $named = yes ] && [ '$(fingerprint)' = '$fp0' ]"
[ "$named" = yes ] || echo "$out"
# another daemon on udp/500: socat stands in for racoon or pluto (the system charon, which holds it, stopped first)
systemctl stop strongswan-starter.service
socat -u UDP-RECV:500 /dev/null &
holder=$!
wait_for 10 sh -c "ss -Huln 'sport = :500' | grep -q ."
out=$(sh "$INSTALL" --deb "$VM_DEB" 2>&1); rc=$?
kill $holder; wait $holder 2>/dev/null
systemctl start strongswan-starter.service
case $out in
  *"udp/500 (IKE) is held by socat, another IPsec daemon"*) refused500=yes ;;
  *) refused500=no ;;
esac
check "6: udp/500 held by another program: refused, naming it ($rc), nothing changed" \
  sh -c "[ $rc = 1 ] && [ $refused500 = yes ] && [ '$(fingerprint)' = '$fp0' ]"
[ "$refused500" = yes ] || echo "$out"
# The real run, twice. install.sh takes the WAN interface and public address from the default route: the guest has
# no network device, so the route points into the internet bridge (nothing leaves the guest).
ip route add default via 192.0.2.254 dev internet
t0=$(now_cs)
sh "$INSTALL" --deb "$VM_DEB" >"$VM_OUT/deb_systemd-logs/install-1.log" 2>&1; rc=$?
if [ $rc = 0 ] && wait_for 60 unit_active && grep -q 'Pre-shared key  ' "$VM_OUT/deb_systemd-logs/install-1.log"; then
  pass "6: install.sh: installed and started in $(( ($(now_cs) - t0) / 100 )) s; printed the client setup ($(grep -c . "$VM_OUT/deb_systemd-logs/install-1.log") lines)"
else
  fail "6: install.sh (exit $rc)"; tail -n 30 "$VM_OUT/deb_systemd-logs/install-1.log"
fi
check "6: install.sh set public_address and wan_interface from the default route" \
  sh -c "grep -q '^public_address = ' /etc/l2tpvpn/l2tpvpnd.conf && ! grep -q '^public_address = *\$' /etc/l2tpvpn/l2tpvpnd.conf"
fp1=$(fingerprint) main1=$(systemctl show -p MainPID --value l2tpvpn.service)
sh "$INSTALL" --deb "$VM_DEB" >"$VM_OUT/deb_systemd-logs/install-2.log" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q 'nothing to change' "$VM_OUT/deb_systemd-logs/install-2.log" && [ "$(fingerprint)" = "$fp1" ] &&
   [ "$(systemctl show -p MainPID --value l2tpvpn.service)" = "$main1" ]; then
  pass "6: install.sh again: \"nothing to change\", files, package and daemon (pid $main1) untouched"
else
  fail "6: second install.sh run (exit $rc) changed something or did not say so"; head -n 5 "$VM_OUT/deb_systemd-logs/install-2.log"
fi
# An upgrade (the same package again: postinst runs as for an upgrade) keeps the secrets and restarts the daemon.
secrets=$(cat /etc/l2tpvpn/ipsec.secret /etc/l2tpvpn/users | cksum)
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "$VM_DEB" >"$VM_OUT/deb_systemd-logs/reinstall.log" 2>&1; rc=$?
restarted() { unit_active && [ "$(systemctl show -p MainPID --value l2tpvpn.service)" != "$main1" ]; }
if [ $rc = 0 ] && wait_for 60 restarted && [ "$(cat /etc/l2tpvpn/ipsec.secret /etc/l2tpvpn/users | cksum)" = "$secrets" ]; then
  pass "6: upgrade (apt-get install --reinstall): PSK and users kept, daemon restarted (pid $main1 -> $(systemctl show -p MainPID --value l2tpvpn.service))"
else
  fail "6: upgrade (exit $rc): state $(unit_state), pid $(systemctl show -p MainPID --value l2tpvpn.service) (was $main1)"
  tail -n 20 "$VM_OUT/deb_systemd-logs/reinstall.log"
fi
