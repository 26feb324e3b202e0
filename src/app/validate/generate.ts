// Items made with the loaded model: each prompt the speaker typed, asked as the Generate panel asks it (one
// user turn through the chat template when the model has one, else "Question: …\nAnswer:"), one output
// greedy or two sampled with different seeds (the A/B pair). Through the lab store's generate action, so
// it runs in the engine worker like any other generation; no engine code is touched.
import type { GenerateRequest } from '../../engine/engine.ts';
import { qaPrompt } from '../../engine/train/data.ts';
import type { LabStore } from '../store.ts';
import type { ItemSource, ValidationItem } from './session.ts';

export interface GenerateItemsOptions {
  prompts: string[];
  /** outputs per prompt: 1 (greedy) or 2 (sampled, for an A/B choice) */
  outputs: 1 | 2;
  maxNewTokens: number;
}

/** Sampling for the A/B pair: two draws at temperature 0.8, seeds 2i+1 and 2i+2 (reproducible per prompt). */
export const AB_TEMPERATURE = 0.8;

/** One prompt's request: output k of prompt i. */
export function requestFor(prompt: string, chatTemplate: boolean, o: GenerateItemsOptions, i: number, k: number): GenerateRequest {
  return {
    ...(chatTemplate ? { messages: [{ role: 'user', content: prompt }] } : { prompt: qaPrompt(prompt) }),
    maxNewTokens: o.maxNewTokens,
    sampling: o.outputs === 1 ? { kind: 'greedy' } : { kind: 'sample', temperature: AB_TEMPERATURE, seed: 2 * i + k + 1 },
  };
}

/** The prompts of a text box: one a line, blank lines dropped. */
export const promptsOf = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.normalize('NFC'));

/**
 * Generates the outputs; returns the items and their source. A generation that fails or is stopped ends
 * the batch (`stopped` says why) and the items made before it are returned: none are lost.
 */
export async function generateItems(lab: LabStore, o: GenerateItemsOptions, onProgress: (done: number, total: number) => void): Promise<{ source: ItemSource; items: ValidationItem[]; stopped: string | null }> {
  const summary = lab.getState().model.summary;
  if (!summary) throw new Error('Load a model first (the Models page).');
  const id = `g${Date.now().toString(36)}`;
  const items: ValidationItem[] = [];
  let stopped: string | null = null;
  const total = o.prompts.length * o.outputs;
  outer: for (let i = 0; i < o.prompts.length; i++) {
    const outputs: string[] = [];
    for (let k = 0; k < o.outputs; k++) {
      if (lab.getState().gen.status === 'running') {
        stopped = 'another generation is running (the Models page): stopped';
        break outer;
      }
      await lab.getState().generate(requestFor(o.prompts[i], summary.chatTemplate, o, i, k));
      const g = lab.getState().gen;
      if (g.status !== 'done') {
        stopped = g.status === 'cancelled' ? 'stopped' : `generation failed: ${g.error?.message ?? g.status}`;
        break outer;
      }
      outputs.push(g.text.trim());
      onProgress(i * o.outputs + k + 1, total);
    }
    // two identical samples carry no preference: the item keeps one
    const kept = outputs.filter((t, n) => t && outputs.indexOf(t) === n);
    if (kept.length) items.push({ id: `${id}:${i + 1}`, prompt: o.prompts[i], outputs: kept, source: id, line: i + 1 });
  }
  const decoding = o.outputs === 1 ? 'greedy' : `sampled, temperature ${AB_TEMPERATURE}, seeds 2i+1 and 2i+2`;
  const source: ItemSource = {
    id, kind: 'generated', name: summary.name, loadedAt: new Date().toISOString(), items: items.length, terms: null,
    model: { name: summary.name, adapter: summary.adapter?.name ?? null, decoding, maxNewTokens: o.maxNewTokens },
  };
  return { source, items, stopped };
}
