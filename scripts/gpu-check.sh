#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU, its driver and no Node or network:
#   scripts/gpu-check.sh OUTDIR [--quick] [--frames N] [--cancels N] [--device D]
#   scripts/gpu-check.sh --unpack        only unpack the parts carried so far
# Run from a copy of the repository with what scripts/gpu-pack.sh made carried along
# (node_modules/.cache/upframe-gpu/runtime.tar.xz, and ffmpeg.tar.xz where the machine has no ffmpeg;
# each part under 60 MiB: carry them in two calls, the first with --unpack, on the same warm machine).
# It unpacks them (once per part), puts the Vulkan loader and NVIDIA's Vulkan driver manifest where
# the loader finds them, then runs scripts/gpu/check.ts, which writes OUTDIR/gpu-check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=node_modules/.cache/upframe-gpu
RUNTIME=$CACHE/runtime
started=$(date +%s)

unpack() {
  local part=$1 stamp
  [ -f "$CACHE/$part.tar.xz" ] || return 0
  stamp=$(stat -c '%s-%Y' "$CACHE/$part.tar.xz")
  if [ "$(cat "$CACHE/$part.unpacked" 2>/dev/null)" != "$stamp" ]; then
    xz -dc -T0 "$CACHE/$part.tar.xz" | tar -x -f -
    echo "$stamp" >"$CACHE/$part.unpacked"
    echo "unpacked $part ($(($(date +%s) - started)) s)"
  fi
}

unpack runtime
unpack ffmpeg
if [ "${1:-}" = "--unpack" ]; then exit 0; fi
OUTDIR=${1:?usage: scripts/gpu-check.sh OUTDIR [--quick] [--frames N] [--cancels N] [--device D]}
shift
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

NODE=$(command -v node || true)
[ -x "$RUNTIME/node" ] && NODE=$RUNTIME/node
if [ -z "$NODE" ]; then
  echo "gpu-check: no Node: carry $CACHE/runtime.tar.xz (scripts/gpu-pack.sh makes it)" >&2
  exit 2
fi

# ffmpeg: the unpacked npm binaries, else the machine's.
if [ ! -x node_modules/@ffmpeg-installer/linux-x64/ffmpeg ] || [ ! -x node_modules/@ffprobe-installer/linux-x64/ffprobe ]; then
  if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then
    export UPFRAME_FFMPEG=$(command -v ffmpeg)
  else
    echo "gpu-check: no ffmpeg/ffprobe: carry $CACHE/ffmpeg.tar.xz and run scripts/gpu-check.sh --unpack first" >&2
    exit 2
  fi
fi

# The Vulkan loader and glvnd, from the carried packages, each where the system lacks its library.
declare -A SONAME=([libvulkan1]=libvulkan.so.1 [libglvnd0]=libGLdispatch.so.0 [libglx0]=libGLX.so.0 [libgl1]=libGL.so.1 [libegl1]=libEGL.so.1)
for package in "${!SONAME[@]}"; do
  ldconfig -p 2>/dev/null | grep "${SONAME[$package]//./\\.} " >/dev/null && continue
  deb=$(ls "$RUNTIME"/"${package}"_*.deb 2>/dev/null | head -1 || true)
  [ -n "$deb" ] || continue
  mkdir -p "$CACHE/gl"
  deb=$(readlink -f "$deb")
  if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$deb" "$CACHE/gl"; else (cd "$CACHE/gl" && ar p "$deb" data.tar.xz | tar -xJ); fi
  echo "carried $package (${SONAME[$package]})"
done
if [ -d "$CACHE/gl/usr/lib/x86_64-linux-gnu" ]; then
  export LD_LIBRARY_PATH="$PWD/$CACHE/gl/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# NVIDIA's Vulkan driver lives in libGLX_nvidia.so.0; containers given only the compute capability
# may lack its manifest (or the library: then WebGPU cannot run, and the check says so).
# Some images mount the driver, its manifest included, under /usr/local/nvidia.
MOUNTED_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  if [ -f "$MOUNTED_ICD" ]; then
    export VK_DRIVER_FILES=$MOUNTED_ICD
    echo "NVIDIA Vulkan manifest from the driver's mount: $VK_DRIVER_FILES"
  elif ldconfig -p 2>/dev/null | grep 'libGLX_nvidia\.so\.0 ' >/dev/null; then
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3.0"}}\n' >"$OUTDIR/nvidia_icd.json"
    export VK_ICD_FILENAMES=$OUTDIR/nvidia_icd.json
    echo "no NVIDIA Vulkan manifest installed: using $VK_ICD_FILENAMES"
  else
    echo "no NVIDIA Vulkan driver (libGLX_nvidia.so.0) found: WebGPU will find no hardware adapter"
  fi
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

{ nvidia-smi || true; } >"$OUTDIR/nvidia-smi.txt" 2>&1
"$NODE" --version >"$OUTDIR/node-version.txt"
echo "setup done in $(($(date +%s) - started)) s; node $("$NODE" --version)"
# The whole call must stay under 8 minutes: the check gets what is left of 7 (GPU_CHECK_SECONDS, from the start).
timeout --signal=KILL $((${GPU_CHECK_SECONDS:-420} - ($(date +%s) - started))) "$NODE" --import tsx scripts/gpu/check.ts "$OUTDIR" "$@"
echo "done in $(($(date +%s) - started)) s: $OUTDIR/gpu-check.json"
