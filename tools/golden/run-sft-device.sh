#!/usr/bin/env bash
# Issue 4 on the GPU machine, from the repo root, with .devkit and .bundle carried. One run does:
#   fixtures   PEFT + torch AdamW parity fixtures for the tiny models → $OUT/sft-fixtures.tgz
#   roundtrip  an adapter written by `lab sft` loads in PEFT with the same logits, and a PEFT-written
#              adapter loads in the lab with PEFT's logits (tools/golden/peft_roundtrip.py, 1e-4)
#   bench      `bench -- sft` beside tools/bench/torch_sft.py at the SmolLM2-135M (8 × 256) and
#              Qwen2.5-0.5B (4 × 256) shapes (random init, made by make_fixtures.py --real-shapes)
#   tests      the bundled kernel, model and training tests on the GPU
# Usage: bash tools/golden/run-sft-device.sh [fixtures] [roundtrip] [bench] [tests]   (default: all)
set -uo pipefail
source .devkit/enter.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
what=${*:-"fixtures roundtrip bench tests"}
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
if [[ $what == *fixtures* ]]; then
  echo "== SFT parity fixtures (PEFT + torch AdamW)"
  rm -rf /tmp/sftfx; python3 tools/golden/make_sft_fixtures.py --fixtures models/fixtures --out /tmp/sftfx 2>&1 | tail -30
  tar czf "$OUT/sft-fixtures.tgz" -C /tmp sftfx; du -sh /tmp/sftfx/*  # commit as models/fixtures/sft/<model>/
fi
if [[ $what == *roundtrip* ]]; then
  echo "== PEFT round trip"
  for m in llama-gqa qwen2-tied; do
    ids=$(python3 -c "import json;r=[json.loads(l) for l in open('/tmp/sftfx/$m/rows.jsonl')];print(','.join(map(str,r[0]['input_ids'])))")
    # the committed rows (the same as /tmp/sftfx's when the fixtures are current): models/fixtures/SOURCE_MANIFEST.yml declares them
    node .bundle/lab.mjs sft --model models/fixtures/$m --data models/fixtures/sft/$m/rows.jsonl --rank 8 --alpha 16 \
      --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --steps 10 --lr 1e-2 --batch-size 2 --out /tmp/rt-$m 2>&1 | tail -1
    node .bundle/lab.mjs forward --model models/fixtures/$m --adapter /tmp/rt-$m --ids "$ids" --out /tmp/rt-$m/lab.json && \
      python3 tools/golden/peft_roundtrip.py --model models/fixtures/$m --adapter /tmp/rt-$m --ids "$ids" --lab /tmp/rt-$m/lab.json 2>&1 | sed "s/^/$m lab→PEFT: /"
    python3 tools/golden/peft_roundtrip.py --model models/fixtures/$m --write-peft-adapter /tmp/peft-$m --ids "$ids" 2>&1 | tail -1
    node .bundle/lab.mjs forward --model models/fixtures/$m --adapter /tmp/peft-$m --ids "$ids" --out /tmp/peft-$m/lab.json && \
      python3 tools/golden/peft_roundtrip.py --model models/fixtures/$m --adapter /tmp/peft-$m --ids "$ids" --lab /tmp/peft-$m/lab.json 2>&1 | sed "s/^/$m PEFT→lab: /"
  done 2>&1 | tee "$OUT/roundtrip.txt"
fi
if [[ $what == *bench* ]]; then
  echo "== SFT step: lab vs PyTorch + PEFT (same run)"
  [[ -d /tmp/real/smollm2-135m-shaped ]] || python3 tools/golden/make_fixtures.py --real-shapes --skip-bench --out /tmp/real 2>&1 | tail -3
  for spec in "smollm2-135m-shaped 8" "qwen2.5-0.5b-shaped 4"; do
    set -- $spec
    python3 tools/bench/torch_sft.py --model /tmp/real/$1 --batch $2 --seq 256 --rank 16 --steps 10 --out "$OUT/torch-sft-$1.json" 2>&1 | tail -3
    node .bundle/bench.mjs sft --model /tmp/real/$1 --label $1 --batch $2 --seq 256 --rank 16 --steps 10 --json "$OUT/sft-$1.json" 2>&1 | grep -v '^Warning'
    node .bundle/bench.mjs sft --model /tmp/real/$1 --label $1 --batch $2 --seq 256 --rank 16 --steps 10 --recompute --json "$OUT/sft-$1-recompute.json" 2>&1 | grep -v '^Warning'
  done 2>&1 | tee "$OUT/sft-bench.txt"
fi
if [[ $what == *tests* ]]; then
  echo "== bundled tests on the GPU"
  node --test --test-concurrency=1 .bundle/tests/*.mjs 2>&1 | tee "$OUT/tests.log" | grep -E '^(not ok|# (pass|fail))'
fi
