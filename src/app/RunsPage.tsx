// The Runs page: the training runs stored in this browser (IndexedDB, through the engine) with
// their kind (SFT, GRPO or DPO, and a GRPO or DPO run's settings), status, progress, data, inherited governance terms and checkpoints; resume one from its
// last checkpoint (the live view is on the Train page), use or download its adapter, download a
// checkpoint, export it as a TRL project, delete it. Below: the adapters (import a PEFT adapter, back to the base model) and
// what the lab stores in the browser.
import { useEffect, useState } from 'react';
import { exportTrlProject, type ExportKind } from '../engine/export/trl/project.ts';
import { isDpoConfig, isGrpoConfig, type RunRecord } from '../engine/api.ts';
import { ErrorBox, useLab } from './lab.tsx';
import { AdaptersPanel } from './train/AdaptersPanel.tsx';
import { StoragePanel } from './train/StoragePanel.tsx';
import { SweepsPanel, useSweepRunIds } from './train/SweepsPanel.tsx';
import { ADAPTER_DOWNLOAD, downloadFiles } from './train/download.ts';
import { exportProblem } from '../engine/train/governance.ts';
import { isActive } from './train/LiveRun.tsx';
import './train/train.css';

export function RunsPage() {
  const runs = useLab((s) => s.runs);
  const refresh = useLab((s) => s.refreshRuns);
  const liveStatus = useLab((s) => s.live.status);
  // a sweep's runs are listed in their sweep (./train/SweepsPanel.tsx)
  const inSweep = useSweepRunIds();
  useEffect(() => void refresh(), [refresh, liveStatus]);
  return (
    <>
      <section className="panel" data-testid="runs-page" data-status={runs.status} aria-labelledby="runs-h">
        <h2 id="runs-h">Runs</h2>
        <p className="muted small">
          Training runs kept in this browser, newest first. A run that was training when its page closed is <em>interrupted</em>; resume it from its last checkpoint with exactly
          the losses it would have had.
        </p>
        {runs.error ? <ErrorBox title="The run store could not be read" error={runs.error} testid="runs-error" /> : null}
        {runs.status === 'ready' && runs.list.length === 0 ? <p data-testid="runs-empty">No runs yet: start one on the Train page.</p> : null}
        <ul className="run-list" data-testid="run-list" aria-label="Training runs">
          {runs.list
            .filter((r) => !inSweep.has(r.id))
            .map((r) => (
              <RunItem key={r.id} run={r} />
            ))}
        </ul>
      </section>
      <SweepsPanel renderRun={(r) => <RunItem key={r.id} run={r} />} />
      <AdaptersPanel />
      <StoragePanel />
    </>
  );
}

const fmtLoss = (x: number | null) => (x === null ? '—' : x.toFixed(4));

