// Where the items come from: a JSONL file the speaker picks (read in this page, never uploaded), with the
// SOURCE_MANIFEST.yml that declares its terms if there is one (the export inherits them); or prompts typed
// here and answered by the loaded model. Either way the items are kept on this device with their source.
import { useContext, useState } from 'react';
import { StoreContext, useLab } from '../lab.tsx';
import { sha256Hex } from '../../engine/util/sha256.ts';
import { decideUpload, GovernanceError, parseManifest } from '../../engine/train/governance.ts';
import { parseItemsJsonl, termsOf, type ItemSource, type SourceTerms } from './session.ts';
import { generateItems, promptsOf } from './generate.ts';
import type { ValidateStore } from './validateStore.ts';

interface Picked {
  name: string;
  text: string;
}

/** The manifest's terms for the file, or why they cannot be used (a removal stops all downstream work, validation included). */
function termsFor(file: Picked, manifest: Picked, path: string): { terms: SourceTerms } | { problem: string } {
  try {
    parseManifest(manifest.text, manifest.name);
  } catch (e) {
    if (e instanceof GovernanceError) return { problem: e.message };
    throw e;
  }
  const d = decideUpload({ name: file.name, manifest: { ...manifest, path } });
  const removed = d.matched.find((r) => r.permission_status === 'removed_pending_review');
  if (removed) return { problem: `${manifest.name}: record ${removed.source_id} is removed_pending_review for ${d.path}: a removal stops all downstream work, validation included, until it is reviewed.` };
  return { terms: termsOf(d) };
}

export function LoadPanel({ store, open }: { store: ValidateStore; open: boolean }) {
  return (
    <details className="panel v-load" open={open} data-testid="validate-load">
      <summary>
        <h2>Add items</h2>
      </summary>
      <FromFile store={store} />
      <FromModel store={store} />
    </details>
  );
}

