#!/usr/bin/env bash
# The eighteenth session's A/B of `bench -- sft` across commits, for the GPU machine (BENCHMARKS.md, eighteenth session):
#   bash tools/bench/sft-bundles-ab.sh build   # here: one bench bundle per variant into .tmp/b (git worktrees)
#   bash tools/bench/sft-bundles-ab.sh run     # there, carrying .devkit and .tmp: A-G alternated, results in $OUT
# Variants: A aad9cc0 (replay, before this session), B A with --no-replay, C A + a 12 ms busy wait before the step's
# read (LAB_DELAY), D C with --no-replay, E ea7599e (before one compute pass per stretch), F f33d176 (adapter terms
# folded into the split-K reduce, residual as its addend), G 359bf20 (+ the vec4 kernel's low-rank steps).
set -uo pipefail
cd "$(git rev-parse --show-toplevel)"
b=.tmp/b
if [[ ${1:-} == build ]]; then
  mkdir -p $b
  bundle() { # commit, output name, optional patch command run in the worktree
    local w=/tmp/ab-$1; rm -rf $w; git worktree add -q -f $w $1 && ln -s "$PWD/node_modules" $w/node_modules
    (cd $w && { [[ -n ${3:-} ]] && eval "$3"; true; } && node tools/bundle-cli.mjs > /dev/null) && cp $w/.bundle/bench.mjs $b/$2
    git worktree remove -f $w
  }
  delay="sed -i 's|^    const \[lossV, norm\] = (await rt.read(stats)) as Float32Array;|    { const d = Number(process.env.LAB_DELAY ?? 0); if (d > 0) { const e = performance.now() + d; while (performance.now() < e); } }\n&|' src/engine/train/trainer.ts && grep -q LAB_DELAY src/engine/train/trainer.ts"
  bundle aad9cc0 bench-head.mjs; bundle aad9cc0 bench-delay.mjs "$delay"; bundle ea7599e bench-copy.mjs
  bundle f33d176 bench-fold.mjs; bundle 359bf20 bench-vec4lr.mjs
  ls -la $b; exit 0
fi
[[ ${1:-} == run ]] || { echo "usage: $0 build|run" >&2; exit 2; }
source .devkit/enter.sh > /dev/null 2>&1
R=${OUT:-/tmp/out}/results.txt; mkdir -p "$(dirname $R)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R
python3 tools/golden/make_fixtures.py --real-shapes --skip-bench --shapes qwen2.5-0.5b-shaped,smollm2-135m-shaped --out /tmp/real > /dev/null 2>&1
q=qwen2.5-0.5b-shaped; s=smollm2-135m-shaped
run() { local l=$1 m=$2 bs=$3 f=$4; shift 4; echo "== $l t=$SECONDS" >> $R
  node $b/$f sft --model /tmp/real/$m --batch $bs --seq 256 --rank 16 --steps 12 --label $l "$@" 2>&1 | grep -E "^sft|Error|error" | head -3 >> $R; }
for i in 1 2; do
  run A$i $q 4 bench-head.mjs; run G$i $q 4 bench-vec4lr.mjs; run F$i $q 4 bench-fold.mjs; run B$i $q 4 bench-head.mjs --no-replay
  LAB_DELAY=12 run C$i $q 4 bench-delay.mjs; LAB_DELAY=12 run D$i $q 4 bench-delay.mjs --no-replay; run E$i $q 4 bench-copy.mjs
  run 135A$i $s 8 bench-head.mjs; run 135G$i $s 8 bench-vec4lr.mjs; run 135E$i $s 8 bench-copy.mjs
  (( SECONDS > 300 )) && break
done
timeout 90 python3 tools/bench/torch_sft.py --model /tmp/real/$q --batch 4 --seq 256 --steps 10 --out /tmp/torch05.json 2>&1 | grep -E "eager|sdpa" | tail -2 >> $R
cat $R
