// Training data: an embedded task set (the lab's own synthetic rows) or a JSONL, JSON or Parquet file
// picked or dropped here (read in the page; what it holds is shown per record format, and for a file
// that mixes formats the user ticks which rows train), with the SOURCE_MANIFEST.yml that governs it. The
// governance decision is shown before anything starts; default-deny.
import { useState, type DragEvent } from 'react';
import type { TrainingDecision } from '../../engine/api.ts';
import { TASKS, type TaskName } from '../../tasks/index.ts';
import { useLab } from '../lab.tsx';
import type { DataChoice } from '../trainSlice.ts';
import { NumField } from './NumField.tsx';
import { inspectRows, readDataFile, selectedJsonl, type DatasetReport, type LoadedRows } from '../../engine/data/dataset.ts';
import type { RecordSchema } from '../../engine/data/records.ts';
import { ReportView } from '../data/ReportView.tsx';
import { DeclareTerms } from './DeclareTerms.tsx';
import '../data/data.css';

export function DataPicker({ disabled }: { disabled: boolean }) {
  const data = useLab((s) => s.trainData);
  const setData = useLab((s) => s.setTrainData);
  // the last of each kind, so switching back and forth keeps what was chosen
  const [lastEmbedded, setLastEmbedded] = useState<Extract<DataChoice, { kind: 'embedded' }>>(data.kind === 'embedded' ? data : { kind: 'embedded', task: 'arithmetic', n: 200, seed: 0 });
  const [lastFile, setLastFile] = useState<Extract<DataChoice, { kind: 'file' }> | null>(data.kind === 'file' ? data : null);
  const choose = (c: DataChoice) => {
    if (c.kind === 'embedded') setLastEmbedded(c);
    else setLastFile(c);
    setData(c);
  };
  return (
    <fieldset className="train-data" disabled={disabled} data-testid="train-data">
      <legend>Data</legend>
      <fieldset className="radios" aria-label="Data source">
        <label className="check">
          <input type="radio" name="data-kind" checked={data.kind === 'embedded'} onChange={() => choose(lastEmbedded)} data-testid="data-embedded" /> an embedded task set
        </label>
        <label className="check">
          <input
            type="radio"
            name="data-kind"
            checked={data.kind === 'file'}
            onChange={() => choose(lastFile ?? { kind: 'file', name: '', text: '', manifest: null })}
            data-testid="data-file"
          />{' '}
          a data file
        </label>
      </fieldset>
      {data.kind === 'embedded' ? <EmbeddedData choice={data} onChange={choose} /> : <FileData choice={data} onChange={choose} />}
      <Decision />
    </fieldset>
  );
}

function EmbeddedData({ choice, onChange }: { choice: Extract<DataChoice, { kind: 'embedded' }>; onChange: (c: DataChoice) => void }) {
  const desc = TASKS.find((t) => t.name === choice.task)?.description ?? '';
  return (
    <>
      <div className="controls">
        <label className="field">
          <span>Task</span>
          <select value={choice.task} onChange={(e) => onChange({ ...choice, task: e.target.value as TaskName })} data-testid="data-task">
            {TASKS.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name === 'conlang' ? 'Velmic puzzles (a constructed language)' : 'arithmetic word problems (GSM8K format)'}
              </option>
            ))}
          </select>
        </label>
        <label className="field" title="train: rows like the embedded model's SFT data (its train split; it trained on seed 1); rl: wordings its SFT never saw, for GRPO prompts that the model only sometimes solves">
          <span>Split</span>
          <select value={choice.split ?? 'train'} onChange={(e) => onChange({ ...choice, split: e.target.value as 'train' | 'rl' })} data-testid="data-split">
            <option value="train">train</option>
            <option value="rl">rl (unseen prompts, for GRPO)</option>
          </select>
        </label>
        <NumField label="Rows" value={choice.n} onChange={(n) => onChange({ ...choice, n })} testid="data-n" error={Number.isInteger(choice.n) && choice.n >= 1 && choice.n <= 100_000 ? undefined : '1 … 100000'} />
        <NumField label="Seed" value={choice.seed} onChange={(seed) => onChange({ ...choice, seed })} testid="data-seed" error={Number.isInteger(choice.seed) && choice.seed >= 0 ? undefined : 'a whole number ≥ 0'} />
      </div>
      <p className="muted small">{desc.split('\n')[0]}</p>
    </>
  );
}

