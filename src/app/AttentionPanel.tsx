// The Attention panel: a prompt → its tokens as chips, a layer and head choice, the attention
// pattern blocks.{l}.attn.hook_pattern [head, query, key] of the chosen head as a large heatmap
// beside small multiples of every head of the layer (click one to choose it), and per-head
// statistics computed in the engine.
import { useEffect, useState } from 'react';
import type { HeadStats, InspectResult } from '../engine/engine.ts';
import { ErrorBox, showToken, useLab } from './lab.tsx';
import { Heatmap } from './Heatmap.tsx';

const DEFAULT_TEXT = 'The cat sat on the mat. The dog sat on the log.';

export function AttentionPanel() {
  const summary = useLab((s) => s.model.summary);
  const loading = useLab((s) => s.model.status === 'loading');
  const attn = useLab((s) => s.attn);
  const inspect = useLab((s) => s.inspect);
  const [text, setText] = useState(DEFAULT_TEXT);
  const [head, setHead] = useState(0);
  const r = attn.result;
  const layer = attn.layer;
  // a new model: its layers and heads differ; start from layer 0, all heads
  useEffect(() => setHead(0), [summary?.name]);

  const show = (l = layer) => summary && text.trim() && void inspect(text, Math.min(l, summary.n_layers - 1));
  const tokens = r?.tokens.map((t) => t.text) ?? [];
  const L = r?.layers[0];
  const H = r?.n_heads ?? summary?.n_heads ?? 0;
  const running = attn.status === 'running';

  return (
    <section className="panel" data-testid="attention-panel" data-status={attn.status} data-layer={L?.layer ?? ''} aria-labelledby="attn-h">
      <h2 id="attn-h">Attention</h2>
      {!summary ? <p className="muted">Load a model first.</p> : null}
      <form className="attn-form" onSubmit={(e) => (e.preventDefault(), show())}>
        <label className="block">
          Prompt
          <textarea rows={2} value={text} onChange={(e) => setText(e.target.value)} data-testid="attn-prompt" />
        </label>
        <div className="controls">
          <label>
            Layer
            <select value={layer} disabled={!summary || running || loading} onChange={(e) => show(+e.target.value)} data-testid="attn-layer">
              {Array.from({ length: summary?.n_layers ?? 1 }, (_, l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label>
            Head
            <select value={head} disabled={!summary} onChange={(e) => setHead(+e.target.value)} data-testid="attn-head">
              {Array.from({ length: H }, (_, h) => (
                <option key={h} value={h}>
                  {h}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={!summary || loading || running || !text.trim()} data-testid="attn-run">
            {r ? 'Update' : 'Show attention'}
          </button>
          {running ? <span className="muted small">running…</span> : null}
        </div>
      </form>
      {attn.status === 'error' && attn.error ? <ErrorBox title="Could not compute attention" error={attn.error} testid="attn-error" /> : null}
      {r && L ? (
        <>
          <TokenChips result={r} />
          <div className="attn-views">
            <div>
              <h3>
                Layer {L.layer}, head {Math.min(head, H - 1)}
              </h3>
              <p className="muted small">Rows: query tokens (attending). Columns: key tokens (attended to).</p>
              <Heatmap pattern={L.pattern[Math.min(head, H - 1)]} tokens={tokens} title={`Layer ${L.layer}, head ${head}`} />
            </div>
            <div>
              <h3>All {H} heads of layer {L.layer}</h3>
              <div className="multiples" data-testid="heads-grid">
                {L.pattern.map((p, h) => (
                  <button type="button" key={h} className={`multiple${h === head ? ' selected' : ''}`} onClick={() => setHead(h)} aria-pressed={h === head} aria-label={`Show head ${h}`}>
                    <Heatmap pattern={p} tokens={tokens} compact maxWidth={Math.max(56, Math.min(96, 4 * tokens.length))} title={`head ${h}`} />
                    <span>head {h}</span>
                  </button>
                ))}
              </div>
            </div>
          </div>
          <StatsTable stats={L.stats} selected={head} onSelect={setHead} />
        </>
      ) : null}
    </section>
  );
}

function TokenChips({ result }: { result: InspectResult }) {
  return (
    <ol className="tokens" data-testid="tokens" aria-label="Tokens">
      {result.tokens.map((t, i) => (
        <li key={i} className="token-chip" data-testid="token-chip" title={`#${i} · id ${t.id} · ${t.raw}`}>
          <span className="pos">{i}</span>
          {showToken(t.text)}
        </li>
      ))}
    </ol>
  );
}

const COLUMNS: [keyof HeadStats, string, string][] = [
  ['entropy', 'Entropy (nats)', 'mean −Σp·ln p over keys (nats): low = focused, high = spread out'],
  ['maxProb', 'Max prob', 'mean of the largest probability in each row'],
  ['firstToken', 'First token', 'mean attention to token 0 (an "attention sink" when high)'],
  ['prevToken', 'Previous token', 'mean attention to the token just before'],
  ['self', 'Self', 'mean attention to the query token itself'],
];

function StatsTable({ stats, selected, onSelect }: { stats: HeadStats[]; selected: number; onSelect: (h: number) => void }) {
  return (
    <table className="results stats" data-testid="head-stats">
      <caption className="muted small">Per-head statistics, averaged over query positions</caption>
      <thead>
        <tr>
          <th scope="col">Head</th>
          {COLUMNS.map(([k, name, what]) => (
            <th scope="col" key={k} className="num" title={what}>
              {name}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {stats.map((s) => (
          <tr key={s.head} data-testid="head-stats-row" className={selected === s.head ? 'selected' : undefined}>
            <th scope="row">
              <button type="button" className="link" onClick={() => onSelect(s.head)} aria-pressed={selected === s.head}>
                head {s.head}
              </button>
            </th>
            {COLUMNS.map(([k]) => (
              <td key={k} className="num">
                {s[k].toFixed(3)}
                {k === 'entropy' ? null : (
                  <span className="bar" aria-hidden="true">
                    <span style={{ width: `${Math.round(s[k] * 100)}%` }} />
                  </span>
                )}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
