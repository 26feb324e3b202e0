// SFT training rows: JSONL text → tokenized examples {input_ids, labels} with -100 on every
// position that is not trained, plus one problem line per unusable row.
//
// Row forms (detected by keys, first match wins, other keys are ignored like extra dataset columns):
//   a. {"input_ids": [...], "labels"?: [...]}   already tokenized; labels default to input_ids
//      (transformers' DataCollatorForLanguageModeling convention: labels = input_ids).
//   b. {"messages": [{role, content}, ...]}     chat template; loss on assistant turns only.
//   c. {"prompt": "...", "completion": "..."}   TRL's prompt-completion form (completion_only_loss).
//   d. {"question": "...", "answer": "..."}     GSM8K: as (b) when the tokenizer has a chat template,
//      else as (c) with prompt "Question: {q}\nAnswer:" and completion " {answer}" (the space goes with the
//      answer: a prompt ending in a lone space token is one training never shows, see qaPrompt).
//
// Label convention (shared with the trainer): labels are NOT shifted here. Position t of a row
// predicts input_ids[t+1] and counts when labels[t+1] != -100, exactly as transformers'
// ForCausalLMLoss shifts internally; batches.ts produces the shifted targets for the GPU.
//
// Rows that are too long are reported and skipped (TRL would truncate to max_length; a silently
// truncated answer trains the model to stop early, so here the user is told instead).
import type { ChatMessage, LabTokenizer } from '../model/tokenizer.ts';
import { nfc } from '../util/nfc.ts';

/** transformers' CrossEntropyLoss ignore_index. */
export const IGNORE_INDEX = -100;

/**
 * The prompt of a {"question", "answer"} row for a tokenizer without a chat template (eval uses it too).
 * It ends at "Answer:" and the completion starts with " ": byte-level BPE glues a space to the word
 * after it (" Words"), so a prompt ending in "Answer: " would end in a lone space token that training
 * never shows the model (measured: a model trained that way answered 0% of held-out puzzles that
 * begin with a word, against a training loss of 0.004).
 */
export const qaPrompt = (question: string): string => `Question: ${question}\nAnswer:`;

/**
 * A prompt as the model is asked it (GRPO, DPO, the reward model, the analyses, `lab eval`): the chat
 * template's turns and generation prompt when the tokenizer has one, else qaPrompt of the last (user)
 * turn with the tokenizer's special tokens. `prompt` is the question text or the chat turns.
 */
export function promptIds(tok: ChatTokenizer, prompt: string | ChatMessage[]): number[] {
  const messages = typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt;
  return tok.chatTemplate ? tok.applyChatTemplate(messages, { addGenerationPrompt: true }) : tok.encode(qaPrompt(messages[messages.length - 1].content), { addSpecialTokens: true });
}
type ChatTokenizer = Pick<LabTokenizer, 'chatTemplate' | 'applyChatTemplate' | 'encode'>;

/**
 * Each non-blank line of a JSONL text parsed as an object (its strings in Unicode NFC, util/nfc.ts), with its
 * 1-based line and a `bad(message)` that records "file:line: message" in `problems`; lines that are not JSON
 * objects are recorded and skipped.
 */
export function forEachJsonRow(text: string, file: string, problems: RowProblem[], fn: (row: Record<string, unknown>, line: number, bad: (m: string) => void) => void): void {
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    const bad = (m: string) => void problems.push({ line, message: `${file}:${line}: ${m}` });
    let r: unknown;
    try {
      r = JSON.parse(raw);
    } catch {
      return bad('not valid JSON');
    }
    if (!r || typeof r !== 'object' || Array.isArray(r)) return bad('not a JSON object');
    fn(nfc(r as Record<string, unknown>), line, bad);
  });
}

export interface SftExample {
  /** 1-based line of the JSONL file the row came from. */
  line: number;
  /** [L] token ids of the whole row. */
  input_ids: number[];
  /** [L] ids to predict at each position (unshifted), IGNORE_INDEX where not trained. */
  labels: number[];
}

