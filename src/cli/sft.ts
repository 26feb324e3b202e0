// `lab sft`: supervised fine-tuning (LoRA, or every weight with --full) on the engine, exactly:
//   npm run lab -- sft --model <dir> --data <file.jsonl> [--adapter-init <peft dir>] [--rank r --alpha a
//     --targets q_proj,v_proj,...] [--full] --steps N --lr x [--lr-schedule constant|linear|cosine]
//     [--warmup-steps n] [--weight-decay w] [--betas b1,b2] [--eps e] [--max-grad-norm g] [--batch-size b]
//     [--grad-accum k] [--seed s] [--checkpoint-every n] [--resume <dir>] --out <dir>
// and beyond the issue's form: [--lora-dropout p] (default: the --adapter-init's, else 0) [--recompute]
// [--manifest <SOURCE_MANIFEST.yml>]. Data governed by a source manifest (found beside the data or above it)
// trains only when the manifest approves it (default-deny; see engine/train/governance.ts); the terms the
// result inherits go to <out>/governance.json.
// Writes <out>/metrics.jsonl (one JSON line per optimizer step), <out>/checkpoint-<step>/ every n
// steps, and the result in <out>/: a PEFT adapter (LoRA) or an HF checkpoint (--full). A progress
// line with ETA goes to stderr. A NaN/Inf loss or gradient stops the run, naming the last good checkpoint.
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { nodeGpu } from '../engine/gpu/node.ts';
import { Runtime } from '../engine/gpu/runtime.ts';
import { dirSource } from '../engine/model/checkpoint.ts';
import { loadModel } from '../engine/model/load.ts';
import { loadSftData } from '../engine/train/data.ts';
import { rowCacheKey, encodeRowCache, decodeRowCache } from '../engine/train/row-cache.ts';
import { DataCursor } from '../engine/train/batches.ts';
import { readAdapter, loraKey, type LoraConfig } from '../engine/train/adapter.ts';
import { LORA_TARGETS, type LoraTarget } from '../engine/train/graph.ts';
import { Trainer, NonFiniteError, type OptimConfig } from '../engine/train/trainer.ts';
import { LR_SCHEDULES, checkLrSchedule, type LrScheduleName } from '../engine/train/schedule.ts';
import { checkpointFiles, readCheckpoint, type TrainerStateJson } from '../engine/train/state-files.ts';
import { parseArgs, num, UsageError, Interrupted } from './args.ts';
import { governDataFile } from './governance-fs.ts';
import { GovernanceError } from '../engine/train/governance.ts';

const VALUES = ['model', 'data', 'adapter-init', 'rank', 'alpha', 'targets', 'steps', 'lr', 'lr-schedule', 'warmup-steps', 'weight-decay', 'betas', 'eps', 'max-grad-norm', 'batch-size', 'grad-accum', 'seed', 'checkpoint-every', 'resume', 'out', 'lora-dropout', 'manifest'];

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
};

function writeDir(dir: string, files: Map<string, Uint8Array>): void {
  // write into a temporary folder, then rename: a crash mid-write never leaves a half checkpoint
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(tmp, name), bytes);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