function FromFile({ store }: { store: ValidateStore }) {
  const [file, setFile] = useState<Picked | null>(null);
  const [manifest, setManifest] = useState<Picked | null>(null);
  const [path, setPath] = useState('');
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const read = async (f: File | undefined) => (f ? { name: f.name, text: await f.text() } : null);

  const add = async () => {
    if (!file) return;
    const parsed = parseItemsJsonl(file.text, file.name, 'pending');
    const sha256 = await sha256Hex(file.text);
    const id = `f${sha256.slice(0, 12)}`;
    let terms: SourceTerms | null = null;
    if (manifest) {
      const t = termsFor(file, manifest, path || file.name);
      if ('problem' in t) return setNote({ ok: false, text: t.problem });
      terms = t.terms;
    }
    const items = parsed.items.map((it) => ({ ...it, id: `${id}:${it.line}`, source: id }));
    const problems = parsed.problems.length ? ` ${parsed.problems.length} line${parsed.problems.length > 1 ? 's' : ''} skipped: ${parsed.problems.slice(0, 3).map((p) => p.message).join('; ')}${parsed.problems.length > 3 ? '; …' : ''}` : '';
    if (!items.length) return setNote({ ok: false, text: `${file.name}: no items.${problems}` });
    const source: ItemSource = { id, kind: parsed.samples ? 'grpo-samples' : 'file', name: file.name, loadedAt: new Date().toISOString(), sha256, items: items.length, terms };
    const r = await store.getState().addItems(source, items);
    setNote({ ok: r.added > 0, text: `${file.name}: ${r.added} item${r.added === 1 ? '' : 's'} added${r.skipped ? `, ${r.skipped} already here` : ''}.${problems}` });
  };

  return (
    <div className="v-source">
      <h3>From a file</h3>
      <p className="small muted">
        One item a line: {'{"prompt", "output"}'}, {'{"prompt", "outputs": [a, b]}'} (an A/B choice), or the <code>samples.jsonl</code> of a <code>lab grpo</code> run. The file is read in this page; nothing is
        uploaded.
      </p>
      <div className="controls">
        <label className="field">
          <span>Items (.jsonl)</span>
          <input type="file" accept=".jsonl,.json,.txt" onChange={async (e) => (setFile(await read(e.target.files?.[0])), setNote(null))} data-testid="validate-file-input" />
        </label>
        <label className="field">
          <span>Its SOURCE_MANIFEST.yml (if it has one)</span>
          <input type="file" accept=".yml,.yaml" onChange={async (e) => setManifest(await read(e.target.files?.[0]))} data-testid="validate-manifest-input" />
        </label>
        <label className="field">
          <span>The file's path inside the manifest's folder</span>
          <input className="path" value={path} placeholder={file?.name ?? 'e.g. review/items.jsonl'} disabled={!manifest} onChange={(e) => setPath(e.target.value)} data-testid="validate-manifest-path" />
        </label>
      </div>
      <div className="actions">
        <button type="button" disabled={!file} onClick={() => void add()} data-testid="validate-add-file">
          Add {file ? `the items of ${file.name}` : 'the items'}
        </button>
        {file && !manifest ? <span className="small muted">No manifest: the export will say that the items' terms were not declared.</span> : null}
      </div>
      {note ? (
        <p className={note.ok ? 'small' : 'small bad'} role="status" data-testid="validate-file-note">
          {note.text}
        </p>
      ) : null}
    </div>
  );
}

function FromModel({ store }: { store: ValidateStore }) {
  const lab = useContext(StoreContext)!;
  const summary = useLab((s) => s.model.summary);
  const loading = useLab((s) => s.model.status === 'loading');
  const [text, setText] = useState('');
  const [outputs, setOutputs] = useState<1 | 2>(2);
  const [maxNew, setMaxNew] = useState(64);
  const [run, setRun] = useState<{ done: number; total: number } | null>(null);
  const [note, setNote] = useState('');
  const prompts = promptsOf(text);

  const go = async () => {
    setNote('');
    setRun({ done: 0, total: prompts.length * outputs });
    try {
      const r = await generateItems(lab, { prompts, outputs, maxNewTokens: maxNew }, (done, total) => setRun({ done, total }));
      if (r.items.length) await store.getState().addItems(r.source, r.items);
      setNote(`${r.items.length} item${r.items.length === 1 ? '' : 's'} added from ${r.source.name}${r.stopped ? ` (${r.stopped})` : ''}.`);
      if (r.items.length === prompts.length) setText('');
    } catch (e) {
      setNote((e as Error).message);
    } finally {
      setRun(null);
    }
  };

  return (
    <div className="v-source">
      <h3>From the loaded model</h3>
      {!summary ? (
        <p className="small muted" data-testid="validate-no-model">
          {loading ? 'A model is loading…' : 'No model is loaded. Load one on the Models page to have it answer prompts here.'}
        </p>
      ) : (
        <>
          <label className="block">
            <span>
              Prompts, one a line, for <strong>{summary.name}</strong>
              {summary.adapter ? ` with the adapter ${summary.adapter.name}` : ''}
            </span>
            <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} data-testid="validate-prompts" />
          </label>
          <div className="controls">
            <fieldset className="radios">
              <legend>Outputs per prompt</legend>
              <label className="check">
                <input type="radio" name="v-outputs" checked={outputs === 1} onChange={() => setOutputs(1)} /> one (greedy)
              </label>
              <label className="check">
                <input type="radio" name="v-outputs" checked={outputs === 2} onChange={() => setOutputs(2)} /> two to choose from (sampled)
              </label>
            </fieldset>
            <label>
              Max new tokens
              <input type="number" className="num" min={1} max={summary.n_ctx} value={maxNew} onChange={(e) => setMaxNew(Math.max(1, Math.floor(+e.target.value || 1)))} />
            </label>
          </div>
          <div className="actions">
            <button type="button" disabled={!prompts.length || !!run || loading} onClick={() => void go()} data-testid="validate-generate">
              Generate {prompts.length ? `${prompts.length * outputs} output${prompts.length * outputs > 1 ? 's' : ''}` : ''}
            </button>
            <button type="button" className="secondary" disabled={!run} onClick={() => lab.getState().stopGenerate()}>
              Stop
            </button>
            {run ? (
              <span className="small muted" role="status">
                {run.done} of {run.total}…
              </span>
            ) : null}
          </div>
        </>
      )}
      {note ? <p className="small" role="status">{note}</p> : null}
    </div>
  );
}
