#!/usr/bin/env bash
# Packs what benches/device/run.sh needs on a GPU machine without Rust or network into
# benches/device/bundle/ (ignored by git; the device tool carries it): the release binary and
# the Vulkan loader (Debian's libvulkan1, unpacked: the machine may have NVIDIA's driver and
# ICD but no loader). Run here, then on the device: bash benches/device/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bundle=benches/device/bundle
cargo build --release --bin argva
rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib"
cp target/release/argva "$bundle/bin/"
debs=$(mktemp -d)
(cd "$debs" && { apt-get download -q libvulkan1 >/dev/null 2>&1 ||
  { apt-get update -q >/dev/null && apt-get download -q libvulkan1 >/dev/null; }; })
dpkg -x "$debs"/libvulkan1_*.deb "$debs/root"
cp -a "$debs"/root/usr/lib/x86_64-linux-gnu/libvulkan.so.1* "$bundle/lib/"
rm -rf "$debs"
echo "prepare.sh: $(du -sh "$bundle" | cut -f1) in $bundle (carry it: benches/device/bundle)"
