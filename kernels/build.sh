#!/usr/bin/env bash
# Compiles every kernels/src/*.cu into a fatbin (sm_80 and sm_90 machine code plus compute_90 PTX for newer chips)
# under OUT (the kernels jar's resources). Without nvcc the build still succeeds: no fatbin is written, and the
# runtime's CUDA backend then reports that the kernels were not built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/target/classes/org/xlstm/jvm/kernels}
nvcc=${NVCC:-}
for c in "$nvcc" "$(command -v nvcc 2>/dev/null || true)" "${CUDA_HOME:-/nonexistent}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
  if [ -n "$c" ] && [ -x "$c" ]; then nvcc=$c; break; fi
  nvcc=""
done
mkdir -p "$out"
if [ -z "$nvcc" ]; then
  echo "[kernels] nvcc not found (set NVCC or CUDA_HOME): building without GPU kernels; --device cuda will be unavailable"
  printf 'built=false\nreason=nvcc not found at build time\n' > "$out/kernels.properties"
  exit 0
fi
gencode="-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90"
names=()
for src in "$here"/src/*.cu; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .cu)
  dst="$out/$name.fatbin"
  if [ ! -f "$dst" ] || [ "$src" -nt "$dst" ] || [ -n "$(find "$here/src" -name '*.cuh' -newer "$dst" -print -quit)" ]; then
    echo "[kernels] nvcc $name.cu"
    "$nvcc" --fatbin $gencode -O3 -std=c++17 -I"$here/src" -o "$dst.tmp" "$src"
    mv "$dst.tmp" "$dst"
  fi
  names+=("$name")
done
{
  echo "built=true"
  echo "nvcc=$("$nvcc" --version | tail -n 1)"
  echo "modules=$(IFS=,; echo "${names[*]}")"
} > "$out/kernels.properties"
