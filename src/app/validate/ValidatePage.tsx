// The community validation page (#/validate): a speaker judges a model's outputs for Stoney items, one at a
// time, in large text that works on a tablet and offline, with no account. Every judgement is kept on this
// device as it is made (IndexedDB: ./persist.ts) and leaves it only when the speaker presses Export, as
// files the Train page and the CLI read (./export.ts) with their provenance. The page makes no request.
import { useEffect, useState } from 'react';
import { useStore } from 'zustand';
import { useLab } from '../lab.tsx';
import { downloadFiles } from '../train/download.ts';
import { isJudged, progressOf } from './session.ts';
import { buildExport, exportRows, type SftForm } from './export.ts';
import { validateStore, type ValidateStore } from './validateStore.ts';
import { ItemCard } from './ItemCard.tsx';
import { LoadPanel } from './LoadPanel.tsx';
import '../train/train.css'; // .field and .path, as the Train page's pickers
import './validate.css';

export function ValidatePage() {
  const store = validateStore();
  const status = useStore(store, (s) => s.status);
  const count = useStore(store, (s) => s.items.length);
  useEffect(() => void store.getState().init(), [store]);
  return (
    <div className="validate-page" data-testid="validate-page" data-status={status} data-items={count}>
      <Notices store={store} />
      {status === 'loading' ? <p className="muted">Reading the session kept on this device…</p> : null}
      {status === 'ready' && count ? <ItemCard store={store} /> : null}
      {status === 'ready' ? <LoadPanel store={store} open={count === 0} /> : null}
      {status === 'ready' && count ? <ExportPanel store={store} /> : null}
      {status === 'ready' && count ? <RemovePanel store={store} /> : null}
    </div>
  );
}

/**
 * Where the work is kept, that nothing is sent, and whose language this is. The first sentence of each is
 * always in view; the rest is shown until there are items, then folds behind "More" so the item fits a
 * tablet's screen.
 */
function Notices({ store }: { store: ValidateStore }) {
  const kept = useStore(store, (s) => s.kept);
  const saveError = useStore(store, (s) => s.saveError);
  const unreadable = useStore(store, (s) => s.unreadable);
  const count = useStore(store, (s) => s.items.length);
  const [more, setMore] = useState(false);
  const full = more || count === 0;
  const [persisted, setPersisted] = useState<boolean | null>(null);
  useEffect(() => {
    // ask the browser not to clear this storage under pressure (granted or not without a prompt in most browsers)
    void navigator.storage?.persist?.().then(setPersisted, () => setPersisted(false));
  }, []);
  return (
    <section className="panel v-notices" aria-label="About this page">
      <div className="v-notices-head">
        <h2>Community validation</h2>
        {count ? (
          <button type="button" className="secondary v-more" aria-expanded={full} onClick={() => setMore(!more)} data-testid="validate-more">
            {full ? 'Less' : 'More about this page'}
          </button>
        ) : null}
      </div>
      <p className="v-privacy" data-testid="validate-privacy" data-kept={String(kept)}>
        <strong>Saved on this device only — nothing is sent.</strong>
        {full ? (
          <>
            {' '}
            Each judgement is kept in this browser as you make it, so a reload or a crash loses nothing. It leaves this device only if you press <em>Export</em>, as
            files you then hold. No account, no network.
            {persisted === false ? ' (This browser may still clear the page’s storage when the device runs short of space: export now and then.)' : ''}
          </>
        ) : (
          ' It leaves this device only when you press Export.'
        )}
      </p>
      <p className="v-culture" data-testid="validate-culture">
        <strong>The Stoney Nakoda language belongs to the Stoney Nakoda people.</strong>{' '}
        {full ? (
          <>
            The outputs here are made by a machine: they can be wrong, mixed with other languages or invented, and are not a source for the language. Judge them as
            you would for your community. If an item touches ceremonial, sacred or otherwise restricted knowledge, do not correct it here: leave a comment, or skip
            it. What you export goes only where you take it, under your community’s terms.
          </>
        ) : (
          'The outputs are machine-made, not a source for the language; restricted knowledge does not belong here.'
        )}
      </p>
      {!kept ? (
        <p className="error" role="alert" data-testid="validate-not-kept">
          This browser gives the page no storage (IndexedDB): your work here will be lost when the page closes. Export before you leave.
        </p>
      ) : null}
      {saveError ? (
        <p className="error" role="alert" data-testid="validate-save-error">
          {saveError}. Export what you have now.
        </p>
      ) : null}
      {unreadable ? (
        <p className="warn-text small" data-testid="validate-unreadable">
          {unreadable} kept entr{unreadable === 1 ? 'y' : 'ies'} from another version of this page could not be read; they are left on this device untouched.
        </p>
      ) : null}
    </section>
  );
}

