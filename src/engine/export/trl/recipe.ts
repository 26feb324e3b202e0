// A lab run's recipe in TRL's words: the run record (run.json, RunRecord) checked field by field, then each
// setting mapped to the TRL 1.13 / transformers TrainingArguments keyword that means the same thing
// (SFTConfig, GRPOConfig, DPOConfig; names read from trl-1.13.0's trainer/*_config.py), and PEFT's
// LoraConfig. Pure: data in, data out (train-py.ts writes the Python, project.ts the rest).
//
// What TRL cannot do as the lab does is listed, never papered over: a reward with no Python counterpart
// (the learned reward model), Regime W's sampling arms (TRL samples a group at one temperature with one
// prompt), DPO label smoothing (TRL 1.13's "sigmoid" loss ignores label_smoothing).
import type { GrpoConfig, DpoConfig, RunRecord, SftConfig } from '../../api.ts';

/** A run folder or its record that cannot be exported; the message names the file and the field. */
export class ExportError extends Error {
  override name = 'ExportError';
}

// ---- Python literals --------------------------------------------------------------------------------

/** Python source for a value: JSON's string escapes are all valid in Python string literals. */
export function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ExportError(`cannot write ${v} as a Python literal`);
    return String(v); // JS's shortest round-trip form ("1e-6", "0.2") is a valid Python literal of the same double
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(py).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${py(x)}`).join(', ')}}`;
  throw new ExportError(`cannot write a ${typeof v} as a Python literal`);
}

/** A float literal (2 → "2.0"), for TRL fields typed float. */
export const pyFloat = (x: number): string => (Number.isInteger(x) ? `${x}.0` : py(x));

// ---- the run record ---------------------------------------------------------------------------------

export type ExportKind = 'sft' | 'grpo' | 'dpo';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** run.json → RunRecord, or an ExportError naming `file` and the first field that is missing or wrong. */
export function parseRunRecord(json: unknown, file: string): RunRecord & { kind: ExportKind } {
  const fail = (what: string): never => {
    throw new ExportError(`${file}: ${what}`);
  };
  if (!isObj(json)) return fail('not a JSON object: not a run record written by lab sft / grpo / dpo');
  if (json.schema !== 'lab-run-v1') fail(`"schema" is ${JSON.stringify(json.schema)}, not "lab-run-v1": not a run record written by lab sft / grpo / dpo`);
  const kind = json.kind;
  if (kind === 'reward-model') fail('a reward-model run: export-trl exports sft, grpo and dpo runs (the lab\'s reward head on the pooled last hidden state has no TRL counterpart here)');
  if (kind !== 'sft' && kind !== 'grpo' && kind !== 'dpo') fail(`"kind" is ${JSON.stringify(kind)}; expected sft, grpo or dpo`);
  if (typeof json.model !== 'string' || !json.model) fail('"model" must name the base model');
  const c = json.config;
  if (!isObj(c)) return fail('"config" is missing: the run\'s settings are unreadable');
  const need = (obj: Record<string, unknown>, key: string, ok: (v: unknown) => boolean, what: string, at = 'config') => {
    if (!ok(obj[key])) fail(`"${at}.${key}" is ${JSON.stringify(obj[key]) ?? 'missing'}; expected ${what}`);
  };
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const int = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  need(c, 'full', (v) => typeof v === 'boolean', 'true or false');
  for (const k of ['steps', 'batchSize', 'gradAccum', 'warmupSteps', 'seed', 'checkpointEvery']) need(c, k, int, 'an integer >= 0');
  for (const k of ['lr', 'weightDecay', 'eps', 'maxGradNorm']) need(c, k, num, 'a number');
  need(c, 'lrSchedule', (v) => v === 'constant' || v === 'linear' || v === 'cosine', 'constant, linear or cosine');
  need(c, 'betas', (v) => Array.isArray(v) && v.length === 2 && v.every(num), 'two numbers');
  if (!c.full) {
    const l = c.lora;
    if (!isObj(l)) return fail('"config.lora" is missing (a LoRA run records r, alpha, dropout and targets)');
    need(l, 'r', (v) => int(v) && (v as number) > 0, 'a positive integer', 'config.lora');
    need(l, 'alpha', num, 'a number', 'config.lora');
    need(l, 'dropout', num, 'a number', 'config.lora');
    need(l, 'targets', (v) => Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === 'string'), 'a list of module names', 'config.lora');
    need(l, 'layers', (v) => v === undefined || v === null || (Array.isArray(v) && v.every(int)), 'null or a list of layer indices', 'config.lora');
  }
  if (kind === 'grpo') {
    if (c.kind !== 'grpo' || !isObj(c.grpo)) fail('"config.grpo" is missing: a GRPO run records its group size, β, ε, loss, μ and sampling');
    const g = c.grpo as Record<string, unknown>;
    for (const k of ['groupSize', 'promptsPerStep', 'maxNewTokens', 'mu']) need(g, k, (v) => int(v) && (v as number) > 0, 'a positive integer', 'config.grpo');
    for (const k of ['temperature', 'beta', 'epsilon']) need(g, k, num, 'a number', 'config.grpo');
    need(g, 'loss', (v) => v === 'grpo' || v === 'dapo' || v === 'dr_grpo', 'grpo, dapo or dr_grpo', 'config.grpo');
    need(g, 'scaleRewards', (v) => v === 'group' || v === 'none', 'group or none', 'config.grpo');
    need(c, 'rewards', (v) => Array.isArray(v) && v.length > 0 && v.every((r) => isObj(r) && typeof r.name === 'string' && num(r.weight)), 'a list of {name, weight}');
  }
  if (kind === 'dpo') {
    if (c.kind !== 'dpo' || !isObj(c.dpo)) fail('"config.dpo" is missing: a DPO run records its β and label smoothing');
    for (const k of ['beta', 'labelSmoothing']) need(c.dpo as Record<string, unknown>, k, num, 'a number', 'config.dpo');
  }
  if (!isObj(json.data) || typeof json.data.sha256 !== 'string' || typeof json.data.name !== 'string') fail('"data" must record the data file\'s name and sha256');
  if (!isObj(json.governance)) fail('"governance" is missing: the data\'s terms are unknown, so nothing is exported');
  return json as unknown as RunRecord & { kind: ExportKind };
}