function RunItem({ run }: { run: RunRecord }) {
  const live = useLab((s) => s.live);
  const busy = useLab((s) => s.runs.busy === run.id);
  const adapterBusy = useLab((s) => s.adapterBusy);
  const activeAdapter = useLab((s) => s.model.summary?.adapter?.name ?? null);
  const resumeRun = useLab((s) => s.resumeRun);
  const useAdapter = useLab((s) => s.useAdapter);
  const deleteRun = useLab((s) => s.deleteRun);
  const runFiles = useLab((s) => s.runFiles);
  const [confirm, setConfirm] = useState(false);
  const [note, setNote] = useState('');
  const isLive = live.runId === run.id && isActive(live.status);
  const anyLive = isActive(live.status);
  const c = run.config;
  const canResume = !isLive && !anyLive && run.status !== 'done' && run.checkpoints.length > 0 && run.step < c.steps;
  const lastCk = run.checkpoints.at(-1);
  const t = run.governance?.inherited;
  const exportBlock = run.governance ? exportProblem({ ...run.governance, revoked: run.revoked }) : null;
  const kind = run.kind ?? (isGrpoConfig(c) ? 'grpo' : isDpoConfig(c) ? 'dpo' : 'sft');
  const g = isGrpoConfig(c) ? c : null;
  const dp = isDpoConfig(c) ? c : null;

  const save = async (which: 'result' | { checkpoint: number }, names: string[] | null, prefix: string) => {
    setNote('');
    try {
      const files = await runFiles(run.id, which);
      const saved = downloadFiles(files, names ?? Object.keys(files).sort(), prefix);
      setNote(saved.length ? `Saved ${saved.join(', ')}.` : 'Nothing to save.');
    } catch (e) {
      const m = (e as Error).message;
      setNote(m.startsWith('Not exported') ? m : `Could not read the files: ${m}`);
    }
  };
  /** The run as a TRL project (engine/export/trl, as `lab export-trl`); the data stays here: the project names it and its sha256. */
  const exportTrl = () => {
    setNote('');
    try {
      const project = exportTrlProject({
        run: { ...run, kind: kind as ExportKind },
        governance: run.governance as unknown as Record<string, unknown>,
        runDir: `the page's run ${run.id}`,
        dataFile: null,
        model: { id: run.model, revision: null, note: 'the model the page had loaded: set MODEL to its Hub id or folder' },
        date: new Date().toISOString().slice(0, 10),
      });
      const files = Object.fromEntries(project.files.map((f) => [f.path.replace(/\//g, '_'), new TextEncoder().encode(f.text)]));
      const saved = downloadFiles(files, Object.keys(files).sort(), `trl-${run.id}-`);
      setNote(`Saved ${saved.length} files (${saved.join(', ')}): put them in one folder with the data file ${run.data.name} and set DATA_FILE in train.py.${project.warnings.length ? ` Note: ${project.warnings.join('; ')}` : ''}`);
    } catch (e) {
      setNote(`Could not export: ${(e as Error).message}`);
    }
  };
  const resume = () => {
    void resumeRun(run.id);
    location.hash = '#/train';
  };

  return (
    <li className="run-item" data-testid="run-item" data-run-id={run.id} data-kind={kind} data-status={isLive ? live.status : run.status} data-step={run.step} data-checkpoints={run.checkpoints.join(',')}>
      <div className="run-head">
        <span className={`run-kind k-${kind}`} data-testid="run-kind">
          {kind.toUpperCase()}
        </span>
        <h3>{run.name}</h3>
        <span className={`run-status st-${isLive ? live.status : run.status}`} data-testid="run-status">
          {isLive ? `${live.status} (live)` : run.status}
        </span>
        <code className="small muted">{run.id}</code>
      </div>
      {run.revoked ? (
        <p className="bad small" role="alert" data-testid="run-revoked">
          Revoked {new Date(run.revoked.at).toLocaleString()}: a source of its data was withdrawn ({run.revoked.reason}). Its adapter, checkpoints and resume are refused until the
          source is reviewed.
        </p>
      ) : null}
      <dl className="facts cols">
        <div>
          <dt>Step</dt>
          <dd data-testid="run-step">
            {isLive ? (live.lines.at(-1)?.step ?? run.step) : run.step}/{c.steps}
          </dd>
        </div>
        <div>
          <dt>Last loss</dt>
          <dd data-testid="run-loss">{fmtLoss(isLive ? (live.lines.at(-1)?.loss ?? run.lastLoss) : run.lastLoss)}</dd>
        </div>
        <div>
          <dt>Data</dt>
          <dd title={run.data.sha256}>
            {run.data.name} ({run.data.rows} rows)
          </dd>
        </div>
        <div>
          <dt>Trained</dt>
          <dd>{c.full ? 'every weight (full)' : `LoRA r ${c.lora.r}, α ${c.lora.alpha} on ${c.lora.targets.map((x) => x.replace('_proj', '')).join('/')}`}</dd>
        </div>
        {g ? (
          <div>
            <dt>GRPO</dt>
            <dd data-testid="run-grpo">
              G {g.grpo.groupSize} × {g.grpo.promptsPerStep} prompt{g.grpo.promptsPerStep === 1 ? '' : 's'}/step, {g.grpo.maxNewTokens} new tokens, β {g.grpo.beta}, ε {g.grpo.epsilon}
              {g.grpo.epsilonHigh !== undefined ? `/${g.grpo.epsilonHigh}` : ''}, {g.grpo.loss}, μ {g.grpo.mu}; rewards {g.rewards.map((r) => `${r.name}:${r.weight}`).join(', ')}
            </dd>
          </div>
        ) : null}
        {dp ? (
          <div>
            <dt>DPO</dt>
            <dd data-testid="run-dpo">
              {dp.batchSize} pair{dp.batchSize === 1 ? '' : 's'}/step, β {dp.dpo.beta}, label smoothing {dp.dpo.labelSmoothing}
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Optimizer</dt>
          <dd>
            lr {c.lr} {c.lrSchedule}, {g || dp ? '' : `batch ${c.batchSize}×${c.gradAccum}, `}seed {c.seed}
          </dd>
        </div>
        <div>
          <dt>Model</dt>
          <dd>{run.model}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{new Date(run.createdAt).toLocaleString()}</dd>
        </div>
        <div>
          <dt>Inherited terms</dt>
          <dd data-testid="run-governance">
            {t ? `${t.prohibited_uses.length ? `no ${t.prohibited_uses.join(', ')}` : 'no prohibited uses'}${t.contains_sensitive_content ? '; sensitive' : ''}${t.sources.length ? ` (${t.sources.join(', ')})` : ''}` : '—'}
          </dd>
        </div>
        {run.governance ? (
          <div className={exportBlock ? 'wide' : undefined}>
            <dt>Export</dt>
            <dd data-testid="run-export" data-allowed={String(!exportBlock)}>
              {exportBlock ? `not allowed: ${exportBlock}` : 'allowed (its sources are approved for public release)'}
            </dd>
          </div>
        ) : null}
      </dl>
      {run.error ? <p className="bad small">Stopped: {run.error}</p> : null}
      <div className="ckpts" data-testid="run-checkpoints">
        <span className="muted">Checkpoints:</span>
        {run.checkpoints.length === 0 ? <span className="muted">none</span> : null}
        {run.checkpoints.map((s) => (
          <button key={s} type="button" className="chip" disabled={!!exportBlock} onClick={() => void save({ checkpoint: s }, null, `${run.id}-checkpoint-${s}-`)} data-testid="run-download-checkpoint" data-step={s} title={exportBlock ? `Not exported: ${exportBlock}` : `Download the files of checkpoint ${s}`}>
            step {s} ⤓
          </button>
        ))}
      </div>
      <div className="actions">
        {canResume ? (
          <button type="button" onClick={resume} data-testid="run-resume">
            Resume from step {lastCk}
          </button>
        ) : null}
        {isLive ? (
          <a href="#/train" data-testid="run-open-live">
            Watch it on the Train page
          </a>
        ) : null}
        {run.hasResult && !c.full ? (
          <>
            <button type="button" disabled={adapterBusy} onClick={() => void useAdapter({ runId: run.id })} data-testid="run-use-adapter">
              {activeAdapter?.includes(run.id) ? 'Use adapter (active)' : 'Use adapter'}
            </button>
            <button type="button" className="secondary" disabled={!!exportBlock} title={exportBlock ? `Not exported: ${exportBlock}` : undefined} onClick={() => void save('result', ADAPTER_DOWNLOAD, '')} data-testid="run-download-adapter">
              Download adapter
            </button>
          </>
        ) : null}
        {kind !== 'reward-model' && !run.revoked ? (
          <button type="button" className="secondary" onClick={exportTrl} data-testid="run-export-trl" title="The same recipe as a TRL + PEFT + accelerate project, for one or several GPUs (lab export-trl)">
            Export as a TRL project
          </button>
        ) : null}
        {run.hasResult && c.full ? (
          <button type="button" className="secondary" onClick={() => void save('result', null, `${run.id}-`)} data-testid="run-download-model">
            Download model files
          </button>
        ) : null}
        {confirm ? (
          <span className="confirm" role="group" aria-label="Confirm delete">
            Delete this run and its {run.checkpoints.length} checkpoint{run.checkpoints.length === 1 ? '' : 's'}?
            <button type="button" className="danger small-btn" disabled={busy} onClick={() => void deleteRun(run.id).then(() => setConfirm(false))} data-testid="run-delete-confirm">
              Delete
            </button>
            <button type="button" className="secondary small-btn" onClick={() => setConfirm(false)} data-testid="run-delete-keep">
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="secondary" disabled={isLive || busy} onClick={() => setConfirm(true)} data-testid="run-delete">
            Delete…
          </button>
        )}
      </div>
      {note ? <p className="small muted">{note}</p> : null}
    </li>
  );
}
