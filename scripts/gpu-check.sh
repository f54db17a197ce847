#!/usr/bin/env bash
# GPU checks for a machine with an NVIDIA GPU but possibly no Java and no network.
#
#   scripts/gpu-check.sh package        # here (needs JDK 25 + Maven): builds everything into .gpu/ (about 60 MB; the device carry limit is 64 MiB)
#   scripts/gpu-check.sh run [OUT]      # there: runs the GPU tests (and, when present, conformance/bench on cuda)
#
# With the device tool: package here, then run with carry [".gpu"] and the command `scripts/gpu-check.sh run $OUT`
# (BENCH=0: tests, conformance, generation and training only; add ".ref" to the carry for the official baseline).
# On CI (no GPU) the same tests are part of ./mvn25 verify and skip with a message.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gpu=$root/.gpu
cmd=${1:-}

case "$cmd" in
package)
  cd "$root"
  rm -rf dsl/target/lib   # copy-dependencies never deletes jars of dependencies that went away
  ./mvn25 -q -B -DskipTests package
  rm -rf "$gpu"; mkdir -p "$gpu/lib" "$gpu/test-classes"
  bash "$root/../shared/tools/device-jdk.sh" "$gpu/jdk" java.desktop >/dev/null   # java.desktop: metrics.png
  # packed: the device tool carries at most 64 MiB with the repository; unpacked on the GPU machine by `run`
  tar -C "$gpu" -czf "$gpu/jdk.tgz" jdk && rm -rf "$gpu/jdk"
  # Runtime jars only: the Kotlin compiler (recipe scripts) stays home; commands take config.json / checkpoint dirs.
  cp dsl/target/xlstm-dsl.jar "$gpu/lib/"
  for j in dsl/target/lib/*.jar; do
    case "$(basename "$j")" in kotlin-compiler-*|kotlin-scripting-compiler-*|kotlin-main-kts-*|kotlin-daemon-*|kotlin-build-tools-*|kotlin-reflect-*|kotlinx-coroutines-*) ;;
      *) cp "$j" "$gpu/lib/" ;;
    esac
  done
  cp -r runtime-java/target/test-classes/. "$gpu/test-classes/"
  ./mvn25 -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4 \
    -DoutputDirectory="$gpu" -Dmdep.stripVersion=true
  # test dependencies of the runtime tests (JUnit is inside the console jar)
  fixtures=${XLSTM_FIXTURES:-$root/../shared/fixtures}
  [ -d "$fixtures" ] && cp -r "$fixtures" "$gpu/fixtures"
  # the parity recipe's model as an official config (recipes need the Kotlin compiler, which stays home)
  ./xlstm config recipes/parity.xlstm.kts > "$gpu/parity-model.json"
  cp "$0" "$gpu/gpu-check.sh"   # so a tree without this version of the script can run it: bash .gpu/gpu-check.sh run
  cp "$root/scripts/gpu-quick.sh" "$gpu/"   # ad-hoc test selections, Nsight Compute, single commands
  cp "$root/scripts/official-baseline.py" "$gpu/"   # the official code timed on the same GPU (needs .ref/, see it)
  du -sh "$gpu"
  ;;
run)
  out=${2:-${OUT:-/tmp/gpu-out}}
  mkdir -p "$out"
  java="$gpu/jdk/bin/java"
  if [ ! -x "$java" ]; then
    jdk=${TMPDIR:-/tmp}/xlstm-gpu-jdk
    [ -x "$jdk/jdk/bin/java" ] || { mkdir -p "$jdk" && tar -C "$jdk" -xzf "$gpu/jdk.tgz"; }
    java="$jdk/jdk/bin/java"
  fi
  flags="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss8m"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee "$out/gpu.txt" || true
  cp=$gpu/test-classes
  for j in "$gpu"/lib/*.jar; do cp=$cp:$j; done   # the console launcher does not expand lib/*
  set +e
  "$java" $flags -Dxlstm.fixtures="$gpu/fixtures" -jar "$gpu/junit-platform-console-standalone.jar" execute \
    --class-path "$cp" --select-package org.xlstm.jvm.cuda --select-package org.xlstm.jvm.backend.cuda \
    --details=tree --reports-dir="$out/junit" 2>&1 | tee "$out/gpu-tests.txt" | tail -n 60
  rc=${PIPESTATUS[0]}
  xlstm() { "$java" $flags -cp "$gpu/lib/*" org.xlstm.jvm.cli.MainKt "$@"; }
  # conformance of every fixture quantity on the GPU: float32 (tolerance 1e-4) and bf16 products (2e-2)
  for dev in cuda cuda-bf16; do
    echo "== conformance --device $dev"
    xlstm conformance "$gpu/fixtures" --device $dev > "$out/conformance-$dev.txt" 2>&1 || rc=1
    tail -n 1 "$out/conformance-$dev.txt"
  done
  # generation on the GPU: greedy continuations must equal the CPU's (and so the fixtures')
  echo "== generate --device cuda"
  for dev in cpu cuda; do
    xlstm generate "$gpu/fixtures/mixed_4blk" --prompt-ids "1,2,3,4,5;6,7,8,9,10" --greedy -n 16 --json --device $dev \
      > "$out/generate-$dev.json" 2>&1 || rc=1
  done
  if cmp -s "$out/generate-cpu.json" "$out/generate-cuda.json"; then echo "greedy generation: cuda = cpu"
  else echo "greedy generation differs:"; cat "$out/generate-cpu.json" "$out/generate-cuda.json"; rc=1; fi
  # training on the GPU end to end: the parity model (recipes/parity.xlstm.kts), float32, with checkpoints
  echo "== train --device cuda (parity)"
  xlstm train "$gpu/parity-model.json" --task parity --steps ${PARITY_STEPS:-3000} --batch-size 64 --lr 3e-3 \
    --warmup-steps 100 --seed 42 --eval-every 250 --no-progress --device cuda --out "$out/parity-cuda" \
    > "$out/train-parity.txt" 2>&1 || rc=1
  tail -n 4 "$out/train-parity.txt"
  # benchmarks (figures for docs/performance.md); BENCH=0 skips them
  if [ "${BENCH:-1}" = 1 ]; then
    b="--runs 5 --warmup 3 --warmup-seconds 2 --json"
    echo "== bench"
    xlstm bench "$root/recipes/bench/cpu-bench.json" --device cuda --batch 8 --seq 256 --gen-tokens 256 $b | tee "$out/bench-cpu-config-cuda.json"
    xlstm bench "$root/recipes/bench/xlstm-7b-arch-d768.json" --device cuda-bf16 --batch 1 --seq 128 --gen-tokens 128 --gen-batch 16 $b | tee "$out/bench-7b-d768-prefill128-decode.json"
    xlstm bench "$root/recipes/bench/xlstm-7b-arch-d768.json" --device cuda-bf16 --batch 8 --seq 2048 --gen-tokens 16 $b | tee "$out/bench-7b-d768-8x2048.json"
    # forward and decode (training 24 blocks at 8 × 2048 with float32 activations does not fit in 80 GB yet), then
    # training at 2 × 2048
    xlstm bench "$root/recipes/bench/xlstm-7-1-125m.json" --device cuda-bf16 --batch 8 --seq 2048 --gen-tokens 64 --no-train $b | tee "$out/bench-125m-7-1.json"
    xlstm bench "$root/recipes/bench/xlstm-7-1-125m.json" --device cuda-bf16 --batch 2 --seq 2048 --gen-tokens 4 \
      --runs 3 --warmup 1 --warmup-seconds 0 --json | tee "$out/bench-125m-7-1-train-2x2048.json"
    # the official code on the same GPU, when its sources are carried in .ref/ (scripts/official-baseline.py)
    if [ -d "$root/.ref/xlstm/xlstm" ] && [ -d "$root/.ref/mlstm_kernels/mlstm_kernels" ] \
        && python3 -c "import torch, triton" 2>/dev/null; then
      echo "== official PyTorch + Triton (xlstm_large, mlstm_kernels) on the same GPU"
      python3 "$gpu/official-baseline.py" --xlstm-src "$root/.ref/xlstm" --kernels-src "$root/.ref/mlstm_kernels" \
        2>&1 | tee "$out/official-baseline.jsonl" | grep '^{' || true
    fi
    # where a training step's time goes (second pass, each operation waited for)
    xlstm bench "$root/recipes/bench/xlstm-7b-arch-d768.json" --device cuda-bf16 --batch 8 --seq 2048 --gen-tokens 4 \
      --runs 2 --warmup 1 --warmup-seconds 0 --profile > "$out/profile-7b-d768.txt" 2>&1 || true
  fi
  exit "$rc"
  ;;
*)
  sed -n '2,9p' "$0"; exit 2 ;;
esac
