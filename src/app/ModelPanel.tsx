// The Model panel: where a model comes from (the Hub, a local folder, a URL on this site), the
// load's progress with Cancel, the Hub cache line, and the loaded model's summary.
import { useEffect, useState } from 'react';
import type { LoadProgress, ModelSummary } from '../engine/engine.ts';
import { ErrorBox, formatBytes, formatCount, formatDuration, useLab } from './lab.tsx';
import { LocalFolder } from './LocalFolder.tsx';
import { endpointHost, isHuggingFaceHub, urlFolderName } from './devOptions.ts';
import { VerifyOnnx } from './VerifyPanel.tsx';

export const DEFAULT_REPO = 'HuggingFaceTB/SmolLM2-135M-Instruct';
const SUGGESTIONS: [string, string][] = [
  ['HuggingFaceTB/SmolLM2-135M-Instruct', '135M parameters, Llama'],
  ['HuggingFaceTB/SmolLM2-360M-Instruct', '360M parameters, Llama'],
  ['Qwen/Qwen2.5-0.5B-Instruct', '0.5B parameters, Qwen2'],
  ['HarleyCooper/GRPOtuned', 'a GRPO fine-tune'],
];

export function ModelPanel() {
  const model = useLab((s) => s.model);
  const busy = model.status === 'loading';
  return (
    <section className="panel" data-testid="model-panel" data-status={model.status} aria-labelledby="model-h">
      <h2 id="model-h">Model</h2>
      <div className="sources">
        <HubForm disabled={busy} />
        <LocalSources disabled={busy} />
      </div>
      <LoadStatus />
      <CacheLine />
      {model.summary ? <SummaryCard summary={model.summary} /> : null}
    </section>
  );
}

function HubForm({ disabled }: { disabled: boolean }) {
  const load = useLab((s) => s.loadModel);
  const endpoint = useLab((s) => s.hubEndpoint);
  const consent = useLab((s) => s.hubTokenConsent);
  const confirmHubToken = useLab((s) => s.confirmHubToken);
  const [repo, setRepo] = useState(DEFAULT_REPO);
  const [revision, setRevision] = useState('main');
  // the access token lives in this component's memory only: never stored, gone on reload
  const [token, setToken] = useState('');
  // a ?hubEndpoint= link on another host gets the token only when the user says so here (the store enforces it)
  const foreign = endpoint !== undefined && !isHuggingFaceHub(endpoint);
  const host = endpoint ? endpointHost(endpoint) : 'huggingface.co';
  const withheld = foreign && token.trim() !== '' && consent !== endpoint;
  const submit = () => {
    const r = repo.trim(), rev = revision.trim() || 'main';
    void load({ kind: 'hub', repo: r, revision: rev, token: token.trim() || undefined }, `${r}@${rev}`);
  };
  return (
    <form className="source" onSubmit={(e) => (e.preventDefault(), submit())} data-testid="hub-form">
      <h3>From the Hugging Face Hub</h3>
      {endpoint ? (
        <p className="devnote" data-testid="hub-endpoint-note">
          Developer option: Hub requests go to <code>{endpoint}</code> instead of huggingface.co.
        </p>
      ) : null}
      <div className="grid2">
        <label>
          Repository
          <input value={repo} onChange={(e) => setRepo(e.target.value)} list="hub-suggestions" spellCheck={false} data-testid="hub-repo" required />
        </label>
        <label>
          Revision
          <input value={revision} onChange={(e) => setRevision(e.target.value)} spellCheck={false} data-testid="hub-revision" className="narrow" />
        </label>
      </div>
      <datalist id="hub-suggestions">
        {SUGGESTIONS.map(([r, what]) => (
          <option key={r} value={r} label={what} />
        ))}
      </datalist>
      <p className="chips" aria-label="Suggested models">
        {SUGGESTIONS.map(([r, what]) => (
          <button type="button" key={r} className="chip" title={what} onClick={() => setRepo(r)} disabled={disabled}>
            {r.split('/')[1]}
          </button>
        ))}
      </p>
      <label>
        <span>
          Access token <span className="muted small">(optional, for gated or private repos)</span>
        </span>
        <input type="password" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" placeholder="hf_…" data-testid="hub-token" />
      </label>
      {foreign && token.trim() ? (
        <label className="devnote" data-testid="hub-token-consent-row">
          <input type="checkbox" checked={consent === endpoint} onChange={(e) => confirmHubToken(e.target.checked)} data-testid="hub-token-consent" />
          <span>
            Send my token to <code>{host}</code>. This server is not the Hugging Face Hub: it was set by the page&apos;s link (developer option). Check this only if you
            trust it; unchecked, the token is not sent.
          </span>
        </label>
      ) : null}
      <p className="muted small">
        The token stays in this tab&apos;s memory only: it is never saved, and is sent only to {foreign ? (
          consent === endpoint ? (
            <code>{host}</code>
          ) : (
            <>
              huggingface.co, or to <code>{host}</code> once you confirm it
            </>
          )
        ) : (
          'huggingface.co'
        )}
        .
      </p>
      <div className="actions">
        <button type="submit" disabled={disabled || !repo.trim()} data-testid="load-hub" data-token-withheld={withheld ? 'yes' : 'no'}>
          {withheld ? 'Load without the token' : 'Load'}
        </button>
        {withheld ? <span className="muted small">To use the token, check &ldquo;Send my token to {host}&rdquo; above.</span> : null}
      </div>
    </form>
  );
}

