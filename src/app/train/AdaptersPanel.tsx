// Adapters: the active one (the model summary's adapter, or the base model), a PEFT adapter
// imported from its two files (adapter_config.json + adapter_model.safetensors, read here as
// bytes and merged into the weights by the engine, exactly as `lab forward --adapter`), and the
// way back to the base model.
import { useState } from 'react';
import { ErrorBox, useLab } from '../lab.tsx';
import { ADAPTER_FILES } from './download.ts';

export function AdaptersPanel() {
  const summary = useLab((s) => s.model.summary);
  const busy = useLab((s) => s.adapterBusy);
  const error = useLab((s) => s.adapterError);
  const useAdapter = useLab((s) => s.useAdapter);
  const [files, setFiles] = useState<Record<string, Uint8Array>>({});
  const [name, setName] = useState('');
  const [note, setNote] = useState('');
  const active = summary?.adapter ?? null;
  const missing = ADAPTER_FILES.filter((f) => !files[f]);

  const pick = async (list: FileList | null) => {
    const got: Record<string, Uint8Array> = { ...files };
    const other: string[] = [];
    for (const f of Array.from(list ?? [])) {
      if (ADAPTER_FILES.includes(f.name)) got[f.name] = new Uint8Array(await f.arrayBuffer());
      else other.push(f.name);
    }
    setFiles(got);
    setNote(other.length ? `Not used: ${other.join(', ')} (an adapter is adapter_config.json + adapter_model.safetensors).` : '');
    if (!name) setName(guessName(got));
  };

  return (
    <section className="panel" data-testid="adapters-panel" data-active={active?.name ?? ''} aria-labelledby="adapters-h">
      <h2 id="adapters-h">Adapters</h2>
      <p data-testid="active-adapter">
        Active: <strong>{active ? active.name : 'base model'}</strong>
        {active ? (
          <span className="muted small">
            {' '}
            (LoRA r {active.r}, α {active.alpha} on {active.targets.join(', ')}, merged into the weights)
          </span>
        ) : null}{' '}
        <button type="button" className="secondary small-btn" disabled={!summary || !active || busy} onClick={() => void useAdapter(null)} data-testid="use-base">
          Base model
        </button>
        {busy ? <span className="muted small"> switching…</span> : null}
      </p>
      <h3>Import a PEFT adapter</h3>
      <div className="controls">
        <label className="field">
          <span>adapter_config.json and adapter_model.safetensors</span>
          <input type="file" multiple accept=".json,.safetensors" onChange={(e) => void pick(e.target.files)} data-testid="adapter-import-files" />
        </label>
        <label className="field">
          <span>Name</span>
          <input className="narrow" value={name} onChange={(e) => setName(e.target.value)} data-testid="adapter-import-name" />
        </label>
        <button
          type="button"
          disabled={!summary || busy || missing.length > 0}
          onClick={() => void useAdapter({ name: name.trim() || 'imported adapter', files })}
          data-testid="adapter-import-use"
        >
          Use imported adapter
        </button>
      </div>
      <p className="small muted">
        {missing.length ? `Needs ${missing.join(' and ')}.` : 'Both files picked.'} The adapter must match the loaded model’s shapes; it is merged as the weights reload.
        {summary ? '' : ' Load a model first.'}
      </p>
      {note ? <p className="small bad">{note}</p> : null}
      {error ? <ErrorBox title="Could not switch the adapter" error={error} testid="adapter-error" /> : null}
    </section>
  );
}

/** A name from adapter_config.json (its base model and rank), else 'imported adapter'. */
function guessName(files: Record<string, Uint8Array>): string {
  try {
    const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json'])) as { r?: number; base_model_name_or_path?: string };
    return `imported r${cfg.r ?? '?'}${cfg.base_model_name_or_path ? ` (${String(cfg.base_model_name_or_path).split('/').pop()})` : ''}`;
  } catch {
    return '';
  }
}
