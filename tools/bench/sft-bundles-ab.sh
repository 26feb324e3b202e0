#!/usr/bin/env bash
# The eighteenth session's A/B of `bench -- sft` across commits, for the GPU machine (BENCHMARKS.md, eighteenth session):
#   bash tools/bench/sft-bundles-ab.sh build   # here: one bench bundle per variant into .tmp/b (git worktrees)
#   bash tools/bench/sft-bundles-ab.sh run     # there, carrying .devkit and .tmp: A-G alternated, results in $OUT
# Variants: A aad9cc0 (replay, before this session), B A with --no-replay, C A + a 12 ms busy wait before the step's
# read (LAB_DELAY), D C with --no-replay, E ea7599e (before one compute pass per stretch), F f33d176 (adapter terms
# folded into the split-K reduce, residual as its addend), G 359bf20 (+ the vec4 kernel's low-rank steps).
set -uo pipefail
cd "$(git rev-parse --show-toplevel)"
source tools/bench/sft-ab-lib.sh
if [[ ${1:-} == build ]]; then
  delay="sed -i 's|^    const \[lossV, norm\] = (await rt.read(stats)) as Float32Array;|    { const d = Number(process.env.LAB_DELAY ?? 0); if (d > 0) { const e = performance.now() + d; while (performance.now() < e); } }\n&|' src/engine/train/trainer.ts && grep -q LAB_DELAY src/engine/train/trainer.ts"
  ab_bundle aad9cc0 bench-head.mjs; ab_bundle aad9cc0 bench-delay.mjs "$delay"; ab_bundle ea7599e bench-copy.mjs
  ab_bundle f33d176 bench-fold.mjs; ab_bundle 359bf20 bench-vec4lr.mjs
  ls -la $AB_B; exit 0
fi
[[ ${1:-} == run ]] || { echo "usage: $0 build|run" >&2; exit 2; }
ab_device
q=$AB_Q; s=$AB_S; run() { ab_run "$@"; }
for i in 1 2; do
  run A$i $q 4 bench-head.mjs; run G$i $q 4 bench-vec4lr.mjs; run F$i $q 4 bench-fold.mjs; run B$i $q 4 bench-head.mjs --no-replay
  LAB_DELAY=12 run C$i $q 4 bench-delay.mjs; LAB_DELAY=12 run D$i $q 4 bench-delay.mjs --no-replay; run E$i $q 4 bench-copy.mjs
  run 135A$i $s 8 bench-head.mjs; run 135G$i $s 8 bench-vec4lr.mjs; run 135E$i $s 8 bench-copy.mjs
  (( SECONDS > 300 )) && break
done
timeout 90 python3 tools/bench/torch_sft.py --model /tmp/real/$q --batch 4 --seq 256 --steps 10 --out /tmp/torch05.json 2>&1 | grep -E "eager|sdpa" | tail -2 >> $R
cat $R
