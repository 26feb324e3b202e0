#!/usr/bin/env bash
# The embedded default model's recipe: data, tokenizer, model, training, evaluation — every step through
# the lab's own CLI and engine (training: `lab sft --full` on WebGPU). On the GPU machine (with .devkit and
# .bundle carried: `source .devkit/enter.sh` first) or anywhere `npm run lab` works (slowly on a CPU).
#   bash tools/embedded/recipe.sh <work dir> [steps]   (env: N_TRAIN, N_HELD, MERGES, BATCH, LR, SEED, CONFIG, EVERY,
#                                                         TRAIN_SECONDS or TRAIN_UNTIL (unix time): stop training then,
#                                                         with a checkpoint; rerun resumes; TOK_ROWS: rows per task
#                                                         the tokenizer learns from, default 100000)
# The micro model for browser tests: CONFIG=tools/embedded/micro-config.json MERGES=253 N_TRAIN=20000 BATCH=16 ...
# Writes <work>/data/*.jsonl, <work>/tok/, <work>/init/, <work>/run/ (the trained f32 model + metrics.jsonl),
# <work>/model/ (the same in bf16 by `lab convert`: what ships) and <work>/eval-{arithmetic,conlang}.json
# (held-out exact-match accuracy of <work>/model). Resumable: rerun with the same
# arguments and it continues from the newest checkpoint in <work>/run.
set -euo pipefail
W=${1:?work dir}; STEPS=${2:-3000}
N_TRAIN=${N_TRAIN:-100000}; N_HELD=${N_HELD:-500}; MERGES=${MERGES:-765}; BATCH=${BATCH:-64}; LR=${LR:-2e-3}; SEED=${SEED:-0}
CONFIG=${CONFIG:-tools/embedded/config.json}; EVERY=${EVERY:-500}; TRAIN_SECONDS=${TRAIN_SECONDS:-0}
TOK_ROWS=${TOK_ROWS:-100000}
if [[ -f .bundle/lab.mjs ]]; then LAB=(node .bundle/lab.mjs); else LAB=(npm run -s lab --); fi
mkdir -p "$W/data"
for task in arithmetic conlang; do
  [[ -f $W/data/$task-train.jsonl ]] || "${LAB[@]}" tasks --task $task --split train --n "$N_TRAIN" --seed $((SEED + 1)) --out "$W/data/$task-train.jsonl"
  [[ -f $W/data/$task-heldout.jsonl ]] || "${LAB[@]}" tasks --task $task --split heldout --n "$N_HELD" --seed $((SEED + 2)) --out "$W/data/$task-heldout.jsonl"
done
# both tasks in one file, written by `lab tasks` with its provenance record (train.jsonl.provenance.json): the lab's own
# synthetic data is approved for training by that record (default-deny otherwise); the same bytes as the two files concatenated
[[ -f $W/data/train.jsonl.provenance.json ]] || "${LAB[@]}" tasks --task arithmetic,conlang --split train --n "$N_TRAIN" --seed $((SEED + 1)) --out "$W/data/train.jsonl"
if [[ ! -f $W/tok/tokenizer.json ]]; then  # learned from the first TOK_ROWS rows of each task (pure Python: ~4 min per 10^6 rows)
  { head -n "$TOK_ROWS" "$W/data/arithmetic-train.jsonl"; head -n "$TOK_ROWS" "$W/data/conlang-train.jsonl"; } > "$W/data/tokenizer-corpus.jsonl"
  python3 tools/embedded/build_tokenizer.py --corpus "$W/data/tokenizer-corpus.jsonl" --merges "$MERGES" --out "$W/tok"
fi
if [[ ! -f $W/init/model.safetensors ]]; then
  # vocabulary size and EOS id from the tokenizer just built
  python3 - "$W" "$CONFIG" <<'PY'
import json, sys
w = sys.argv[1]
tok = json.load(open(w + "/tok/tokenizer.json"))
eos = next(t["id"] for t in tok["added_tokens"] if t["content"] == "<|endoftext|>")
cfg = json.load(open(sys.argv[2]))
cfg["vocab_size"] = max(t["id"] for t in tok["added_tokens"]) + 1
cfg["eos_token_id"] = cfg["pad_token_id"] = eos
json.dump(cfg, open(w + "/config.json", "w"), indent=2)
PY
  "${LAB[@]}" init --config "$W/config.json" --tokenizer "$W/tok" --seed "$SEED" --out "$W/init"
fi
resume=()
last=$(ls -d "$W"/run/checkpoint-* 2>/dev/null | sed 's/.*checkpoint-//' | sort -n | tail -1 || true)
[[ -n $last ]] && resume=(--resume "$W/run/checkpoint-$last")
if [[ -z $last || $last -lt $STEPS ]]; then
  [[ -n ${TRAIN_UNTIL:-} ]] && TRAIN_SECONDS=$((TRAIN_UNTIL - $(date +%s)))  # what is left of the call's time
  limit=(); [[ $TRAIN_SECONDS != 0 ]] && limit=(timeout --signal=INT "$((TRAIN_SECONDS > 1 ? TRAIN_SECONDS : 1))")
  "${limit[@]}" "${LAB[@]}" sft --model "$W/init" --data "$W/data/train.jsonl" --full --steps "$STEPS" --lr "$LR" --lr-schedule cosine \
    --warmup-steps $((STEPS / 20)) --weight-decay 0.1 --betas 0.9,0.95 --max-grad-norm 1 --batch-size "$BATCH" --seed "$SEED" \
    --checkpoint-every "$EVERY" "${resume[@]}" --out "$W/run" 2> >(awk 'NR % 50 == 1 || /lab sft|error|Error/' >&2) || {
    rc=$?; [[ $rc == 124 || $rc == 130 ]] && { echo "recipe: training stopped after ${TRAIN_SECONDS}s; rerun the same command to resume"; exit 3; }
    exit $rc; }
fi
"${LAB[@]}" convert --model "$W/run" --dtype bf16 --out "$W/model"
for task in arithmetic conlang; do
  "${LAB[@]}" eval --model "$W/model" --data "$W/data/$task-heldout.jsonl" --batch 100 --max-new-tokens 160 --out "$W/eval-$task.json" 2>&1 | tail -1
done
