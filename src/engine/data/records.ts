// Dataset record formats: which schema each row of a file follows, or why it follows none.
//
// The lab's loaders (SFT train/data.ts, GRPO rl/grpo-data.ts, DPO rl/dpo.ts, the reward model, `lab eval`)
// each accept the row forms they can use; this module looks at a whole file first, so a user sees what
// it holds before choosing rows. Detection is by keys, most specific first (a GSM8K-Platinum row also
// has GSM8K's keys; a rating row also has prompt/completion):
//
//   preference         {"prompt", "chosen", "rejected"}           (TRL's preference form; text or turns)
//   rl_task            {"task_type", "prompt", "ideal_answer", "verification_pattern", "hints", "difficulty"}
//                      (the user's RL environment, shared/data/stoney/rl_task.schema.json)
//   chat               {"messages": [{role, content}, ...]}       (StoneyNakoda45k, Stoney10kRL)
//   gsm8k-platinum     {"question", "answer" with "#### n", "cleaning_status"}
//   gsm8k              {"question", "answer" with "#### n"}
//   qa                 {"question", "answer"}                     (synthetic_stoney_data)
//   rating             {"prompt", "completion", "rating"}         (speakers' ratings, reward regression)
//   prompt-completion  {"prompt", "completion"}                   (TRL's prompt-completion form)
//   prompt             {"prompt", "reference" | "answer"?}        (GRPO prompts)
//   tokenized          {"input_ids", "labels"?}
//
// A row with a schema's keys but a bad value gets that schema's reason ("rl_task: difficulty must be
// one of easy, medium, hard"), so a file that is nearly right is reported as such, not as "unknown".
// GSM8K-Platinum: its authors removed the questions they judged ambiguous or flawed; a row still marked
// so (DROP_STATUSES: the platinum-bench release keeps them with status "rejected") is dropped with its
// reason. Rows marked consensus, verified or revised are kept: those are the set the authors evaluate on.

export const RECORD_SCHEMAS = ['preference', 'rl_task', 'chat', 'gsm8k-platinum', 'gsm8k', 'qa', 'rating', 'prompt-completion', 'prompt', 'tokenized'] as const;
export type RecordSchema = (typeof RECORD_SCHEMAS)[number];

/** What each schema is, in a line (reports, the Data page). */
export const SCHEMA_TEXT: Record<RecordSchema, string> = {
  preference: 'preference pairs {prompt, chosen, rejected} (DPO, reward model)',
  rl_task: 'rl_task {task_type, prompt, ideal_answer, verification_pattern, hints, difficulty} (GRPO, eval)',
  chat: 'chat turns {messages: [system?, user, assistant]} (SFT, GRPO)',
  'gsm8k-platinum': 'GSM8K-Platinum {question, answer "#### n", cleaning_status} (SFT, GRPO, eval)',
  gsm8k: 'GSM8K {question, answer "#### n"} (SFT, GRPO, eval)',
  qa: 'Q&A {question, answer} (SFT, GRPO, eval)',
  rating: 'ratings {prompt, completion, rating} (reward model)',
  'prompt-completion': 'prompt-completion {prompt, completion} (SFT)',
  prompt: 'prompts {prompt, reference?} (GRPO)',
  tokenized: 'tokenized {input_ids, labels?} (SFT)',
};

export const RL_TASK_TYPES = ['morphology', 'forward_translation', 'reverse_translation', 'pattern_identification', 'syntax_analysis'] as const;
export const RL_DIFFICULTIES = ['easy', 'medium', 'hard'] as const;
export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
/** GSM8K-Platinum cleaning_status values whose rows are not used (see the header). */
export const DROP_STATUSES: readonly string[] = ['ambiguous', 'flawed', 'rejected'];

/** GSM8K's official answer line. */
export const GSM8K_ANSWER = /####\s*(-?[0-9.,]+)/;

export type Detection =
  | { schema: RecordSchema; drop?: undefined; problem?: undefined }
  /** a row of a known schema that is not used, and why (a Platinum row marked ambiguous) */
  | { schema: RecordSchema; drop: string; problem?: undefined }
  /** not usable: the schema it resembles (null: none) and what is wrong */
  | { schema: RecordSchema | null; problem: string; drop?: undefined };

type Row = Record<string, unknown>;
const str = (v: unknown): v is string => typeof v === 'string';
const has = (r: Row, ...keys: string[]) => keys.every((k) => k in r && r[k] !== null && r[k] !== undefined);

/** A chat turn list's first problem, or null. */
function turnsProblem(v: unknown, key: string): string | null {
  if (!Array.isArray(v) || v.length === 0) return `"${key}" must be a non-empty list of {role, content} turns`;
  for (let i = 0; i < v.length; i++) {
    const m = v[i] as Row | null;
    if (!m || typeof m !== 'object' || Array.isArray(m)) return `${key}[${i}] is not a {role, content} object`;
    if (!(CHAT_ROLES as readonly unknown[]).includes(m.role)) return `${key}[${i}].role is ${JSON.stringify(m.role)}; expected one of ${CHAT_ROLES.join(', ')}`;
    if (!str(m.content)) return `${key}[${i}].content is not a string`;
  }
  return null;
}

