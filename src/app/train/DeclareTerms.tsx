// For a picked file with no manifest: declare its terms here, from a labelled template for a well-known
// public set (used only once the user ticks that the file is that set) or as the user's own record (every
// field theirs to fill, permission_status never pre-chosen). The result is an ordinary SOURCE_MANIFEST.yml
// (engine/train/manifest-templates.ts) that the gate then reads, and that the user can save beside the data.
import { useState } from 'react';
import { declareRecord, EMPTY_RECORD_FORM, PUBLIC_TEMPLATES, templateManifest, type RecordForm } from '../../engine/train/manifest-templates.ts';
import { PERMISSION_STATUSES } from '../../engine/train/governance.ts';
import { downloadFiles } from './download.ts';

export interface DeclaredManifest {
  name: string;
  text: string;
  path: string;
}

export function DeclareTerms({ fileName, onDeclare }: { fileName: string; onDeclare: (m: DeclaredManifest) => void }) {
  const [template, setTemplate] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  const [form, setForm] = useState<RecordForm>({ ...EMPTY_RECORD_FORM, path_glob: fileName });
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [declared, setDeclared] = useState<string | null>(null);
  const t = PUBLIC_TEMPLATES[template];
  const use = (text: string, from: string) => {
    setDeclared(text);
    onDeclare({ name: `SOURCE_MANIFEST.yml (${from})`, text, path: fileName });
  };
  const field = (k: keyof RecordForm, label: string, hint = '') => (
    <label className="field" key={k}>
      <span>
        {label}
        {problems[k] ? <em className="bad"> — {problems[k]}</em> : hint ? <em className="muted"> — {hint}</em> : null}
      </span>
      <input value={String(form[k])} onChange={(e) => setForm({ ...form, [k]: e.target.value })} data-testid={`declare-${k}`} />
    </label>
  );
  return (
    <details className="declare-terms" data-testid="declare-terms">
      <summary>No manifest? Declare this file's terms</summary>
      <fieldset>
        <legend>A well-known public set</legend>
        <select value={template} onChange={(e) => (setTemplate(e.target.value), setConfirmed(false))} data-testid="declare-template">
          <option value="">choose…</option>
          {Object.keys(PUBLIC_TEMPLATES).map((n) => (
            <option key={n} value={n}>
              {n} ({PUBLIC_TEMPLATES[n].record.license})
            </option>
          ))}
        </select>
        {t ? (
          <>
            <label className="check">
              <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} data-testid="declare-confirm" /> I confirm: {t.confirm}
            </label>
            <button type="button" disabled={!confirmed || !fileName} onClick={() => use(templateManifest(template, fileName, 'the user (a tick box in the page)'), `the ${template} template`)} data-testid="declare-use-template">
              Declare with this template
            </button>
          </>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>Or your own record (only the source's community or rights holder can approve training)</legend>
        <div className="controls declare-form">
          {field('source_id', 'source_id', 'e.g. my-notes')}
          {field('path_glob', 'path_glob', 'the file, or a glob')}
          {field('data_type', 'data_type')}
          {field('origin', 'origin')}
          {field('rights_holder', 'rights_holder')}
          {field('license', 'license')}
          <label className="field">
            <span>permission_status{problems.permission_status ? <em className="bad"> — {problems.permission_status}</em> : null}</span>
            <select value={form.permission_status} onChange={(e) => setForm({ ...form, permission_status: e.target.value as RecordForm['permission_status'] })} data-testid="declare-permission_status">
              <option value="">choose…</option>
              {PERMISSION_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          {field('allowed_uses', 'allowed_uses', 'comma-separated, e.g. training')}
          {field('prohibited_uses', 'prohibited_uses', 'comma-separated, e.g. upload, public_release')}
          {field('review_contact', 'review_contact')}
          {field('notes', 'notes')}
          <label className="check">
            <input type="checkbox" checked={form.contains_sensitive_content} onChange={(e) => setForm({ ...form, contains_sensitive_content: e.target.checked })} /> contains sensitive content
          </label>
        </div>
        <button
          type="button"
          onClick={() => {
            const r = declareRecord(form);
            setProblems(r.problems);
            if (r.text) use(r.text, 'declared here');
          }}
          data-testid="declare-use-record"
        >
          Declare with this record
        </button>
      </fieldset>
      {declared ? (
        <button type="button" onClick={() => downloadFiles({ 'SOURCE_MANIFEST.yml': new TextEncoder().encode(declared) }, ['SOURCE_MANIFEST.yml'])} data-testid="declare-save">
          Save the manifest (keep it beside the data)
        </button>
      ) : null}
    </details>
  );
}