export interface RowProblem {
  line: number;
  /** One line: `file:line: what is wrong`. */
  message: string;
}

export interface SftParseOptions {
  /** Name used in problem messages (e.g. "data.jsonl"). */
  file: string;
  /** Rows longer than this many tokens are reported and skipped. */
  maxLength: number;
  /** Append the EOS id to prompt/completion rows and train it (TRL's default). Default true. */
  eosAfterCompletion?: boolean;
  /** Embedding rows of the model; ids must be below it. Default: the tokenizer's vocabSize. */
  vocabSize?: number;
}

export interface SftData {
  examples: SftExample[];
  problems: RowProblem[];
}

/** A row-level failure; parseSftJsonl turns it into a RowProblem for that line. */
class RowError extends Error {}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const FORMS = '{"input_ids"[, "labels"]}, {"messages"}, {"prompt", "completion"} or {"question", "answer"}';

/** Tokens of a row before the length / vocabulary / trained checks. */
interface Tokenized {
  ids: number[];
  labels: number[];
}

function needTokenizer(tok: LabTokenizer | null, form: string): LabTokenizer {
  if (tok === null) throw new RowError(`a ${form} row needs a tokenizer (none was given; only {"input_ids"} rows work without one)`);
  return tok;
}

// ---- form a: already tokenized -------------------------------------------------------------

function intArray(v: unknown, key: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new RowError(`"${key}" must be an array of integers`);
  return v as number[];
}

function fromTokenized(row: Json): Tokenized {
  const ids = intArray(row.input_ids, 'input_ids'); // [L]
  // transformers: with no labels column the collator copies input_ids (every token trained).
  const labels = row.labels === undefined ? ids.slice() : intArray(row.labels, 'labels'); // [L]
  if (labels.length !== ids.length) {
    throw new RowError(`"labels" has ${labels.length} entries but "input_ids" has ${ids.length}; they must be the same length`);
  }
  const bad = labels.findIndex((l) => l < 0 && l !== IGNORE_INDEX);
  if (bad >= 0) throw new RowError(`labels[${bad}] is ${labels[bad]}; labels are token ids or ${IGNORE_INDEX}`);
  return { ids, labels };
}

// ---- form b: chat messages ------------------------------------------------------------------

function checkMessages(v: unknown): ChatMessage[] {
  const ok =
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((m) => isObject(m) && typeof m.role === 'string' && typeof m.content === 'string');
  if (!ok) throw new RowError('"messages" must be a non-empty array of {role, content} with string values');
  // Only role and content reach the template (extra keys such as "name" are dropped).
  return (v as Json[]).map((m) => ({ role: m.role as string, content: m.content as string }));
}

/** apply_chat_template(tokenize=True); a template error (e.g. raise_exception) becomes a row problem. */
function applyTemplate(tok: LabTokenizer, messages: ChatMessage[], addGenerationPrompt: boolean): number[] {
  try {
    return tok.applyChatTemplate(messages, { addGenerationPrompt });
  } catch (e) {
    throw new RowError(`the chat template failed: ${(e as Error).message.split('\n')[0]}`);
  }
}

const isPrefix = (p: number[], full: number[]) => p.length <= full.length && p.every((x, i) => x === full[i]);

/**
 * Chat rows: ids = apply_chat_template(messages). The trained span of assistant message i is the
 * difference between the template of messages[:i] with the generation prompt and the template of
 * messages[:i+1] (the "prefix difference" method), so it holds the assistant content and whatever
 * the template emits after it (e.g. "<|im_end|>\n" for ChatML) but not the "<|im_start|>assistant\n"
 * header. TRL's assistant_only_loss needs {% generation %} markers that common templates (Qwen2,
 * Llama 3) lack; the prefix difference works with any template that renders prefixes consistently,
 * and a template that does not is reported rather than guessed at.
 */
