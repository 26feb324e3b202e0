#!/usr/bin/env bash
# The embedded default model's recipe on the GPU machine, in calls of at most 10 minutes (from the repo root,
# with .devkit and .bundle carried). Every call runs the same command; the recipe resumes from the newest
# checkpoint in <work>/run while the machine is still the same one.
#   bash tools/embedded/run-device.sh <work dir> <steps> <seconds this call may train>   (env: as recipe.sh)
# When training is done: the bf16 model, its held-out evaluations, metrics.jsonl and the log go to $OUT.
# When the call's time runs out first: the newest checkpoint, converted to bf16, goes to $OUT/partial
# (a fallback, should the machine be gone by the next call) and the command exits 3.
set -uo pipefail
W=${1:?work dir}; STEPS=${2:?steps}; SECONDS_HERE=${3:?seconds}
source .devkit/enter.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$OUT/log.txt"
export TRAIN_UNTIL=$(( $(date +%s) + SECONDS_HERE ))
bash tools/embedded/recipe.sh "$W" "$STEPS" 2>&1 | tee -a "$OUT/log.txt"
rc=${PIPESTATUS[0]}
cp "$W/run/metrics.jsonl" "$OUT/" 2>/dev/null
if [[ $rc == 0 ]]; then
  mkdir -p "$OUT/model" && cp "$W/model/"{config.json,model.safetensors,tokenizer.json,tokenizer_config.json} "$OUT/model/"
  cp "$W"/eval-*.json "$OUT/"
  python3 -c "import json,sys; [print(f, json.load(open(f))['accuracy']) for f in sys.argv[1:]]" "$W"/eval-*.json
else
  last=$(ls -d "$W"/run/checkpoint-* 2>/dev/null | sed 's/.*checkpoint-//' | sort -n | tail -1)
  [[ -n $last ]] && node .bundle/lab.mjs convert --model "$W/run/checkpoint-$last" --dtype bf16 --out "$OUT/partial" && \
    cp "$W/tok/"tokenizer*.json "$OUT/partial/" && echo "partial: checkpoint-$last in \$OUT/partial"
fi
exit $rc
