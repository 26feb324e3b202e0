// The embedded task sets beside the user's own data: held-out arithmetic problems (GSM8K format) and
// Velmic puzzles (a synthetic constructed language, labelled so). "Ask the model" prompts the loaded
// model the way `lab eval` does (its chat template, else "Question: …\nAnswer:"), greedily, and marks the
// answer right or wrong by exact match of the text after "####". No Stoney data is in these sets.
import { useMemo, useState } from 'react';
import { TASKS, score, type TaskItem, type TaskName } from '../tasks/index.ts';
import { qaPrompt } from '../engine/train/data.ts';
import { useLab } from './lab.tsx';

const SHOWN = 6; // held-out items listed per task (seed 0: the same ones on every visit)

export function TasksPanel() {
  const summary = useLab((s) => s.model.summary);
  const busy = useLab((s) => s.model.status === 'loading' || s.gen.status === 'running');
  const gen = useLab((s) => s.gen);
  const run = useLab((s) => s.generate);
  const [task, setTask] = useState<TaskName>('arithmetic');
  const [asked, setAsked] = useState<TaskItem | null>(null);
  const spec = TASKS.find((t) => t.name === task)!;
  const items = useMemo(() => spec.generate('heldout', SHOWN, 0), [spec]);

  const ask = (item: TaskItem) => {
    setAsked(item);
    void run({
      ...(summary?.chatTemplate ? { messages: [{ role: 'user', content: item.question }] } : { prompt: qaPrompt(item.question) }),
      maxNewTokens: Math.min(160, summary?.n_ctx ?? 160),
      sampling: { kind: 'greedy' },
    });
  };
  const finished = asked && gen.status === 'done';
  const verdict = finished ? score(asked, gen.text) : null;
  const failed = asked && gen.status === 'error';

  return (
    <section className="panel" data-testid="tasks-panel" aria-labelledby="tasks-h">
      <h2 id="tasks-h">Embedded task sets</h2>
      <p className="muted">Built into the lab, no download: {TASKS.map((t) => t.name).join(' and ')} (held-out items shown). They contain no Stoney data.</p>
      <div className="controls">
        {TASKS.map((t) => (
          <label key={t.name} className="check">
            <input type="radio" name="task" checked={task === t.name} onChange={() => (setTask(t.name), setAsked(null))} data-testid={`task-${t.name}`} />
            {t.name === 'conlang' ? 'Velmic puzzles (constructed language, synthetic)' : 'Arithmetic word problems'}
          </label>
        ))}
      </div>
      <p className="muted">{spec.description}</p>
      <ol className="task-items">
        {items.map((it) => (
          <li key={it.id} data-testid="task-item">
            <pre className="task-q">{it.question}</pre>
            <button type="button" disabled={!summary || busy} onClick={() => ask(it)} data-testid="task-ask">
              Ask the model
            </button>{' '}
            <span className="muted">expected: {it.final}</span>
            {asked?.id === it.id ? (
              <div className="task-answer" data-testid="task-answer" data-verdict={failed ? 'error' : verdict === null ? 'pending' : verdict ? 'right' : 'wrong'}>
                <pre>{gen.text || (failed ? '' : '…')}</pre>
                {failed ? <span role="alert">{gen.error?.message ?? 'generation failed'}</span> : verdict === null ? null : verdict ? <strong>✓ right</strong> : <strong>✗ wrong</strong>}
              </div>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
