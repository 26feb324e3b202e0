// Learning-rate schedules, exactly transformers' (optimization.py) LambdaLR multipliers:
//   constant  get_constant_schedule_with_warmup
//   linear    get_linear_schedule_with_warmup
//   cosine    get_cosine_schedule_with_warmup, num_cycles = 0.5 (half a cosine, 1 → 0)
// All three ramp linearly during warmup: lambda(step) = step / max(1, warmup) for step < warmup,
// so optimizer step 0 runs at lr 0 whenever warmup > 0 (as in transformers).
//
// `step` is the 0-based optimizer step: torch's LambdaLR sets lr = base_lr · lambda(0) when it is
// built, and each scheduler.step() after optimizer.step() advances it, so the i-th update (from 0)
// uses lambda(i). The multipliers are computed in float64 like Python's floats.

export type LrScheduleName = 'constant' | 'linear' | 'cosine';
export const LR_SCHEDULES: readonly LrScheduleName[] = ['constant', 'linear', 'cosine'];

export interface LrScheduleOptions {
  /** base learning rate (TrainingArguments.learning_rate) */
  lr: number;
  schedule: LrScheduleName;
  /** optimizer steps of linear warmup from 0 */
  warmupSteps: number;
  /** optimizer steps of the whole run (num_training_steps) */
  totalSteps: number;
}

const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Throws an Error naming the bad option unless opts describe a schedule. */
export function checkLrSchedule(opts: LrScheduleOptions): void {
  const { lr, schedule, warmupSteps, totalSteps } = opts;
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw new Error(`lr schedule: lr must be a finite number >= 0, got ${lr}`);
  if (!LR_SCHEDULES.includes(schedule)) {
    throw new Error(`lr schedule: unknown schedule ${JSON.stringify(schedule)} (known: ${LR_SCHEDULES.join(', ')})`);
  }
  if (!isNonNegInt(warmupSteps)) throw new Error(`lr schedule: warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  if (!isNonNegInt(totalSteps) || totalSteps < 1) throw new Error(`lr schedule: totalSteps must be an integer >= 1, got ${totalSteps}`);
}

/**
 * The multiplier lambda(step) of the schedule (lr = base lr · lambda). Past totalSteps the
 * formulas run on unchanged, as transformers' do: linear stays at 0, and cosine, clamped at 0
 * only from below, rises again after the end (progress > 1).
 */
export function lrLambda(step: number, opts: LrScheduleOptions): number {
  checkLrSchedule(opts);
  if (!isNonNegInt(step)) throw new Error(`lr schedule: step must be an integer >= 0 (0-based optimizer step), got ${step}`);
  const { schedule, warmupSteps: warmup, totalSteps: total } = opts;
  if (step < warmup) return step / Math.max(1, warmup); // the shared linear warmup
  switch (schedule) {
    case 'constant':
      return 1;
    case 'linear':
      // max(0.0, float(num_training_steps - current_step) / float(max(1, num_training_steps - num_warmup_steps)))
      return Math.max(0, (total - step) / Math.max(1, total - warmup));
    case 'cosine': {
      // progress = (step - warmup) / max(1, total - warmup);
      // max(0.0, 0.5 * (1.0 + cos(pi * num_cycles * 2.0 * progress))) with num_cycles = 0.5
      const progress = (step - warmup) / Math.max(1, total - warmup);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress)));
    }
  }
}

/** Learning rate of 0-based optimizer step `step`: opts.lr · lambda(step). */
export function lrAt(step: number, opts: LrScheduleOptions): number {
  return opts.lr * lrLambda(step, opts);
}

/**
 * Warmup steps from a ratio of the run, as TrainingArguments.get_warmup_steps does when
 * warmup_steps is 0: ceil(totalSteps · ratio).
 */
export function warmupStepsFromRatio(ratio: number, totalSteps: number): number {
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) throw new Error(`lr schedule: warmup ratio must be in [0, 1], got ${ratio}`);
  if (!isNonNegInt(totalSteps) || totalSteps < 1) throw new Error(`lr schedule: totalSteps must be an integer >= 1, got ${totalSteps}`);
  return Math.ceil(totalSteps * ratio);
}
