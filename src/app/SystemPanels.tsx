// The system panels: the WebGPU adapter the engine runs on, and the kernel self-check.
import type { AdapterInfo } from '../engine/engine.ts';
import type { SelfCheckResult } from '../engine/selfcheck.ts';
import { ErrorBox, formatBytes, useLab } from './lab.tsx';

// ---- adapter -----------------------------------------------------------------------------------

const LIMIT_LABELS: [keyof AdapterInfo['limits'], string, 'bytes' | 'count'][] = [
  ['maxBufferSize', 'Max buffer size', 'bytes'],
  ['maxStorageBufferBindingSize', 'Max storage binding', 'bytes'],
  ['maxComputeWorkgroupStorageSize', 'Workgroup storage', 'bytes'],
  ['maxComputeInvocationsPerWorkgroup', 'Invocations per workgroup', 'count'],
  ['maxComputeWorkgroupSizeX', 'Workgroup size X', 'count'],
  ['maxStorageBuffersPerShaderStage', 'Storage buffers per stage', 'count'],
];

const KEY_FEATURES: [string, string][] = [
  ['shader-f16', 'fp16 math in shaders (optional)'],
  ['subgroups', 'subgroup operations'],
  ['timestamp-query', 'GPU timers for benchmarks'],
];

export function AdapterPanel() {
  const adapter = useLab((s) => s.adapter);
  return (
    <section className="panel" data-testid="adapter-panel" data-status={adapter.status}>
      <h2>WebGPU adapter</h2>
      {adapter.status === 'loading' || adapter.status === 'idle' ? <p className="muted">Asking the engine worker for a GPU adapter…</p> : null}
      {adapter.status === 'error' && adapter.error ? (
        <ErrorBox title={adapter.error.kind === 'unavailable' ? 'WebGPU is unavailable' : 'The GPU adapter cannot be used'} error={adapter.error} testid="gpu-error" />
      ) : null}
      {adapter.info ? <AdapterDetails info={adapter.info} /> : null}
    </section>
  );
}