/** Reads a picked or dropped file as text. */
async function readText(f: File): Promise<{ name: string; text: string }> {
  return { name: f.name, text: await f.text() };
}

/**
 * Reads a data file (.jsonl, .json, .parquet) and what it holds (engine/data/dataset.ts, as `lab data`).
 * JSONL goes to training as it is; JSON and Parquet rows as JSONL lines at their row numbers.
 */
async function readData(f: File): Promise<{ name: string; text: string; got: Inspected }> {
  const { loaded, text } = await readDataFile(new Uint8Array(await f.arrayBuffer()), f.name);
  return { name: f.name, text, got: { loaded, report: inspectRows(loaded), text } };
}

interface Inspected {
  loaded: LoadedRows;
  report: DatasetReport;
  /** what trains when every format is chosen: a JSONL file's own text, or the rows as JSONL */
  text: string;
}

function FileData({ choice, onChange }: { choice: Extract<DataChoice, { kind: 'file' }>; onChange: (c: DataChoice) => void }) {
  const [over, setOver] = useState(false);
  const [note, setNote] = useState('');
  const [got, setGot] = useState<Inspected | null>(null);
  const [use, setUse] = useState<RecordSchema[]>([]);
  const read = async (f: File) => {
    try {
      const d = await readData(f);
      setGot(d.got);
      setUse(Object.keys(d.got.report.counts) as RecordSchema[]);
      setNote('');
      return d;
    } catch (e) {
      setNote((e as Error).message);
      return null;
    }
  };
  const takeData = async (f: File | undefined) => {
    const d = f && (await read(f));
    if (!d) return;
    onChange({ ...choice, name: d.name, text: d.text, manifest: choice.manifest ? { ...choice.manifest, path: choice.manifest.path || d.name } : null });
  };
  /** the rows of the chosen formats (all of them: the file's own text, or its rows as JSONL) */
  const choose = (next: RecordSchema[]) => {
    if (!got) return;
    setUse(next);
    const every = Object.keys(got.report.counts).every((s) => next.includes(s as RecordSchema));
    onChange({ ...choice, text: every ? got.text : selectedJsonl(got.loaded, got.report, next).text });
  };
  const takeManifest = async (f: File | undefined) => {
    if (!f) return;
    const { name, text } = await readText(f);
    onChange({ ...choice, manifest: { name, text, path: choice.manifest?.path || choice.name } });
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const files = Array.from(e.dataTransfer.files);
    const manifest = files.find((f) => /\.ya?ml$/i.test(f.name));
    const rows = files.find((f) => f !== manifest);
    if (!rows && !manifest) return setNote('Drop a .jsonl, .json or .parquet file (and, if you have it, its SOURCE_MANIFEST.yml).');
    // data first, so the manifest's path defaults to the data file's name
    if (rows) {
      const d = await read(rows);
      if (!d) return;
      const m = manifest ? await readText(manifest) : null;
      onChange({ kind: 'file', name: d.name, text: d.text, manifest: m ? { ...m, path: d.name } : choice.manifest ? { ...choice.manifest, path: d.name } : null });
    } else if (manifest) await takeManifest(manifest);
  };
  const lines = choice.text ? choice.text.split('\n').filter((l) => l.trim()).length : 0;
  return (
    <div
      className={`dropzone train-drop${over ? ' over' : ''}`}
      data-testid="data-dropzone"
      onDragOver={(e) => (e.preventDefault(), setOver(true))}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => void onDrop(e)}
    >
      <div className="controls">
        <label className="field">
          <span>Rows (.jsonl, .json, .parquet)</span>
          <input type="file" accept=".jsonl,.ndjson,.json,.parquet,.txt,application/jsonl" onChange={(e) => void takeData(e.target.files?.[0])} data-testid="data-file-input" />
        </label>
        <label className="field">
          <span>Its SOURCE_MANIFEST.yml</span>
          <input type="file" accept=".yml,.yaml" onChange={(e) => void takeManifest(e.target.files?.[0])} data-testid="data-manifest-input" />
        </label>
        <label className="field">
          <span>The file's path inside the manifest's folder</span>
          <input
            className="path"
            value={choice.manifest?.path ?? ''}
            placeholder={choice.name || 'e.g. texts/rows.jsonl'}
            disabled={!choice.manifest}
            onChange={(e) => choice.manifest && onChange({ ...choice, manifest: { ...choice.manifest, path: e.target.value } })}
            data-testid="data-manifest-path"
          />
        </label>
      </div>
      <p className="small muted">
        {choice.name ? (
          <>
            <strong>{choice.name}</strong>: {lines} non-empty lines
            {choice.manifest ? (
              <>
                {' '}
                · manifest <strong>{choice.manifest.name}</strong>
              </>
            ) : (
              ' · no manifest'
            )}
          </>
        ) : (
          'Or drop the file here (with its manifest). Files are read in this page; nothing is uploaded.'
        )}
      </p>
      {choice.name && !choice.manifest ? <DeclareTerms key={choice.name} fileName={choice.name} onDeclare={(m) => onChange({ ...choice, manifest: m })} /> : null}
      {got && got.loaded.file === choice.name ? <ReportView report={got.report} use={got.report.mixed ? use : undefined} onUse={got.report.mixed ? choose : undefined} /> : null}
      <p className="small muted">
        One row a line: {'{"messages"}'} (chat), {'{"prompt","completion"}'}, {'{"question","answer"}'} (GSM8K) or {'{"input_ids","labels"}'}; for DPO,{' '}
        {'{"prompt","chosen","rejected"}'} pairs.
      </p>
      {note ? <p className="bad small">{note}</p> : null}
    </div>
  );
}

