#!/usr/bin/env bash
# On the GPU machine, from the repo root, with .devkit and .bundle carried. One run does:
#   1. tiny golden fixtures (transformers) → $OUT/fixtures.tgz (the lead commits models/fixtures/)
#   2. SmolLM2-135M- and Qwen2.5-0.5B-shaped random models, transformers reference + HF timings
#   3. the lab's forward on those (parity, 1e-3 relative) and decode/prefill benchmarks beside HF
#   4. (ort, only when named; needs real) the 135M shape exported to ONNX, our forward vs onnxruntime-web's
#      WebGPU EP in one Node process on Dawn (bench -- ort)
# Usage: bash tools/golden/run-device.sh [fixtures] [real] [bench] [ort]   (default: the first three)
set -uo pipefail
source .devkit/enter.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
what=${*:-"fixtures real bench"}
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
if [[ $what == *fixtures* ]]; then
  echo "== tiny fixtures"
  rm -rf /tmp/fixtures; python3 tools/golden/make_fixtures.py --out /tmp/fixtures 2>&1 | tail -25
  tar czf "$OUT/fixtures.tgz" -C /tmp fixtures; du -sh /tmp/fixtures/*
fi
if [[ $what == *real* ]]; then
  echo "== real shapes (transformers reference + HF timings)"
  python3 tools/golden/make_fixtures.py --real-shapes --out /tmp/real 2>&1 | tail -12
  cp /tmp/real/bench.json "$OUT/hf_bench.json" 2>/dev/null
  for m in smollm2-135m-shaped qwen2.5-0.5b-shaped; do
    ids=$(python3 -c "import json;r=json.load(open('/tmp/real/$m/reference.json'));print(','.join(map(str,r['input_ids'])))")
    node .bundle/lab.mjs forward --model /tmp/real/$m --ids "$ids" --out /tmp/real/$m/ours.json && \
      python3 tools/golden/compare_real.py /tmp/real/$m/reference.json /tmp/real/$m/ours.json | tee -a "$OUT/parity.txt"
    # greedy continuation (the pipelined decode path) against transformers' own, token for token
    node .bundle/lab.mjs generate --model /tmp/real/$m --ids "$ids" --max-new-tokens 16 --greedy --ignore-eos --out /tmp/real/$m/gen.json && \
      python3 -c "import json,sys;r=json.load(open('/tmp/real/$m/reference.json'))['greedy_new_tokens'];o=json.load(open('/tmp/real/$m/gen.json'))['ids'];print('$m greedy 16 tokens', 'equal to transformers' if o==r else 'DIFFER: lab %s vs transformers %s' % (o, r))" | tee -a "$OUT/parity.txt"
  done
fi
if [[ $what == *bench* ]]; then
  echo "== decode / prefill (wall clock, this machine, same run as HF above)"
  for m in smollm2-135m-shaped qwen2.5-0.5b-shaped; do
    node .bundle/bench.mjs decode --model /tmp/real/$m --label $m --batch 1,16 --tokens 64 --json "$OUT/decode-$m.json"
    node .bundle/bench.mjs prefill --model /tmp/real/$m --label $m --batch 1,16 --tokens 256 --json "$OUT/prefill-$m.json"
  done 2>&1 | tee "$OUT/model-bench.txt"
fi
if [[ $what == *ort* ]]; then
  echo "== our forward vs onnxruntime-web WebGPU, same process, same Dawn"
  xz -dc .bundle/ort/ort-wasm-simd-threaded.asyncify.wasm.xz > .bundle/ort/ort-wasm-simd-threaded.asyncify.wasm
  python3 tools/golden/export_onnx.py --checkpoint /tmp/real/smollm2-135m-shaped 2>&1 | tail -3
  node .bundle/bench.mjs ort --model /tmp/real/smollm2-135m-shaped --label smollm2-135m-shaped --ort-dist .bundle/ort \
    --tokens 1,32,128 --reps 10 --json "$OUT/ort.json" 2>&1 | grep -v -e '^Warning' -e 'W:onnxruntime' | tee "$OUT/ort.txt"
fi
