#!/usr/bin/env bash
# GRPO on the embedded default model (issue 11, "GRPO makes it better at its own tasks"), on the GPU
# machine from the repo root with .devkit and .bundle carried:
#   bash tools/embedded/grpo-recipe.sh <work dir> <grpo steps> <seconds this call may train>
# Each call runs the same command: held-out evaluation of the starting model once (cached in <work>), then
# `lab grpo` with the exact-match reward on fresh train-split items of both tasks, stopped by SIGINT at the
# time limit (a checkpoint of the step in flight; the next call resumes from the newest checkpoint), then,
# once all steps are done, the same held-out evaluation with the adapter. Results go to $OUT.
# LR: 3e-5 (the user's pipeline's scale) moved nothing on this model: after 353 steps 492 of 500 held-out greedy
# outputs per task were unchanged (2026-12-05, models/lab-default/README.md); the model's own SFT ran at 2e-3.
# TASKS=conlang at 5e-4 (468 steps) and 1.5e-3 (346 steps) kept the sampled reward flat too (0.55 → 0.56 and
# 0.55 → 0.49) and moved held-out Velmic within noise (test +1.2 / validation −3.5 points; test −3.4 / validation
# −7.5): the model card's second attempt.
# REWARD=exact:1,steps:0.5 (TASKS=conlang; lr 5e-4 and 1e-3, 8 or 16 prompts a step, 232-335 steps): flat again, held-out
# Velmic down 1-10 points: the model card's third attempt.
# SPLIT=rl (LoRA 5e-4 to step 1 229; FULL=1 at 3e-5 and 1e-4 to step ~500): greedy accuracy on unseen rl arithmetic
# 19% -> 40-59%, held-out sets within noise (test arithmetic +0.6 to +2.4 or -2, validation -0.5 to -2): the fourth.
# Env (defaults in brackets): MODEL [models/lab-default], G [16], P [8], LR [5e-4], BETA [0], LOSS [dapo],
# NEW [160], TEMP [1.0], RANK [16], TASKS [arithmetic,conlang], N_TRAIN [4000 per task], EVERY [25],
# EVAL_N [500], VAL_N [200], FINAL [0], REWARD [exact] (e.g. exact:1,steps:0.5: partial credit for the worked steps),
# SPLIT [train] (rl: arithmetic from the RL-only wordings the SFT never saw, src/tasks/arithmetic-rl-stories.ts),
# FULL [0] (1: every weight, not a LoRA adapter, evaluated after conversion to bf16 as it would ship; BETA must stay 0,
# RANK is unused).
# Two held-out sets: the test set of the model card (seed 2, EVAL_N items a task) and a validation set (seed 3,
# VAL_N a task) for choosing between runs (learning rates) without looking at the test set.
# FINAL=1: when the time limit stops the run before its last step, evaluate its newest checkpoint anyway.
set -uo pipefail
W=${1:?work dir}; STEPS=${2:?grpo steps}; SECONDS_HERE=${3:?seconds}
MODEL=${MODEL:-models/lab-default}; G=${G:-16}; P=${P:-8}; LR=${LR:-5e-4}; BETA=${BETA:-0}; LOSS=${LOSS:-dapo}
NEW=${NEW:-160}; TEMP=${TEMP:-1.0}; RANK=${RANK:-16}; N_TRAIN=${N_TRAIN:-4000}; EVERY=${EVERY:-25}; EVAL_N=${EVAL_N:-500}
TASKS=${TASKS:-arithmetic,conlang}; VAL_N=${VAL_N:-200}; FINAL=${FINAL:-0}; REWARD=${REWARD:-exact}
SPLIT=${SPLIT:-train}; FULL=${FULL:-0}
if [[ $FULL == 1 ]]; then params=(--full); else params=(--rank "$RANK" --alpha $((2 * RANK)) --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj); fi
# once per machine: enter.sh unpacks node into /tmp/devkit-bin, which a second recipe started beside a running one
# must not overwrite ("Text file busy": two of three concurrent runs died so, 2026-12-05)
[[ $(command -v node) == /tmp/devkit-bin/node ]] || source .devkit/enter.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" "$W"
LAB="node .bundle/lab.mjs"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$OUT/log.txt"
start=$(date +%s)

