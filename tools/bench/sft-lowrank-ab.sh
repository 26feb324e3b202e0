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
b=.tmp/b
if [[ ${1:-} == build ]]; then
  [[ $# == 3 ]] || { echo "usage: $0 build <X> <Y>" >&2; exit 2; }
  mkdir -p $b .tmp/t
  bundle() { # commit, output name
    local w=/tmp/ab-$1; rm -rf $w; git worktree add -q -f $w $1 && ln -s "$PWD/node_modules" $w/node_modules
    (cd $w && node tools/bundle-cli.mjs > /dev/null) && cp $w/.bundle/bench.mjs $b/$2
    [[ $2 == bench-h.mjs ]] && for t in matmul_atb kernel-prefs graph trainer matmul_forward matmul_forward_vec4; do cp $w/.bundle/tests/$t.test.mjs .tmp/t/; done
    git worktree remove -f $w
  }
  bundle aad9cc0 bench-head.mjs; bundle "$2" bench-h0.mjs; bundle "$3" bench-h.mjs
  ls -la $b .tmp/t; exit 0
fi
[[ ${1:-} == run ]] || { echo "usage: $0 build <X> <Y> | run" >&2; exit 2; }
source .devkit/enter.sh > /dev/null 2>&1
R=${OUT:-/tmp/out}/results.txt; mkdir -p "$(dirname $R)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R
python3 tools/golden/make_fixtures.py --real-shapes --skip-bench --shapes qwen2.5-0.5b-shaped,smollm2-135m-shaped --out /tmp/real > /dev/null 2>&1
q=qwen2.5-0.5b-shaped; s=smollm2-135m-shaped
run() { local l=$1 m=$2 bs=$3 f=$4; shift 4; echo "== $l t=$SECONDS" >> $R
  node $b/$f sft --model /tmp/real/$m --batch $bs --seq 256 --rank 16 --steps 12 --label $l "$@" 2>&1 | grep -E "^sft|Error|error" | head -3 >> $R; }
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
echo "== GPU tests t=$SECONDS" >> $R
for f in .tmp/t/*.test.mjs; do (( SECONDS < ${TESTS_BEFORE_S:-270} )) && echo "$f: $(timeout 60 node --test $f 2>&1 | grep -E '^# (pass|fail|skipped)' | tr '\n' ' ')" >> $R; done
cat $R