/** The gate's decision for the chosen data, before Start. */
function Decision() {
  const d = useLab((s) => s.trainDecision);
  const data = useLab((s) => s.trainData);
  const empty = data.kind === 'file' && !data.name;
  return (
    <div className={`decision ${d.allowed ? 'ok' : 'refused'}`} data-testid="train-governance" data-allowed={String(d.allowed)} role="status">
      <strong>{empty ? 'No file chosen' : d.allowed ? 'Training allowed' : 'Training refused'}</strong>
      {empty ? <span> — pick a JSONL file and its SOURCE_MANIFEST.yml.</span> : <span data-testid="train-governance-reason"> — {d.reason}</span>}
      {d.allowed ? <Inherited d={d} /> : null}
    </div>
  );
}

export function Inherited({ d }: { d: TrainingDecision }) {
  const t = d.inherited;
  return (
    <div className="small muted">
      The trained {`adapter`} inherits: {t.prohibited_uses.length ? `prohibited uses ${t.prohibited_uses.join(', ')}` : 'no prohibited uses'}
      {t.contains_sensitive_content ? ', sensitive content' : ''}
      {t.sources.length ? ` · sources ${t.sources.join(', ')}` : ''}
      {t.local_contexts?.length ? (
        <ul className="lc-labels" data-testid="lc-labels">
          {t.local_contexts.map((l) => (
            <li key={`${l.kind}:${l.id ?? l.name}`}>
              <strong>{l.name}</strong> ({l.kind === 'notice' ? 'Local Contexts notice' : l.kind === 'tk_label' ? 'Traditional Knowledge label' : 'Biocultural label'}
              {l.community ? `, ${l.community}` : ''}){l.text ? `: ${l.text}` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      {t.cultural_context ? (
        <p className="cultural-context" role="note" data-testid="cultural-context">
          {t.cultural_context}
        </p>
      ) : null}
    </div>
  );
}
