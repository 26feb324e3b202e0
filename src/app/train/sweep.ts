// A sweep: LoRA SFT runs over a grid of learning rate × rank, one after another through the same
// Engine.train a single run uses. This module is the plain logic, no store, no engine: the grid read from
// the form's lists (validated), each point's run config derived from the Train page's SFT config, the run
// ids and names that say the point, where a stopped sweep stands and what continuing it does, progress and
// ETA over the whole sweep, and the results table (best cells, CSV / JSON). ../sweepSlice.ts runs it;
// ./sweepPersist.ts keeps the records in IndexedDB.
import type { RunRecord, SftConfig, StepLine } from '../../engine/api.ts';
import type { TaskName } from '../../tasks/index.ts';
import type { DataChoice } from '../trainSlice.ts';

/** The user's sweep: 1e-4 / 2e-4 / 3e-4 × r 8 / 16 / 32. */
export const DEFAULT_LRS = '1e-4, 2e-4, 3e-4';
export const DEFAULT_RANKS = '8, 16, 32';
/** More points than this is a job for the CLI on a GPU machine, not a browser tab. */
export const MAX_POINTS = 36;
/** Ranks above this are far past what a LoRA sweep on small models asks for (and cost memory per target). */
export const MAX_RANK = 1024;

/**
 * α per point: 'double' keeps α = 2·r (the user's convention, so the update's scale α/r stays 2 across
 * ranks); 'base' keeps the form's α for every rank (then α/r shrinks as r grows, as PEFT's fixed-α runs do).
 */
export type AlphaRule = 'double' | 'base';

/**
 * The eval score: exact match of the final answer (after "####") on the first `n` held-out items (seed 0) of
 * an embedded task set, greedy, at most `maxNewTokens` new tokens, prompted as in training. The runs compute
 * no held-out loss, so this is the cheap score each finished run gets.
 */
export interface SweepEvalSpec {
  task: TaskName;
  n: number;
  maxNewTokens: number;
}

/** The Sweep section's inputs, as typed. */
export interface SweepForm {
  lrs: string;
  ranks: string;
  alpha: AlphaRule;
  evalTask: TaskName | 'none';
  evalN: number;
  evalMaxNew: number;
}

export const DEFAULT_SWEEP_FORM: SweepForm = { lrs: DEFAULT_LRS, ranks: DEFAULT_RANKS, alpha: 'double', evalTask: 'arithmetic', evalN: 8, evalMaxNew: 96 };

export type EvalOutcome = { correct: number; n: number; sec: number } | { error: string };

export type PointStatus = 'pending' | 'running' | 'done' | 'cancelled' | 'interrupted' | 'failed';

/** One grid point and, once it ran, what it gave. */
export interface SweepPoint {
  lr: number;
  r: number;
  alpha: number;
  runId: string;
  /** "sweep-… lr=2e-4 r=16" */
  name: string;
  status: PointStatus;
  /** the last step's training loss */
  finalLoss?: number | null;
  /** the mean training loss of the last ≤ 5 steps (one row a step is noisy) */
  tailLoss?: number | null;
  /** seconds in optimizer steps (pauses, model loads and the eval left out) */
  trainSec?: number;
  stepsDone?: number;
  eval?: EvalOutcome;
  error?: string;
}

export type SweepStatus = 'running' | 'paused' | 'done' | 'cancelled' | 'interrupted' | 'failed';

/** A sweep as it is kept (IndexedDB: ./sweepPersist.ts). */
export interface SweepRecord {
  schema: 'lab-sweep-v1';
  id: string;
  createdAt: number;
  updatedAt: number;
  /** the model's name and the adapter merged into it when the sweep started (every point starts from these) */
  model: string;
  adapter: string | null;
  /** the Train page's SFT config at the start; each point changes lr, r and α only */
  base: SftConfig;
  data: DataChoice;
  dataName: string;
  lrs: number[];
  ranks: number[];
  alphaRule: AlphaRule;
  eval: SweepEvalSpec | null;
  /** the model before any point (the row every point is compared against) */
  baseEval?: EvalOutcome;
  /** lr-major: lrs[i] × ranks[j] is points[i * ranks.length + j] */
  points: SweepPoint[];
  status: SweepStatus;
  /** one line: how it ended or where it stopped */
  message?: string;
}

// ---- the form -------------------------------------------------------------------------------------

