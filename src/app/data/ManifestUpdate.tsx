// A source's terms changed (a community asked for a removal, a record became restricted): the user picks
// the updated SOURCE_MANIFEST.yml and the engine decides every stored run's data again. Runs it now
// refuses are stopped if they are training and marked revoked; their files, adapter and resume are
// refused from then on (Engine.applyManifest). The lab cannot see a manifest change by itself in the
// browser: this is where it is told.
import { useState } from 'react';
import type { ManifestCheck } from '../../engine/api.ts';
import { useLab } from '../lab.tsx';

export function ManifestUpdate() {
  const applyManifest = useLab((s) => s.applyManifest);
  const [result, setResult] = useState<(ManifestCheck & { name: string }) | null>(null);
  const [error, setError] = useState('');
  const take = async (f: File | undefined) => {
    if (!f) return;
    setError('');
    setResult(null);
    try {
      setResult({ ...(await applyManifest({ name: f.name, text: await f.text() })), name: f.name });
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section className="panel" data-testid="manifest-update" aria-labelledby="manifest-update-h">
      <h2 id="manifest-update-h">A source's terms changed</h2>
      <p className="muted">
        When a community withdraws a source or restricts it, pick the updated SOURCE_MANIFEST.yml here. Every stored run trained on that manifest's sources is decided
        again: a run it now refuses is stopped if it is training, and its adapter, checkpoints and resume are refused from then on.
      </p>
      <label className="field">
        <span>The updated manifest</span>
        <input type="file" accept=".yml,.yaml" onChange={(e) => void take(e.target.files?.[0])} data-testid="manifest-update-file" />
      </label>
      {error ? (
        <p className="bad small" role="alert" data-testid="manifest-update-error">
          {error}
        </p>
      ) : null}
      {result ? (
        <div className="small" role="status" data-testid="manifest-update-result" data-revoked={result.revoked.length}>
          {result.name}: {result.checked} stored {result.checked === 1 ? 'run uses' : 'runs use'} its sources;{' '}
          {result.revoked.length ? `${result.revoked.length} now refused:` : 'all are still allowed.'}
          {result.revoked.length ? (
            <ul>
              {result.revoked.map((r) => (
                <li key={r.runId}>
                  <strong>{r.name}</strong> ({r.runId}){r.wasTraining ? ', stopped while training' : ''}: {r.reason}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
