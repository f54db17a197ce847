#!/usr/bin/env bash
# A/B of two runtime builds in ONE call on a GPU machine. Machines of one kind differ from call to call by about as
# much as a kernel tweak changes (a decode variant measured 4,733 tokens/s against the base's 4,728 from an earlier
# call, yet 4,749 against 4,767 side by side), so keep a change only when the two jars, run alternately, say so.
#
#   scripts/gpu-ab.sh save NAME      # here: copies the runtime jar just built (runtime-java/target) to .lab/NAME.jar
#   bash scripts/gpu-ab.sh run OUT A B ROUNDS "xlstm args"
#                                    # there (carry .gpu and .lab/A.jar, .lab/B.jar): each round runs the command once
#                                    # with each jar in place of .gpu's runtime jar; "base" for A or B means .gpu's own
#
# Example: build the variant, `scripts/gpu-ab.sh save variant`, rebuild the base and `scripts/gpu-check.sh package`,
# then on the device: bash scripts/gpu-ab.sh run $OUT base variant 2 "bench recipes/bench/xlstm-7b-arch-d768.json
# --device cuda-bf16 --batch 1 --seq 16 --gen-tokens 2048 --no-train --runs 5 --warmup 2"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
save)
  name=${2:?name}
  mkdir -p "$root/.lab"
  cp "$root"/runtime-java/target/xlstm-runtime-*.jar "$root/.lab/$name.jar"
  ls -la "$root/.lab/$name.jar"
  ;;
run)
  out=${2:?OUT}; a=${3:?A}; b=${4:?B}; rounds=${5:?ROUNDS}; args=${6:?xlstm args}
  gpu=$root/.gpu
  mkdir -p "$out"
  jdk=${TMPDIR:-/tmp}/xlstm-gpu-jdk
  [ -x "$jdk/jdk/bin/java" ] || { mkdir -p "$jdk" && tar -C "$jdk" -xzf "$gpu/jdk.tgz"; }
  lib() {   # the class path folder of build $1
    [ "$1" = base ] && { echo "$gpu/lib"; return; }
    local d=${TMPDIR:-/tmp}/xlstm-ab-$1
    if [ ! -d "$d" ]; then
      mkdir -p "$d" && cp "$gpu"/lib/*.jar "$d/"
      cp "$root/.lab/$1.jar" "$d"/xlstm-runtime-*.jar
    fi
    echo "$d"
  }
  for r in $(seq 1 "$rounds"); do
    for v in "$a" "$b"; do
      echo "== round $r, build $v"
      eval "\"$jdk/jdk/bin/java\" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss8m \
        -cp \"$(lib "$v")/*\" org.xlstm.jvm.cli.MainKt $args" 2>&1 | grep -v "^WARNING" | tee -a "$out/ab-$v.txt" \
        | grep -E "tokens/s" || true
    done
  done
  ;;
*)
  sed -n '2,13p' "$0"; exit 2 ;;
esac