// ---- the recipe ---------------------------------------------------------------------------------------

/** One keyword of the TRL config: its name, its Python value and the lab setting it comes from. */
export interface TrlArg {
  name: string;
  value: string;
  lab: string;
}

export interface TrlRecipe {
  kind: ExportKind;
  trainer: 'SFTTrainer' | 'GRPOTrainer' | 'DPOTrainer';
  config: 'SFTConfig' | 'GRPOConfig' | 'DPOConfig';
  /** TRL config keywords (per-process batch and accumulation come at run time from the split below) */
  args: TrlArg[];
  /** PEFT LoraConfig keywords; null for full fine-tuning */
  lora: TrlArg[] | null;
  /** rows per optimizer step (SFT rows, GRPO completions P·G, DPO pairs) and accumulation, split over processes by train.py */
  batch: { rows: number; accum: number; what: string };
  /** GRPO: rewards exported to rewards.py, in the run's order, with weights */
  rewards: { name: string; weight: number; group: boolean }[];
  /** GRPO: the group size (whole groups per process for a group reward) */
  groupSize: number | null;
  /** what the run did that this project cannot do the same way: reason per item (README, train.py, CLI warnings) */
  notExported: { what: string; why: string }[];
  /** GRPO max new tokens, else the evaluation's default */
  maxNewTokens: number;
}

/** Rewards rewards.py implements (src/rewards/index.ts REWARDS and GROUP_REWARDS); regime-w scores a group. */
export const PY_REWARDS: Record<string, { group: boolean }> = {
  exact: { group: false }, gsm8k: { group: false }, 'gsm8k-format': { group: false }, chrf: { group: false }, 'chrf++': { group: false },
  'stoney-rubric': { group: false }, steps: { group: false }, 'regime-w': { group: true },
};

const arg = (name: string, value: string, lab: string): TrlArg => ({ name, value, lab });

