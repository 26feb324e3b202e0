// Shared by the CLI tests: runs `lab <args>` the way `npm run lab --` does (tsx + the WGSL loader;
// the Vulkan environment is inherited) and returns the exit code and both streams, unfiltered.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

const labArgv = (args: readonly string[]) => ['--import', 'tsx', '--import', join(ROOT, 'tools/wgsl-hook.mjs'), join(ROOT, 'src/cli/main.ts'), ...args];

export function runLab(args: readonly string[], timeoutMs = 300_000, env?: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, labArgv(args), { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, env: env ? { ...process.env, ...env } : undefined });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** runLab without blocking this process (a server in the test, such as the local Hub, keeps answering). */
export function runLabAsync(args: readonly string[], env?: Record<string, string>, timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const c = spawn(process.execPath, labArgv(args), { cwd: ROOT, env: env ? { ...process.env, ...env } : undefined, timeout: timeoutMs });
    let stdout = '', stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
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
