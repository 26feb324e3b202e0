// The Generate panel: a prompt (plain text, or one user turn through the model's chat template),
// decoding settings, Generate / Stop, and the output as it streams in token by token.
import { useState } from 'react';
import type { GenerateRequest } from '../engine/engine.ts';
import { ErrorBox, useLab } from './lab.tsx';
import { getTask } from '../tasks/index.ts';
import { qaPrompt } from '../engine/train/data.ts';

/** A default the loaded model can answer: a held-out arithmetic problem, as a chat turn or in the embedded models' "Question: …\nAnswer:" form. */
const DEFAULT_QUESTION = getTask('arithmetic').generate('heldout', 1, 0)[0].question;
import type { GenState } from './store.ts';

export function GeneratePanel() {
  const summary = useLab((s) => s.model.summary);
  const ready = useLab((s) => s.model.status !== 'loading') && !!summary;
  const gen = useLab((s) => s.gen);
  const run = useLab((s) => s.generate);
  const stop = useLab((s) => s.stopGenerate);
  // null until the user types: the default follows the loaded model (chat template or not)
  const [typed, setPrompt] = useState<string | null>(null);
  const prompt = typed ?? (summary?.chatTemplate ? DEFAULT_QUESTION : qaPrompt(DEFAULT_QUESTION));
  const [chat, setChat] = useState(true);
  const [maxNew, setMaxNew] = useState(64);
  const [mode, setMode] = useState<'greedy' | 'sample'>('greedy');
  const [temperature, setTemperature] = useState(0.7);
  const [topP, setTopP] = useState(0.9);
  const [topK, setTopK] = useState(50);
  const [seed, setSeed] = useState(0);
  const running = gen.status === 'running';
  const useChat = chat && !!summary?.chatTemplate;

  const submit = () => {
    const req: GenerateRequest = {
      ...(useChat ? { messages: [{ role: 'user', content: prompt }] } : { prompt }),
      maxNewTokens: maxNew,
      sampling: mode === 'greedy' ? { kind: 'greedy' } : { kind: 'sample', temperature, topP, topK, seed },
    };
    void run(req);
  };

  return (
    <section className="panel" data-testid="generate-panel" data-status={gen.status} aria-labelledby="gen-h">
      <h2 id="gen-h">Generate</h2>
      {!summary ? <p className="muted">Load a model first.</p> : null}
      <form onSubmit={(e) => (e.preventDefault(), submit())}>
        <label className="block">
          Prompt
          <textarea
            rows={3}
            value={prompt}
            onChange={(e) => setPrompt(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && ready && !running) (e.preventDefault(), submit());
            }}
            data-testid="gen-prompt"
          />
        </label>
        <div className="controls">
          <label className="check" title={summary && !summary.chatTemplate ? 'This model has no chat template' : undefined}>
            <input type="checkbox" checked={useChat} disabled={!summary?.chatTemplate} onChange={(e) => setChat(e.target.checked)} data-testid="gen-chat" />
            Use the chat template
          </label>
          <label>
            Max new tokens
            <input type="number" min={1} max={summary?.n_ctx ?? 4096} value={maxNew} onChange={(e) => setMaxNew(Math.max(1, Math.floor(+e.target.value || 1)))} className="num" data-testid="gen-max" />
          </label>
          <fieldset className="radios">
            <legend>Decoding</legend>
            <label className="check">
              <input type="radio" name="mode" checked={mode === 'greedy'} onChange={() => setMode('greedy')} data-testid="gen-greedy" />
              greedy
            </label>
            <label className="check">
              <input type="radio" name="mode" checked={mode === 'sample'} onChange={() => setMode('sample')} data-testid="gen-sample" />
              sampling
            </label>
          </fieldset>
        </div>
        {mode === 'sample' ? (
          <div className="controls">
            <NumberField label="Temperature" value={temperature} step={0.05} min={0.05} max={5} onChange={setTemperature} />
            <NumberField label="Top-p" value={topP} step={0.05} min={0.05} max={1} onChange={setTopP} />
            <NumberField label="Top-k" value={topK} step={1} min={1} max={100000} onChange={(v) => setTopK(Math.round(v))} />
            <NumberField label="Seed" value={seed} step={1} min={0} max={2 ** 31 - 1} onChange={(v) => setSeed(Math.round(v))} />
          </div>
        ) : null}
        <div className="actions">
          <button type="submit" disabled={!ready || running || !prompt.trim()} data-testid="gen-run">
            Generate
          </button>
          <button type="button" className="secondary" onClick={stop} disabled={!running} data-testid="gen-stop">
            Stop
          </button>
          <span className="muted small">Ctrl+Enter in the prompt also generates.</span>
        </div>
      </form>
      {gen.status !== 'idle' ? (
        <div className="output-box">
          <pre className="output" data-testid="gen-output" aria-live="polite" aria-busy={running}>
            {gen.text}
            {running ? <span className="cursor" aria-hidden="true">▍</span> : null}
          </pre>
          <p className="muted small" data-testid="gen-stats" data-status={gen.status}>
            {genStats(gen)}
          </p>
        </div>
      ) : null}
      {gen.status === 'error' && gen.error ? <ErrorBox title="Generation failed" error={gen.error} testid="gen-error" /> : null}
    </section>
  );
}

function genStats(gen: GenState): string {
  if (gen.status === 'running') return `${gen.tokens} token${gen.tokens === 1 ? '' : 's'}…`;
  if (gen.status === 'cancelled') return `Stopped after ${gen.tokens} token${gen.tokens === 1 ? '' : 's'}.`;
  const r = gen.result;
  if (gen.status === 'done' && r) {
    const why = r.stop === 'eos' ? 'the model ended its answer' : 'max new tokens reached';
    return `${r.tokens.length} new tokens after a ${r.promptTokens}-token prompt · ${r.tokensPerSec.toFixed(1)} tokens/s · ${why}`;
  }
  return '';
}

function NumberField(props: { label: string; value: number; step: number; min: number; max: number; onChange: (v: number) => void }) {
  return (
    <label>
      {props.label}
      <input
        type="number"
        className="num"
        value={props.value}
        step={props.step}
        min={props.min}
        max={props.max}
        onChange={(e) => {
          const v = +e.target.value;
          if (Number.isFinite(v)) props.onChange(Math.min(props.max, Math.max(props.min, v)));
        }}
      />
    </label>
  );
}
