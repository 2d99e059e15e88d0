#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with Rust: installs what the tests need,
# then format, lint, and every test. README.md names this script; .ci/run runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use: nftables and iproute2 (firewall tests in network namespaces),
# Chromium and its WebDriver (page tests in a real browser), a CJK font (legible screenshots).
# mount (util-linux) is part of every Debian system; the backup tests use it for a small tmpfs.
need=()
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
# systemd-analyze checks the units; useradd is how provisioning creates the system user.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v useradd >/dev/null 2>&1 || need+=(passwd)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/run.sh: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked

# The appliance image (image/build.sh), built and booted, with systemd-nspawn and in an emulated
# UEFI machine (tests/image.rs, ignored by the plain `cargo test` above). A step of its own: a
# release build, a Debian bootstrap from the mirror (about 5 minutes), three container boots and
# one VM boot (about 2 minutes). It needs root and loop devices; elsewhere it is left out, and
# said so. GOVBOX_SKIP_IMAGE=1 leaves it out too.
if [ -n "${GOVBOX_SKIP_IMAGE:-}" ]; then
  echo "tests/run.sh: GOVBOX_SKIP_IMAGE set: appliance image not built or booted" >&2
elif [ "$(id -u)" -ne 0 ] || [ ! -e /dev/loop-control ]; then
  echo "tests/run.sh: appliance image not built or booted (needs root and /dev/loop-control)" >&2
else
  need=()
  command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
  command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
  command -v mcopy >/dev/null 2>&1 || need+=(mtools)
  command -v mkfs.vfat >/dev/null 2>&1 || need+=(dosfstools)
  command -v sfdisk >/dev/null 2>&1 || need+=(fdisk)
  command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
  command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
  [ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || need+=(ovmf)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
  image/build.sh --out target/image
  GOVBOX_IMAGE=target/image/govbox.raw cargo test --locked --test image -- --ignored
fi
