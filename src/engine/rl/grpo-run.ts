// One GRPO run, the same in the browser worker and the CLI (LocalEngine.train calls it for a config
// of kind 'grpo'; `lab grpo` is a flag parser around that call): the governance gate, the prompts,
// the LoRA or full trainer, resume, the step loop with pause / resume / cancel, and what it keeps in
// the RunStore: the run record, metrics.jsonl (one line per GRPO step), samples.jsonl (each step's
// groups: prompt, completions, rewards, advantages), checkpoints and the result (a PEFT adapter, or
// an HF checkpoint for full training) — the layout and the checkpoint files of an SFT run.
//
// Exact resume: the step's prompts (stepPrompts) and rollout seeds (rolloutSeed) are functions of
// (seed, step), and a checkpoint holds the parameters and AdamW moments, so a resumed run samples and
// updates as the uninterrupted run would.
import { CancelledError, GovernanceError, TrainingError } from '../errors.ts';
import type { GrpoConfig, GrpoStepLine, RunRecord, TrainData, TrainProgress, TrainRequest, TrainResult } from '../api.ts';
import { REWARDS, GROUP_REWARDS, combineGroupRewards, type WeightedAnyReward } from '../../rewards/index.ts';
import { loraKey, readAdapter, type LoraConfig } from '../train/adapter.ts';
import { Trainer, NonFiniteError, type OptimConfig } from '../train/trainer.ts';
import { checkpointFiles, firstNonFinite, readCheckpoint, type TrainerStateJson } from '../train/state-files.ts';
import { checkSftConfig, memorySource, type RunContext, type RunControl } from '../train/run.ts';
import type { Files } from '../train/run-store.ts';
import { sha256Hex } from '../util/sha256.ts';
import { grpoSettingsProblem, grpoStep, stepPrompts, type GrpoEnv } from './grpo.ts';
import { loadGrpoData } from './grpo-data.ts';

/** Reward names a run accepts (per-sample and group rewards). */
export const GRPO_REWARD_NAMES: readonly string[] = [...Object.keys(REWARDS), ...Object.keys(GROUP_REWARDS)];

/** The rewards of a config, resolved; TrainingError('invalid') for an unknown name or a bad weight. */
export function resolveRewards(specs: GrpoConfig['rewards']): WeightedAnyReward[] {
  if (specs.length === 0) throw new TrainingError('invalid', `GRPO needs at least one reward (${GRPO_REWARD_NAMES.join(', ')})`);
  return specs.map(({ name, weight }) => {
    if (!Number.isFinite(weight)) throw new TrainingError('invalid', `reward ${name}: the weight must be a finite number, got ${weight}`);
    if (name in REWARDS) return { name, weight, fn: REWARDS[name as keyof typeof REWARDS] };
    if (name in GROUP_REWARDS) return { name, weight, group: GROUP_REWARDS[name as keyof typeof GROUP_REWARDS] };
    throw new TrainingError('invalid', `unknown reward "${name}" (rewards: ${GRPO_REWARD_NAMES.join(', ')})`);
  });
}

const optimOf = (c: GrpoConfig): OptimConfig => ({
  lr: c.lr, schedule: c.lrSchedule, warmupSteps: c.warmupSteps, totalSteps: c.steps * c.grpo.mu, weightDecay: c.weightDecay,
  beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, maxGradNorm: c.maxGradNorm, recompute: c.recompute,
});

/** What a resume must agree on: anything that changes the samples or the updates. */
function resumeMismatch(s: TrainerStateJson, c: GrpoConfig, sha256: string, lora: LoraConfig | null): string | null {
  const o = s.optim as Partial<OptimConfig>;
  const now = optimOf(c);
  const checks: [string, unknown, unknown][] = [
    ['kind', s.kind ?? 'sft', 'grpo'],
    ['mode', s.mode, c.full ? 'full' : 'lora'],
    ['data (sha256)', s.data.sha256, sha256],
    ['seed', s.seed, c.seed],
    ['GRPO settings', JSON.stringify(s.grpo), JSON.stringify({ ...c.grpo, rewards: c.rewards })],
    ...(['lr', 'schedule', 'warmupSteps', 'weightDecay', 'beta1', 'beta2', 'eps', 'maxGradNorm'] as const).map((k): [string, unknown, unknown] => [k, o[k], now[k]]),
  ];
  if (lora && s.lora) {
    checks.push(['LoRA rank', s.lora.r, lora.r], ['LoRA alpha', s.lora.alpha, lora.alpha], ['LoRA targets', [...s.lora.targets].sort().join(','), [...lora.targets].sort().join(',')]);
  }
  for (const [field, was, now2] of checks) if (was !== now2) return `${field}: the checkpoint has ${String(was)}, this run ${String(now2)}`;
  return null;
}

