// The analysis in flight: the engine's four phases in order (done, now, to come), a bar for the
// current one with done/total, the time so far and an estimate of the time left in this phase (its
// rate so far; the phases differ too much in cost for one estimate of the whole). It stays after the
// run with how it ended, so data-seen tells which phases ran.
import { useNow } from '../useNow.ts';
import { formatDuration } from '../lab.tsx';
import { PHASES, type AnalyzeRunProgress, type AnalyzeState } from '../analyzeSlice.ts';

const WHAT: Record<string, string> = {
  preparing: 'making the prompt sets',
  'head statistics': 'attention statistics of every head on every prompt',
  selectivity: 'each head’s selectivity: bootstrap CIs and permutation tests',
  'logit lens': 'the answer’s log-prob and rank at every layer',
  'ablation sweep': 'each head ablated in turn, on every prompt',
};

/** Seconds left in the phase at its rate so far, or undefined before there is a rate. */
export function phaseEta(p: AnalyzeRunProgress, now: number): number | undefined {
  if (p.done <= 0 || p.done >= p.total) return undefined;
  const spent = (now - p.phaseStartedAt) / 1000;
  return (spent / p.done) * (p.total - p.done);
}

export function RunProgress({ status, progress: p }: { status: AnalyzeState['status']; progress: AnalyzeRunProgress }) {
  const running = status === 'running';
  const now = useNow(running);
  const t = running ? Math.max(now, p.phaseStartedAt) : now;
  const eta = running ? phaseEta(p, t) : undefined;
  const cur = PHASES.indexOf(p.phase as (typeof PHASES)[number]);
  const phaseState = (i: number) => (status === 'done' || i < cur ? 'done' : i === cur ? (running ? 'now' : status) : 'todo');
  return (
    <div className="analyze-progress" data-testid="analyze-progress" data-phase={status === 'done' ? 'done' : p.phase} data-status={status} data-seen={p.seen.join(',')} aria-live="polite">
      <ol className="phases">
        {PHASES.map((ph, i) => (
          <li key={ph} data-state={phaseState(i)}>
            <span className="dot" aria-hidden="true" />
            {ph}
          </li>
        ))}
      </ol>
      {running ? (
        <div className="progress">
          <progress value={p.done} max={Math.max(p.total, 1)} aria-label={`${p.phase}: ${p.done} of ${p.total}`} />
          <span>
            <strong>{p.phase}</strong> {p.total > 1 ? `${p.done} / ${p.total}` : ''} <span className="muted small">— {WHAT[p.phase]}</span>
          </span>
          <span className="muted small" data-testid="analyze-eta">
            {formatDuration((t - p.startedAt) / 1000)} so far{eta !== undefined ? ` · about ${formatDuration(eta)} left in this phase` : ''}
          </span>
        </div>
      ) : (
        <p className="muted small">
          {status === 'done' ? 'Finished' : status === 'cancelled' ? `Cancelled during ${p.phase}` : status === 'error' ? `Stopped during ${p.phase}` : ''}
          {p.endedAt ? ` after ${formatDuration((p.endedAt - p.startedAt) / 1000)}.` : null}
        </p>
      )}
    </div>
  );
}
