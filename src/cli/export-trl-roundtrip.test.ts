// The adapter an exported project trains imports back into the lab: a tiny `lab sft` run on lab-micro,
// `lab export-trl`, the project's train.py run with TRL + PEFT on the CPU (W&B off), then `lab forward
// --adapter <project>/output` against PyTorch + PEFT with the same adapter. Needs a Python with trl, peft
// and torch, named by LAB_TRL_PYTHON (e.g. a venv made from the project's requirements.txt); skipped,
// saying so, without one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runLabOk } from './lab-run.testlib.ts';

const python = process.env.LAB_TRL_PYTHON;
const tmp = mkdtempSync(join(tmpdir(), 'lab-trl-roundtrip-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const COMPARE = String.raw`
import json, sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
model_dir, adapter, ids = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
with torch.no_grad():
    b = base(torch.tensor([ids])).logits[0]
    m = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), adapter).eval()
    a = m(torch.tensor([ids])).logits[0]  # [T, V]
print(json.dumps({"adapter": a.tolist(), "base": b.tolist()}))
`;

test('the adapter TRL trains from an exported SFT run gives, in lab forward --adapter, the logits PEFT gives', (t) => {
  if (!python) return t.skip('LAB_TRL_PYTHON is not set (a python3 with trl, peft and torch): the TRL round trip is not run');
  if (spawnSync(python, ['-c', 'import trl, peft, torch'], { encoding: 'utf8' }).status !== 0) return t.skip(`${python} cannot import trl, peft and torch: the TRL round trip is not run`);
  const micro = join(ROOT, 'models/lab-micro');
  const data = join(tmp, 'arith.jsonl');
  runLabOk(['tasks', '--task', 'arithmetic', '--split', 'train', '--n', '3', '--seed', '2', '--out', data]);
  runLabOk(['sft', '--model', micro, '--data', data, '--rank', '4', '--alpha', '8', '--targets', 'q_proj,v_proj,down_proj', '--steps', '3', '--lr', '1e-2', '--out', join(tmp, 'run')]);
  const project = join(tmp, 'project');
  runLabOk(['export-trl', '--run', join(tmp, 'run'), '--out', project]);
  // W&B is the project's logger; this test has no account: the same trainer, reporting nowhere
  const train = join(project, 'train.py');
  writeFileSync(train, readFileSync(train, 'utf8').replace('report_to="wandb"', 'report_to="none"'));
  const r = spawnSync(python, [train], { encoding: 'utf8', env: { ...process.env, WANDB_MODE: 'disabled', CUDA_VISIBLE_DEVICES: '' }, timeout: 600_000 });
  assert.equal(r.status, 0, `train.py: ${r.stderr.slice(-2000)}`);
  const adapter = join(project, 'output');
  assert.ok(JSON.parse(readFileSync(join(adapter, 'governance.json'), 'utf8')).inherited, 'the data\'s terms beside the adapter');

  const ids = [5, 17, 33, 100, 7, 250];
  runLabOk(['forward', '--model', micro, '--adapter', adapter, '--ids', ids.join(','), '--out', join(tmp, 'lab.json')]);
  const lab = (JSON.parse(readFileSync(join(tmp, 'lab.json'), 'utf8')) as { logits: number[][] }).logits; // [T, V]
  const c = spawnSync(python, ['-c', COMPARE, micro, adapter, JSON.stringify(ids)], { encoding: 'utf8', env: { ...process.env, CUDA_VISIBLE_DEVICES: '' } });
  assert.equal(c.status, 0, c.stderr);
  const ref = JSON.parse(c.stdout) as { adapter: number[][]; base: number[][] };
  let worst = 0, effect = 0;
  lab.forEach((row, i) => row.forEach((v, j) => {
    worst = Math.max(worst, Math.abs(v - ref.adapter[i][j]));
    effect = Math.max(effect, Math.abs(ref.adapter[i][j] - ref.base[i][j]));
  }));
  // f32 on both sides: whole-model logits within 1e-4 (CONVENTIONS: 1e-3 for a whole model; this one is tiny)
  assert.ok(worst <= 1e-4, `lab vs PEFT logits differ by ${worst}`);
  assert.ok(effect > 1e-2, `the trained adapter changes the logits (by ${effect}), so the comparison can fail`);
});
