// tools/run-node.mjs (what `npm run lab` and `npm test` start) stays the parent of the Node it runs:
// SIGTERM / SIGINT sent to the wrapper reach the child, the wrapper waits for it and exits as it did.
// Each case runs a tiny script (no GPU) that says it is ready by writing its pid to a file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lab-run.testlib.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lab-run-node-'));
const started: number[] = []; // child pids, killed at the end if a broken wrapper left them running
after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone: what a working wrapper guarantees
    }
  }
  rmSync(tmp, { recursive: true, force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts `node tools/run-node.mjs <script>`, waits for the script's ready file, sends `sig` to the wrapper only. */
async function runAndSignal(name: string, body: string, sig: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; childPid: number; stderr: string }> {
  const script = join(tmp, `${name}.mjs`), ready = join(tmp, `${name}.ready`);
  writeFileSync(script, `import { writeFileSync } from 'node:fs';\n${body}\nwriteFileSync(${JSON.stringify(ready)}, String(process.pid));\nsetInterval(() => {}, 1000);\n`);
  // stderr to a file, not a pipe: a child left running by a broken wrapper would hold a pipe open
  const log = join(tmp, `${name}.stderr`);
  const fd = openSync(log, 'w');
  const wrapper = spawn(process.execPath, [join(ROOT, 'tools/run-node.mjs'), script], { cwd: ROOT, stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const stderr = () => readFileSync(log, 'utf8');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => wrapper.on('exit', (code, signal) => resolve({ code, signal })));
  const t0 = Date.now();
  while (!existsSync(ready) || !readFileSync(ready, 'utf8')) {
    if (Date.now() - t0 > 30_000) throw new Error(`the script did not start in 30 s: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const childPid = Number(readFileSync(ready, 'utf8'));
  started.push(childPid);
  assert.notEqual(childPid, wrapper.pid, 'the script runs in a child of the wrapper');
  wrapper.kill(sig); // the wrapper only, not its process group
  const timer = setTimeout(() => wrapper.kill('SIGKILL'), 30_000);
  const r = await exited;
  clearTimeout(timer);
  await new Promise((res) => setTimeout(res, 100)); // a child that outlived the wrapper is still there; a stopped one is reaped
  return { ...r, childPid, stderr: stderr() };
}

test('SIGTERM to the wrapper reaches the child, which stops cleanly; the wrapper exits with its code (130)', async () => {
  const got = join(tmp, 'got-signal.txt');
  const r = await runAndSignal('trap', `process.on('SIGTERM', () => { writeFileSync(${JSON.stringify(got)}, 'SIGTERM'); process.exit(130); });`, 'SIGTERM');
  assert.equal(r.signal, null, `the wrapper waited for the child instead of dying of the signal (${r.stderr})`);
  assert.equal(r.code, 130, r.stderr);
  assert.equal(existsSync(got) ? readFileSync(got, 'utf8') : 'nothing', 'SIGTERM', 'the child got the signal and wrote its file');
  assert.ok(!alive(r.childPid), 'no child left running');
});

test('SIGINT reaches the child too; a child that dies of the signal makes the wrapper die of the same signal', async () => {
  const r = await runAndSignal('plain', '', 'SIGINT');
  assert.ok(r.signal === 'SIGINT' || r.code === 130, `the wrapper ended by SIGINT or 128+2, got code ${r.code} signal ${r.signal}`);
  assert.ok(!alive(r.childPid), 'the child was stopped with the wrapper, not left running without a parent');
});

test("the child's exit code is the wrapper's", async () => {
  const script = join(tmp, 'exit3.mjs');
  writeFileSync(script, 'process.exit(3);\n');
  const code = await new Promise<number | null>((resolve) => spawn(process.execPath, [join(ROOT, 'tools/run-node.mjs'), script], { cwd: ROOT, stdio: 'ignore' }).on('close', resolve));
  assert.equal(code, 3);
});
