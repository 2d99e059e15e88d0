#!/usr/bin/env bash
# mmdebstrap customize hook: puts govbox into the tree and sets the system up as an appliance.
# Arguments: TREE REPO BINARY ROOT_PASSWORD_FILE AUTHORIZED_KEYS (the last two may be empty)
set -euo pipefail
tree=$1 repo=$2 binary=$3 password_file=${4:-} authorized_keys=${5:-}
hooks=$repo/image/hooks

install -D -m 0755 "$binary" "$tree/usr/local/bin/govbox"
# The same bytes `govbox provision` writes, so first boot finds them in place and changes nothing.
for unit in "$repo"/units/*; do
  install -m 0644 "$unit" "$tree/etc/systemd/system/$(basename "$unit")"
done
docs=$tree/usr/share/doc/govbox
install -d "$docs/examples"
install -m 0644 "$repo"/docs/*.md "$docs/"
install -m 0644 "$repo"/provisioning/examples/*.toml "$docs/examples/"

install -D -m 0644 "$hooks/boot.mount" "$tree/etc/systemd/system/boot.mount"
install -D -m 0644 "$hooks/80-govbox-dhcp.network" "$tree/etc/systemd/network/80-govbox-dhcp.network"
install -D -m 0644 "$hooks/50-root.conf" "$tree/usr/lib/repart.d/50-root.conf"
install -m 0644 "$hooks/govbox-growfs-root.service" "$hooks/govbox-ssh-keygen.service" \
  "$tree/etc/systemd/system/"
install -D -m 0644 "$hooks/wait-online.conf" \
  "$tree/etc/systemd/system/systemd-networkd-wait-online.service.d/govbox.conf"
install -D -m 0755 "$hooks/zz-govbox-boot" "$tree/etc/initramfs/post-update.d/zz-govbox-boot"
# The kernel command line mounts the root partition (rw); boot.mount mounts /boot.
printf '# The root file system is mounted from the kernel command line, /boot by boot.mount.\n' \
  > "$tree/etc/fstab"
echo govbox > "$tree/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tgovbox\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$tree/etc/hosts"

# First boot installs govbox's units again (same bytes), writes the path drop-in and the
# firewall ruleset; what is enabled here starts in that same boot, after provisioning.
systemctl --root="$tree" enable \
  boot.mount govbox-growfs-root.service govbox-ssh-keygen.service govbox-firstboot.service \
  govbox.service govbox-firewall.service \
  govbox-backup.timer govbox-backup-drill.timer systemd-networkd.service >/dev/null
# A console prompt at first boot would stop an unattended machine; the site file is the set-up.
systemctl --root="$tree" mask systemd-firstboot.service >/dev/null

# The kernel and initrd under the fixed names the boot loader entry uses.
version=$(ls "$tree/lib/modules" | sort -V | tail -n 1)
chroot "$tree" /etc/initramfs/post-update.d/zz-govbox-boot "$version" "/boot/initrd.img-$version"

# Without these the console and SSH have no way in: root is locked.
if [ -n "$password_file" ]; then
  printf 'root:%s\n' "$(head -n 1 "$password_file")" | chroot "$tree" chpasswd
fi
if [ -n "$authorized_keys" ]; then
  install -d -m 0700 "$tree/root/.ssh"
  install -m 0600 "$authorized_keys" "$tree/root/.ssh/authorized_keys"
fi

# Every machine made from the image gets its own identity at first boot.
: > "$tree/etc/machine-id"
rm -f "$tree/var/lib/dbus/machine-id" "$tree/etc/ssh/ssh_host_"*
