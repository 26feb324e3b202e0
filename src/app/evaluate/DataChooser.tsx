// The Evaluate page's data: an embedded set (the lab's own synthetic data, made by the engine as `lab tasks
// --split heldout|rl` writes it: the held-out test, or the rl split's prompts that GRPO trains on) or a file
// picked here (.jsonl, .json, .parquet: read in the page, JSON and Parquet rows as JSONL lines), optionally
// with the SOURCE_MANIFEST.yml that governs it.
// Evaluating a file needs no approving decision; the manifest's decision, sources and terms go into the
// results' provenance, and without one the results say that none was given.
import { useState } from 'react';
import { TASKS, type TaskName } from '../../tasks/index.ts';
import { readDataFile } from '../../engine/data/dataset.ts';
import { NumField } from '../train/NumField.tsx';
import { fileDecision, type EvalDataChoice } from './form.ts';

const TASK_TEXT: Record<TaskName, string> = { arithmetic: 'arithmetic (GSM8K format)', conlang: 'Velmic (a made-up language)' };

interface Props {
  choice: EvalDataChoice;
  onChange(c: EvalDataChoice): void;
  errors: { n?: string; dataSeed?: string; file?: string };
}

export function DataChooser({ choice, onChange, errors }: Props) {
  // the last of each kind, so switching back and forth keeps what was chosen
  const [lastEmbedded, setLastEmbedded] = useState<Extract<EvalDataChoice, { kind: 'embedded' }>>(choice.kind === 'embedded' ? choice : { kind: 'embedded', task: 'arithmetic', n: 100, seed: 0 });
  const [lastFile, setLastFile] = useState<Extract<EvalDataChoice, { kind: 'file' }>>(choice.kind === 'file' ? choice : { kind: 'file', name: '', text: '', rows: 0, manifest: null });
  const choose = (c: EvalDataChoice) => {
    if (c.kind === 'embedded') setLastEmbedded(c);
    else setLastFile(c);
    onChange(c);
  };
  return (
    <fieldset className="eval-box" data-testid="eval-data" data-kind={choice.kind}>
      <legend>Data</legend>
      <div className="radios" role="radiogroup" aria-label="Data source">
        <label className="check">
          <input type="radio" name="eval-data-kind" checked={choice.kind === 'embedded'} onChange={() => choose(lastEmbedded)} data-testid="eval-data-embedded" /> an embedded task set
        </label>{' '}
        <label className="check">
          <input type="radio" name="eval-data-kind" checked={choice.kind === 'file'} onChange={() => choose(lastFile)} data-testid="eval-data-file" /> a data file
        </label>
      </div>
      {choice.kind === 'embedded' ? <Embedded choice={choice} onChange={choose} errors={errors} /> : <FileData choice={choice} onChange={choose} error={errors.file} />}
    </fieldset>
  );
}

