#!/usr/bin/env node
// Runs Node with TypeScript (tsx) and WGSL-as-string imports, and points Dawn at a Vulkan driver.
// Where no GPU is visible and no driver was chosen, it picks a CPU Vulkan driver: Mesa lavapipe
// (>= 25, ~6x faster) or else Chromium's SwiftShader. See shared/WEBGPU_TESTING.md.
// The child runs asynchronously and this wrapper stays its parent: SIGINT, SIGTERM and SIGHUP sent to
// the wrapper (npm, `timeout`, a service manager, Ctrl-C) are passed on to the child, so `lab sft` can
// finish its step and write its stop checkpoint; the wrapper then exits as the child did (its exit
// code, or the child's signal raised again, or 128 + the signal's number where that cannot be raised).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
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
const child = spawn(process.execPath, ['--import', 'tsx', '--import', hook, ...process.argv.slice(2)], { stdio: 'inherit', env });

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];
// A handler per signal keeps the wrapper alive until the child is done. A terminal's Ctrl-C reaches the
// child twice (from the terminal's process group and from here); lab sft treats that as one stop request.
const forward = (sig) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(sig);
};
for (const sig of FORWARDED) process.on(sig, forward);

child.on('error', (e) => {
  process.stderr.write(`run-node: could not start ${process.execPath}: ${e.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal === null) process.exit(code ?? 1);
  // the child died of a signal: die of the same one, so our parent (a shell, `timeout`) sees it
  for (const sig of FORWARDED) process.off(sig, forward);
  const fallback = 128 + (constants.signals[signal] ?? 0);
  setTimeout(() => process.exit(fallback), 200); // a signal that does not end a Node process (SIGUSR1...)
  try {
    process.kill(process.pid, signal);
  } catch {
    process.exit(fallback);
  }
});