/** The optimizer and schedule keywords every kind shares (transformers' TrainingArguments names). */
function commonArgs(c: SftConfig, optimizerSteps: number, stepsLab: string, saveEvery: number): TrlArg[] {
  // transformers' "constant" ignores warmup; "constant_with_warmup" is the lab's constant schedule with warmup
  const sched = c.lrSchedule === 'constant' && c.warmupSteps > 0 ? 'constant_with_warmup' : c.lrSchedule;
  return [
    arg('max_steps', py(optimizerSteps), stepsLab),
    arg('learning_rate', pyFloat(c.lr), '--lr'),
    arg('lr_scheduler_type', py(sched), '--lr-schedule'),
    arg('warmup_steps', py(c.warmupSteps), '--warmup-steps'),
    arg('weight_decay', pyFloat(c.weightDecay), '--weight-decay'),
    arg('adam_beta1', pyFloat(c.betas[0]), '--betas (β1)'),
    arg('adam_beta2', pyFloat(c.betas[1]), '--betas (β2)'),
    arg('adam_epsilon', pyFloat(c.eps), '--eps'),
    arg('max_grad_norm', pyFloat(c.maxGradNorm), '--max-grad-norm (0 = no clipping, as in transformers)'),
    arg('optim', py('adamw_torch'), 'AdamW (the lab\'s trainer, proven equal to torch.optim.AdamW)'),
    arg('seed', py(c.seed), '--seed (the same number; TRL\'s sampler orders the data its own way)'),
    arg('gradient_checkpointing', py(c.recompute), '--recompute'),
    ...(saveEvery > 0 ? [arg('save_strategy', py('steps'), '--checkpoint-every'), arg('save_steps', py(saveEvery), '--checkpoint-every')] : [arg('save_strategy', py('no'), '--checkpoint-every 0 (the adapter is saved at the end)')]),
    arg('logging_steps', py(1), 'metrics.jsonl: one line per step'),
    arg('report_to', py('wandb'), 'the user\'s pipelines log to Weights & Biases'),
  ];
}

function loraArgs(c: SftConfig, dropout: number): TrlArg[] | null {
  if (c.full) return null;
  const layers = c.lora.layers ?? null;
  return [
    arg('r', py(c.lora.r), '--rank'),
    arg('lora_alpha', py(c.lora.alpha), '--alpha'),
    arg('lora_dropout', pyFloat(dropout), '--lora-dropout'),
    arg('target_modules', py([...c.lora.targets]), '--targets'),
    arg('layers_to_transform', py(layers ? [...layers] : null), 'adapted layers (null: every layer)'),
    arg('bias', py('none'), 'LoRA only (no trained biases: the lab reads no other adapter)'),
    arg('task_type', py('CAUSAL_LM'), 'causal LM'),
  ];
}

