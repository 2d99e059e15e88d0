#!/usr/bin/env bash
# Builds the govbox appliance image: Debian bookworm, govbox with its units enabled, nftables,
# no compilers. One command, as root, from a clone of the repository:
#
#   image/build.sh [--out DIR] [--binary FILE] [--mirror URL]
#                  [--root-password-file FILE] [--authorized-keys FILE]
#
# --binary: a govbox binary to install instead of `cargo build --release`'s.
# --root-password-file (first line) and --authorized-keys (root's SSH keys): without them root is
# locked and the machine is reached only through govbox's web office.
#
# Result: DIR/govbox.raw (default DIR: target/image), a GPT disk image for UEFI machines:
#   1. GOVBOX-BOOT, FAT32, mounted at /boot: systemd-boot, kernel, initrd, and govbox/, where the
#      county IT staff put site.toml (from any PC) before the first boot;
#   2. govbox-root, ext4: the system; it grows to fill the disk at first boot.
# and DIR/packages.txt, the installed packages and versions.
#
# Why debootstrap (mmdebstrap) and not mkosi: mkosi 14 mounts the partitions it builds through
# loop devices, and the ESP is FAT, which build machines without a vfat driver (these ones)
# cannot mount. Here nothing is mounted: the tree is a plain directory, the FAT partition is
# written with mtools and the ext4 one with `mkfs.ext4 -d`, so the build needs root (for owners)
# but no loop device, no mount and no nspawn.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/image
binary=
root_password_file=
authorized_keys=
mirror=http://deb.debian.org
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --root-password-file) root_password_file=$2; shift 2 ;;
    --authorized-keys) authorized_keys=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    *) echo "image/build.sh: 未知参数 $1（用法见脚本开头）" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "image/build.sh: 需要 root（镜像里的文件属主必须是 root 和 govbox）" >&2
  exit 1
fi
for tool in mmdebstrap mkfs.ext4 mkfs.vfat mcopy sfdisk; do
  command -v "$tool" >/dev/null || {
    echo "image/build.sh: 缺少 $tool；安装: apt-get install -y mmdebstrap e2fsprogs dosfstools mtools fdisk" >&2
    exit 1
  }
done
for f in "$root_password_file" "$authorized_keys"; do
  if [ -n "$f" ] && [ ! -s "$f" ]; then
    echo "image/build.sh: $f 不存在或为空" >&2
    exit 2
  fi
done

if [ -z "$binary" ]; then
  cargo build --release --locked
  binary=${CARGO_TARGET_DIR:-target}/release/govbox
fi
[ -x "$binary" ] || { echo "image/build.sh: $binary 不是可执行文件" >&2; exit 1; }

mkdir -p "$out"
out=$(realpath "$out")
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/tree

# The root filesystem. Recommends are off (mmdebstrap's default), docs, man pages and
# translations are left out; none of the packages pulls in a compiler, and the check after the
# hooks makes sure of it. netbase is only a Recommends of nftables, but without its
# /etc/protocols nft cannot load govbox's ruleset (`meta l4proto icmp`).
packages=(
  systemd systemd-sysv udev dbus systemd-timesyncd
  linux-image-amd64 initramfs-tools systemd-boot-efi
  nftables netbase iproute2 openssh-server procps less
)
hooks=$(realpath image/hooks)
repo=$(pwd)
mmdebstrap --mode=root --variant=minbase --format=directory \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --aptopt='Acquire::Retries "3"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --essential-hook="mkdir -p \"\$1/etc/initramfs-tools/conf.d\" && printf 'MODULES=most\\nCOMPRESS=gzip\\n' > \"\$1/etc/initramfs-tools/conf.d/govbox.conf\"" \
  --customize-hook="$hooks/customize.sh \"\$1\" \"$repo\" \"$(realpath "$binary")\" \"${root_password_file:+$(realpath "$root_password_file")}\" \"${authorized_keys:+$(realpath "$authorized_keys")}\"" \
  bookworm "$tree" \
  "deb $mirror/debian bookworm main" \
  "deb $mirror/debian bookworm-updates main" \
  "deb $mirror/debian-security bookworm-security main"

chroot "$tree" dpkg-query -W -f '${Package} ${Version}\n' > "$out/packages.txt"
compilers=$(grep -E '^(gcc|g\+\+|cpp|clang|tcc|rustc|cargo|binutils|gcc-[0-9]+|cpp-[0-9]+|g\+\+-[0-9]+|clang-[0-9]+|llvm(-[0-9]+)?)(:amd64)? ' "$out/packages.txt" || true)
for f in cc c++ gcc cpp ld as rustc cargo clang tcc; do
  if [ -e "$tree/usr/bin/$f" ] || [ -L "$tree/usr/bin/$f" ]; then compilers+=" /usr/bin/$f"; fi
done
if [ -n "$compilers" ]; then
  echo "image/build.sh: 镜像里不应有编译器，但有: $compilers" >&2
  exit 1
fi

# The boot partition: what the package scripts wrote to /boot, plus the boot loader and the
# place for the site file. 512 MiB leaves room for two kernels with their initrds.
boot_mib=512
esp=$work/esp.img
mkfs.vfat -F 32 -n GOVBOX-BOOT -C "$esp" $((boot_mib * 1024)) >/dev/null
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/govbox
mcopy -i "$esp" "$tree/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$hooks/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$hooks/govbox.conf" ::/loader/entries/govbox.conf
mcopy -i "$esp" "$hooks/README.txt" ::/govbox/README.txt
for f in "$tree"/boot/*; do
  [ -f "$f" ] && mcopy -i "$esp" "$f" "::/$(basename "$f")"
done
find "$tree/boot" -mindepth 1 -delete

# The root partition: what the system uses plus 1 GiB, rounded up to 256 MiB; at first boot
# systemd-repart and systemd-growfs make it fill the disk.
used_mib=$(du -sm --apparent-size "$tree" | cut -f1)
root_mib=$(( (used_mib * 13 / 10 + 1024 + 255) / 256 * 256 ))
root=$work/root.ext4
mkfs.ext4 -q -L govbox-root -e remount-ro -d "$tree" "$root" "${root_mib}M"

# GPT: 1 MiB before the first partition, 1 MiB after the last for the backup header.
raw=$out/govbox.raw
rm -f "$raw"
truncate -s $(( (1 + boot_mib + root_mib + 1) * 1024 * 1024 )) "$raw"
sfdisk --quiet "$raw" <<EOF
label: gpt
start=2048, size=$((boot_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=govbox-boot
start=$(( (1 + boot_mib) * 2048 )), size=$((root_mib * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=govbox-root
EOF
dd if="$esp" of="$raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$root" of="$raw" bs=1M seek=$((1 + boot_mib)) conv=notrunc,sparse status=none

echo "镜像: $raw"
echo "  大小 $(( $(stat -c %s "$raw") / 1024 / 1024 )) MiB（其中实际数据 $(( $(du -k "$raw" | cut -f1) / 1024 )) MiB）；启动分区 ${boot_mib} MiB，系统分区 ${root_mib} MiB（系统占用 ${used_mib} MiB）"
echo "  软件包 $(wc -l < "$out/packages.txt") 个，清单: $out/packages.txt"
