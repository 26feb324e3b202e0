// `npm run bench -- grpo --model <dir> [--group 16] [--prompt 64] [--new 128] [--rank 16] [--steps 5]
//                        [--torch <torch_grpo.json>] [--label name] [--json out]`
// One GRPO step as the lab runs it (rl/grpo.ts grpoStep), beside tools/bench/torch_grpo.py's HF loop in
// the same run: G completions of one random prompt of --prompt tokens, exactly --new tokens each (EOS
// ignored, so both sides generate the same amount), LoRA r = rank, alpha = 2r on all seven targets,
// loss dapo, β 0, μ 1, AdamW, clip 1.0. The reward is a stand-in computed from the token ids (the share of
// even ids): the benchmark times sampling and the update, not a reward.
//   rollout tokens/s  G · new / wall time of the batched sampling (the adapter applied unmerged)
//   step              median wall time of a whole GRPO step (rollouts + policy forward/backward + AdamW), steps 2..N
import { readFileSync, writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { Trainer } from '../engine/train/trainer.ts';
import { LORA_TARGETS } from '../engine/train/graph.ts';
import { grpoStep, type GrpoEnv } from '../engine/rl/grpo.ts';
import { Rng } from '../engine/util/rng.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';
import { median, stepsArg } from './stats.ts';

export async function grpoBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'group', 'prompt', 'new', 'rank', 'steps', 'torch', 'label', 'json'] });
  const dir = p.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  const [G, T0, n, r, steps] = [num(p, 'group', 16), num(p, 'prompt', 64), num(p, 'new', 128), num(p, 'rank', 16), stepsArg(p, 5)];
  const label = p.values.get('label') ?? dir;
  const rt = await Runtime.create(await nodeGpu());
  const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
  const ids = Array.from(new Rng(1).ints(T0, 0, model.cfg.d_vocab));
  const tr = Trainer.lora(rt, model, { r, alpha: 2 * r, targets: LORA_TARGETS, seed: 0 }, {
    lr: 1e-6, schedule: 'constant', warmupSteps: 0, totalSteps: steps, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 1,
  });
  const env: GrpoEnv = {
    model, trainer: tr, eosTokenIds: [], // every completion runs to --new tokens, as the HF loop's min_new_tokens
    decode: (x) => x.join(' '),
    reward: (ss) => ss.map((s) => {
      const t = s.output.split(' ').map(Number);
      const v = t.filter((x) => x % 2 === 0).length / Math.max(t.length, 1);
      return { total: v, parts: { even: v } };
    }),
  };
  const wall: number[] = [], rollTps: number[] = [], update: number[] = [];
  let first = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const res = await grpoStep(env, [{ line: 1, prompt: 'bench', ids }], i, { groupSize: G, promptsPerStep: 1, maxNewTokens: n, temperature: 1, beta: 0, epsilon: 0.2, loss: 'dapo', mu: 1, scaleRewards: 'group', seed: 0 });
    const ms = performance.now() - t0;
    if (i === 0) first = ms;
    else {
      wall.push(ms);
      rollTps.push(res.stats.rollout_tokens_per_s);
      update.push(res.stats.update_s * 1000);
    }
  }
  const torch = p.values.has('torch') ? JSON.parse(readFileSync(p.values.get('torch')!, 'utf8')) : null;
  const row = {
    model: label, group: G, prompt: T0, newTokens: n, rank: r, steps, firstStepMs: first, stepMs: median(wall), rolloutTokensPerS: median(rollTps), updateMs: median(update),
    device: rt.ctx.summary.description,
  };
  console.log(`grpo ${label} G=${G} prompt=${T0} new=${n} r=${r}: step ${row.stepMs.toFixed(0)} ms (median of ${wall.length}), rollouts ${Math.round(row.rolloutTokensPerS)} tok/s, update ${row.updateMs.toFixed(0)} ms, first step ${first.toFixed(0)} ms`);
  if (torch) {
    const t = torch as { rollout_tokens_per_s?: number; step_s_median?: number };
    if (t.rollout_tokens_per_s && t.step_s_median) {
      console.log(`HF loop (same run): step ${(t.step_s_median * 1000).toFixed(0)} ms, rollouts ${Math.round(t.rollout_tokens_per_s)} tok/s → rollouts ${(row.rolloutTokensPerS / t.rollout_tokens_per_s).toFixed(2)}× HF, step ${((t.step_s_median * 1000) / row.stepMs).toFixed(2)}× HF's speed`);
    } else console.log(`HF loop (same run): ${JSON.stringify(torch)}`);
  }
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ row, torch }, null, 1));
  tr.dispose();
  rt.destroy();
}
