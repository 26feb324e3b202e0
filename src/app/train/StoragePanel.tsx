// What the lab keeps in this browser: the bytes of the stored runs (counted by reading each run's
// result and checkpoints through the engine; an engine call that sums sizes without moving the
// bytes would be cheaper), the Hub model cache with its Clear button, and the origin's usage and
// quota as the browser estimates them (navigator.storage.estimate()).
import { useEffect, useState } from 'react';
import { formatBytes, useLab } from '../lab.tsx';

interface Estimate {
  usage: number | null;
  quota: number | null;
}


export function StoragePanel() {
  const runs = useLab((s) => s.runs.list);
  const cache = useLab((s) => s.cache);
  const refreshCache = useLab((s) => s.refreshCache);
  const clearCache = useLab((s) => s.clearCache);
  const runsUsage = useLab((s) => s.runsUsage);
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [runBytes, setRunBytes] = useState<{ bytes: number; runs: number; checkpoints: number; result: number; other: number; counting: boolean } | null>(null);

  const readEstimate = async () => {
    const e = navigator.storage?.estimate ? await navigator.storage.estimate().catch(() => null) : null;
    setEstimate({ usage: e?.usage ?? null, quota: e?.quota ?? null });
  };
  useEffect(() => {
    void refreshCache();
    void readEstimate();
  }, [refreshCache, runs]);

  // the engine sums what the run store holds, by kind, without moving any bytes out of the worker
  const countRuns = async () => {
    setRunBytes((b) => ({ bytes: 0, runs: 0, checkpoints: 0, result: 0, other: 0, ...b, counting: true }));
    const u = await runsUsage().catch(() => []);
    const sum = (k: 'checkpoints' | 'result' | 'other') => u.reduce((a, x) => a + x[k], 0);
    const [checkpoints, result, other] = [sum('checkpoints'), sum('result'), sum('other')];
    setRunBytes({ bytes: checkpoints + result + other, runs: u.length, checkpoints, result, other, counting: false });
  };
  useEffect(() => {
    void countRuns();
  }, [runs]); // eslint-disable-line react-hooks/exhaustive-deps

  const u = cache.usage;
  return (
    <section className="panel" data-testid="storage-panel" aria-labelledby="storage-h">
      <h2 id="storage-h">Storage in this browser</h2>
      <table className="storage-table">
        <tbody>
          <tr>
            <th scope="row">Training runs</th>
            <td className="num" data-testid="storage-runs" data-bytes={runBytes && !runBytes.counting ? runBytes.bytes : ''}>
              {runBytes && !runBytes.counting
                ? `${formatBytes(runBytes.bytes)} in ${runBytes.runs} run${runBytes.runs === 1 ? '' : 's'}: checkpoints ${formatBytes(runBytes.checkpoints)}, results ${formatBytes(runBytes.result)}, metrics and data ${formatBytes(runBytes.other)}`
                : 'counting…'}
            </td>
            <td>
              <button type="button" className="link" onClick={() => void countRuns()} disabled={runBytes?.counting || runs.length === 0} data-testid="storage-count-runs">
                Count again
              </button>
              <span className="muted small"> (results and checkpoints; delete runs above to free space)</span>
            </td>
          </tr>
          <tr>
            <th scope="row">Hub model cache</th>
            <td className="num" data-testid="storage-cache" data-bytes={u?.bytes ?? ''}>
              {u ? `${formatBytes(u.bytes)} in ${u.files} file${u.files === 1 ? '' : 's'}${u.partial ? ` (${u.partial} partial)` : ''}` : '…'}
            </td>
            <td>
              <button type="button" className="link" onClick={() => void clearCache().then(readEstimate)} disabled={cache.busy || !u || u.files === 0} data-testid="storage-clear-cache">
                Clear cache
              </button>
              {cache.error ? <span className="bad small"> {cache.error.message}</span> : null}
            </td>
          </tr>
          <tr>
            <th scope="row">This site, in all</th>
            <td className="num" data-testid="storage-estimate" data-usage={estimate?.usage ?? ''} data-quota={estimate?.quota ?? ''}>
              {estimate ? (estimate.usage === null ? 'unknown' : `${formatBytes(estimate.usage)} of ${estimate.quota === null ? '?' : formatBytes(estimate.quota)}`) : '…'}
            </td>
            <td className="muted small">the browser’s estimate (navigator.storage.estimate)</td>
          </tr>
        </tbody>
      </table>
    </section>
  );
}
