// `lab sft` does not destroy or silently change a run (issue 10, item 11): a new run into an
// existing run's --out is refused; --resume refuses a checkpoint made with other data (same row
// count), batch size, seed or learning rate, naming the field, and a checkpoint holding NaN/Inf.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLab } from './lab-run.testlib.ts';

const fixture = join(ROOT, 'models/fixtures/llama-gqa');
const tmp = mkdtempSync(join(tmpdir(), 'lab-sft-safety-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// synthetic token rows, approved by a manifest beside them (the project's own test data)
const rows = (k: number) =>
  Array.from({ length: 5 }, (_, i) => {
    const ids = Array.from({ length: 7 + i }, (_, t) => (k * 13 + 17 * i + 5 * t) % 290);
    return JSON.stringify({ input_ids: ids, labels: ids.map((x, t) => (t < 2 ? -100 : x)) });
  }).join('\n') + '\n';
writeFileSync(join(tmp, 'a.jsonl'), rows(1));
writeFileSync(join(tmp, 'b.jsonl'), rows(2)); // same row count, other tokens
writeFileSync(
  join(tmp, 'SOURCE_MANIFEST.yml'),
  'schema_version: "1.0"\nrecords:\n  - {source_id: synthetic, path_glob: "*.jsonl", data_type: token_ids, origin: this test, rights_holder: the project, permission_status: approved_for_training, license: MIT, allowed_uses: [training], prohibited_uses: [], contains_sensitive_content: false, review_contact: none, notes: "random token ids"}\n',
);
const base = (data: string) => ['sft', '--model', fixture, '--data', join(tmp, data), '--rank', '2', '--targets', 'q_proj,v_proj', '--batch-size', '2', '--seed', '1', '--lr', '1e-2', '--steps', '4', '--checkpoint-every', '2'];
const run0 = join(tmp, 'run0');

test('a new run into an existing run\'s --out is refused and leaves it whole', () => {
  const r = runLab([...base('a.jsonl'), '--out', run0]);
  assert.equal(r.code, 0, r.stderr);
  const metrics = readFileSync(join(run0, 'metrics.jsonl'), 'utf8');
  const adapter = readFileSync(join(run0, 'adapter_model.safetensors'));
  const again = runLab([...base('a.jsonl'), '--steps', '2', '--out', run0]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /TrainingError: .*run0 already holds a run \(adapter_config\.json, .*checkpoint-2.*\); a new run there would destroy it.*--resume/);
  assert.equal(readFileSync(join(run0, 'metrics.jsonl'), 'utf8'), metrics, 'metrics untouched');
  assert.deepEqual(readFileSync(join(run0, 'adapter_model.safetensors')), adapter, 'adapter untouched');
});

test('--resume refuses other data of the same row count, another batch size, seed or learning rate, naming the field', () => {
  const ck = join(run0, 'checkpoint-2');
  const cases: [string[], RegExp][] = [
    [[...base('b.jsonl')], /data \(sha256\): the checkpoint has [0-9a-f]{64}, this run [0-9a-f]{64}/],
    [[...base('a.jsonl'), '--batch-size', '1'], /batch size: the checkpoint has 2, this run 1/],
    [[...base('a.jsonl'), '--seed', '2'], /seed: the checkpoint has 1, this run 2/],
    [[...base('a.jsonl'), '--lr', '2e-2'], /learning rate: the checkpoint has 0\.01, this run 0\.02/],
  ];
  for (const [args, msg] of cases) {
    const r = runLab([...args, '--resume', ck, '--out', join(tmp, 'resumed')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /TrainingError: cannot resume from .*checkpoint-2: /);
    assert.match(r.stderr, msg);
  }
  const ok = runLab([...base('a.jsonl'), '--resume', ck, '--out', join(tmp, 'resumed-ok')]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('--resume refuses a checkpoint holding NaN, naming the tensor', () => {
  const bad = join(tmp, 'checkpoint-nan');
  cpSync(join(run0, 'checkpoint-2'), bad, { recursive: true });
  const f = join(bad, 'optimizer.safetensors');
  const bytes = new Uint8Array(readFileSync(f));
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  new DataView(bytes.buffer).setFloat32(8 + headerLen, NaN, true); // the first value of the first tensor
  writeFileSync(f, bytes);
  const r = runLab([...base('a.jsonl'), '--resume', bad, '--out', join(tmp, 'from-nan')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /TrainingError: .*checkpoint-nan holds a non-finite value \((parameter|exp_avg|exp_avg_sq) \S+\[0\] is NaN\)/);
});

test('--betas with an empty field is a usage error, not a zero', () => {
  const r = runLab([...base('a.jsonl'), '--betas', '0.9,', '--out', join(tmp, 'betas')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--betas must be two numbers in \[0, 1\), e\.g\. 0\.9,0\.999; got "0\.9,"/);
});