function LocalSources({ disabled }: { disabled: boolean }) {
  const load = useLab((s) => s.loadModel);
  const [url, setUrl] = useState('./models/');
  return (
    <div>
      <LocalFolder disabled={disabled} onPick={(f) => void load({ kind: 'files', files: f.files, paths: f.paths, name: f.name }, f.name)} />
      <details className="source">
        <summary>From a URL on this site (advanced)</summary>
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const abs = new URL(url.endsWith('/') ? url : `${url}/`, location.href).href;
            void load({ kind: 'url', baseUrl: abs }, urlFolderName(abs));
          }}
        >
          <label>
            Folder URL
            <input value={url} onChange={(e) => setUrl(e.target.value)} spellCheck={false} data-testid="url-input" />
          </label>
          <button type="submit" disabled={disabled} data-testid="load-url">
            Load
          </button>
        </form>
        <p className="muted small">A checkpoint folder served with this page, e.g. one shipped under ./models/.</p>
      </details>
    </div>
  );
}

const PHASES: Record<LoadProgress['phase'], string> = { plan: 'Checking the size', download: 'Downloading', upload: 'Loading weights' };

function LoadStatus() {
  const model = useLab((s) => s.model);
  const cancel = useLab((s) => s.cancelLoad);
  const p = model.progress;
  const loading = model.status === 'loading';
  // once loaded, the summary card says so: the bar is for loads in flight or that did not finish
  if (model.status === 'idle' || model.status === 'ready') return null;
  return (
    <div className="load-status" aria-live="polite">
      {loading || (model.status === 'cancelled' && p && p.total > 0) ? (
        <div className="progress" data-testid="load-progress" data-phase={p?.phase ?? 'start'}>
          <span className="phase">{loading ? `${PHASES[p?.phase ?? 'plan']} ${model.label ?? ''}…` : model.label}</span>
          <progress value={p && p.total > 0 ? p.bytes : undefined} max={p && p.total > 0 ? p.total : undefined} aria-label="Load progress" />
          {p && p.total > 0 ? <span className="muted small">{progressText(p, loading)}</span> : null}
          {loading ? (
            <button type="button" className="secondary" onClick={cancel} data-testid="cancel-load">
              Cancel
            </button>
          ) : null}
        </div>
      ) : null}
      {model.status === 'cancelled' ? <p className="muted" data-testid="load-cancelled">Loading cancelled. What was downloaded stays cached; loading again resumes.</p> : null}
      {model.status === 'error' && model.error ? <ErrorBox title={errorTitle(model.error.kind)} error={model.error} testid="load-error" /> : null}
    </div>
  );
}