function AdapterDetails({ info }: { info: AdapterInfo }) {
  const has = new Set(info.features);
  return (
    <div className="adapter">
      <dl className="facts">
        <dt>Vendor</dt>
        <dd data-testid="adapter-vendor">{info.vendor || '—'}</dd>
        <dt>Architecture</dt>
        <dd data-testid="adapter-architecture">{info.architecture || '—'}</dd>
        <dt>Description</dt>
        <dd data-testid="adapter-description">{info.description || '—'}</dd>
        <dt>Engine runs in</dt>
        <dd data-testid="adapter-where">{info.where === 'worker' ? 'a Web Worker' : info.where}</dd>
        {info.subgroupSizes ? (
          <>
            <dt>Subgroup size</dt>
            <dd>{info.subgroupSizes[0] === info.subgroupSizes[1] ? info.subgroupSizes[0] : `${info.subgroupSizes[0]}–${info.subgroupSizes[1]}`}</dd>
          </>
        ) : null}
      </dl>
      <div className="columns">
        <div>
          <h3>Key features</h3>
          <ul className="features">
            {KEY_FEATURES.map(([f, what]) => (
              <li key={f} data-testid={`feature-${f}`} data-present={has.has(f) ? 'yes' : 'no'}>
                <span className={has.has(f) ? 'badge yes' : 'badge skip'}>{has.has(f) ? 'yes' : 'no'}</span> <code>{f}</code>{' '}
                <span className="muted">{what}</span>
              </li>
            ))}
          </ul>
          <PrecisionControl f16={info.enabled.shaderF16} />
          <details>
            <summary>All {info.features.length} adapter features</summary>
            <p className="feature-list">{info.features.join(', ') || 'none'}</p>
          </details>
        </div>
        <div>
          <h3>Key limits</h3>
          <table className="limits">
            <tbody>
              {LIMIT_LABELS.map(([k, label, unit]) => (
                <tr key={k}>
                  <th scope="row">{label}</th>
                  <td>{unit === 'bytes' ? formatBytes(info.limits[k]) : info.limits[k]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  );
}

/** f32 (default) or mixed-precision matmuls (f16 operands, f32 sums), offered where the device has shader-f16. */
function PrecisionControl({ f16 }: { f16: boolean }) {
  const k = useLab((s) => s.kernels);
  const setPrecision = useLab((s) => s.setPrecision);
  const busy = k.status === 'setting';
  return (
    <div className="precision" data-testid="precision" data-precision={k.precision}>
      <fieldset className="radios">
        <legend>Matmul precision</legend>
        <label className="check">
          <input type="radio" name="precision" checked={k.precision === 'f32'} disabled={busy} onChange={() => void setPrecision('f32')} data-testid="precision-f32" /> f32
        </label>
        <label className="check" title={f16 ? '' : 'this GPU has no shader-f16'}>
          <input type="radio" name="precision" checked={k.precision === 'f16'} disabled={busy || !f16} onChange={() => void setPrecision('f16')} data-testid="precision-f16" /> f16
          operands, f32 sums
        </label>
      </fieldset>
      <p className="muted" data-testid="precision-note">
        {f16
          ? 'f16 operands halve the matmul tiles’ memory; results then differ from f32 by about 1e-3 relative, as under torch autocast. Applies to what runs next and is kept across reloads.'
          : 'This GPU has no shader-f16, so matmuls run in f32.'}
      </p>
      {k.status === 'error' && k.error ? <ErrorBox title="The precision could not be changed" error={k.error} testid="precision-error" /> : null}
    </div>
  );
}

// ---- self-check --------------------------------------------------------------------------------

export function SelfCheckPanel() {
  const check = useLab((s) => s.check);
  const run = useLab((s) => s.runSelfCheck);
  const cancel = useLab((s) => s.cancelSelfCheck);
  const adapterFailed = useLab((s) => s.adapter.status === 'error');
  const running = check.status === 'running';
  const p = check.progress;
  return (
    <section className="panel" data-testid="selfcheck-panel">
      <h2>Kernel self-check</h2>
      <p className="muted">Runs each WGSL kernel on small seeded inputs in the engine worker and compares it with a float64 reference.</p>
      <div className="actions">
        <button type="button" data-testid="run-selfcheck" onClick={() => void run()} disabled={running || adapterFailed}>
          Run kernel self-check
        </button>
        <button type="button" data-testid="cancel-selfcheck" onClick={cancel} disabled={!running}>
          Cancel
        </button>
      </div>
      {p && check.status !== 'idle' ? (
        <div className="progress" data-testid="selfcheck-progress">
          <progress value={p.done} max={Math.max(p.total, 1)} />
          <span>
            {p.done} / {p.total} {running && p.label !== 'done' ? <>— running <code>{p.label}</code></> : null}
          </span>
        </div>
      ) : null}
      <Summary />
      {check.status === 'error' && check.error ? <ErrorBox title="The self-check could not run" error={check.error} testid="selfcheck-error" /> : null}
      {check.report ? <ResultsTable results={check.report.results} /> : null}
    </section>
  );
}

function Summary() {
  const check = useLab((s) => s.check);
  const r = check.report;
  let text = '';
  if (check.status === 'done' && r) {
    text = r.ok
      ? `All ${r.passed} kernel checks passed${r.skipped ? ` (${r.skipped} skipped: not for this GPU)` : ''} in ${r.ms.toFixed(0)} ms (${r.where}).`
      : `${r.failed} of ${r.total} kernel checks failed${r.skipped ? `, ${r.skipped} skipped` : ''}.`;
  } else if (check.status === 'cancelled') {
    text = check.error?.message ?? 'Cancelled.';
  }
  if (!text) return null;
  const cls = check.status === 'done' && r?.ok ? 'summary ok' : 'summary bad';
  return (
    <p className={cls} data-testid="selfcheck-summary" data-status={check.status} data-ok={r?.ok ? 'true' : 'false'}>
      {text}
    </p>
  );
}

function formatErr(r: SelfCheckResult): string {
  if (r.status === 'skip') return '—';
  if (!Number.isFinite(r.maxErr)) return String(r.maxErr);
  return r.maxErr === 0 ? '0' : r.maxErr.toExponential(2);
}

function ResultsTable({ results }: { results: SelfCheckResult[] }) {
  return (
    <table className="results" data-testid="selfcheck-results">
      <thead>
        <tr>
          <th>Kernel</th>
          <th>Shape</th>
          <th>Result</th>
          <th className="num">Worst error</th>
          <th className="num">Tolerance</th>
          <th className="num">ms</th>
        </tr>
      </thead>
      <tbody>
        {results.map((r) => (
          <tr key={r.name} data-testid="selfcheck-row" data-kernel={r.name} data-status={r.status} title={r.message}>
            <td>
              <code>{r.name}</code>
            </td>
            <td>{r.shape}</td>
            <td>
              <span className={`badge ${r.status === 'pass' ? 'yes' : r.status === 'skip' ? 'skip' : 'no'}`}>{r.status}</span>
              {r.status !== 'pass' ? <div className={r.status === 'skip' ? 'detail muted' : 'detail'}>{r.message}</div> : null}
            </td>
            <td className="num">{formatErr(r)}</td>
            <td className="num">
              {r.tol.atol.toExponential(0)} + {r.tol.rtol.toExponential(0)}·|ref|
            </td>
            <td className="num">{r.ms.toFixed(1)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
