// Token-by-token generation: one side's prompt continued greedily by N tokens, then prompt + new
// tokens inspected together, and a stepper over the new tokens. For new token k (at position
// P + k, P = prompt tokens) it shows row P + k of the head opened large — the token attending to
// every earlier token and itself — as the token texts coloured on the page's attention scale
// (value on hover and in the readout), and the same row of every head of that layer as a strip.
// New tokens are marked (dashed border); tokens after the stepped one are greyed (not seen yet).
// The row's container carries the numbers it shows as the JS property `labValues` (Cell[]).
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { rgb } from 'd3';
import { ErrorBox, showToken } from '../lab.tsx';
import type { GenSideRun, GenSideState } from '../compareSlice.ts';
import { MAX_GEN } from '../compareSlice.ts';
import type { ColorScale } from './colors.ts';
import { MASKED_RGB, HIDDEN_RGB } from './colors.ts';
import { viewRow, type Cell } from './transform.ts';
import { SIDE_LABEL, SIDES, type Side } from './prompts.ts';
import type { HeadRef } from './HeadGrid.tsx';
import './extra.css';

export interface GenStepperProps {
  gen: Record<Side, GenSideState>;
  /** the side's run when it belongs to the loaded model and the current prompt (else undefined) */
  runs: Record<Side, GenSideRun | undefined>;
  at: HeadRef;
  onSelect(h: HeadRef): void;
  hideSink: boolean;
  scale: ColorScale;
  disabled: boolean;
  onGenerate(side: Side, n: number): void;
  onCancel(side: Side): void;
}

export function GenStepper({ gen, runs, at, onSelect, hideSink, scale, disabled, onGenerate, onCancel }: GenStepperProps) {
  const [nText, setNText] = useState('8');
  const n = Number(nText);
  const nOk = Number.isInteger(n) && n >= 1 && n <= MAX_GEN;
  const anyRunning = SIDES.some((s) => gen[s].status === 'running');
  return (
    <section className="panel gen-stepper" aria-labelledby="gen-h" data-testid="compare-gen">
      <h2 id="gen-h">Token-by-token generation</h2>
      <p className="muted small">
        Continues a prompt greedily (the most likely token each step, with the model’s active adapter), then inspects prompt + new tokens in one pass and steps through the new tokens:
        the row of the stepped token over every earlier token, for the head opened large and for every head of its layer.
      </p>
      <div className="controls">
        <label className="inline-label">
          New tokens
          <input className="narrow" type="number" min={1} max={MAX_GEN} value={nText} onChange={(e) => setNText(e.target.value)} aria-invalid={!nOk} data-testid="compare-gen-n" />
        </label>
        {SIDES.map((s) => (
          <button key={s} type="button" disabled={disabled || anyRunning || !nOk} onClick={() => onGenerate(s, n)} data-testid={`compare-gen-run-${s}`}>
            Generate after the {SIDE_LABEL[s].toLowerCase()} prompt
          </button>
        ))}
        {!nOk ? <span className="bad small">a whole number 1…{MAX_GEN}</span> : null}
      </div>
      <div className="compare-grids">
        {SIDES.map((s) => (
          <div key={s} className="compare-side gen-side" data-testid={`compare-gen-${s}`} data-status={gen[s].status}>
            <h3>{SIDE_LABEL[s]}</h3>
            {gen[s].status === 'running' ? (
              <p className="small" aria-live="polite" data-testid={`compare-gen-status-${s}`}>
                generating… {gen[s].progress?.step ?? 0} token{gen[s].progress?.step === 1 ? '' : 's'}: <span className="gen-text">{gen[s].progress?.text}</span>{' '}
                <button type="button" className="secondary small-btn" onClick={() => onCancel(s)}>
                  Stop
                </button>
              </p>
            ) : null}
            {gen[s].error && gen[s].status !== 'running' ? <ErrorBox title={gen[s].status === 'cancelled' ? 'Generation stopped' : 'Could not generate'} error={gen[s].error!} testid={`compare-gen-error-${s}`} /> : null}
            {runs[s] ? <SideSteps run={runs[s]!} side={s} at={at} onSelect={onSelect} hideSink={hideSink} scale={scale} /> : gen[s].status === 'idle' ? <p className="muted small">Not generated yet.</p> : null}
          </div>
        ))}
      </div>
    </section>
  );
}