/** The TRL recipe of a checked run record. */
export function trlRecipe(run: RunRecord & { kind: ExportKind }): TrlRecipe {
  const c = run.config;
  const notExported: TrlRecipe['notExported'] = [];
  if (run.kind === 'grpo') {
    const g = c as GrpoConfig;
    const s = g.grpo;
    const rewards: TrlRecipe['rewards'] = [];
    for (const r of g.rewards) {
      if (r.name in PY_REWARDS) rewards.push({ name: r.name, weight: r.weight, group: PY_REWARDS[r.name].group });
      else if (r.name === 'reward-model') notExported.push({ what: `reward "reward-model" (weight ${r.weight})`, why: 'the lab\'s learned reward model (its adapter and reward_head.safetensors on the pooled last hidden state) has no Python counterpart in this project; train.py leaves it out, so the rewards differ from the lab run\'s' });
      else notExported.push({ what: `reward "${r.name}" (weight ${r.weight})`, why: 'unknown to rewards.py' });
    }
    if (s.arms) notExported.push({ what: `sampling arms "${s.arms}"`, why: 'the lab sampled member g of each group with arm g mod 8\'s system prompt and temperature; TRL samples all G completions of a prompt with one prompt and one temperature (--temperature below), so the groups are less diverse than the lab run\'s' });
    const args = [
      ...commonArgs(c, c.steps * s.mu, `--steps ${c.steps} GRPO steps × μ ${s.mu} (TRL counts optimizer steps)`, c.checkpointEvery * s.mu),
      arg('num_generations', py(s.groupSize), '--group-size (G)'),
      arg('num_iterations', py(s.mu), '--mu (μ optimizer steps per rollout batch)'),
      arg('beta', pyFloat(s.beta), '--beta (KL to the reference: with LoRA, the adapter switched off)'),
      arg('epsilon', pyFloat(s.epsilon), '--epsilon'),
      ...(s.epsilonHigh !== undefined ? [arg('epsilon_high', pyFloat(s.epsilonHigh), '--epsilon-high')] : []),
      arg('loss_type', py(s.loss), '--loss'),
      arg('scale_rewards', py(s.scaleRewards), '--scale-rewards'),
      arg('max_completion_length', py(s.maxNewTokens), '--max-new-tokens'),
      arg('temperature', pyFloat(s.temperature), s.arms ? '--temperature (unused by the lab with arms; see the README)' : '--temperature'),
      ...(s.topP !== undefined ? [arg('top_p', pyFloat(s.topP), '--top-p')] : []),
      ...(s.topK !== undefined ? [arg('top_k', py(s.topK), '--top-k')] : []),
      arg('reward_weights', `[${rewards.map((r) => pyFloat(r.weight)).join(', ')}]`, '--reward name:weight'),
      arg('disable_dropout', py(true), 'GRPO trains without dropout (rollouts and update see one policy)'),
      arg('log_completions', py(false), 'completions stay off W&B (they carry the data\'s text; see provenance.json)'),
    ];
    return {
      kind: 'grpo', trainer: 'GRPOTrainer', config: 'GRPOConfig', args, lora: loraArgs(c, 0),
      batch: { rows: s.promptsPerStep * s.groupSize, accum: 1, what: `completions per optimizer step (lab --prompts-per-step ${s.promptsPerStep} × --group-size ${s.groupSize})` },
      rewards, groupSize: s.groupSize, notExported, maxNewTokens: s.maxNewTokens,
    };
  }
  if (run.kind === 'dpo') {
    const d = (c as DpoConfig).dpo;
    if (d.labelSmoothing !== 0) notExported.push({ what: `label smoothing ${d.labelSmoothing}`, why: 'TRL 1.13\'s "sigmoid" DPO loss ignores label_smoothing ("robust" is another loss), so train.py refuses to start rather than train another objective; set LABEL_SMOOTHING_ACCEPTED = True in train.py to train with label smoothing 0' });
    const args = [
      ...commonArgs(c, c.steps, '--steps', c.checkpointEvery),
      arg('beta', pyFloat(d.beta), '--beta'),
      arg('loss_type', py(['sigmoid']), 'TRL\'s sigmoid DPO loss (src/engine/rl/dpo.ts)'),
      arg('max_length', py(null), 'none: pairs longer than the context are skipped by lab_data.py, as the lab skips them'),
    ];
    return { kind: 'dpo', trainer: 'DPOTrainer', config: 'DPOConfig', args, lora: loraArgs(c, 0), batch: { rows: c.batchSize, accum: 1, what: `pairs per optimizer step (lab --batch-size ${c.batchSize})` }, rewards: [], groupSize: null, notExported, maxNewTokens: 256 };
  }
  const args = [
    ...commonArgs(c, c.steps, '--steps', c.checkpointEvery),
    arg('max_length', py(null), 'none: rows longer than the context are skipped by lab_data.py, as the lab skips them (TRL would truncate)'),
    arg('completion_only_loss', py(true), 'loss on completions / assistant turns only, as the lab\'s labels'),
  ];
  return {
    kind: 'sft', trainer: 'SFTTrainer', config: 'SFTConfig', args, lora: loraArgs(c, c.lora?.dropout ?? 0),
    batch: { rows: c.batchSize, accum: c.gradAccum, what: `rows per optimizer step (lab --batch-size ${c.batchSize} × --grad-accum ${c.gradAccum})` },
    rewards: [], groupSize: null, notExported, maxNewTokens: 256,
  };
}