function fromMessages(messages: ChatMessage[], tok: LabTokenizer): Tokenized {
  if (tok.chatTemplate === null) {
    throw new RowError('the tokenizer has no chat template (tokenizer_config.json chat_template or chat_template.jinja), so "messages" rows cannot be rendered');
  }
  const ids = applyTemplate(tok, messages, false); // [L]
  const labels = new Array<number>(ids.length).fill(IGNORE_INDEX); // [L]
  let assistants = 0;
  for (let i = 0; i < messages.length; i++) {
    if (messages[i].role !== 'assistant') continue;
    assistants++;
    const before = applyTemplate(tok, messages.slice(0, i), true); // [start]
    const through = applyTemplate(tok, messages.slice(0, i + 1), false); // [end]
    if (!isPrefix(before, ids) || !isPrefix(through, ids) || through.length < before.length) {
      throw new RowError(
        `the chat template's tokens for messages[0..${i}) plus the generation prompt, or for messages[0..${i}], ` +
          `are not a prefix of the whole conversation's tokens, so assistant message ${i} cannot be located`,
      );
    }
    for (let t = before.length; t < through.length; t++) labels[t] = ids[t];
  }
  if (assistants === 0) throw new RowError('"messages" has no "assistant" message, so nothing would be trained');
  return { ids, labels };
}

// ---- form c: prompt + completion ------------------------------------------------------------

/**
 * TRL SFTTrainer (prompt-completion, completion_only_loss): prompt_ids = tokenizer(prompt),
 * ids = tokenizer(prompt + completion) — both through the post-processor (add_special_tokens=True,
 * e.g. Llama's BOS) — and the first len(prompt_ids) tokens are not trained. TRL appends eos_token
 * to the completion text unless it already ends with it; here the EOS id is appended unless the ids
 * already end with it. Where the prompt's tokens are not a prefix of the full row's tokens (a BPE
 * merge across the boundary, e.g. "Answer: " + "42" → " 42"; TRL warns and masks len(prompt_ids)
 * anyway) the common prefix is masked, so the merged boundary token is trained.
 */
function fromPromptCompletion(prompt: string, completion: string, tok: LabTokenizer, eos: boolean): Tokenized {
  const promptIds = tok.encode(prompt, { addSpecialTokens: true }); // [P]
  const ids = tok.encode(prompt + completion, { addSpecialTokens: true }); // [L]
  if (eos && tok.eosTokenId !== null && ids[ids.length - 1] !== tok.eosTokenId) ids.push(tok.eosTokenId);
  let common = 0;
  while (common < promptIds.length && common < ids.length && promptIds[common] === ids[common]) common++;
  const labels = ids.map((id, t) => (t < common ? IGNORE_INDEX : id)); // [L]
  return { ids, labels };
}

