// A sweep point's eval score, through the Engine API the page already has (no engine of its own): the
// run's adapter merged into the weights (Engine.setAdapter, as "Use adapter" does), each held-out item of
// an embedded task set answered greedily (Engine.generate, prompted as in training and as `lab eval`
// asks: the chat template's user turn when the model has one, else "Question: …\nAnswer:"), exact match of
// the final answer after "####" (the task sets' own scorer), then the base model back, so the next point
// trains from the same weights as the first. The runs compute no held-out loss; this is the cheap score.
import type { Engine, ModelSummary } from '../../engine/api.ts';
import { qaPrompt } from '../../engine/train/data.ts';
import { getTask, score } from '../../tasks/index.ts';
import type { EvalOutcome, SweepEvalSpec } from './sweep.ts';

/** The base model could not be put back after an eval: the next point would train on another point's adapter. */
export class SweepRestoreError extends Error {
  override name = 'SweepRestoreError';
}

export async function evalPoint(
  engine: Engine,
  o: {
    /** the run whose adapter to score; null: the model as loaded (the sweep's baseline row) */
    runId: string | null;
    spec: SweepEvalSpec;
    chatTemplate: boolean;
    signal: AbortSignal;
    /** the model's summary after each adapter switch (the header shows what is loaded) */
    onSummary(s: ModelSummary): void;
    onItem(done: number, total: number): void;
  },
): Promise<EvalOutcome & { correct: number }> {
  const t0 = performance.now();
  // the first n items of the held-out split do not depend on n (src/tasks): every point sees the same ones
  const items = getTask(o.spec.task).generate('heldout', o.spec.n, 0);
  if (o.runId) o.onSummary(await engine.setAdapter({ runId: o.runId }));
  let correct = 0;
  try {
    for (let i = 0; i < items.length; i++) {
      o.onItem(i, items.length);
      const q = items[i].question;
      const ask = o.chatTemplate ? { messages: [{ role: 'user' as const, content: q }] } : { prompt: qaPrompt(q) };
      const res = await engine.generate({ ...ask, maxNewTokens: o.spec.maxNewTokens, sampling: { kind: 'greedy' } }, undefined, o.signal);
      if (score(items[i], res.text)) correct += 1;
    }
    o.onItem(items.length, items.length);
  } finally {
    if (o.runId) {
      try {
        o.onSummary(await engine.setAdapter(null));
      } catch (e) {
        throw new SweepRestoreError(`The base model could not be put back after scoring ${o.runId} (${(e as Error).message}); the sweep stopped so that no point trains on another's adapter. Load the model again, then Continue.`);
      }
    }
  }
  return { correct, n: items.length, sec: (performance.now() - t0) / 1000 };
}
