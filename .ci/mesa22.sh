#!/usr/bin/env bash
# Debian 12's stock Mesa 22.3.6 (lavapipe and llvmpipe GL) unpacked beside whatever Mesa the
# machine has installed, and the environment that selects it. Usage:
#   eval "$(bash .ci/mesa22.sh DIR)"     # then WGPU_BACKEND=vulkan or gl picks the driver
# Downloads the five .deb files once (apt-get download, no install) into DIR; safe to rerun.
set -euo pipefail
dir=$(realpath -m "${1:?usage: mesa22.sh DIR}")
version=22.3.6-1+deb12u2
root=$dir/root
lib=$root/usr/lib/x86_64-linux-gnu
if [ ! -f "$lib/libvulkan_lvp.so" ]; then
  mkdir -p "$dir/debs"
  (cd "$dir/debs" && apt-get download -q \
    mesa-vulkan-drivers=$version libgl1-mesa-dri=$version libegl-mesa0=$version \
    libglapi-mesa=$version libgbm1=$version >/dev/null 2>&1) || {
    apt-get update -q >/dev/null
    (cd "$dir/debs" && apt-get download -q \
      mesa-vulkan-drivers=$version libgl1-mesa-dri=$version libegl-mesa0=$version \
      libglapi-mesa=$version libgbm1=$version >/dev/null)
  }
  for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$root"; done
fi
cat > "$dir/lvp_icd.json" <<JSON
{"file_format_version":"1.0.0","ICD":{"library_path":"$lib/libvulkan_lvp.so","api_version":"1.3.230"}}
JSON
cat > "$dir/egl_vendor.json" <<JSON
{"file_format_version":"1.0.0","ICD":{"library_path":"$lib/libEGL_mesa.so.0"}}
JSON
echo "export VK_ICD_FILENAMES=$dir/lvp_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=$dir/egl_vendor.json LIBGL_DRIVERS_PATH=$lib/dri LD_LIBRARY_PATH=$lib XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}"
