// "Verify against ONNX Runtime", a section of the model summary card: runs the ONNX export that sits
// beside the loaded model (model.onnx or onnx/model.onnx) in onnxruntime-web on a short fixed
// sentence and compares its logits with the lab's (Engine.verifyOnnx). The verdict is green when the
// largest per-position relative error is ≤ 1e-3 and the argmax agrees everywhere, amber otherwise;
// the two forward timings (same ids, logits read back) are shown for information.
import type { ModelSummary, VerifyBackend, VerifyOnnxProgress, VerifyOnnxResult } from '../engine/engine.ts';
import { ErrorBox, formatBytes, useLab } from './lab.tsx';
import { modelKey } from './verifySlice.ts';

/** The verdict's bound on max_t max_v |ours − ort| / max_v |ort| (fp32 vs fp32 is ~1e-6; bf16/f16 weights are still far below). */
export const VERIFY_REL_OK = 1e-3;

const BACKENDS: [VerifyBackend, string][] = [
  ['wasm', 'wasm (CPU)'],
  ['webgpu', 'webgpu (GPU)'],
];

const OK_STYLE = { color: 'var(--ok)' };
const AMBER_STYLE = { color: '#8a5a00' };

export function VerifyOnnx({ summary }: { summary: ModelSummary }) {
  const v = useLab((s) => s.verify);
  const loading = useLab((s) => s.model.status === 'loading');
  const run = useLab((s) => s.verifyOnnx);
  const cancel = useLab((s) => s.cancelVerify);
  const setBackend = useLab((s) => s.setVerifyBackend);
  const running = v.status === 'running';
  // a result belongs to the load it ran on: another model (or a reload) hides it
  const mine = v.model === modelKey(summary);
  return (
    <div className="verify-onnx" data-testid="verify-onnx" data-status={mine ? v.status : 'idle'} style={{ marginTop: 10, paddingTop: 8, borderTop: '1px solid var(--line)' }}>
      <div className="actions" style={{ margin: '4px 0', alignItems: 'flex-end' }}>
        <button type="button" className="secondary" onClick={() => void run()} disabled={running || loading} data-testid="verify-run">
          Verify against ONNX Runtime
        </button>
        <label className="small">
          Backend
          <select value={v.backend} onChange={(e) => setBackend(e.target.value as VerifyBackend)} disabled={running} data-testid="verify-backend">
            {BACKENDS.map(([b, label]) => (
              <option key={b} value={b}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {running ? (
          <button type="button" className="secondary" onClick={cancel} data-testid="verify-cancel">
            Cancel
          </button>
        ) : null}
      </div>
      {mine && running ? <ProgressLine p={v.progress} backend={v.backend} /> : null}
      {mine && v.status === 'done' && v.result ? <ResultLines r={v.result} /> : null}
      {mine && v.status === 'cancelled' ? (
        <p className="muted small" data-testid="verify-cancelled">
          Verification cancelled.
        </p>
      ) : null}
      {mine && v.status === 'error' && v.error ? <ErrorBox title="Verification against ONNX Runtime failed" error={v.error} testid="verify-error" /> : null}
    </div>
  );
}

function ProgressLine({ p, backend }: { p?: VerifyOnnxProgress; backend: VerifyBackend }) {
  const download = p?.phase === 'download onnx' && p.total > 0;
  const text = p ? p.detail.charAt(0).toUpperCase() + p.detail.slice(1) : `Looking for an ONNX export (ONNX Runtime ${backend})`;
  return (
    <div className="progress small" data-testid="verify-progress" data-phase={p?.phase ?? 'start'} aria-live="polite">
      <span>{text}…</span>
      {download ? (
        <>
          <progress value={p.bytes} max={p.total} aria-label="ONNX download progress" />
          <span className="muted">
            {formatBytes(p.bytes)} of {formatBytes(p.total)}
          </span>
        </>
      ) : null}
    </div>
  );
}

/** 3.1e-6 (NaN and ∞ as words). */
const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(1) : String(x));

/** Milliseconds with sensible digits: 0.84 ms, 12.3 ms, 1520 ms. */
const ms = (x: number) => `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)} ms`;

function ResultLines({ r }: { r: VerifyOnnxResult }) {
  if (!r.found) {
    return (
      <p className="small" style={AMBER_STYLE} data-testid="verify-result" data-verdict="absent">
        No ONNX export found beside this model (looked for {r.looked.join(', ')})
      </p>
    );
  }
  const ok = r.maxRelErr <= VERIFY_REL_OK && r.argmaxAgree === r.positions; // NaN fails the comparison
  const where = `over ${r.positions} position${r.positions === 1 ? '' : 's'}`;
  return (
    <>
      <p className="small" style={{ ...(ok ? OK_STYLE : AMBER_STYLE), fontWeight: 600, margin: '6px 0 2px' }} data-testid="verify-result" data-verdict={ok ? 'agree' : 'differ'}>
        {ok
          ? `ONNX Runtime (${r.backend}) agrees: max relative error ${sci(r.maxRelErr)} ${where}, argmax equal ${r.argmaxAgree}/${r.positions}`
          : `ONNX Runtime (${r.backend}) differs: max relative error ${sci(r.maxRelErr)} ${where} (worst at token ${r.worst}, max absolute error ${sci(r.maxAbsErr)}), argmax equal ${r.argmaxAgree}/${r.positions}`}
      </p>
      <p className="muted small" style={{ margin: '2px 0' }} data-testid="verify-timing">
        One forward over the same {r.positions} tokens (median of {r.reps}, logits back on the CPU): this lab {ms(r.msOurs)} · ONNX Runtime session.run {ms(r.msOrt)}.{' '}
        <span>
          {r.file}, {formatBytes(r.onnxBytes)}
        </span>
      </p>
    </>
  );
}
