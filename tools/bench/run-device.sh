#!/usr/bin/env bash
# Runs on the GPU machine (NVIDIA H100/H200), from the repo root, with .devkit and .bundle carried:
#   kernel tests (the same node:test files, bundled), PyTorch reference timings, then the engine's
#   kernel benchmark reading them: one run, one machine, so the ratios compare like with like.
# Usage: bash tools/bench/run-device.sh [tests] [bench] [features] [tjs] [analysis] [filter]   (default: tests bench)
#   features: what Dawn exposes on this GPU (f16, subgroups, subgroup matrices; npm run bench -- features)
#   analysis: issue 12's passes on the Qwen2.5-0.5B shape beside PyTorch hooks, every one of the 336 heads swept
#             (head statistics over 2 × 100 prompts, then the all-heads ablation sweep; ~5 min)
#   tjs: the lab beside transformers.js on onnxruntime-node's WebGPU (its own Dawn) on the real-shaped models;
#        needs .tjskit carried too (bash tools/bench/tjs-kit.sh) and Python's onnx for the KV-cache export
set -uo pipefail
source .devkit/enter.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
what=${1:-"tests bench"}; filter=${2:-}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
node .bundle/lab.mjs info --out "$OUT/adapter.json" && grep -E '"(description|vendor)"' "$OUT/adapter.json"
if [[ $what == *features* ]]; then
  echo "== what Dawn exposes (default toggles and allow_unsafe_apis)"
  node .bundle/bench.mjs features --sizes 256,2048,4096 --json "$OUT/features.json" 2>&1 | grep -v artificially | tee "$OUT/features.txt"
fi
if [[ $what == *tests* ]]; then
  echo "== kernel tests on the GPU"
  node --test --test-concurrency=1 .bundle/tests/*.mjs 2>&1 | tee "$OUT/tests.log" | grep -E '^(not ok|# (pass|fail))' 
fi
if [[ $what == *bench* ]]; then
  echo "== PyTorch reference"
  PYTHONUNBUFFERED=1 python3 tools/bench/torch_kernels.py --out "$OUT/torch.json" 2>"$OUT/torch.log" || tail -5 "$OUT/torch.log"
  echo "== engine"
  node .bundle/bench.mjs kernels --torch "$OUT/torch.json" --json "$OUT/kernels.json" ${filter:+--filter "$filter"} 2>&1 | tee "$OUT/bench.txt"
fi
if [[ $what == *tjs* ]]; then
  echo "== the lab beside transformers.js (webgpu), real shapes"
  [[ -d .bundle/node_modules/@huggingface/transformers ]] || tar -xJf .tjskit/tjs.tar.xz -C .bundle
  [[ -d /tmp/real/smollm2-135m-shaped ]] || python3 tools/golden/make_fixtures.py --real-shapes --skip-bench --out /tmp/real | tail -1
  for m in smollm2-135m-shaped qwen2.5-0.5b-shaped; do
    [[ -f /tmp/real/$m/model_kv.onnx ]] || python3 tools/golden/export_onnx_kv.py --model /tmp/real/$m --out /tmp/real/$m/model_kv.onnx | tail -1
    node .bundle/transformers.mjs --model /tmp/real/$m --label $m --device webgpu --tokens 32,128 --new 32 --reps 5 --json "$OUT/tjs-$m.json" 2>&1 | grep -v artificially | tee -a "$OUT/tjs.txt"
  done
fi
if [[ $what == *analysis* ]]; then
  echo "== the analysis passes beside PyTorch hooks, all heads"
  [[ -f /tmp/real/qwen2.5-0.5b-shaped/config.json ]] || python3 tools/golden/make_fixtures.py --real-shapes --skip-bench --shapes qwen2.5-0.5b-shaped --out /tmp/real | tail -1
  PYTHONUNBUFFERED=1 python3 tools/bench/torch_analysis.py --model /tmp/real/qwen2.5-0.5b-shaped --prompts 100 --len 96 --layers all --out "$OUT/torch_analysis.json" 2>&1 | tail -8
  node .bundle/bench.mjs analysis --model /tmp/real/qwen2.5-0.5b-shaped --prompts 100 --len 96 --layers all --torch "$OUT/torch_analysis.json" 2>&1 | grep -v artificially | tee "$OUT/analysis.txt"
fi
