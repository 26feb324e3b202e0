#!/usr/bin/env bash
# The nineteenth session's A/B of where LoRA's terms are added and of matmul_atb's two jobs (BENCHMARKS.md,
# nineteenth session), for the GPU machine:
#   bash tools/bench/sft-lowrank-ab.sh build <X> <Y>  # here: bench bundles of aad9cc0 (A), X and Y into .tmp/b, and Y's
#                                                    # GPU tests of the changed kernels into .tmp/t (git worktrees)
#   bash tools/bench/sft-lowrank-ab.sh run            # there, carrying .devkit and .tmp: alternated, results in $OUT
# LOOP_S, PROFILE_BEFORE_S, TESTS_BEFORE_S (seconds into the run) bound its parts: 150, 230, 270.
# X: `--kernels lowrank=none|reduce|all` (KernelPrefs.lowrank) without the two-job matmul_atb; Y: with it.
set -uo pipefail
cd "$(git rev-parse --show-toplevel)"
source tools/bench/sft-ab-lib.sh
b=$AB_B
if [[ ${1:-} == build ]]; then
  [[ $# == 3 ]] || { echo "usage: $0 build <X> <Y>" >&2; exit 2; }
  ab_bundle aad9cc0 bench-head.mjs; ab_bundle "$2" bench-h0.mjs
  ab_bundle "$3" bench-h.mjs "" matmul_atb kernel-prefs graph trainer matmul_forward matmul_forward_vec4
  ls -la $b .tmp/t; exit 0
fi
[[ ${1:-} == run ]] || { echo "usage: $0 build <X> <Y> | run" >&2; exit 2; }
ab_device
q=$AB_Q; s=$AB_S; run() { ab_run "$@"; }
for i in 1 2 3; do
  run A$i $q 4 bench-head.mjs; run H0none$i $q 4 bench-h0.mjs --kernels lowrank=none; run Hnone$i $q 4 bench-h.mjs --kernels lowrank=none
  run Hreduce$i $q 4 bench-h.mjs --kernels lowrank=reduce; run Hall$i $q 4 bench-h.mjs --kernels lowrank=all
  run 135A$i $s 8 bench-head.mjs; run 135Hnone$i $s 8 bench-h.mjs --kernels lowrank=none; run 135Hall$i $s 8 bench-h.mjs --kernels lowrank=all
  (( SECONDS > ${LOOP_S:-150} )) && break
done
echo "== profile t=$SECONDS" >> $R
(( SECONDS < ${PROFILE_BEFORE_S:-230} )) && for k in none all; do
  node $b/bench-h.mjs sft --model /tmp/real/$q --batch 4 --seq 256 --rank 16 --steps 3 --profile --label P$k --kernels lowrank=$k > /tmp/prof-$k.txt 2>&1
  cp /tmp/prof-$k.txt "$(dirname $R)/prof-$k.txt"
done
AB_TEST_TIMEOUT=60 ab_tests ${TESTS_BEFORE_S:-270}
cat $R
