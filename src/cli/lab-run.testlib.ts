// Shared by the CLI tests: runs `lab <args>` the way `npm run lab --` does (tsx + the WGSL loader;
// the Vulkan environment is inherited) and returns the exit code and both streams, unfiltered.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

export function runLab(args: readonly string[], timeoutMs = 300_000): { code: number; stdout: string; stderr: string } {
  const hook = join(ROOT, 'tools/wgsl-hook.mjs');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', hook, join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** runLab that must succeed: a non-zero exit fails the test with the command and its stderr. */
export function runLabOk(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const r = runLab(args);
  assert.equal(r.code, 0, `${args.slice(0, 2).join(' ')}: ${r.stderr}`);
  return r;
}

/**
 * Declares the synthetic rows a test wrote into `dir` (its own temp folder) for `lab sft`, which trains
 * only on data a source manifest approves: a SOURCE_MANIFEST.yml there approving `glob` for training.
 */
export function writeTestManifest(dir: string, glob = '*.jsonl'): void {
  writeFileSync(
    join(dir, 'SOURCE_MANIFEST.yml'),
    `schema_version: "1.0"\nrecords:\n  - {source_id: test_synthetic_rows, path_glob: "${glob}", data_type: synthetic, origin: written by this test, rights_holder: Stoney-RL Lab, ` +
      `permission_status: approved_for_training, license: repository, allowed_uses: [training], prohibited_uses: [], contains_sensitive_content: false, review_contact: maintainers, notes: "synthetic rows made by the test"}\n`,
  );
}