/** "1e-4, 2e-4 3e-4" → numbers; a piece that is not a number makes the whole list NaN-free but reported. */
export function parseList(text: string): { values: number[]; bad: string[] } {
  const pieces = text.split(/[\s,;]+/).filter(Boolean);
  const values: number[] = [];
  const bad: string[] = [];
  for (const p of pieces) {
    const v = Number(p);
    if (Number.isFinite(v)) values.push(v);
    else bad.push(p);
  }
  return { values, bad };
}

export interface SweepFormCheck {
  lrs: number[];
  ranks: number[];
  errors: Partial<Record<'lrs' | 'ranks' | 'grid' | 'evalN' | 'evalMaxNew', string>>;
}

/** The grid the form asks for and what is wrong with it (each message written for the field it sits under). */
export function checkSweepForm(f: SweepForm): SweepFormCheck {
  const errors: SweepFormCheck['errors'] = {};
  const l = parseList(f.lrs);
  const r = parseList(f.ranks);
  if (l.bad.length) errors.lrs = `not a number: ${l.bad.slice(0, 3).join(', ')}`;
  else if (!l.values.length) errors.lrs = 'at least one learning rate, e.g. 1e-4, 2e-4';
  else if (l.values.some((x) => !(x > 0 && x < 1))) errors.lrs = 'each learning rate a number > 0 and < 1';
  else if (new Set(l.values).size !== l.values.length) errors.lrs = 'a learning rate is listed twice';
  if (r.bad.length) errors.ranks = `not a number: ${r.bad.slice(0, 3).join(', ')}`;
  else if (!r.values.length) errors.ranks = 'at least one rank, e.g. 8, 16';
  else if (r.values.some((x) => !(Number.isInteger(x) && x >= 1 && x <= MAX_RANK))) errors.ranks = `each rank a whole number 1…${MAX_RANK}`;
  else if (new Set(r.values).size !== r.values.length) errors.ranks = 'a rank is listed twice';
  const n = l.values.length * r.values.length;
  if (!errors.lrs && !errors.ranks && n > MAX_POINTS) errors.grid = `${l.values.length} × ${r.values.length} = ${n} runs; at most ${MAX_POINTS} in one sweep`;
  if (f.evalTask !== 'none') {
    if (!(Number.isInteger(f.evalN) && f.evalN >= 1 && f.evalN <= 200)) errors.evalN = 'a whole number 1…200';
    if (!(Number.isInteger(f.evalMaxNew) && f.evalMaxNew >= 1 && f.evalMaxNew <= 1024)) errors.evalMaxNew = 'a whole number 1…1024';
  }
  return { lrs: l.values, ranks: r.values, errors };
}

/** 0.0002 → "2e-4", 0.00015 → "1.5e-4": how the user writes learning rates. */
export const fmtLr = (x: number): string => x.toExponential().replace('e+', 'e');

