#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has no Node and no network, in two
# parts of under 60 MiB each (one call carries at most 64 MiB):
#   node_modules/.cache/upframe-gpu/runtime.tar.xz  Node (this machine's, stripped), the runtime
#       node_modules (onnxruntime-node's linux x64 libraries only; onnx-proto, which the hosts load),
#       and the Vulkan loader and glvnd packages (apt-get download)
#   node_modules/.cache/upframe-gpu/ffmpeg.tar.xz   the npm-shipped static ffmpeg and ffprobe
#       (needed only where the GPU machine has no ffmpeg on PATH)
# The models travel with the repository. Usage: scripts/gpu-pack.sh [--runtime-only]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=node_modules/.cache/upframe-gpu
LIMIT=$((60 * 1024 * 1024))
mkdir -p "$OUT"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Node 20: the binary running here, without its debug symbols.
node_bin=$(command -v node)
mkdir -p "$scratch/$OUT/runtime"
strip -o "$scratch/$OUT/runtime/node" "$node_bin" 2>/dev/null || cp "$node_bin" "$scratch/$OUT/runtime/node"
chmod 755 "$scratch/$OUT/runtime/node"
"$scratch/$OUT/runtime/node" --version >"$scratch/$OUT/runtime/node-version"

# The Vulkan loader, and glvnd, for a machine whose image lacks them: the NVIDIA driver brings only its
# ICD, libGLX_nvidia.so.0, which loads only beside glvnd (seen on an H200 machine: no adapter without it).
GL_PACKAGES="libvulkan1 libglvnd0 libglx0 libgl1 libegl1"
# shellcheck disable=SC2086
(cd "$scratch/$OUT/runtime" && apt-get download $GL_PACKAGES >/dev/null 2>&1) || echo "gpu-pack: apt-get download $GL_PACKAGES failed: the bundle relies on the GPU machine's own" >&2

# The runtime dependencies (npm's production tree) and onnx-proto (a devDependency the hosts import).
modules=$( (npm ls --omit=dev --all --parseable 2>/dev/null; npm ls onnx-proto --parseable 2>/dev/null) | grep '/node_modules/' | sed "s|^$PWD/||" | sort -u)
# Every platform's onnxruntime but linux x64, the ffmpeg binaries (the other part), source maps.
tar -c -f "$scratch/modules.tar" \
  --exclude='node_modules/onnxruntime-node/bin/napi-v*/darwin' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v*/win32' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v*/linux/arm64' \
  --exclude='node_modules/@ffmpeg-installer/linux-x64/ffmpeg' \
  --exclude='node_modules/@ffprobe-installer/linux-x64/ffprobe' \
  --exclude='*.map' \
  $modules
tar -r -f "$scratch/modules.tar" -C "$scratch" "$OUT/runtime"

pack() {
  local name=$1 tarfile=$2
  xz -6 -T2 -c "$tarfile" >"$OUT/$name.tar.xz.part"
  mv "$OUT/$name.tar.xz.part" "$OUT/$name.tar.xz"
  local size
  size=$(stat -c %s "$OUT/$name.tar.xz")
  echo "$OUT/$name.tar.xz: $((size / 1024 / 1024)) MiB ($size bytes)"
  if [ "$size" -ge "$LIMIT" ]; then
    echo "gpu-pack: $name.tar.xz is over 60 MiB: one call carries at most 64 MiB" >&2
    exit 1
  fi
}

pack runtime "$scratch/modules.tar"
if [ "${1:-}" != "--runtime-only" ]; then
  tar -c -f "$scratch/ffmpeg.tar" node_modules/@ffmpeg-installer/linux-x64/ffmpeg node_modules/@ffprobe-installer/linux-x64/ffprobe
  pack ffmpeg "$scratch/ffmpeg.tar"
fi
