#!/usr/bin/env bash
# The twenty-fifth session's A/B (BENCHMARKS.md, twenty-fifth session), for the GPU machine:
#   bash tools/bench/raster-splitk-ab.sh build   # here: bench bundles into .tmp/b (git worktrees): old = 30d979a
#                                                 # (timed with --kernels lowrank=reduce, today's default), new = HEAD
#                                                 # (split-K ranges by the cost model, even logits chunks, groupM);
#                                                 # HEAD's GPU tests of the changed kernels into .tmp/t
#   bash tools/bench/raster-splitk-ab.sh run     # there, carrying .devkit, .tmp/b and .tmp/t: results in $OUT
# (twenty-sixth session: also fill = HEAD with 128 x 64 tiles only below one wave, and HEAD with --kernels tail=columns)
# Its parts in order of what they settle, each bounded by seconds into the run (~300 s): the GPU tests; the grouped
# launch order (vec4-g4/g8/g16) against the dispatch order on the large products, beside cuBLAS; the tiles of the
# partial-wave products (gate|up forward, gate_proj forward, down_proj dx: 64 / 128 x 64 / 128); the split-K cases;
# the LoRA step new / old at both shapes, alternated twice, beside PyTorch eager; the 0.5B step's profile.
set -uo pipefail
cd "$(git rev-parse --show-toplevel)"
source tools/bench/sft-ab-lib.sh
if [[ ${1:-} == build ]]; then
  ab_bundle 30d979a old.mjs
  rm -rf .tmp/t; ab_bundle HEAD new.mjs "" matmul_forward matmul_forward_vec4 graph trainer
  # fill: HEAD with 128 x 64 tiles only for grids of less than one wave (gate|up forward's 2.3 waves then run 64 x 64)
  ab_bundle HEAD fill.mjs "sed -i 's/: fill >= VEC4_TILE128_FILL ? \\[128, 64\\]/: fill >= VEC4_TILE128_FILL \\&\\& tiles < VEC4_TILE128_SLOTS ? [128, 64]/' shaders/matmul_plan.ts && grep -q 'tiles < VEC4_TILE128_SLOTS ?' shaders/matmul_plan.ts"
  ls -la $AB_B .tmp/t; exit 0
fi
if [[ ${1:-} == lean ]]; then # a short call (~200 s): the tiles and the column split beside cuBLAS, then 0.5B new / cols
  source .devkit/enter.sh > /dev/null 2>&1
  R=${OUT:-/tmp/out}/results.txt; O=$(dirname $R); mkdir -p $O; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $R
  python3 - > $O/cases.json <<'PY'
import json; d = json.load(open('tools/bench/kernel_cases.json'))
d['cases'] = [c for c in d['cases'] if c['name'] in ('qwen2.5 gate+up fused x·Wt', 'qwen2.5 gate_proj x·Wt', 'qwen2.5 down_proj dx=dy·W', 'qwen2.5 lm_head 128-row chunk x·Wt', 'qwen2.5 prefill-16 gate_proj x·Wt')]
print(json.dumps(d))
PY
  timeout 40 python3 tools/bench/torch_kernels.py --cases $O/cases.json --out $O/tk.json > $O/tk.log 2>&1 || tail -3 $O/tk.log >> $R
  echo "== tiles t=$SECONDS" >> $R
  timeout 50 node $AB_B/new.mjs kernels --filter "gate+up fused x·Wt|qwen2.5 gate_proj x·Wt|down_proj dx=dy|128-row chunk x·Wt|prefill-16 gate_proj x·Wt" --torch $O/tk.json --versions vec4,vec4-t64,vec4-128x64,vec4-t128,vec4-columns 2>&1 | grep -v "Warning\|^device\|^reference\|^case" >> $R
  AB_TEST_TIMEOUT=30 ab_tests 150 matmul_forward_vec4
  python3 tools/golden/make_fixtures.py --real-shapes --skip-bench --shapes $AB_Q --out /tmp/real > /dev/null 2>&1
  ab_run "new 0.5B" $AB_Q 4 new.mjs; ab_run "cols 0.5B" $AB_Q 4 new.mjs --kernels tail=columns; ab_run "fill 0.5B" $AB_Q 4 fill.mjs
  echo "== done t=$SECONDS" >> $R; cat $R; exit 0