export async function sftCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: VALUES, flags: ['full', 'recompute'] });
  const need = (k: string) => {
    const v = p.values.get(k);
    if (v === undefined) throw new UsageError(`--${k} is required`);
    return v;
  };
  const modelDir = need('model'), dataFile = need('data'), out = need('out');
  const steps = num(p, 'steps');
  const lr = num(p, 'lr');
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) throw new UsageError(`model folder ${modelDir} does not exist`);
  if (!existsSync(dataFile)) throw new UsageError(`data file ${dataFile} does not exist`);
  const full = p.flags.has('full');
  if (full && (p.values.has('adapter-init') || p.values.has('rank') || p.values.has('targets'))) throw new UsageError('--full trains every weight: --adapter-init, --rank and --targets do not apply');
  const schedule = (p.values.get('lr-schedule') ?? 'linear') as LrScheduleName;
  if (!LR_SCHEDULES.includes(schedule)) throw new UsageError(`--lr-schedule must be one of ${LR_SCHEDULES.join(', ')}, got ${schedule}`);
  const betas = (p.values.get('betas') ?? '0.9,0.999').split(',').map(Number);
  if (betas.length !== 2 || betas.some((b) => !(b >= 0 && b < 1))) throw new UsageError(`--betas must be two numbers in [0, 1), e.g. 0.9,0.999`);
  const optim: OptimConfig = {
    lr, schedule, warmupSteps: num(p, 'warmup-steps', 0), totalSteps: steps, weightDecay: num(p, 'weight-decay', 0),
    beta1: betas[0], beta2: betas[1], eps: num(p, 'eps', 1e-8), maxGradNorm: num(p, 'max-grad-norm', 1), recompute: p.flags.has('recompute'),
  };
  try {
    checkLrSchedule({ lr, schedule, warmupSteps: optim.warmupSteps, totalSteps: steps });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!(optim.maxGradNorm >= 0)) throw new UsageError('--max-grad-norm must be >= 0 (0 = no clipping)');
  const batchSize = num(p, 'batch-size', 1), gradAccum = num(p, 'grad-accum', 1), seed = num(p, 'seed', 0);
  const every = num(p, 'checkpoint-every', 0);
  for (const [k, v] of [['steps', steps], ['batch-size', batchSize], ['grad-accum', gradAccum]] as const) if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${k} must be a positive integer, got ${v}`);

  // ---- governance first: refused data costs no model load ----
  if (p.values.has('manifest') && !existsSync(p.values.get('manifest')!)) throw new UsageError(`manifest ${p.values.get('manifest')} does not exist`);
  const decision = governDataFile(dataFile, p.values.get('manifest'));
  if (decision && !decision.allowed) throw new GovernanceError(`training refused: ${decision.reason}`);
  if (decision) process.stderr.write(`lab sft: ${decision.reason}\n`);

  const rt = await Runtime.create(await nodeGpu());
  const src = dirSource(modelDir);
  const hasTokenizer = existsSync(join(modelDir, 'tokenizer.json'));
  const loaded = await loadModel(rt, src, { tokenizer: hasTokenizer });
  for (const w of loaded.warnings) process.stderr.write(`lab: warning: ${w}\n`);
  const { model, tokenizer } = loaded;
  const cfg = model.cfg;

  // ---- data: every unusable row reported with its line; none usable = error ----
  const text = readFileSync(dataFile, 'utf8');
  const parseOpts = { file: basename(dataFile), maxLength: cfg.n_ctx, vocabSize: cfg.d_vocab };
  // Tokenized rows are kept in <out>/tokenized-rows.cache (row-cache.ts), so a resumed run skips the tokenizer.
  const cacheFile = join(out, 'tokenized-rows.cache');
  const tokFiles = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'].map((f) => (existsSync(join(modelDir, f)) ? readFileSync(join(modelDir, f)) : null));
  const sha256 = createHash('sha256').update(text).digest('hex'); // also recorded in checkpoints and governance.json
  const cacheKey = rowCacheKey(sha256, tokFiles, parseOpts);
  const cached = existsSync(cacheFile) ? decodeRowCache(readFileSync(cacheFile), cacheKey) : null;
  const tLoad = performance.now();
  const data = cached ?? loadSftData(text, tokenizer, parseOpts);
  if (cached) process.stderr.write(`lab sft: ${data.examples.length} tokenized rows from ${cacheFile}\n`);
  else if (data.examples.length >= Number(process.env.LAB_ROW_CACHE_MIN_ROWS ?? 10_000)) { // small files tokenize in seconds: no cache
    mkdirSync(out, { recursive: true });
    writeFileSync(`${cacheFile}.tmp`, encodeRowCache(cacheKey, data));
    renameSync(`${cacheFile}.tmp`, cacheFile);
    process.stderr.write(`lab sft: tokenized ${data.examples.length} rows in ${fmtTime((performance.now() - tLoad) / 1000)} (kept in ${cacheFile})\n`);
  }
  for (const pr of data.problems.slice(0, 20)) process.stderr.write(`lab: skipped row: ${pr.message}\n`);
  if (data.problems.length > 20) process.stderr.write(`lab: … and ${data.problems.length - 20} more skipped rows\n`);
  const padId = tokenizer?.padTokenId ?? tokenizer?.eosTokenId ?? 0;

  // ---- trainable parameters ----
  let lora: LoraConfig | null = null;
  let trainer: Trainer;
  if (full) trainer = Trainer.full(rt, model, optim);
  else {
    let init: Awaited<ReturnType<typeof readAdapter>> | null = null;
    if (p.values.has('adapter-init')) init = await readAdapter(dirSource(p.values.get('adapter-init')!), cfg);
    const targets = (p.values.get('targets')?.split(',').map((s) => s.trim()) ?? init?.cfg.targets ?? ['q_proj', 'k_proj', 'v_proj', 'o_proj']) as LoraTarget[];
    const bad = targets.find((t) => !LORA_TARGETS.includes(t));
    if (bad) throw new UsageError(`--targets: "${bad}" is not one of ${LORA_TARGETS.join(', ')}`);
    const r = p.values.has('rank') ? num(p, 'rank') : (init?.cfg.r ?? 16);
    const alpha = p.values.has('alpha') ? num(p, 'alpha') : (init?.cfg.alpha ?? 2 * r);
    if (init && (init.cfg.r !== r || [...init.cfg.targets].sort().join() !== [...targets].sort().join())) {
      throw new UsageError(`--adapter-init has r=${init.cfg.r} on ${init.cfg.targets.join(',')}; --rank/--targets ask for r=${r} on ${targets.join(',')}`);
    }
    const dropout = p.values.has('lora-dropout') ? num(p, 'lora-dropout') : (init?.cfg.dropout ?? 0);
    if (!(dropout >= 0 && dropout < 1)) throw new UsageError(`--lora-dropout must be in [0, 1), got ${dropout}`);
    lora = { r, alpha, dropout, targets, layers: init?.cfg.layers ?? null };
    const layers = lora.layers;
    trainer = Trainer.lora(rt, model, { r, alpha, targets, seed, layers, dropout, init: init ? (l, t) => init!.tensors.get(loraKey(l, t)) : undefined }, optim);
  }

  // ---- resume ----
  let cursorState = { epoch: 0, index: 0 };
  if (p.values.has('resume')) {
    const ck = await readCheckpoint(dirSource(p.values.get('resume')!));
    if (ck.state.mode !== (full ? 'full' : 'lora')) throw new UsageError(`--resume ${p.values.get('resume')}: a ${ck.state.mode} checkpoint, this run is ${full ? 'full' : 'lora'}`);
    if (ck.state.data.rows !== data.examples.length) process.stderr.write(`lab: warning: the checkpoint saw ${ck.state.data.rows} usable rows, the data now has ${data.examples.length}\n`);
    trainer.importState(ck.state.step, ck, p.values.get('resume')!);
    cursorState = ck.state.cursor;
    if (ck.state.step >= steps) throw new UsageError(`--resume: the checkpoint is at step ${ck.state.step}, --steps is ${steps}: nothing to do`);
  }
  const cursor = new DataCursor(data.examples, { batchSize, gradAccum, seed, shuffle: true, padId }, cursorState);

  mkdirSync(out, { recursive: true });
  const metricsFile = join(out, 'metrics.jsonl');
  if (!p.values.has('resume')) writeFileSync(metricsFile, '');
  else if (existsSync(metricsFile)) {
    // Resumed from an earlier checkpoint than the metrics reached (a run stopped between checkpoints):
    // the steps after the checkpoint are trained again, so their old lines go (no step twice in the file).
    const keep = readFileSync(metricsFile, 'utf8').split('\n').filter((l) => {
      if (l.trim() === '') return false;
      try { return (JSON.parse(l) as { step: number }).step <= trainer.step; } catch { return true; }
    });
    writeFileSync(metricsFile, keep.map((l) => `${l}\n`).join(''));
  }
  const configJson = existsSync(join(modelDir, 'config.json')) ? readFileSync(join(modelDir, 'config.json')) : null;
  const stateOf = (): Omit<TrainerStateJson, 'schema' | 'step'> => ({
    totalSteps: steps, cursor: cursor.state(), mode: full ? 'full' : 'lora', lora, optim: { ...optim }, seed, batchSize, gradAccum,
    data: { file: basename(dataFile), rows: data.examples.length, sha256 }, model: modelDir,
  });
  const governance = new TextEncoder().encode(
    JSON.stringify(
      decision
        ? { data: basename(dataFile), sha256, ...decision, note: 'what is trained from this data inherits these terms' }
        : { data: basename(dataFile), sha256, manifest: null, note: 'no SOURCE_MANIFEST.yml in the data folder or above it: this data is not governed by a source manifest' },
      null,
      1,
    ),
  );
  writeFileSync(join(out, 'governance.json'), governance);
  let lastGood: string | null = p.values.get('resume') ?? null;
  const save = async (dir: string) => writeDir(dir, new Map([...(await checkpointFiles(trainer, stateOf(), configJson)), ['governance.json', governance]]));

  const t0 = performance.now();
  const first = trainer.step;
  process.stderr.write(`lab sft: ${full ? 'full-parameter' : `LoRA r=${lora!.r} alpha=${lora!.alpha}${lora!.dropout ? ` dropout=${lora!.dropout}` : ''} on ${lora!.targets.join(',')}`}, ${trainer.params.length} tensors, ${data.examples.length} rows, steps ${first + 1}..${steps}\n`);
  // Ctrl-C / SIGTERM (a terminal, `timeout`, a job scheduler): finish the step in flight, write a
  // checkpoint of it, say how to resume, exit 130. A second signal a second later kills at once (nothing is saved).
  let stopBy: NodeJS.Signals | null = null;
  let stopAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // `timeout` (not --foreground) signals the child AND its process group: one stop request can arrive
    // twice within microseconds. Only a repeat a second or more later means "stop at once".
    if (stopBy) {
      if (performance.now() - stopAt > 1000) process.exit(130);
      return;
    }
    stopBy = sig;
    stopAt = performance.now();
    process.stderr.write(`lab sft: ${sig}: stopping after the step in flight and writing a checkpoint (signal again to stop at once)\n`);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  while (trainer.step < steps) {
    if (stopBy) {
      const dir = join(out, `checkpoint-${trainer.step}`);
      if (lastGood !== dir && trainer.step > first) await save(dir);
      const at = trainer.step > first ? dir : lastGood;
      trainer.dispose();
      rt.destroy();
      throw new Interrupted(`stopped by ${stopBy} at step ${trainer.step}/${steps}; ${at ? `resume with --resume ${at}` : 'no checkpoint to resume from'}`);
    }
    const ts = performance.now();
    const { micro, epoch } = cursor.nextStep();
    let m;
    try {
      m = await trainer.trainStep(micro);
    } catch (e) {
      if (e instanceof NonFiniteError) throw new Error(`${e.message}. Stopped; ${lastGood ? `the last good checkpoint is ${lastGood}` : 'no checkpoint was written yet (use --checkpoint-every)'}`);
      throw e;
    }
    const now = performance.now();
    const stepS = (now - ts) / 1000;
    const rate = (now - t0) / 1000 / (m.step - first);
    const line = { step: m.step, epoch, loss: m.loss, grad_norm: m.gradNorm, lr: m.lr, tokens: m.tokens, trained_tokens: m.trainedTokens, tokens_per_s: m.tokens / stepS, step_s: stepS, elapsed_s: (now - t0) / 1000 };
    appendFileSync(metricsFile, `${JSON.stringify(line)}\n`);
    process.stderr.write(`step ${m.step}/${steps} · loss ${m.loss.toFixed(4)} · grad norm ${m.gradNorm.toFixed(3)} · lr ${m.lr.toExponential(2)} · ${Math.round(line.tokens_per_s)} tok/s · ETA ${fmtTime(rate * (steps - m.step))}\n`);
    if (every > 0 && m.step % every === 0) {
      const dir = join(out, `checkpoint-${m.step}`);
      await save(dir);
      lastGood = dir;
    }
  }
  // the result: a PEFT adapter or an HF checkpoint in <out>/ (plus trainer state, to continue)
  const files = await checkpointFiles(trainer, stateOf(), configJson);
  for (const [name, bytes] of files) writeFileSync(join(out, name), bytes);
  if (full) for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'chat_template.jinja']) if (existsSync(join(modelDir, f))) copyFileSync(join(modelDir, f), join(out, f));
  process.stderr.write(`lab sft: done in ${fmtTime((performance.now() - t0) / 1000)}; ${full ? 'model' : 'adapter'} in ${out}\n`);
  trainer.dispose();
  rt.destroy();
}
