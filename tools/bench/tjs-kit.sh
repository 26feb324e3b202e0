#!/usr/bin/env bash
# Packs what `bench -- transformers` needs beyond the bundle into .tjskit/tjs.tar.xz (~13 MB), for the GPU
# machine, whose copy of the repository has no node_modules: transformers.js' Node build, onnxruntime-node
# (its native binding and libonnxruntime, linux x64: its WebGPU provider runs on its own Dawn) and
# onnxruntime-common. transformers.js imports `sharp` (images) at load time; the lab gives it only token
# ids, so the kit carries a stub in its place that throws if called.
# On the GPU machine (next to .bundle, from `npm run bundle:cli`):
#   tar -xJf .tjskit/tjs.tar.xz -C .bundle     # → .bundle/node_modules/...
#   node .bundle/transformers.mjs --model <dir> --device webgpu [--tokens 32,128] [--new 32]
# <dir> needs model_kv.onnx beside its checkpoint: python3 tools/golden/export_onnx_kv.py (needs `onnx`).
set -euo pipefail
cd "$(dirname "$0")/../.."
nm=node_modules
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
dst=$stage/node_modules
mkdir -p "$dst/@huggingface/transformers/dist" "$dst/onnxruntime-node/bin/napi-v6/linux" "$dst/onnxruntime-common" "$dst/sharp"
cp $nm/@huggingface/transformers/package.json "$dst/@huggingface/transformers/"
cp $nm/@huggingface/transformers/dist/transformers.node.mjs "$dst/@huggingface/transformers/dist/"
cp $nm/onnxruntime-node/package.json "$dst/onnxruntime-node/"
cp -r $nm/onnxruntime-node/dist "$dst/onnxruntime-node/"
cp -r $nm/onnxruntime-node/bin/napi-v6/linux/x64 "$dst/onnxruntime-node/bin/napi-v6/linux/"
cp $nm/onnxruntime-common/package.json "$dst/onnxruntime-common/"
cp -r $nm/onnxruntime-common/dist "$dst/onnxruntime-common/"
cat > "$dst/sharp/package.json" <<'JSON'
{ "name": "sharp", "version": "0.0.0-lab-stub", "main": "index.js", "description": "stand-in: the lab's transformers.js benchmark reads no images" }
JSON
cat > "$dst/sharp/index.js" <<'JS'
module.exports = function sharp() { throw new Error('sharp is a stub in the lab kit (tools/bench/tjs-kit.sh): no image support'); };
JS
mkdir -p .tjskit
tar -C "$stage" -cJf .tjskit/tjs.tar.xz node_modules
echo "wrote .tjskit/tjs.tar.xz ($(du -h .tjskit/tjs.tar.xz | cut -f1)): transformers.js $(node -p "require('./$nm/@huggingface/transformers/package.json').version"), onnxruntime-node $(node -p "require('./$nm/onnxruntime-node/package.json').version")"
