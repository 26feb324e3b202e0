// The Data page's dataset inspector: a local file (.jsonl, .json, .parquet; read in this page, never
// uploaded) or a Hub dataset (hf://datasets/{owner}/{name}[/file], or a split's Parquet files), its
// report per record format and line, and the chosen rows saved as JSONL with a provenance record.
// The same functions as `lab data` (engine/data/); Hub datasets are fetched by the engine (its worker). Looking at data approves nothing: training still
// needs the source's manifest record (default-deny).
import { useRef, useState } from 'react';
import { dataProvenance, inspectRows, readRows, selectedJsonl, type DatasetReport, type LoadedRows } from '../../engine/data/dataset.ts';
import { describeRef, parseHubDatasetRef } from '../../engine/data/hub-dataset.ts';
import type { RecordSchema } from '../../engine/data/records.ts';
import { useLab } from '../lab.tsx';
import { downloadFiles } from '../train/download.ts';
import { ReportView } from './ReportView.tsx';
import './data.css';

interface Inspected {
  loaded: LoadedRows;
  report: DatasetReport;
}

const enc = (s: string) => new TextEncoder().encode(s);

export function DatasetPanel() {
  const fetchHubDataset = useLab((s) => s.fetchHubDataset);
  const [got, setGot] = useState<Inspected | null>(null);
  const [use, setUse] = useState<RecordSchema[]>([]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState('');
  const [ref, setRef] = useState('');
  const [config, setConfig] = useState('default');
  const [split, setSplit] = useState('train');
  // for gated datasets; in this component's memory only, as the model panel keeps its token
  const [token, setToken] = useState('');
  const abort = useRef<AbortController | null>(null);

  const show = (loaded: LoadedRows) => {
    const report = inspectRows(loaded);
    setGot({ loaded, report });
    setUse(report.mixed ? [] : (Object.keys(report.counts) as RecordSchema[]));
  };
  const run = async (what: string, f: (signal: AbortSignal) => Promise<LoadedRows>) => {
    abort.current?.abort();
    const ac = (abort.current = new AbortController());
    setError('');
    setBusy(what);
    try {
      show(await f(ac.signal));
    } catch (e) {
      if (!ac.signal.aborted) setError((e as Error).message);
    } finally {
      if (abort.current === ac) setBusy('');
    }
  };
  const takeFile = (file: File | undefined) => file && void run(`reading ${file.name}`, async () => readRows(new Uint8Array(await file.arrayBuffer()), file.name));
  const takeHub = () =>
    void run('downloading', (signal) => {
      parseHubDatasetRef(ref.trim(), config.trim(), split.trim()); // a bad name is said here, before the worker
      return fetchHubDataset(
        { ref: ref.trim(), config: config.trim(), split: split.trim(), token: token.trim() || undefined },
        ({ file, index, count, download: d }) =>
          setBusy(`downloading ${file}${count > 1 ? ` (${index + 1} of ${count})` : ''}${d ? `: ${(d.bytes / 1e6).toFixed(1)} MB${d.total ? ` of ${(d.total / 1e6).toFixed(1)} MB` : ''}${d.etaSec ? `, about ${Math.ceil(d.etaSec)} s left` : ''}` : ''}`),
        signal,
      );
    });
  const save = async () => {
    if (!got) return;
    const { text, rows } = selectedJsonl(got.loaded, got.report, use);
    const base = got.loaded.file.replace(/^hf:\/\/datasets\//, '').replace(/[^\w.-]+/g, '_').replace(/\.(jsonl|json|parquet)$/i, '');
    const name = `${base}.${use.join('+')}.jsonl`;
    const provenance = await dataProvenance({ generator: 'the Data page (src/app/data/DatasetPanel.tsx, Stoney-RL Lab)', loaded: got.loaded, report: got.report, use, rows, file: name, text });
    downloadFiles({ [name]: enc(text), [`${name}.provenance.json`]: enc(JSON.stringify(provenance, null, 1)) }, [name, `${name}.provenance.json`]);
  };

  return (
    <section className="panel" data-testid="dataset-panel" aria-labelledby="dataset-h">
      <h2 id="dataset-h">Your datasets</h2>
      <p className="muted">
        Look at a dataset before training on it: its rows per record format, rows dropped and why, and the reason for every row that cannot be used. Files are read in this
        page; nothing is uploaded. Looking approves nothing: training still needs the source's manifest record.
      </p>
      <div className="controls">
        <label className="field">
          <span>A file (.jsonl, .json, .parquet)</span>
          <input type="file" accept=".jsonl,.ndjson,.json,.parquet" onChange={(e) => takeFile(e.target.files?.[0])} data-testid="dataset-file" />
        </label>
      </div>
      <div className="controls">
        <label className="field">
          <span>Or a Hub dataset</span>
          <input className="path" value={ref} placeholder="hf://datasets/openai/gsm8k  or  hf://datasets/owner/name/file.jsonl" onChange={(e) => setRef(e.target.value)} data-testid="dataset-hub-ref" />
        </label>
        <label className="field">
          <span>Config</span>
          <input value={config} onChange={(e) => setConfig(e.target.value)} size={10} data-testid="dataset-hub-config" />
        </label>
        <label className="field">
          <span>Split</span>
          <input value={split} onChange={(e) => setSplit(e.target.value)} size={8} data-testid="dataset-hub-split" />
        </label>
        <label className="field">
          <span>Access token (gated sets)</span>
          <input type="password" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" placeholder="hf_…" size={10} data-testid="dataset-hub-token" />
        </label>
        <button type="button" disabled={!ref.trim() || busy !== ''} onClick={takeHub} data-testid="dataset-hub-load">
          Load
        </button>
        {busy ? (
          <button type="button" onClick={() => (abort.current?.abort(), setBusy(''))} data-testid="dataset-cancel">
            Cancel
          </button>
        ) : null}
      </div>
      {ref.trim() && !busy ? <p className="small muted">{safeDescribe(ref, config, split)} · a download resumes where it stopped, and is kept for offline use; a token is kept in this page's memory only.</p> : null}
      {busy ? (
        <p className="small" role="status" data-testid="dataset-busy">
          {busy}…
        </p>
      ) : null}
      {error ? (
        <p className="bad small" role="alert" data-testid="dataset-error">
          {error}
        </p>
      ) : null}
      {got ? (
        <>
          <ReportView report={got.report} use={use} onUse={setUse} />
          <button type="button" disabled={use.length === 0} onClick={() => void save()} data-testid="dataset-save">
            Save the chosen rows (.jsonl + provenance)
          </button>
        </>
      ) : null}
    </section>
  );
}

function safeDescribe(ref: string, config: string, split: string): string {
  try {
    return describeRef(parseHubDatasetRef(ref.trim(), config.trim() || 'default', split.trim() || 'train'));
  } catch (e) {
    return (e as Error).message;
  }
}
