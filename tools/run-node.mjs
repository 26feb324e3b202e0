#!/usr/bin/env node
// Runs Node with TypeScript (tsx) and WGSL-as-string imports, and points Dawn at a Vulkan driver.
// Where no GPU is visible and no driver was chosen, it picks a CPU Vulkan driver: Mesa lavapipe
// (>= 25, ~6x faster) or else Chromium's SwiftShader. See shared/WEBGPU_TESTING.md.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const env = { ...process.env };
const chosen = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES;
const hasGpu = existsSync('/dev/nvidia0') || (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD')));
if (!chosen && (!hasGpu || env.LAB_CPU_VULKAN)) {
  const lvp = '/usr/share/vulkan/icd.d/lvp_icd.json';
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  const pick = env.LAB_CPU_VULKAN === 'swiftshader' ? swiftshader : existsSync(lvp) ? lvp : swiftshader;
  if (existsSync(pick)) env.VK_ICD_FILENAMES = pick;
}
env.XDG_RUNTIME_DIR ??= '/tmp';
const hook = fileURLToPath(new URL('./wgsl-hook.mjs', import.meta.url));
const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', hook, ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
