// Inline validation of the SFT form: one message per field, the same rules the engine applies
// before a run (checkSftConfig in engine/train/run.ts, which stays the authority), written for
// the field they sit under. An empty or unparsable number arrives here as NaN.
import type { SftConfig } from '../../engine/api.ts';

export type FieldKey =
  | 'r' | 'alpha' | 'dropout' | 'targets' | 'steps' | 'lr' | 'warmupSteps' | 'weightDecay' | 'beta1' | 'beta2' | 'eps'
  | 'maxGradNorm' | 'batchSize' | 'gradAccum' | 'seed' | 'checkpointEvery';

export type FieldErrors = Partial<Record<FieldKey, string>>;

const posInt = (v: number) => Number.isInteger(v) && v >= 1;
const nonNegInt = (v: number) => Number.isInteger(v) && v >= 0;
const num = (v: number) => Number.isFinite(v);

export function validateConfig(c: SftConfig): FieldErrors {
  const e: FieldErrors = {};
  const need = (ok: boolean, k: FieldKey, msg: string) => {
    if (!ok && !e[k]) e[k] = msg;
  };
  need(posInt(c.steps), 'steps', 'a whole number ≥ 1');
  need(num(c.lr) && c.lr >= 0, 'lr', 'a number ≥ 0 (e.g. 1e-3)');
  need(nonNegInt(c.warmupSteps), 'warmupSteps', 'a whole number ≥ 0');
  need(!posInt(c.steps) || !nonNegInt(c.warmupSteps) || c.warmupSteps <= c.steps, 'warmupSteps', 'at most the number of steps');
  need(num(c.weightDecay) && c.weightDecay >= 0, 'weightDecay', 'a number ≥ 0');
  need(num(c.betas[0]) && c.betas[0] >= 0 && c.betas[0] < 1, 'beta1', 'in [0, 1), e.g. 0.9');
  need(num(c.betas[1]) && c.betas[1] >= 0 && c.betas[1] < 1, 'beta2', 'in [0, 1), e.g. 0.999');
  need(num(c.eps) && c.eps > 0, 'eps', 'a number > 0, e.g. 1e-8');
  need(num(c.maxGradNorm) && c.maxGradNorm >= 0, 'maxGradNorm', 'a number ≥ 0 (0 = no clipping)');
  need(posInt(c.batchSize), 'batchSize', 'a whole number ≥ 1');
  need(posInt(c.gradAccum), 'gradAccum', 'a whole number ≥ 1');
  need(nonNegInt(c.seed), 'seed', 'a whole number ≥ 0');
  need(nonNegInt(c.checkpointEvery), 'checkpointEvery', 'a whole number ≥ 0 (0 = only when stopped)');
  if (!c.full) {
    need(posInt(c.lora.r), 'r', 'a whole number ≥ 1');
    need(num(c.lora.alpha) && c.lora.alpha > 0, 'alpha', 'a number > 0');
    need(num(c.lora.dropout) && c.lora.dropout >= 0 && c.lora.dropout < 1, 'dropout', 'in [0, 1)');
    need(c.lora.targets.length > 0, 'targets', 'pick at least one module');
  }
  return e;
}

/** Notes that are not errors: settings that work but may surprise. */
export function configNotes(c: SftConfig, ctx: { nCtx?: number; rows?: number }): string[] {
  const notes: string[] = [];
  if (c.full) notes.push('Full fine-tuning trains every weight and keeps AdamW state for each: memory and checkpoints are ~3× the model.');
  if (c.checkpointEvery === 0) notes.push('No periodic checkpoints: only a cancel or pause-and-cancel writes one; a closed tab loses the run.');
  if (ctx.rows !== undefined && posInt(c.batchSize) && posInt(c.gradAccum) && posInt(c.steps)) {
    const epochs = (c.steps * c.batchSize * c.gradAccum) / Math.max(1, ctx.rows);
    if (epochs > 1) notes.push(`${c.steps} steps of ${c.batchSize * c.gradAccum} rows go over the ${ctx.rows} rows ${epochs.toFixed(1)} times.`);
  }
  return notes;
}