/** A sweep id: the start time and four random letters (sortable, unique enough in one browser). */
export const newSweepId = (now = new Date()): string => `sweep-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;

/** The α a point trains with. */
export const alphaOf = (rule: AlphaRule, r: number, base: SftConfig): number => (rule === 'double' ? 2 * r : base.lora.alpha);

/** The run config of one point: the base config with this point's lr, r and α. */
export function pointConfig(base: SftConfig, p: Pick<SweepPoint, 'lr' | 'r' | 'alpha'>): SftConfig {
  return { ...base, full: false, lr: p.lr, lora: { ...base.lora, r: p.r, alpha: p.alpha } };
}

/** A new sweep's record: every point pending, lr-major. */
export function planSweep(o: Pick<SweepRecord, 'id' | 'model' | 'adapter' | 'base' | 'data' | 'dataName' | 'lrs' | 'ranks' | 'alphaRule' | 'eval'> & { now: number }): SweepRecord {
  const points: SweepPoint[] = [];
  for (const lr of o.lrs)
    for (const r of o.ranks) {
      const tag = `lr=${fmtLr(lr)} r=${r}`;
      points.push({ lr, r, alpha: alphaOf(o.alphaRule, r, o.base), runId: `${o.id}-lr${fmtLr(lr)}-r${r}`, name: `${o.id} ${tag}`, status: 'pending' });
    }
  const { now, ...rest } = o;
  return { schema: 'lab-sweep-v1', ...rest, createdAt: now, updatedAt: now, points, status: 'running' };
}

// ---- where a sweep stands ---------------------------------------------------------------------------

/** What continuing does with one point, from its run in the run store. */
export type PointAction = { kind: 'skip' } | { kind: 'eval' } | { kind: 'resume'; step: number } | { kind: 'restart' } | { kind: 'start' };

/**
 * The plan to finish a sweep: a finished run is kept (and scored if its score is missing), a stopped run
 * with a checkpoint resumes from its last one, a stopped run without one starts again (its record deleted),
 * a point never started starts. A point the sweep marked failed (a non-finite loss at a high lr) is a result:
 * kept; a run that failed for another reason (a lost device) resumes like a stopped one.
 */
export function continuation(s: SweepRecord, runs: RunRecord[]): PointAction[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  return s.points.map((p) => {
    const run = byId.get(p.runId);
    if (p.status === 'failed') return { kind: 'skip' };
    if (!run) return { kind: 'start' };
    if (run.status === 'done' && run.hasResult) return s.eval && !p.eval ? { kind: 'eval' } : { kind: 'skip' };
    const ck = run.checkpoints.at(-1);
    return ck !== undefined ? { kind: 'resume', step: ck } : { kind: 'restart' };
  });
}

/** Where a stopped sweep is, in a sentence, and what Continue will do. */
export function stoppedAt(s: SweepRecord, runs: RunRecord[]): { text: string; remaining: number } {
  const plan = continuation(s, runs);
  const byId = new Map(runs.map((r) => [r.id, r]));
  const todo = plan.map((a, i) => ({ a, i })).filter(({ a }) => a.kind !== 'skip');
  if (!todo.length) return { text: 'Every point has finished.', remaining: 0 };
  const first = todo[0];
  const p = s.points[first.i];
  const run = byId.get(p.runId);
  const where = `run ${first.i + 1} of ${s.points.length} (lr=${fmtLr(p.lr)} r=${p.r}${run ? `, step ${run.step}/${run.config.steps}` : ''})`;
  const what =
    first.a.kind === 'resume'
      ? `resumes that run from its checkpoint at step ${first.a.step}`
      : first.a.kind === 'restart'
        ? 'starts that run again (it stopped before its first checkpoint)'
        : first.a.kind === 'eval'
          ? 'scores that finished run'
          : 'starts that run';
  const rest = todo.length - 1;
  return { text: `Stopped at ${where}. Continue ${what}${rest ? `, then the ${rest} remaining point${rest === 1 ? '' : 's'}` : ''}.`, remaining: todo.length };
}

/** A sweep kept as running or paused that no page is running any more: its page closed or reloaded. */
export function interruptedNow(s: SweepRecord, activeId: string | null): boolean {
  return (s.status === 'running' || s.status === 'paused') && s.id !== activeId;
}

// ---- results ------------------------------------------------------------------------------------------

/** A finished run's numbers from its metrics lines. */
export function resultOf(lines: StepLine[]): Pick<SweepPoint, 'finalLoss' | 'tailLoss' | 'trainSec' | 'stepsDone'> {
  const last = lines.at(-1);
  const tail = lines.slice(-5).map((l) => l.loss).filter(Number.isFinite);
  return {
    finalLoss: last && Number.isFinite(last.loss) ? last.loss : null,
    tailLoss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null,
    // step_s of each stored line: elapsed_s restarts at a resume, the sum does not
    trainSec: lines.reduce((a, l) => a + (Number.isFinite(l.step_s) ? l.step_s : 0), 0),
    stepsDone: last?.step ?? 0,
  };
}

export const accuracy = (e: EvalOutcome | undefined): number | null => (e && 'correct' in e && e.n > 0 ? e.correct / e.n : null);

/** The indexes of the best points: lowest final loss, highest eval score (ties: every one of them). */
export function bestPoints(s: SweepRecord): { loss: number[]; score: number[] } {
  const idx = s.points.map((_, i) => i);
  const losses = idx.filter((i) => s.points[i].status === 'done' && typeof s.points[i].finalLoss === 'number');
  const scored = idx.filter((i) => accuracy(s.points[i].eval) !== null);
  const minLoss = Math.min(...losses.map((i) => s.points[i].finalLoss as number));
  const maxAcc = Math.max(...scored.map((i) => accuracy(s.points[i].eval)!));
  return { loss: losses.filter((i) => s.points[i].finalLoss === minLoss), score: maxAcc > 0 ? scored.filter((i) => accuracy(s.points[i].eval) === maxAcc) : [] };
}

/** Steps still to train and evals still to run. */
function remainingWork(s: SweepRecord, current: { index: number; step: number } | null): { steps: number; evals: number } {
  let steps = 0;
  let evals = 0;
  s.points.forEach((p, i) => {
    if (p.status === 'failed' || (p.status === 'done' && (!s.eval || p.eval))) return;
    const done = i === current?.index ? current.step : p.status === 'done' ? s.base.steps : (p.stepsDone ?? 0);
    steps += Math.max(0, s.base.steps - done);
    if (s.eval && !p.eval) evals += 1;
  });
  if (s.eval && !s.baseEval) evals += 1;
  return { steps, evals };
}

/**
 * Seconds left in the whole sweep: the steps still to train at the rate measured (this sweep's steps so far,
 * else an earlier run's), plus the evals still to run at the rate measured (null until one has run).
 */
export function sweepEta(s: SweepRecord, current: { index: number; step: number } | null, rate: { secPerStep: number | null; secPerEval: number | null }): { sec: number | null; evalsUnknown: boolean } {
  const { steps, evals } = remainingWork(s, current);
  if (rate.secPerStep === null) return { sec: null, evalsUnknown: evals > 0 && rate.secPerEval === null };
  const evalSec = evals && rate.secPerEval !== null ? evals * rate.secPerEval : 0;
  return { sec: steps * rate.secPerStep + evalSec, evalsUnknown: evals > 0 && rate.secPerEval === null };
}

/** The rates a sweep measured so far: seconds per optimizer step and per eval. */
export function measuredRates(s: SweepRecord, liveLines: StepLine[] = [], currentIndex = -1): { secPerStep: number | null; secPerEval: number | null } {
  let sec = 0;
  let n = 0;
  // the current point's steps are in the live lines (a resumed run's earlier ones too)
  for (const [i, p] of s.points.entries())
    if (i !== currentIndex && p.trainSec && p.stepsDone) {
      sec += p.trainSec;
      n += p.stepsDone;
    }
  for (const l of liveLines)
    if (l.step_s > 0) {
      sec += l.step_s;
      n += 1;
    }
  const evals = [s.baseEval, ...s.points.map((p) => p.eval)].filter((e): e is { correct: number; n: number; sec: number } => !!e && 'sec' in e);
  return { secPerStep: n ? sec / n : null, secPerEval: evals.length ? evals.reduce((a, e) => a + e.sec, 0) / evals.length : null };
}

/** Before a start: how long the grid takes at `secPerStep` (null: not known yet). */
export function estimateSec(points: number, steps: number, secPerStep: number | null): number | null {
  return secPerStep === null ? null : points * steps * secPerStep;
}

const csvCell = (v: string | number | null | undefined) => {
  const t = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
};

/** One row per point: the table as a researcher pastes it into a notebook. */
export function sweepRows(s: SweepRecord) {
  return s.points.map((p) => ({
    run_id: p.runId,
    lr: p.lr,
    rank: p.r,
    alpha: p.alpha,
    status: p.status,
    steps: p.stepsDone ?? null,
    final_loss: p.finalLoss ?? null,
    mean_loss_last5: p.tailLoss ?? null,
    eval_correct: p.eval && 'correct' in p.eval ? p.eval.correct : null,
    eval_n: p.eval && 'correct' in p.eval ? p.eval.n : null,
    eval_accuracy: accuracy(p.eval),
    train_seconds: p.trainSec ?? null,
    error: p.error ?? (p.eval && 'error' in p.eval ? `eval: ${p.eval.error}` : null),
  }));
}

const CSV_COLUMNS = ['run_id', 'lr', 'rank', 'alpha', 'status', 'steps', 'final_loss', 'mean_loss_last5', 'eval_correct', 'eval_n', 'eval_accuracy', 'train_seconds', 'error'] as const;

export function sweepCsv(s: SweepRecord): string {
  const rows = sweepRows(s);
  const head = CSV_COLUMNS;
  return [head.join(','), ...rows.map((r) => head.map((k) => csvCell(r[k])).join(','))].join('\n') + '\n';
}

/** The whole sweep: its settings (base config, data, eval metric) and the rows. */
export function sweepJson(s: SweepRecord): string {
  const metric = s.eval ? `exact match of the final answer on the first ${s.eval.n} held-out ${s.eval.task} items (seed 0), greedy, ≤ ${s.eval.maxNewTokens} new tokens` : null;
  const base = { ...s.base, lr: undefined, lora: { ...s.base.lora, r: undefined, alpha: s.alphaRule === 'double' ? '2 × r' : s.base.lora.alpha } };
  const out = { schema: 'lab-sweep-v1', id: s.id, model: s.model, adapter: s.adapter, data: s.dataName, status: s.status, lrs: s.lrs, ranks: s.ranks, alpha: s.alphaRule === 'double' ? '2 × rank' : `fixed ${s.base.lora.alpha}`, base_config: base, eval_metric: metric, base_model_eval: s.baseEval ?? null, rows: sweepRows(s) };
  return JSON.stringify(out, null, 2) + '\n';
}
