// Shared by the CLI tests: runs `lab <args>` the way `npm run lab --` does (tsx + the WGSL loader;
// the Vulkan environment is inherited) and returns the exit code and both streams, unfiltered.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

export function runLab(args: readonly string[], timeoutMs = 300_000): { code: number; stdout: string; stderr: string } {
  const hook = join(ROOT, 'tools/wgsl-hook.mjs');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', hook, join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