fi
[[ ${1:-} == run ]] || { echo "usage: $0 build | run | lean" >&2; exit 2; }
ab_device
O=$(dirname $R); q=/tmp/real/$AB_Q
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw --format=csv -lms 500 > $O/clocks.csv 2>&1 &
clk=$!
ab_tests 60 matmul_forward_vec4
F="matmul 2048^3|matmul 4096^3|lm_head x·Wt|prefill-16|gate+up fused x·Wt"
python3 - "$F" > $O/cases.json <<'PY'
import json, sys; d = json.load(open('tools/bench/kernel_cases.json')); f = sys.argv[1].split('|')
d['cases'] = [c for c in d['cases'] if any(s in c['name'] for s in f) or c['name'] in ('qwen2.5 gate+up fused dx', 'qwen2.5 down_proj x·Wt', 'qwen2.5 lm_head dx=dlogits·U', 'qwen2.5 gate_proj x·Wt', 'qwen2.5 down_proj dx=dy·W', 'qwen2.5 lm_head 128-row chunk x·Wt')]
print(json.dumps(d))
PY
echo "== torch kernels t=$SECONDS" >> $R
timeout 60 python3 tools/bench/torch_kernels.py --cases $O/cases.json --out $O/tk.json > $O/tk.log 2>&1 || tail -3 $O/tk.log >> $R
# (twenty-sixth session) in order of what they settle, since a call may be cut short: the tiles and the column split,
# the steps (new, fill, cols, old at 0.5B, then 135M) beside PyTorch, the prefill, split-K, the grouped order, the rest
echo "== tiles of the partial-wave products t=$SECONDS" >> $R
timeout 45 node $AB_B/new.mjs kernels --torch $O/tk.json --versions vec4,vec4-t64,vec4-128x64,vec4-t128,vec4-columns --filter "gate+up fused x·Wt|qwen2.5 gate_proj x·Wt|down_proj dx=dy|128-row chunk x·Wt" 2>&1 | grep -v "Warning\|^device\|^reference\|^case" >> $R
for i in 1 2; do
  (( SECONDS < 300 )) || break
  ab_run "new 0.5B $i" $AB_Q 4 new.mjs; ab_run "fill 0.5B $i" $AB_Q 4 fill.mjs; ab_run "cols 0.5B $i" $AB_Q 4 new.mjs --kernels tail=columns
  ab_run "new 135M $i" $AB_S 8 new.mjs; ab_run "fill 135M $i" $AB_S 8 fill.mjs; ab_run "cols 135M $i" $AB_S 8 new.mjs --kernels tail=columns
  (( i == 1 )) && timeout 45 python3 tools/bench/torch_sft.py --model $q --batch 4 --seq 256 --steps 8 --warmup 2 --attn eager --out $O/torch-q.json 2>&1 | grep eager >> $R
  ab_run "old 0.5B $i" $AB_Q 4 old.mjs --kernels lowrank=reduce
done
for k in none columns; do
  (( SECONDS < 420 )) && { echo "== prefill tail=$k t=$SECONDS" >> $R; timeout 40 node $AB_B/new.mjs prefill --model $q --batch 1,16 --kernels tail=$k 2>&1 | grep "^prefill" >> $R; }
done
(( SECONDS < 450 )) && { echo "== split-K t=$SECONDS" >> $R; timeout 30 node $AB_B/new.mjs kernels --torch $O/tk.json --versions splitk,splitk-vec4-s9,splitk-vec4-s14 --filter "gate+up fused dx|down_proj x·Wt|lm_head dx" 2>&1 | grep -v "Warning\|^device\|^reference\|^case" >> $R; }
(( SECONDS < 480 )) && { echo "== grouped launch order t=$SECONDS" >> $R; timeout 60 node $AB_B/new.mjs kernels --torch $O/tk.json --versions vec4,vec4-g8,vec4-g16 --filter "matmul 4096^3|lm_head x·Wt|prefill-16 gate" 2>&1 | grep -v "Warning\|^device\|^reference" >> $R; }
ab_tests 550 matmul_forward graph trainer
kill $clk
echo "== done t=$SECONDS" >> $R
cat $R
