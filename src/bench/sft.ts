// `npm run bench -- sft --model <dir> [--batch 8] [--seq 256] [--rank 16] [--steps 10] [--recompute]
//                       [--torch <torch_sft.json>] [--label name] [--json out] [--kernels attention=rows,matmul=vec4]
//                       [--targets q_proj,v_proj]`
// --targets adapts only the named projections (default all seven: what PyTorch's side runs): the difference
// between two runs is what the adapters of the others cost.
// --kernels sets the runtime's kernel preferences (Runtime.kernelPrefs) for the whole step; --flush-every n
// submits after every n dispatches (Runtime.autoFlushEvery; 0: once, at the step's read); --flush-first n after the first n
// following a read, doubling up to n of --flush-every (Runtime.autoFlushFirst; 0: no ramp). --no-replay records every
// block's JavaScript each step (Runtime.replayOn false) instead of replaying its log (gpu/replay.ts): the A/B of the record.
// One LoRA optimizer step (r = rank, alpha = 2r, all seven targets, AdamW, clip 1.0) on random ids
// [batch, seq] with labels = ids, as tools/bench/torch_sft.py times PyTorch + PEFT in the same run:
//   first step     wall time of step 1, pipeline compilation included
//   step           median wall time of steps 2..N (loss read back each step: a real training loop)
//   CPU record     median CPU time spent recording/submitting a step (its share of the step; of it, the update after
//                  the loss read, where the driver's deferred work for the step lands, and the submits with their
//                  CPU time: finish() and queue.submit(), where Dawn turns the dispatches into backend commands), with the
//                  step's dispatches and the bind groups it had to create (cache misses) in the last step
//   peak memory    bytes of GPU buffers the engine created (the pool never gives memory back, so
//                  this is the high-water mark of weights + activations + gradients + AdamW state)
import { readFileSync, writeFileSync } from 'node:fs';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { parseKernelPrefs } from '../engine/gpu/kernel-prefs.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { Trainer } from '../engine/train/trainer.ts';
import { LORA_TARGETS, type LoraTarget, type MicroBatch } from '../engine/train/graph.ts';
import { Rng } from '../engine/util/rng.ts';
import { parseArgs, num, UsageError } from '../cli/args.ts';
import { median, stepsArg } from './stats.ts';
import { printProfile } from './profile.ts';

/** `--targets q_proj,v_proj`: a subset of LORA_TARGETS (default all seven, as PyTorch's side runs). */
function parseTargets(list: string): LoraTarget[] {
  const ts = list.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of ts) if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new UsageError(`--targets: unknown target "${t}" (known: ${LORA_TARGETS.join(', ')})`);
  if (!ts.length) throw new UsageError('--targets: name at least one target');
  return ts as LoraTarget[];
}