/** A text-or-turns field's problem (TRL accepts both for prompt/chosen/rejected), or null. */
const textOrTurns = (r: Row, key: string): string | null => (str(r[key]) ? null : Array.isArray(r[key]) ? turnsProblem(r[key], key) : `"${key}" must be text or a list of turns`);

function rlTaskProblem(r: Row): string | null {
  if (!(RL_TASK_TYPES as readonly unknown[]).includes(r.task_type)) return `task_type is ${JSON.stringify(r.task_type)}; expected one of ${RL_TASK_TYPES.join(', ')}`;
  if (!str(r.prompt) || !r.prompt) return 'prompt must be a non-empty string';
  if (!str(r.ideal_answer) || !r.ideal_answer) return 'ideal_answer must be a non-empty string';
  if (!str(r.verification_pattern)) return 'verification_pattern must be a string';
  try {
    new RegExp(r.verification_pattern);
  } catch (e) {
    return `verification_pattern is not a valid regular expression (${(e as Error).message})`;
  }
  if (!Array.isArray(r.hints) || !r.hints.every(str)) return 'hints must be a list of strings';
  if (!(RL_DIFFICULTIES as readonly unknown[]).includes(r.difficulty)) return `difficulty is ${JSON.stringify(r.difficulty)}; expected one of ${RL_DIFFICULTIES.join(', ')}`;
  return null;
}

/** The schema of one row (already a JSON object), or why it has none. */
export function detectRecord(r: Row): Detection {
  const bad = (schema: RecordSchema | null, problem: string): Detection => ({ schema, problem });
  if (has(r, 'chosen', 'rejected')) {
    const p = has(r, 'prompt') ? textOrTurns(r, 'prompt') : '"prompt" is missing';
    const q = p ?? textOrTurns(r, 'chosen') ?? textOrTurns(r, 'rejected');
    return q ? bad('preference', q) : { schema: 'preference' };
  }
  if (has(r, 'task_type') || (has(r, 'ideal_answer') && has(r, 'prompt'))) {
    const p = rlTaskProblem(r);
    return p ? bad('rl_task', p) : { schema: 'rl_task' };
  }
  if (has(r, 'messages')) {
    const p = turnsProblem(r.messages, 'messages');
    if (p) return bad('chat', p);
    const roles = (r.messages as Row[]).map((m) => m.role);
    if (!roles.includes('user')) return bad('chat', '"messages" has no user turn');
    if (!roles.includes('assistant')) return bad('chat', '"messages" has no assistant turn');
    return { schema: 'chat' };
  }
  if (has(r, 'question') || (has(r, 'answer') && !has(r, 'prompt'))) {
    const platinum = has(r, 'cleaning_status');
    const schema: RecordSchema = platinum ? 'gsm8k-platinum' : GSM8K_ANSWER.test(String(r.answer ?? '')) ? 'gsm8k' : 'qa';
    if (!str(r.question) || !r.question.trim()) return bad(schema, '"question" must be a non-empty string');
    if (platinum && r.answer === null) return { schema, drop: 'its answer is null (a question the Platinum authors removed)' };
    if (!str(r.answer) || !r.answer.trim()) return bad(schema, '"answer" must be a non-empty string');
    if (platinum) {
      if (!str(r.cleaning_status)) return bad(schema, 'cleaning_status must be a string');
      if (DROP_STATUSES.includes(r.cleaning_status)) return { schema, drop: `cleaning_status is ${r.cleaning_status} (the Platinum authors removed such questions)` };
      if (!GSM8K_ANSWER.test(r.answer)) return bad(schema, 'the answer has no "#### n" line');
    }
    return { schema };
  }
  if (has(r, 'rating')) {
    if (typeof r.rating !== 'number' || !Number.isFinite(r.rating)) return bad('rating', '"rating" must be a finite number');
    if (!str(r.prompt) || !str(r.completion)) return bad('rating', 'a rating needs "prompt" and "completion" strings');
    return { schema: 'rating' };
  }
  if (has(r, 'completion')) {
    if (!str(r.prompt)) return bad('prompt-completion', '"prompt" must be a string');
    if (!str(r.completion)) return bad('prompt-completion', '"completion" must be a string');
    return { schema: 'prompt-completion' };
  }
  if (has(r, 'prompt')) {
    if (!str(r.prompt) || !r.prompt.trim()) return bad('prompt', '"prompt" must be a non-empty string');
    const ref = r.reference ?? r.answer;
    if (ref !== undefined && ref !== null && !str(ref)) return bad('prompt', 'a reference ("reference" or "answer") must be a string');
    return { schema: 'prompt' };
  }
  if (has(r, 'input_ids')) {
    if (!Array.isArray(r.input_ids) || !r.input_ids.every((x) => Number.isInteger(x) && (x as number) >= 0)) return bad('tokenized', '"input_ids" must be a list of token ids');
    return { schema: 'tokenized' };
  }
  const keys = Object.keys(r);
  return bad(null, `no known record format (keys: ${keys.length ? keys.slice(0, 8).join(', ') : 'none'}); expected one of: ${RECORD_SCHEMAS.join(', ')}`);
}
