// The latest GRPO step's groups, from the engine's 'samples' progress: each prompt (with its
// reference), then its G completions with their token count, combined reward (each reward's value
// on hover) and group-relative advantage. Long texts are cut, with the whole text on hover and a
// "more" button that expands it. The run store keeps every step's groups (samples.jsonl): a resumed run
// shows its checkpoint step's groups (Engine.runSamples) until the next step's arrive.
import { useState } from 'react';
import type { GrpoGroupSample } from '../../engine/api.ts';

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));
const signed = (x: number) => (x > 0 ? `+${fmt(x)}` : fmt(x));

export function GrpoSamples({ samples, steps }: { samples: { step: number; samples: GrpoGroupSample[] } | null; steps: number }) {
  if (!samples || samples.samples.length === 0) {
    return (
      <section className="grpo-samples" data-testid="grpo-completions" data-step="" data-rows={0} aria-labelledby="grpo-samples-h">
        <h3 id="grpo-samples-h">Completions</h3>
        <p className="muted small" data-testid="grpo-completions-empty">
          {steps > 0
            ? 'No completions to show yet: every step’s are kept with the run (samples.jsonl); the next step’s appear here.'
            : 'The completions of each step, with their rewards and advantages, appear here when the step ends.'}
        </p>
      </section>
    );
  }
  const rows = samples.samples.reduce((n, g) => n + g.completions.length, 0);
  return (
    <section className="grpo-samples" data-testid="grpo-completions" data-step={samples.step} data-rows={rows} aria-labelledby="grpo-samples-h">
      <h3 id="grpo-samples-h">
        Completions of step {samples.step} <span className="muted small">({samples.samples.length} prompt{samples.samples.length === 1 ? '' : 's'}, {rows} completions; advantage = reward against its group)</span>
      </h3>
      <div className="table-scroll">
        <table className="grpo-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Completion</th>
              <th scope="col" className="num">
                Tokens
              </th>
              <th scope="col" className="num">
                Reward
              </th>
              <th scope="col" className="num">
                Advantage
              </th>
            </tr>
          </thead>
          {samples.samples.map((g, gi) => (
            <Group key={`${samples.step}-${gi}-${g.line}`} group={g} />
          ))}
        </table>
      </div>
    </section>
  );
}

function Group({ group: g }: { group: GrpoGroupSample }) {
  const mean = g.completions.reduce((s, c) => s + c.reward, 0) / Math.max(1, g.completions.length);
  return (
    <tbody data-testid="grpo-group" data-line={g.line}>
      <tr className="group-head">
        <th scope="rowgroup" colSpan={5}>
          <span className="muted small">line {g.line} · mean reward {fmt(mean)}</span>
          <div>
            <strong>Prompt:</strong> <Clip text={g.prompt} max={180} />
          </div>
          {g.reference !== undefined ? (
            <div className="muted">
              <strong>Reference:</strong> <Clip text={g.reference} max={120} />
            </div>
          ) : null}
        </th>
      </tr>
      {g.completions.map((c, i) => (
        <tr key={i} data-testid="grpo-completion" data-reward={c.reward} data-advantage={c.advantage}>
          <td className="muted">
            {i + 1}
            {c.arm ? <span className="small arm" data-testid="grpo-completion-arm"> {c.arm}</span> : null}
          </td>
          <td className="completion">{c.text ? <Clip text={c.text} max={160} /> : <span className="muted">∅ (empty)</span>}</td>
          <td className="num">{c.tokens}</td>
          <td className="num" title={Object.entries(c.rewards).map(([k, v]) => `${k}: ${fmt(v)}`).join('\n')}>
            {fmt(c.reward)}
          </td>
          <td className={`num ${c.advantage > 0 ? 'adv-pos' : c.advantage < 0 ? 'adv-neg' : 'muted'}`}>{signed(c.advantage)}</td>
        </tr>
      ))}
    </tbody>
  );
}

/** Text cut at `max` characters, whole on hover, expandable. */
function Clip({ text, max }: { text: string; max: number }) {
  const [open, setOpen] = useState(false);
  if (text.length <= max) return <span className="clip">{text}</span>;
  return (
    <span className="clip" title={text}>
      {open ? text : `${text.slice(0, max)}…`}{' '}
      <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'less' : 'more'}
      </button>
    </span>
  );
}