export async function sftBench(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['model', 'batch', 'seq', 'rank', 'steps', 'torch', 'label', 'json', 'kernels', 'flush-every', 'flush-first', 'targets'], flags: ['recompute', 'profile', 'no-replay'] });
  const dir = p.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  const [B, T, r, steps] = [num(p, 'batch', 8), num(p, 'seq', 256), num(p, 'rank', 16), stepsArg(p, 10)];
  const label = p.values.get('label') ?? dir;
  const prefs = parseKernelPrefs(p.values.get('kernels') ?? '');
  const rt = await Runtime.create(await nodeGpu());
  rt.kernelPrefs = { ...rt.kernelPrefs, ...prefs };
  rt.replayOn = !p.flags.has('no-replay');
  if (p.values.has('flush-every')) rt.autoFlushEvery = num(p, 'flush-every', rt.autoFlushEvery);
  if (p.values.has('flush-first')) rt.autoFlushFirst = num(p, 'flush-first', rt.autoFlushFirst);
  const { model } = await loadModel(rt, dirSource(dir), { tokenizer: false });
  const weightBytes = rt.pool.snapshot().bytesCreated;
  const rng = new Rng(1);
  const ids = rng.ints(B * T, 0, model.cfg.d_vocab); // [B, T]
  const labels = new Int32Array(B * T).fill(-100); // shifted: position t predicts ids[t + 1]
  for (let b = 0; b < B; b++) for (let t = 0; t < T - 1; t++) labels[b * T + t] = ids[b * T + t + 1];
  const mb: MicroBatch = { ids, labels, B, T };
  const targets = p.values.has('targets') ? parseTargets(p.values.get('targets')!) : [...LORA_TARGETS];
  const tr = Trainer.lora(rt, model, { r, alpha: 2 * r, targets, seed: 0 }, {
    lr: 2e-4, schedule: 'constant', warmupSteps: 0, totalSteps: steps, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 1, recompute: p.flags.has('recompute'),
  });
  const wall: number[] = [], rec: number[] = [], upd: number[] = [], sub: number[] = [];
  let first = 0, loss = 0, dispatches = 0, created = 0, passes = 0, submits = 0;
  for (let i = 0; i < steps; i++) {
    const [d0, c0, p0, s0, sm0] = [rt.dispatchCount, rt.bindGroupsCreated, rt.passCount, rt.submitCount, rt.submitMs];
    const t0 = performance.now();
    const m = await tr.trainStep([mb]);
    const ms = performance.now() - t0;
    loss = m.loss;
    [dispatches, created, passes, submits] = [rt.dispatchCount - d0, rt.bindGroupsCreated - c0, rt.passCount - p0, rt.submitCount - s0];
    if (i === 0) first = ms;
    else {
      sub.push(rt.submitMs - sm0);
      wall.push(ms);
      rec.push(m.recordMs);
      upd.push(m.updateMs);
    }
  }
  // one more step with a timestamped pass per dispatch: where the GPU time goes, by kernel and grid
  if (p.flags.has('profile')) await printProfile(rt, 'one step', () => tr.trainStep([mb]));
  const stepMs = median(wall), recMs = median(rec), updMs = median(upd), subMs = median(sub);
  const peak = rt.pool.snapshot().bytesCreated;
  const torch = p.values.has('torch') ? (JSON.parse(readFileSync(p.values.get('torch')!, 'utf8')) as { cases?: Record<string, { step_ms_median?: number; median_ms?: number; peak_mem_bytes?: number; peak_memory_bytes?: number }> }) : null;
  const row = {
    model: label, batch: B, seq: T, rank: r, targets, recompute: p.flags.has('recompute'), steps,
    firstStepMs: first, stepMs, tokensPerS: (B * T) / (stepMs / 1000), recordMs: recMs, updateMs: updMs, submitMs: subMs, submits, recordShare: recMs / stepMs, dispatches, passes, bindGroupsCreated: created,
    peakBytes: peak, weightBytes, finalLoss: loss, device: rt.ctx.summary.description, kernels: rt.kernelPrefs, flushEvery: rt.autoFlushEvery, flushFirst: rt.autoFlushFirst,
    replay: { on: rt.replayOn, ...tr.graph.replayStats },
  };
  console.log(
    `sft ${label} B=${B} T=${T} r=${r}${targets.length < LORA_TARGETS.length ? ` targets ${targets.join(',')}` : ''}${row.recompute ? ' recompute' : ''} [attention ${rt.kernelPrefs.attention}, matmul ${rt.kernelPrefs.matmul}, flush every ${rt.autoFlushEvery} from ${rt.autoFlushFirst || rt.autoFlushEvery}, replay ${rt.replayOn ? `on: ${row.replay.replays} blocks replayed, ${row.replay.captures} logged` : 'off'}]: step ${stepMs.toFixed(1)} ms (median of ${wall.length}), ` +
      `${Math.round(row.tokensPerS)} tok/s, first step ${first.toFixed(0)} ms, CPU record ${recMs.toFixed(1)} ms (${(100 * row.recordShare).toFixed(0)}%, update ${updMs.toFixed(1)} ms, ${submits} submits ${subMs.toFixed(1)} ms; ${dispatches} dispatches in ${passes} passes, ${created} new bind groups in the last step), ` +
      `peak GPU buffers ${(peak / 2 ** 30).toFixed(2)} GiB (weights ${(weightBytes / 2 ** 30).toFixed(2)} GiB), loss ${loss.toFixed(4)}`,
  );
  if (torch) console.log(`PyTorch + PEFT (same run): ${JSON.stringify(torch.cases ?? torch)}`);
  const json = p.values.get('json');
  if (json) writeFileSync(json, JSON.stringify({ row, torch }, null, 1));
  tr.dispose();
  rt.destroy();
}