export async function runGrpo(ctx: RunContext, request: TrainRequest & { config: GrpoConfig }, control: RunControl, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainResult> {
  const { store, model, rt } = ctx;
  const c = request.config;
  const id = request.runId;
  checkSftConfig({ ...c, batchSize: c.grpo.promptsPerStep, gradAccum: 1 });
  const problem = grpoSettingsProblem(c.grpo, c.full);
  if (problem) throw new TrainingError('invalid', problem);
  if (c.lora.dropout && !c.full) throw new TrainingError('invalid', 'GRPO runs without LoRA dropout (the rollouts and the update must see the same policy): set it to 0');
  const rewards = resolveRewards(c.rewards);
  const tok = ctx.tokenizer;
  if (!tok) throw new TrainingError('invalid', 'GRPO needs the model\'s tokenizer (the rewards read text)');
  let data: TrainData | undefined = request.data;
  if (!data) {
    const rec = await store.get(id);
    const bytes = await store.readFile(id, 'data.jsonl');
    if (!request.resume || 'files' in request.resume || !rec || !bytes) throw new TrainingError('invalid', `run ${id}: no prompts given${request.resume ? ' and none kept with the run' : ''}`);
    data = { name: rec.data.name, text: new TextDecoder().decode(bytes), governance: rec.governance };
  }
  // ---- the gate first ----
  const gov = data.governance;
  if (!gov || !gov.allowed) throw new GovernanceError(`training refused: ${gov?.reason ?? `${data.name}: no governance decision for this data (default-deny)`}`);
  if (!request.resume) {
    const there = await store.occupied(id);
    if (there.length) throw new TrainingError('run-exists', `${store.where(id)} already holds a run (${there.slice(0, 4).join(', ')}${there.length > 4 ? ', …' : ''}); start the new run elsewhere, or resume this one from a checkpoint.`);
  }
  const sha256 = await sha256Hex(data.text);
  const t0 = performance.now();
  const { items, problems } = loadGrpoData(data.text, tok, { file: data.name, nCtx: model.cfg.n_ctx, maxNewTokens: c.grpo.maxNewTokens });
  onProgress?.({ kind: 'data', rows: items.length, problems: problems.slice(0, 20), moreProblems: Math.max(0, problems.length - 20), fromCache: false, tokenizeMs: performance.now() - t0 });
  if (items.length === 0) throw new TrainingError('no-data', `${data.name}: no usable prompt${problems.length ? ` (${problems[0].message}${problems.length > 1 ? `, and ${problems.length - 1} more` : ''})` : ''}`);
  if (store.keepsData && !request.resume) await store.saveFile(id, 'data.jsonl', new TextEncoder().encode(data.text));

  // ---- trainable parameters ----
  let lora: LoraConfig | null = null;
  let trainer: Trainer;
  if (c.full) trainer = Trainer.full(rt, model, optimOf(c));
  else {
    const init = request.adapterInit ? await readAdapter(memorySource(request.adapterInit, 'adapter-init'), model.cfg) : null;
    const { r, alpha, targets } = c.lora;
    if (init && (init.cfg.r !== r || [...init.cfg.targets].sort().join() !== [...targets].sort().join())) {
      throw new TrainingError('invalid', `the initial adapter has r=${init.cfg.r} on ${init.cfg.targets.join(',')}; the run asks for r=${r} on ${targets.join(',')}`);
    }
    lora = { r, alpha, dropout: 0, targets: [...targets], layers: c.lora.layers ?? init?.cfg.layers ?? null };
    trainer = Trainer.lora(rt, model, { r, alpha, targets, seed: c.seed, layers: lora.layers, init: init ? (l, t) => init.tensors.get(loraKey(l, t)) : undefined }, optimOf(c));
  }
  try {
    // ---- resume ----
    let resumedFrom: string | null = null;
    if (request.resume) {
      const where = 'files' in request.resume ? request.resume.where : store.where(id, request.resume.step);
      let ck: Awaited<ReturnType<typeof readCheckpoint>>;
      try {
        const files = 'files' in request.resume ? new Map(Object.entries(request.resume.files)) : await store.readCheckpoint(id, request.resume.step);
        ck = await readCheckpoint(memorySource(files, where));
      } catch (e) {
        throw new TrainingError('bad-checkpoint', `${where}: ${(e as Error).message}`);
      }
      const mismatch = resumeMismatch(ck.state, c, sha256, lora);
      if (mismatch) throw new TrainingError('resume-mismatch', `cannot resume from ${where}: ${mismatch}. Resume with the checkpoint's settings, or start a new run.`);
      const nan = firstNonFinite({ parameter: ck.params, exp_avg: ck.m, exp_avg_sq: ck.v });
      if (nan) throw new TrainingError('bad-checkpoint', `${where} holds a non-finite value (${nan}): use an earlier checkpoint`);
      if (ck.state.step >= c.steps * c.grpo.mu) throw new TrainingError('invalid', `the checkpoint is at step ${ck.state.step / c.grpo.mu} and the run has ${c.steps} steps: nothing to do`);
      trainer.importState(ck.state.step, ck, where);
      resumedFrom = where;
    }
    return await loop(ctx, { ...request, data }, c, control, trainer, lora, { items, sha256, rewards, resumedFrom }, onProgress, signal);
  } finally {
    trainer.dispose();
    model.adapter = null;
  }
}

async function loop(
  ctx: RunContext, req: TrainRequest & { data: TrainData }, c: GrpoConfig, control: RunControl, trainer: Trainer, lora: LoraConfig | null,
  d: { items: ReturnType<typeof loadGrpoData>['items']; sha256: string; rewards: WeightedAnyReward[]; resumedFrom: string | null },
  onProgress: ((p: TrainProgress) => void) | undefined, signal: AbortSignal | undefined,
): Promise<TrainResult> {
  const { store, model } = ctx;
  const id = req.runId;
  const mu = c.grpo.mu;
  const P = c.grpo.promptsPerStep;
  const grpoStepNow = () => trainer.step / mu; // GRPO steps done
  const first = grpoStepNow();
  control.step = first;
  const dataRef = { name: req.data.name, sha256: d.sha256, rows: d.items.length };
  const old = await store.get(id);
  const now = Date.now();
  const rec: RunRecord = {
    schema: 'lab-run-v1', id, name: req.name ?? old?.name ?? req.data.name, kind: 'grpo', status: 'running', createdAt: old?.createdAt ?? now, updatedAt: now,
    model: ctx.modelName, config: c, data: dataRef, governance: req.data.governance, step: first, lastLoss: null,
    checkpoints: await store.checkpoints(id), hasResult: false,
  };
  await store.put(rec);
  await store.setMetrics(id, req.resume ? (await store.metrics(id)).filter((l) => l.step <= first) : []);
  const governance = new TextEncoder().encode(JSON.stringify({ data: req.data.name, sha256: d.sha256, ...req.data.governance, note: 'what is trained from this data (adapters, checkpoints, samples) inherits these terms' }, null, 1));
  await store.saveFile(id, 'governance.json', governance);
  const stateOf = (): Omit<TrainerStateJson, 'schema' | 'step'> => ({
    kind: 'grpo', totalSteps: c.steps * mu, cursor: { epoch: Math.floor((grpoStepNow() * P) / d.items.length), index: grpoStepNow() }, mode: c.full ? 'full' : 'lora', lora,
    optim: { ...optimOf(c) }, seed: c.seed, batchSize: P, gradAccum: 1, grpo: { ...c.grpo, rewards: c.rewards },
    data: { file: req.data.name, rows: d.items.length, sha256: d.sha256 }, model: ctx.modelName,
  });
  const filesNow = async (): Promise<Files & { nonFinite?: string | null }> => {
    const f = await ctx.exclusive(() => checkpointFiles(trainer, stateOf(), ctx.modelFiles.get('config.json') ?? null));
    f.set('governance.json', governance);
    return f;
  };
  let lastGood = d.resumedFrom;
  let lastSaved = -1;
  const save = async (): Promise<string> => {
    const files = await filesNow();
    let where: string;
    try {
      where = await store.saveCheckpoint(id, trainer.step / mu, files);
    } catch (e) {
      throw new TrainingError('storage', `checkpoint ${grpoStepNow()} could not be stored (${(e as Error).message}); nothing stored before was lost${lastGood ? ` (the last checkpoint is ${lastGood})` : ''}.`);
    }
    lastSaved = grpoStepNow();
    if (files.nonFinite) onProgress?.({ kind: 'warning', message: `checkpoint ${where} holds a non-finite value (${files.nonFinite})` });
    else lastGood = where;
    rec.checkpoints = await store.checkpoints(id);
    onProgress?.({ kind: 'checkpoint', step: grpoStepNow(), where });
    return where;
  };
  const finish = async (status: RunRecord['status'], error?: string) => {
    Object.assign(rec, { status, updatedAt: Date.now(), step: grpoStepNow(), error });
    await store.put(rec);
  };
  const env: GrpoEnv = {
    model, trainer, decode: (ids) => ctx.tokenizer!.decode(ids, { skipSpecialTokens: true }), reward: combineGroupRewards(d.rewards),
  };
  const desc = `GRPO, ${c.full ? 'full-parameter' : `LoRA r=${lora!.r} alpha=${lora!.alpha} on ${lora!.targets.join(',')}`}, G=${c.grpo.groupSize}, ${P} prompt${P > 1 ? 's' : ''}/step, β=${c.grpo.beta}, loss ${c.grpo.loss}, μ=${mu}, rewards ${c.rewards.map((r) => `${r.name}:${r.weight}`).join(',')}`;
  onProgress?.({ kind: 'start', firstStep: first + 1, totalSteps: c.steps, tensors: trainer.params.length, trainable: trainer.params.reduce((a, p) => a + p.p.numel, 0), description: desc });
  let active = 0;
  try {
    while (grpoStepNow() < c.steps) {
      if (control.paused && !signal?.aborted) {
        await finish('paused');
        onProgress?.({ kind: 'paused', step: grpoStepNow() });
        await control.waitWhilePaused(signal);
        if (!signal?.aborted) {
          await finish('running');
          onProgress?.({ kind: 'resumed', step: grpoStepNow() });
        }
      }
      if (signal?.aborted) {
        const at = grpoStepNow() > first && lastSaved !== grpoStepNow() ? await save() : lastGood;
        await finish('cancelled');
        throw new CancelledError(`stopped at step ${grpoStepNow()}/${c.steps}; ${at ? `resume from ${at}` : 'no checkpoint to resume from'}`);
      }
      const step = grpoStepNow();
      const picks = stepPrompts(d.items.length, step, P, c.seed);
      const ts = performance.now();
      let r: Awaited<ReturnType<typeof grpoStep>>;
      try {
        r = await ctx.exclusive(() => grpoStep(env, picks.map((p) => d.items[p.index]), step, c.grpo));
      } catch (e) {
        if (e instanceof NonFiniteError) throw new TrainingError('non-finite', `${e.message}. Stopped; ${lastGood ? `the last good checkpoint is ${lastGood}` : 'no checkpoint was written yet (use a checkpoint interval)'}`);
        throw e;
      }
      const stepS = (performance.now() - ts) / 1000;
      active += stepS;
      const done = grpoStepNow();
      control.step = done;
      const line: GrpoStepLine = {
        step: done, epoch: picks[picks.length - 1].epoch, ...r.stats, tokens_per_s: r.stats.tokens / stepS, step_s: stepS, elapsed_s: active,
      };
      await store.appendMetrics(id, line);
      for (const s of r.samples) await store.appendLine(id, 'samples.jsonl', JSON.stringify(s));
      Object.assign(rec, { step: done, lastLoss: line.loss, updatedAt: Date.now() });
      await store.put(rec);
      onProgress?.({ kind: 'samples', step: done, samples: r.samples });
      onProgress?.({ kind: 'step', line, totalSteps: c.steps, etaSec: (active / (done - first)) * (c.steps - done) });
      if (c.checkpointEvery > 0 && done % c.checkpointEvery === 0) await save();
    }
    const files = await filesNow();
    if (c.full) for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja']) if (ctx.modelFiles.has(f)) files.set(f, ctx.modelFiles.get(f)!);
    const where = await store.saveResult(id, files);
    rec.hasResult = true;
    await finish('done');
    return { runId: id, steps: grpoStepNow(), lastLoss: rec.lastLoss, where, files: [...files.keys()].sort() };
  } catch (e) {
    if (!(e instanceof CancelledError)) await finish('failed', (e as Error).message).catch(() => undefined);
    throw e;
  }
}