function stringField(row: Json, key: string): string {
  const v = row[key];
  if (typeof v !== 'string') throw new RowError(`"${key}" must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  return v;
}

// ---- one row --------------------------------------------------------------------------------

function tokenizeRow(row: Json, tok: LabTokenizer | null, opts: SftParseOptions): Tokenized {
  const eos = opts.eosAfterCompletion ?? true;
  if ('input_ids' in row) return fromTokenized(row);
  if ('messages' in row) {
    const messages = checkMessages(row.messages);
    return fromMessages(messages, needTokenizer(tok, '"messages"'));
  }
  if ('prompt' in row && 'completion' in row) {
    // a rated output ({"prompt", "completion", "rating"}: speakers' validations, reward-model regression)
    // may be one the speaker marked wrong: imitating it would teach the error
    if ('rating' in row) throw new RowError('a {"prompt", "completion", "rating"} row is a rated output for a reward model (lab reward-model --objective regression), not an SFT example: a wrong output would be trained');
    const prompt = stringField(row, 'prompt');
    const completion = stringField(row, 'completion');
    return fromPromptCompletion(prompt, completion, needTokenizer(tok, '"prompt"/"completion"'), eos);
  }
  if ('question' in row && 'answer' in row) {
    const question = stringField(row, 'question');
    const answer = stringField(row, 'answer');
    const t = needTokenizer(tok, '"question"/"answer"');
    if (t.chatTemplate !== null) {
      return fromMessages([{ role: 'user', content: question }, { role: 'assistant', content: answer }], t);
    }
    return fromPromptCompletion(qaPrompt(question), ` ${answer}`, t, eos);
  }
  const keys = Object.keys(row).slice(0, 6).map((k) => JSON.stringify(k)).join(', ');
  throw new RowError(`unknown row form (keys: ${keys || 'none'}); expected ${FORMS}`);
}

/** Checks shared by all forms: vocabulary, length, something to train after the shift. */
function checkRow(r: Tokenized, vocab: number | null, maxLength: number): void {
  if (r.ids.length === 0) throw new RowError('the row has no tokens');
  if (vocab !== null) {
    const badId = r.ids.findIndex((id) => id < 0 || id >= vocab);
    if (badId >= 0) throw new RowError(`input_ids[${badId}] = ${r.ids[badId]} is outside the vocabulary [0, ${vocab})`);
    const badLabel = r.labels.findIndex((l) => l !== IGNORE_INDEX && l >= vocab);
    if (badLabel >= 0) throw new RowError(`labels[${badLabel}] = ${r.labels[badLabel]} is outside the vocabulary [0, ${vocab})`);
  } else {
    const neg = r.ids.findIndex((id) => id < 0);
    if (neg >= 0) throw new RowError(`input_ids[${neg}] = ${r.ids[neg]} is negative`);
  }
  if (r.ids.length > maxLength) {
    throw new RowError(`${r.ids.length} tokens, longer than the maximum length ${maxLength} (the row is skipped, not truncated)`);
  }
  // Position 0 is never a target (nothing precedes it): after the shift only labels[1:] count.
  if (!r.labels.some((l, t) => t > 0 && l !== IGNORE_INDEX)) {
    throw new RowError('nothing to train: every label after the first position is -100');
  }
}

/**
 * Parses SFT JSONL. Blank lines are ignored; each other line is one row. Rows with a problem are
 * skipped and reported; the others become examples in file order.
 */
export function parseSftJsonl(text: string, tok: LabTokenizer | null, opts: SftParseOptions): SftData {
  const examples: SftExample[] = [];
  const problems: RowProblem[] = [];
  const vocab = opts.vocabSize ?? tok?.vocabSize ?? null;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const src = lines[i];
    if (src.trim() === '') continue;
    const problem = (message: string) => problems.push({ line, message: `${opts.file}:${line}: ${message}` });
    let row: unknown;
    try {
      row = nfc(JSON.parse(src)); // strings in Unicode NFC (util/nfc.ts)
    } catch (e) {
      problem(`not valid JSON (${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    if (!isObject(row)) {
      problem(`a row must be a JSON object, got ${Array.isArray(row) ? 'an array' : row === null ? 'null' : typeof row}`);
      continue;
    }
    try {
      const r = tokenizeRow(row, tok, opts);
      checkRow(r, vocab, opts.maxLength);
      examples.push({ line, input_ids: r.ids, labels: r.labels });
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      problem(e.message);
    }
  }
  return { examples, problems };
}

/** As parseSftJsonl, but throws when no row is usable, naming the file and the first problems. */
export function loadSftData(text: string, tok: LabTokenizer | null, opts: SftParseOptions): SftData {
  const data = parseSftJsonl(text, tok, opts);
  if (data.examples.length === 0) {
    if (data.problems.length === 0) throw new Error(`${opts.file}: no training rows (the file is empty)`);
    const first = data.problems.slice(0, 3).map((p) => `  ${p.message}`).join('\n');
    const more = data.problems.length > 3 ? `\n  … and ${data.problems.length - 3} more` : '';
    throw new Error(`${opts.file}: no usable training rows (${data.problems.length} with problems):\n${first}${more}`);
  }
  return data;
}

/** Counted (shifted) targets of an example: labels[t+1] != -100 for t in [0, L-1). */
export function countedTokens(ex: SftExample): number {
  let n = 0;
  for (let t = 1; t < ex.labels.length; t++) if (ex.labels[t] !== IGNORE_INDEX) n++;
  return n;
}
