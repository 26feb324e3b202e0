// GRPO prompts: JSONL text → tokenized prompts with what their completions are judged against, plus
// one problem line per unusable row (as the SFT loader, train/data.ts, reports them).
//
// Row forms (detected by keys, first match wins; other keys are ignored):
//   a. {"question", "answer"}                       GSM8K and the embedded task sets: reference = answer
//   b. {"prompt", "ideal_answer", "verification_pattern"?, "hints"?, ...}   the user's rl_task schema
//   c. {"prompt", "reference" | "answer" | "completion"?}                   a plain prompt
//   d. {"messages": [system?, user, assistant?]}   chat triples: the last user turn (with the system
//      turn) is the prompt, the assistant turn the reference
// The prompt is rendered as SFT and `lab eval` render it: the chat template's turns + generation prompt
// when the tokenizer has one, else qaPrompt ("Question: …\nAnswer:") with special tokens.
// With sampling arms (opts.systems, one system prompt per arm) each prompt is also rendered once per arm
// with the arm's system turn in place of the row's own (GrpoItem.armIds). A tokenizer without a chat
// template has no place for a system turn: the arms' prompts are then the plain prompt (armsSeeSystem
// says so), and the arms differ by temperature only.
import type { ChatMessage, LabTokenizer } from '../model/tokenizer.ts';
import { forEachJsonRow, promptIds, type RowProblem } from '../train/data.ts';
import type { GrpoItem } from './grpo.ts';

export interface GrpoData {
  items: GrpoItem[];
  problems: RowProblem[];
}

const str = (v: unknown): v is string => typeof v === 'string';

/** Whether the arms' system prompts reach the model: only through a chat template. */
export const armsSeeSystem = (tok: Pick<LabTokenizer, 'chatTemplate'>): boolean => Boolean(tok.chatTemplate);

/** Parses and tokenizes the prompts; rows whose prompt (or an arm's) + maxNewTokens exceed the context are reported and skipped. */
export function loadGrpoData(text: string, tok: LabTokenizer, opts: { file: string; nCtx: number; maxNewTokens: number; systems?: readonly string[] }): GrpoData {
  const items: GrpoItem[] = [];
  const problems: RowProblem[] = [];
  forEachJsonRow(text, opts.file, problems, (r, line, bad) => {
    let item: Omit<GrpoItem, 'ids'> & { messages: ChatMessage[] };
    if (str(r.question) && str(r.answer)) {
      item = { line, prompt: r.question, reference: r.answer, messages: [{ role: 'user', content: r.question }] };
    } else if (str(r.prompt) && str(r.ideal_answer)) {
      const hints = Array.isArray(r.hints) && r.hints.every(str) ? (r.hints as string[]) : undefined;
      const pattern = str(r.verification_pattern) ? r.verification_pattern : undefined;
      item = { line, prompt: r.prompt, reference: r.ideal_answer, task: { verification_pattern: pattern, hints }, messages: [{ role: 'user', content: r.prompt }] };
    } else if (str(r.prompt)) {
      const ref = [r.reference, r.answer, r.completion].find(str);
      item = { line, prompt: r.prompt, reference: ref, messages: [{ role: 'user', content: r.prompt }] };
    } else if (Array.isArray(r.messages)) {
      const msgs = r.messages as { role?: unknown; content?: unknown }[];
      if (!msgs.every((m) => m && str(m.role) && str(m.content))) return bad('"messages" needs {role, content} strings');
      const lastUser = msgs.map((m) => m.role).lastIndexOf('user');
      if (lastUser < 0) return bad('"messages" has no user turn to prompt with');
      const prompt = msgs.slice(0, lastUser + 1) as ChatMessage[];
      const answer = msgs.slice(lastUser + 1).find((m) => m.role === 'assistant')?.content as string | undefined;
      item = { line, prompt: prompt[lastUser].content, reference: answer, messages: prompt };
    } else {
      return bad('no prompt: expected {"question","answer"}, an rl_task {"prompt","ideal_answer",...}, {"prompt",...} or {"messages": [...]}');
    }
    const ids = promptIds(tok, item.messages); // without a template: qaPrompt of the last user turn = item.prompt
    if (ids.length === 0) return bad('the prompt tokenizes to nothing');
    if (ids.length + opts.maxNewTokens > opts.nCtx) return bad(`the prompt has ${ids.length} tokens; with ${opts.maxNewTokens} new tokens it exceeds the model's context of ${opts.nCtx}`);
    let armIds: number[][] | undefined;
    if (opts.systems) {
      const turns = item.messages.filter((m) => m.role !== 'system');
      armIds = opts.systems.map((content) => promptIds(tok, [{ role: 'system', content }, ...turns]));
      const longest = Math.max(...armIds.map((a) => a.length));
      if (longest + opts.maxNewTokens > opts.nCtx) return bad(`with an arm's system prompt the prompt has ${longest} tokens; with ${opts.maxNewTokens} new tokens it exceeds the model's context of ${opts.nCtx}`);
    }
    const { messages: _m, ...rest } = item;
    items.push({ ...rest, ids, ...(armIds ? { armIds } : {}) });
  });
  return { items, problems };
}