function progressText(p: LoadProgress, live: boolean): string {
  const parts = [`${formatBytes(p.bytes)} of ${formatBytes(p.total)}`];
  if (live && p.bytesPerSec > 0) parts.push(`${formatBytes(p.bytesPerSec)}/s`);
  if (live && p.etaSec !== null && p.etaSec > 0) parts.push(`about ${formatDuration(p.etaSec)} left`);
  if (live && p.file) parts.push(p.file);
  return parts.join(' · ');
}

function errorTitle(kind?: string): string {
  switch (kind) {
    case 'auth':
      return 'This repo needs an access token';
    case 'too-large':
      return 'This model does not fit here';
    case 'not-found':
      return 'Not found';
    case 'network':
      return 'Network problem';
    default:
      return 'The model could not be loaded';
  }
}

function CacheLine() {
  const cache = useLab((s) => s.cache);
  const refresh = useLab((s) => s.refreshCache);
  const clear = useLab((s) => s.clearCache);
  useEffect(() => void refresh(), [refresh]);
  const u = cache.usage;
  return (
    <p className="cache-line" data-testid="cache-line" data-bytes={u?.bytes ?? ''}>
      <span>
        Hub cache: {u ? `${formatBytes(u.bytes)} in ${u.files} file${u.files === 1 ? '' : 's'}${u.partial ? ` (${u.partial} partial)` : ''}` : '…'}
        {u?.originQuota ? <span className="muted"> · browser storage {formatBytes(u.originUsage ?? 0)} of {formatBytes(u.originQuota)} used</span> : null}
      </span>
      <button type="button" className="link" onClick={() => void clear()} disabled={cache.busy || !u || u.files === 0} data-testid="clear-cache">
        Clear cache
      </button>
      {cache.error ? <span className="bad small"> {cache.error.message}</span> : null}
    </p>
  );
}

function SummaryCard({ summary: s }: { summary: ModelSummary }) {
  const unload = useLab((st) => st.unloadModel);
  const facts: [string, string, string][] = [
    ['arch', 'Architecture', s.arch === 'qwen2' ? 'Qwen2' : 'Llama'],
    ['parameters', 'Parameters', `${formatCount(s.parameters)} (${formatBytes(s.weightBytes)} ${s.dtype})`],
    ['n_layers', 'Layers', String(s.n_layers)],
    ['d_model', 'd_model', String(s.d_model)],
    ['n_heads', 'Heads', s.n_kv_heads === s.n_heads ? String(s.n_heads) : `${s.n_heads} query, ${s.n_kv_heads} key/value`],
    ['d_head', 'd_head', String(s.d_head)],
    ['d_mlp', 'd_mlp', String(s.d_mlp)],
    ['d_vocab', 'Vocabulary', s.d_vocab.toLocaleString('en-US')],
    ['n_ctx', 'Context', `${s.n_ctx.toLocaleString('en-US')} tokens`],
    ['chat', 'Chat template', s.chatTemplate ? 'yes' : 'no'],
  ];
  return (
    <div className="summary-card" data-testid="model-summary" data-name={s.name} data-heads={s.n_heads} data-layers={s.n_layers}>
      <div className="summary-head">
        <h3>
          <span className="badge yes">loaded</span> <code>{s.name}</code>
        </h3>
        <span className="muted small">
          from {s.source === 'hub' ? 'the Hub' : s.source === 'files' ? 'a local folder' : 'a URL'} in {formatDuration(s.loadMs / 1000)}
        </span>
        <button type="button" className="secondary small-btn" onClick={() => void unload()} data-testid="unload">
          Unload
        </button>
      </div>
      <dl className="facts cols">
        {facts.map(([k, label, v]) => (
          <div key={k}>
            <dt>{label}</dt>
            <dd data-testid={`summary-${k}`}>{v}</dd>
          </div>
        ))}
      </dl>
      {s.warnings.length ? (
        <ul className="warnings">
          {s.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
      <VerifyOnnx summary={s} />
    </div>
  );
}
