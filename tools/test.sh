#!/usr/bin/env bash
# The one test command (README, .ci/run): type check, kernel/engine tests on CPU Vulkan, browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
# a CPU Vulkan driver Dawn accepts (Mesa >= 25 lavapipe) or Chromium's SwiftShader must be present
if [ ! -f /usr/share/vulkan/icd.d/lvp_icd.json ] && [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ] && [ ! -e /dev/nvidia0 ]; then
  echo "npm test: no Vulkan driver for WebGPU in Node. Run: sudo bash tools/ci/install-system.sh" >&2; exit 1
fi
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== tests: kernels and engine in Node (WebGPU through Dawn), then the browser (headless Chromium, SwiftShader)"
node tools/run-node.mjs --test --test-concurrency=1 --test-reporter=spec $(find shaders src workers -name '*.test.ts' | sort) $(ls e2e/*.test.ts 2>/dev/null)