function Embedded({ choice, onChange, errors }: { choice: Extract<EvalDataChoice, { kind: 'embedded' }>; onChange: (c: EvalDataChoice) => void; errors: Props['errors'] }) {
  const split = choice.split ?? 'heldout';
  return (
    <>
      <div className="controls">
        <label className="field grow">
          <span>Task</span>
          <select value={choice.task} onChange={(e) => onChange({ ...choice, task: e.target.value as TaskName })} data-testid="eval-task">
            {TASKS.map((t) => (
              <option key={t.name} value={t.name}>
                {TASK_TEXT[t.name]}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Split</span>
          <select value={split} onChange={(e) => onChange({ ...choice, split: e.target.value as 'heldout' | 'rl' })} data-testid="eval-split">
            <option value="heldout">held-out (the test)</option>
            <option value="rl">rl (GRPO's prompts, unseen items)</option>
          </select>
        </label>
        <NumField label="Rows" value={choice.n} onChange={(n) => onChange({ ...choice, n })} testid="eval-n" error={errors.n} />
        <NumField label="Set seed" value={choice.seed} onChange={(seed) => onChange({ ...choice, seed })} testid="eval-data-seed" error={errors.dataSeed} />
      </div>
      <p className="muted small" data-testid="eval-data-facts">
        {split === 'heldout' ? 'Held-out items the model never trained on' : 'Items of the rl split (the wordings GRPO trains on; a seed other than the run’s gives items it never saw)'}, made here as{' '}
        <code>lab tasks --task {choice.task} --split {split} --n {Number.isFinite(choice.n) ? choice.n : '…'} --seed{' '}
        {Number.isFinite(choice.seed) ? choice.seed : '…'}</code> writes them. Provenance: the lab’s own synthetic data, no outside text
        {choice.task === 'conlang' ? '; Velmic is an invented language, not Stoney' : ''}.
      </p>
    </>
  );
}

async function readData(f: File): Promise<{ name: string; text: string }> {
  return { name: f.name, text: (await readDataFile(new Uint8Array(await f.arrayBuffer()), f.name)).text };
}

const countRows = (text: string) => text.split('\n').filter((l) => l.trim()).length;

function FileData({ choice, onChange, error }: { choice: Extract<EvalDataChoice, { kind: 'file' }>; onChange: (c: EvalDataChoice) => void; error?: string }) {
  const pick = async (f: File | undefined) => {
    if (!f) return;
    try {
      const { name, text } = await readData(f);
      const rows = countRows(text);
      onChange({ ...choice, name, text, rows, problem: rows ? undefined : `${name}: no rows`, manifest: choice.manifest ? { ...choice.manifest, path: choice.manifest.path || name } : null });
    } catch (e) {
      onChange({ ...choice, name: f.name, text: '', rows: 0, problem: (e as Error).message });
    }
  };
  const pickManifest = async (f: File | undefined) => {
    if (!f) return;
    onChange({ ...choice, manifest: { name: f.name, text: await f.text(), path: choice.manifest?.path || choice.name } });
  };
  const d = fileDecision(choice);
  return (
    <>
      <div className="controls">
        <label className="field">
          <span>Rows (.jsonl, .json, .parquet)</span>
          <input type="file" accept=".jsonl,.ndjson,.json,.parquet,.txt,application/jsonl" onChange={(e) => void pick(e.target.files?.[0])} data-testid="eval-file" />
        </label>
        <label className="field">
          <span>Its SOURCE_MANIFEST.yml (optional)</span>
          <input type="file" accept=".yml,.yaml" onChange={(e) => void pickManifest(e.target.files?.[0])} data-testid="eval-manifest" />
        </label>
        <label className="field">
          <span>The file's path inside the manifest's folder</span>
          <input
            className="path"
            value={choice.manifest?.path ?? ''}
            placeholder={choice.name || 'e.g. texts/rows.jsonl'}
            disabled={!choice.manifest}
            onChange={(e) => choice.manifest && onChange({ ...choice, manifest: { ...choice.manifest, path: e.target.value } })}
            data-testid="eval-manifest-path"
          />
        </label>
        {choice.manifest ? (
          <button type="button" className="secondary" onClick={() => onChange({ ...choice, manifest: null })} data-testid="eval-manifest-clear">
            No manifest
          </button>
        ) : null}
      </div>
      <p className="muted small" data-testid="eval-data-facts">
        {choice.name ? (
          <>
            <code>{choice.name}</code>: {choice.rows} row{choice.rows === 1 ? '' : 's'}. Exact match reads {'{"question", "answer"}'} rows whose answer ends in “#### …”; the other
            metrics read any row GRPO reads, each with a reference.
          </>
        ) : (
          'No file picked yet. Files are read in this page; nothing is uploaded.'
        )}
      </p>
      {error ? (
        <p className="bad small" role="alert" data-testid="eval-file-problem">
          {error}
        </p>
      ) : null}
      {choice.name ? (
        <p className="small" data-testid="eval-governance" data-allowed={d ? String(d.allowed) : 'none'}>
          {d ? (
            <>
              Source manifest <code>{choice.manifest!.name}</code>: {d.reason}
              {d.inherited.sources.length ? ` Sources: ${d.inherited.sources.join(', ')}.` : ''}
              {d.inherited.prohibited_uses.length ? ` Prohibited uses: ${d.inherited.prohibited_uses.join(', ')}.` : ''} (Evaluating needs no approval; this is recorded with the results.)
            </>
          ) : (
            <span className="warn-text">No source manifest: the results will say that the file’s sources and terms were not given.</span>
          )}
        </p>
      ) : null}
    </>
  );
}