/** Black or white text, whichever reads better on `bg`. */
function inkOn(bg: string): string {
  const c = rgb(bg);
  const lum = (0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b) / 255;
  return lum > 0.5 ? '#111' : '#fff';
}

type LabList = HTMLOListElement & { labValues?: Cell[] };

function SideSteps({ run, side, at, onSelect, hideSink, scale }: { run: GenSideRun; side: Side; at: HeadRef; onSelect(h: HeadRef): void; hideSink: boolean; scale: ColorScale }) {
  const P = run.promptIds.length, N = run.newIds.length;
  const [k, setK] = useState(0);
  useEffect(() => setK(0), [run]);
  const step = Math.min(k, N - 1);
  const q = P + step; // the stepped token's position: its row in the pattern
  const L = run.result.layers.length, H = run.result.n_heads;
  const layer = Math.min(at.layer, L - 1), head = Math.min(at.head, H - 1);
  const tokens = run.result.tokens;
  const row = useMemo(() => viewRow(run.result.layers[layer].pattern[head], q, hideSink), [run, layer, head, q, hideSink]);
  const list = useRef<LabList>(null);
  useEffect(() => {
    if (list.current) list.current.labValues = row;
  }, [row]);
  const [hover, setHover] = useState<string>('');
  if (N === 0) return <p className="muted small">The model ended the text at once (end of sequence): nothing to step through.</p>;
  const fmt = (v: Cell) => (v === null ? 'hidden' : v.toFixed(4));
  return (
    <div className="gen-steps">
      <p className="small gen-output" data-testid={`compare-gen-text-${side}`}>
        <span className="muted">{N} new token{N === 1 ? '' : 's'} ({run.stop === 'eos' ? 'ended by the model' : 'length reached'}) with {run.adapter === 'base' ? 'the base model' : `the adapter ${run.adapter}`}:</span> <strong className="gen-text">{run.text}</strong>
      </p>
      <div className="stepper" role="group" aria-label={`${SIDE_LABEL[side]}: step through the new tokens`}>
        <button type="button" className="secondary small-btn" disabled={step <= 0} onClick={() => setK(step - 1)} data-testid={`compare-gen-prev-${side}`} aria-label="Previous new token">
          ◀ Prev
        </button>
        <input
          type="range"
          min={0}
          max={N - 1}
          value={step}
          onChange={(e) => setK(Number(e.target.value))}
          aria-label={`${SIDE_LABEL[side]}: new token`}
          aria-valuetext={`new token ${step + 1} of ${N}: ${showToken(tokens[q].text)}`}
          data-testid={`compare-gen-step-${side}`}
        />
        <button type="button" className="secondary small-btn" disabled={step >= N - 1} onClick={() => setK(step + 1)} data-testid={`compare-gen-next-${side}`} aria-label="Next new token">
          Next ▶
        </button>
        <span className="small" aria-live="polite" data-testid={`compare-gen-at-${side}`}>
          new token <strong>{step + 1}</strong> of {N}: <code className="token-chip gen-new">{showToken(tokens[q].text)}</code> at position {q}
        </span>
      </div>
      <p className="muted small">
        Layer {layer}, head {head}: what <code>{showToken(tokens[q].text)}</code> attends to (keys 0…{q}). Dashed orange (after the bar): generated tokens; red ring: the stepped token; greyed: not generated yet at this step.
      </p>
      <ol className="tokens compact-tokens gen-row" ref={list} data-testid={`gen-row-${side}`} data-query={q} data-layer={layer} data-head={head} aria-label={`${SIDE_LABEL[side]}: attention of new token ${step + 1}`}>
        {tokens.map((t, i) => {
          const seen = i <= q;
          const v = seen ? row[i] : null;
          const bg = !seen ? `rgb(${MASKED_RGB.join(',')})` : v === null ? `rgb(${HIDDEN_RGB.join(',')})` : scale(v);
          const cls = ['token-chip', i >= P ? 'gen-new' : '', i === P ? 'gen-first' : '', i === q ? 'gen-query' : '', !seen ? 'gen-future' : ''].filter(Boolean).join(' ');
          return (
            <li
              key={i}
              className={cls}
              style={{ background: bg, color: seen ? inkOn(bg) : '#98a2b3' }}
              title={seen ? `#${i} «${showToken(t.text)}» ← ${fmt(v)}` : `#${i} «${showToken(t.text)}»: not generated yet at this step`}
              data-pos={i}
              data-id={t.id}
              {...(seen && v !== null ? { 'data-value': String(v) } : {})}
              onMouseEnter={() => seen && setHover(`key ${i} «${showToken(t.text)}»: ${fmt(v)}`)}
              onMouseLeave={() => setHover('')}
            >
              {showToken(t.text)}
            </li>
          );
        })}
      </ol>
      <p className="small readout" aria-live="polite" data-testid={`compare-gen-readout-${side}`}>
        {hover || 'Hover a token for its attention value.'}
      </p>
      <HeadStrips run={run} side={side} layer={layer} head={head} q={q} hideSink={hideSink} scale={scale} onSelect={onSelect} />
    </div>
  );
}