function ExportPanel({ store }: { store: ValidateStore }) {
  const items = useStore(store, (s) => s.items);
  const judgements = useStore(store, (s) => s.judgements);
  const sources = useStore(store, (s) => s.sources);
  const chat = useLab((s) => s.model.summary?.chatTemplate);
  const [form, setForm] = useState<SftForm | null>(null);
  const sftForm: SftForm = form ?? (chat === false ? 'question-answer' : 'messages');
  const [saved, setSaved] = useState<string[] | null>(null);
  const rows = exportRows(items, judgements, sftForm);
  const p = progressOf(items, judgements);

  const exportNow = async () => {
    await store.getState().flushed(); // what is exported is what is kept
    const files = await buildExport(items, judgements, sources, { sftForm, now: new Date() });
    const enc = new TextEncoder();
    setSaved(downloadFiles(Object.fromEntries(files.map((f) => [f.name, enc.encode(f.text)])), files.map((f) => f.name)));
  };

  return (
    <section className="panel v-export" data-testid="validate-export" aria-labelledby="v-export-h">
      <h2 id="v-export-h">Export</h2>
      <ul className="v-counts">
        <li data-testid="validate-count-sft" data-n={rows.sft.length}>
          <strong>{rows.sft.length}</strong> correction{rows.sft.length === 1 ? '' : 's'} → SFT rows
        </li>
        <li data-testid="validate-count-dpo" data-n={rows.dpo.length}>
          <strong>{rows.dpo.length}</strong> A/B choice{rows.dpo.length === 1 ? '' : 's'} → DPO pairs
        </li>
        <li data-testid="validate-count-ratings" data-n={rows.ratings.length}>
          <strong>{rows.ratings.length}</strong> rating{rows.ratings.length === 1 ? '' : 's'} → reward rows (1 / 0.5 / 0)
        </li>
        <li>
          <strong>{p.judged}</strong> judged item{p.judged === 1 ? '' : 's'}, comments included → the record
        </li>
      </ul>
      <div className="controls">
        <label className="field">
          <span>Corrections as</span>
          <select value={sftForm} onChange={(e) => setForm(e.target.value as SftForm)} data-testid="validate-sft-form">
            <option value="messages">chat messages (models with a chat template)</option>
            <option value="question-answer">question / answer (any model in the lab)</option>
          </select>
        </label>
      </div>
      <div className="actions">
        <button type="button" className="v-big" disabled={!items.some((it) => isJudged(judgements[it.id]))} onClick={() => void exportNow()} data-testid="validate-export-button">
          Export to this device
        </button>
      </div>
      {saved ? (
        <p className="small" role="status" data-testid="validate-exported">
          Saved: {saved.join(', ')}
        </p>
      ) : null}
      <p className="small muted">
        The files download to this device; nothing is uploaded. The <code>.provenance.json</code> names the sources of the items, the time of the export, and the
        terms the rows inherit from the sources’ manifests. To train on them, pick the <code>.sft.jsonl</code> or <code>.dpo.jsonl</code> on the Train page with a
        SOURCE_MANIFEST.yml that approves them; the ratings train a reward model (<code>lab reward-model --objective regression</code>).
      </p>
    </section>
  );
}

function RemovePanel({ store }: { store: ValidateStore }) {
  const n = useStore(store, (s) => s.items.length);
  const judged = useStore(store, (s) => progressOf(s.items, s.judgements).judged);
  const remove = () => {
    if (confirm(`Remove all ${n} items and ${judged} judgements from this device? This cannot be undone. Export first to keep them.`)) void store.getState().clearAll();
  };
  return (
    <section className="panel v-remove">
      <button type="button" className="secondary danger" onClick={remove} data-testid="validate-remove">
        Remove this session from this device
      </button>
      <span className="small muted"> Items, judgements and their sources are deleted from this browser’s storage.</span>
    </section>
  );
}