# the same held-out items as the model card (seed 2), and fresh train items (seed 11, not the SFT's seed 1)
for t in arithmetic conlang; do
  [[ -f $W/heldout-$t.jsonl ]] || $LAB tasks --task $t --split heldout --n "$EVAL_N" --seed 2 --out "$W/heldout-$t.jsonl"
  [[ -f $W/eval-before-$t.json ]] || $LAB eval --model "$MODEL" --data "$W/heldout-$t.jsonl" --batch 64 --max-new-tokens 160 --out "$W/eval-before-$t.json"
  [[ -f $W/val-$t.jsonl ]] || $LAB tasks --task $t --split heldout --n "$VAL_N" --seed 3 --out "$W/val-$t.jsonl"
  [[ -f $W/val-before-$t.json ]] || $LAB eval --model "$MODEL" --data "$W/val-$t.jsonl" --batch 64 --max-new-tokens 160 --out "$W/val-before-$t.json"
done
[[ -f $W/train.jsonl ]] || $LAB tasks --task "$TASKS" --split "$SPLIT" --n "$N_TRAIN" --seed 11 --out "$W/train.jsonl"

last=$(ls -d "$W"/run/checkpoint-* 2>/dev/null | sed 's/.*checkpoint-//' | sort -n | tail -1)
resume=(); [[ -n $last ]] && resume=(--resume "$W/run/checkpoint-$last")
left=$(( SECONDS_HERE - ($(date +%s) - start) )); (( left < 5 )) && left=5
timeout -s INT --kill-after=120 "$left" $LAB grpo --model "$MODEL" --data "$W/train.jsonl" --reward "$REWARD" --group-size "$G" \
  --prompts-per-step "$P" --steps "$STEPS" --beta "$BETA" --loss "$LOSS" --max-new-tokens "$NEW" --temperature "$TEMP" --lr "$LR" \
  --lr-schedule constant "${params[@]}" \
  --checkpoint-every "$EVERY" --seed 0 "${resume[@]}" --out "$W/run" 2>&1 | tee -a "$OUT/log.txt" | grep -E '^step [0-9]+/[0-9]+' | awk 'NR % 10 == 1'
rc=${PIPESTATUS[0]}
cp "$W/run/metrics.jsonl" "$OUT/" 2>/dev/null
tail -c 200000 "$W/run/samples.jsonl" > "$OUT/samples-tail.jsonl" 2>/dev/null
adapter=$W/run
if [[ $rc != 0 ]]; then
  last=$(ls -d "$W"/run/checkpoint-* 2>/dev/null | sed 's/.*checkpoint-//' | sort -n | tail -1)
  if [[ $FINAL != 1 || -z $last ]]; then echo "grpo stopped (rc $rc): call again to resume"; exit 3; fi
  echo "grpo stopped (rc $rc): FINAL=1, evaluating checkpoint-$last"; adapter=$W/run/checkpoint-$last
fi
if [[ $FULL == 1 ]]; then  # the run folder holds the weights and config; the tokenizer comes from the model
  cp "$MODEL"/tokenizer*.json "$adapter/"; [[ -f $adapter/config.json ]] || cp "$MODEL/config.json" "$adapter/"
  # evaluated as it would ship: in bf16, like the starting model's "before" rows (the run's weights are f32)
  rm -rf "$W/after-bf16"
  $LAB convert --model "$adapter" --dtype bf16 --out "$W/after-bf16" || { echo "grpo: converting $adapter to bf16 failed: nothing evaluated"; exit 4; }
  after=(--model "$W/after-bf16")
else
  mkdir -p "$OUT/adapter" && cp "$adapter/"adapter_* "$OUT/adapter/"; after=(--model "$MODEL" --adapter "$adapter")
fi
for t in arithmetic conlang; do
  $LAB eval "${after[@]}" --data "$W/heldout-$t.jsonl" --batch 64 --max-new-tokens 160 --out "$W/eval-after-$t.json"
  $LAB eval "${after[@]}" --data "$W/val-$t.jsonl" --batch 64 --max-new-tokens 160 --out "$W/val-after-$t.json"
done
cp "$W"/eval-*.json "$W"/val-*.json "$OUT/"
python3 - "$W" <<'EOF'
import json, sys
w = sys.argv[1]
for s in ("val", "eval"):
    for t in ("arithmetic", "conlang"):
        b, a = (json.load(open(f"{w}/{s}-{k}-{t}.json")) for k in ("before", "after"))
        print(f"{'validation' if s == 'val' else 'test'} {t}: {b['correct']}/{b['n']} = {100 * b['accuracy']:.1f}% -> {a['correct']}/{a['n']} = {100 * a['accuracy']:.1f}%")
EOF