/** The stepped row for every head of the layer: one strip per head (click: open that head large). */
function HeadStrips({ run, side, layer, head, q, hideSink, scale, onSelect }: { run: GenSideRun; side: Side; layer: number; head: number; q: number; hideSink: boolean; scale: ColorScale; onSelect(h: HeadRef): void }) {
  const H = run.result.n_heads;
  const [read, setRead] = useState('');
  return (
    <div className="head-strips" data-testid={`compare-gen-strips-${side}`}>
      <p className="small">
        All heads of layer {layer} (click a strip to open that head large):
      </p>
      {Array.from({ length: H }, (_, h) => (
        <button key={h} type="button" className={`strip${h === head ? ' selected' : ''}`} aria-pressed={h === head} aria-label={`Layer ${layer}, head ${h}: open large`} onClick={() => onSelect({ layer, head: h })}>
          <span className="axis-label">H{h}</span>
          <Strip values={viewRow(run.result.layers[layer].pattern[h], q, hideSink)} T={run.result.tokens.length} scale={scale} onRead={(k, v) => setRead(k < 0 ? '' : `H${h} · key ${k} «${showToken(run.result.tokens[k].text)}»: ${v === null ? 'hidden' : v.toFixed(4)}`)} />
        </button>
      ))}
      <p className="small readout" aria-live="polite">
        {read || '\u00a0'}
      </p>
    </div>
  );
}

/** One row as a strip of cells over all T positions (later ones masked grey). */
function Strip({ values, T, scale, onRead }: { values: Cell[]; T: number; scale: ColorScale; onRead(k: number, v: Cell): void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    c.width = T;
    c.height = 1;
    for (let k = 0; k < T; k++) {
      const v = k < values.length ? values[k] : undefined;
      ctx.fillStyle = v === undefined ? `rgb(${MASKED_RGB.join(',')})` : v === null ? `rgb(${HIDDEN_RGB.join(',')})` : scale(v);
      ctx.fillRect(k, 0, 1, 1);
    }
  }, [values, T, scale]);
  const at = (e: MouseEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const k = Math.floor(((e.clientX - r.left) / r.width) * T);
    if (k >= 0 && k < values.length) onRead(k, values[k]);
    else onRead(-1, null);
  };
  return <canvas ref={ref} className="strip-canvas" onMouseMove={at} onMouseLeave={() => onRead(-1, null)} aria-hidden="true" />;
}
