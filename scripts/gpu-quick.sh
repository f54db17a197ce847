#!/usr/bin/env bash
# Ad-hoc runs on a GPU machine from a package that `scripts/gpu-check.sh package` made (copied into .gpu/):
#   bash .gpu/gpu-quick.sh OUT "class:org.x.SomeTest,method:org.x.OtherTest#name" "bench ARGS..." "conformance ..."
# runs the selected JUnit tests (report in OUT/tests.txt), then each quoted xlstm command line (OUT/cmds.txt).
# JFLAGS: extra JVM flags (e.g. -Dxlstm.cuda.mlstmBackwardTiming=true); NCU: Nsight Compute options, to profile the
# tests' kernels (e.g. NCU='--kernel-name regex:xlstm_mlstm --launch-count 4 --section SpeedOfLight').
set -uo pipefail
gpu=$(cd "$(dirname "$0")" && pwd)
out=$1; shift
mkdir -p "$out"
jdk=${TMPDIR:-/tmp}/xlstm-gpu-jdk
[ -x "$jdk/jdk/bin/java" ] || { mkdir -p "$jdk" && tar -C "$jdk" -xzf "$gpu/jdk.tgz"; }
java="$jdk/jdk/bin/java"
flags="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss8m ${JFLAGS:-}"
cp=$gpu/test-classes
for j in "$gpu"/lib/*.jar; do cp=$cp:$j; done
selectors=${1:-}; shift || true
if [ -n "$selectors" ]; then
  sel=""; for c in ${selectors//,/ }; do sel="$sel --select-${c%%:*} ${c#*:}"; done
  pre=""; [ -n "${NCU:-}" ] && pre="${CUDA_HOME:-/usr/local/cuda}/bin/ncu $NCU"
  $pre "$java" $flags -Dxlstm.fixtures="$gpu/fixtures" -jar "$gpu/junit-platform-console-standalone.jar" execute \
    --class-path "$cp" $sel --details=tree --reports-dir="$out/junit" > "$out/tests.txt" 2>&1
  grep -v "^\s*$" "$out/tests.txt" | grep -v "✔" | tail -n "${TESTTAIL:-40}"
fi
xlstm() { "$java" $flags -cp "$gpu/lib/*" org.xlstm.jvm.cli.MainKt "$@"; }
for line in "$@"; do
  echo "== xlstm $line"
  eval "xlstm $line" 2>&1 | tee -a "$out/cmds.txt" | grep -v "^WARNING" | tail -n "${TAILN:-60}"
done
