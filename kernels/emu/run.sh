#!/usr/bin/env bash
# Builds a kernel's CPU-emulator harness (kernels/emu/NAME_emu.cpp, see cuda_emu.h) and runs it with the threads
# scheduled in both orders (races that read stale data in one order show in the other). No GPU needed.
#   kernels/emu/run.sh mlstm_tc [args...]      (EXACT=1: bf16 keeps the whole float, see cuda_bf16.h)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:?harness name, e.g. mlstm_tc}; shift
bin=${TMPDIR:-/tmp}/${name}_emu
g++ -std=c++17 -O2 -g ${EXACT:+-DEMU_BF16_EXACT} -I"$here" -o "$bin" "$here/${name}_emu.cpp"
echo "== threads in order"; "$bin" "$@"
echo "== threads in reverse order"; EMU_REVERSE=1 "$bin" "$@"
