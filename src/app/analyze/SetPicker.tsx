// One prompt set of the Analyze page: an embedded task's held-out items (made here by src/tasks, as
// `lab tasks --items` writes them, with its provenance record) or a local JSONL file (read as text;
// its rows counted by the engine's parser, which names file:line for a bad one; no provenance record).
import { TASKS, type TaskName } from '../../tasks/index.ts';
import { embeddedCommand, embeddedFile, fileChoice, labelOfFile, TASK_LABEL, TASK_TEXT, withManifest, type SetChoice, type SetKey } from './sets.ts';

export interface SetPickerProps {
  which: SetKey;
  choice: SetChoice;
  onChange(c: SetChoice): void;
  /** prompts per set and the seed (the embedded set is generated with them) */
  n: number;
  seed: number;
  disabled: boolean;
}

export function SetPicker({ which, choice, onChange, n, seed, disabled }: SetPickerProps) {
  const W = which.toUpperCase();
  const source = choice.kind === 'embedded' ? choice.task : 'file';
  const choose = (v: string) =>
    onChange(v === 'file' ? { kind: 'file', label: '', name: '', text: '', rows: 0 } : { kind: 'embedded', task: v as TaskName, label: TASK_LABEL[v as TaskName] });
  const pick = async (f: File | undefined) => {
    if (!f) return;
    const keepLabel = choice.kind === 'file' && choice.label && choice.label !== labelOfFile(choice.name);
    const next = fileChoice(f.name, await f.text(), keepLabel ? choice.label : labelOfFile(f.name));
    const m = choice.kind === 'file' ? choice.manifest : null;
    onChange(next.kind === 'file' && m ? withManifest(next, { ...m, path: f.name }) : next);
  };
  const pickManifest = async (f: File | undefined) => {
    if (!f || choice.kind !== 'file') return;
    onChange(withManifest(choice, { name: f.name, text: await f.text(), path: choice.manifest?.path || choice.name }));
  };
  const okN = Number.isInteger(n) && n >= 1;
  return (
    <fieldset className="analyze-set" disabled={disabled} data-testid={`analyze-set-${which}`} data-kind={choice.kind}>
      <legend>
        Set {W}: <strong>{choice.label || '—'}</strong>
      </legend>
      <div className="controls">
        <label className="field grow">
          <span>Prompts</span>
          <select value={source} onChange={(e) => choose(e.target.value)} data-testid={`analyze-source-${which}`}>
            {TASKS.map((t) => (
              <option key={t.name} value={t.name}>
                embedded: {TASK_TEXT[t.name]}
              </option>
            ))}
            <option value="file">a local JSONL file…</option>
          </select>
        </label>
        <label className="field">
          <span>Label in the report</span>
          <input className="narrow" value={choice.label} onChange={(e) => onChange({ ...choice, label: e.target.value })} data-testid={`analyze-label-${which}`} />
        </label>
      </div>
      {choice.kind === 'file' ? (
        <label className="field">
          <span>JSONL: task items or {'{"question", "answer"}'} rows, either with its own token classes in {'"marks"'} (README)</span>
          <input type="file" accept=".jsonl,.json,.txt,application/jsonl,application/json,text/plain" onChange={(e) => void pick(e.target.files?.[0])} data-testid={`analyze-file-${which}`} />
        </label>
      ) : null}
      {choice.kind === 'file' && choice.name ? (
        <div className="controls">
          <label className="field">
            <span>Its SOURCE_MANIFEST.yml (optional: the report then carries the file's terms)</span>
            <input type="file" accept=".yml,.yaml" onChange={(e) => void pickManifest(e.target.files?.[0])} data-testid={`analyze-manifest-${which}`} />
          </label>
          {choice.manifest ? (
            <label className="field">
              <span>The file's path inside the manifest's folder</span>
              <input className="path" value={choice.manifest.path} onChange={(e) => onChange(withManifest(choice, { ...choice.manifest!, path: e.target.value }))} data-testid={`analyze-manifest-path-${which}`} />
            </label>
          ) : null}
        </div>
      ) : null}
      <SetFacts choice={choice} n={okN ? n : undefined} seed={seed} which={which} />
    </fieldset>
  );
}

function SetFacts({ choice, n, seed, which }: { choice: SetChoice; n?: number; seed: number; which: SetKey }) {
  if (choice.kind === 'embedded') {
    return (
      <p className="muted small" data-testid={`analyze-set-${which}-facts`} data-provenance="lab tasks">
        {n ?? '—'} held-out items, seed {seed}, generated here as <code>{embeddedFile(choice.task, n ?? 0, seed)}</code>. Provenance: the lab’s own synthetic data
        (<code title={embeddedCommand(choice.task, n ?? 0, seed)}>lab tasks</code>), no outside text{choice.task === 'conlang' ? '; Velmic is an invented language, not Stoney' : ''}.
      </p>
    );
  }
  if (!choice.name) return <p className="muted small">No file picked yet.</p>;
  return (
    <>
      <p className="muted small" data-testid={`analyze-set-${which}-facts`} data-provenance="none">
        <code>{choice.name}</code>: {choice.rows} row{choice.rows === 1 ? '' : 's'}
        {n && choice.rows > n ? ` (a seeded sample of ${n} is used)` : ''}.{' '}
        {choice.marks?.length ? (
          <span data-testid={`analyze-set-${which}-marks`}>
            Its rows mark their own token classes: {choice.marks.join(', ')} (each gets an attention-mass statistic where both sets have it).{' '}
          </span>
        ) : null}
        {choice.terms ? (
          <span data-testid={`analyze-set-${which}-terms`}>
            Sources {choice.terms.inherited.sources.join(', ') || 'none'} ({choice.terms.matched.map((m) => m.permission_status).join(', ') || 'no record matches'});{' '}
            {choice.terms.inherited.prohibited_uses.length ? `prohibited: ${choice.terms.inherited.prohibited_uses.join(', ')}` : 'no prohibited uses'}: the report inherits them.
          </span>
        ) : (
          <>
            <span className="warn-text">No provenance record</span>: the report says so, and it inherits the file’s terms.
          </>
        )}
      </p>
      {choice.terms?.inherited.cultural_context ? (
        <p className="cultural-context small" role="note">
          {choice.terms.inherited.cultural_context}
        </p>
      ) : null}
      {choice.problem ? (
        <p className="bad small" role="alert" data-testid={`analyze-set-${which}-problem`}>
          {choice.problem}
        </p>
      ) : null}
    </>
  );
}
