#!/usr/bin/env bash
# The twenty-fourth session's A/B of its dispatch cuts (BENCHMARKS.md, twenty-fourth session), for the GPU machine:
#   bash tools/bench/sft-dispatch-cuts-ab.sh build   # here: bench bundles into .tmp/b (git worktrees): old = 465bc1c,
#                                                     # new = e67393f (dk/dv summed in rope_qkv_backward, gate|up as
#                                                     # one product), red4 = ef8d30f (+ the four-columns split-K reduce),
#                                                     # tiled = new with the tiled kernel's kk loop written out at 128;
#                                                     # HEAD's GPU tests of the changed kernels into .tmp/t
#   bash tools/bench/sft-dispatch-cuts-ab.sh run     # there, carrying .devkit and .tmp: results in $OUT
# The run's parts in order of what they settle, each bounded by seconds into the run (it fits in ~330 s): the GPU
# tests; the LoRA step new / old / red4 with `--kernels lowrank=reduce` at both shapes beside PyTorch eager; prefill
# new / old with the GPU's clocks logged every 250 ms ($OUT/clocks.csv); a second round; HF's prefill; the tiled
# bundle against new with `--kernels matmul=tiled`.
set -uo pipefail
cd "$(git rev-parse --show-toplevel)"
source tools/bench/sft-ab-lib.sh
if [[ ${1:-} == build ]]; then
  ab_bundle 465bc1c old.mjs; ab_bundle e67393f new.mjs; ab_bundle ef8d30f red4.mjs
  ab_bundle e67393f tiled.mjs "sed -i 's/tile === 64 ? matmulTiled64Spec : matmulTiledSpec/matmulTiled64Spec/' shaders/matmul_forward.ts"
  rm -rf .tmp/t; ab_bundle HEAD head.mjs "" swiglu rope_qkv_backward matmul_forward matmul_forward_vec4h attention_backward graph trainer
  ls -la $AB_B .tmp/t; exit 0
fi
[[ ${1:-} == run ]] || { echo "usage: $0 build | run" >&2; exit 2; }
ab_device
O=$(dirname $R); q=/tmp/real/$AB_Q
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 250 > $O/clocks.csv 2>&1 &
clk=$!
ab_tests 90 swiglu rope_qkv_backward matmul_forward graph attention_backward matmul_forward_vec4h trainer
torch() { timeout 45 python3 tools/bench/torch_sft.py --model $1 --batch $2 --seq 256 --steps 8 --warmup 2 --attn eager --out $O/torch-$3.json 2>&1 | grep eager | tail -1 >> $R; }
torch $q 4 05a
ab_run "new 0.5B 1" $AB_Q 4 new.mjs; ab_run "old 0.5B 1" $AB_Q 4 old.mjs; ab_run "red4 reduce 0.5B 1" $AB_Q 4 red4.mjs --kernels lowrank=reduce
(( SECONDS < 200 )) && { ab_run "new 135M" $AB_S 8 new.mjs; ab_run "old 135M" $AB_S 8 old.mjs; ab_run "red4 reduce 135M" $AB_S 8 red4.mjs --kernels lowrank=reduce; torch /tmp/real/$AB_S 8 135; }
for b in new old; do
  (( SECONDS < 250 )) || break
  echo "-- prefill $b t=$SECONDS" >> $R
  timeout 25 node $AB_B/$b.mjs prefill --model $q --label $b --batch 1,16 --tokens 256 2>&1 | grep "^prefill B" >> $R
done
(( SECONDS < 280 )) && { ab_run "new 0.5B 2" $AB_Q 4 new.mjs; ab_run "old 0.5B 2" $AB_Q 4 old.mjs; ab_run "red4 reduce 0.5B 2" $AB_Q 4 red4.mjs --kernels lowrank=reduce; ab_run "red4 none 0.5B" $AB_Q 4 red4.mjs; torch $q 4 05b; }
(( SECONDS < 380 )) && { echo "== HF t=$SECONDS" >> $R; timeout 60 python3 tools/golden/make_fixtures.py --real-shapes --shapes $AB_Q --out /tmp/realhf > $O/hf.log 2>&1; grep prefill $O/hf.log >> $R; }
for b in tiled new; do
  (( SECONDS < 460 )) || break
  echo "-- prefill matmul=tiled $b t=$SECONDS" >> $R
  timeout 30 node $AB_B/$b.mjs prefill --model $q --label $b --batch 1,16 --tokens 256 --kernels matmul=tiled 2>&1 | grep "^prefill B" >> $R
done
kill $clk
echo "== done t=$SECONDS" >> $R
cat $R
