#!/usr/bin/env bash
# The one test command (README, .ci/run): type check, kernel/engine tests on CPU Vulkan, browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== node tests (WebGPU through Dawn)"
node tools/run-node.mjs --test --test-concurrency=1 --test-reporter=spec $(ls shaders/*.test.ts src/**/*.test.ts src/*/*/*.test.ts 2>/dev/null | sort -u)
if ls e2e/*.test.ts >/dev/null 2>&1; then
  echo "== browser tests (headless Chromium, WebGPU on SwiftShader)"
  node tools/run-node.mjs --test --test-concurrency=1 --test-reporter=spec e2e/*.test.ts
fi
