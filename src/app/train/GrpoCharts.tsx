// A GRPO run's charts over its steps (the metrics lines, GrpoStepLine): the reward's mean with its
// ± std band (std within groups, averaged), each reward's mean when there are several, the KL to the
// reference (only when β > 0: with β = 0 no reference pass is made and kl is null), the completions'
// mean and longest length, the clipped share of tokens and the objective (loss). The same d3 chart as
// SFT's (./Charts.tsx); they rebuild from Engine.runMetrics after a reload like SFT's.
import type { GrpoConfig, GrpoStepLine, StepLine } from '../../engine/api.ts';
import { SeriesChart, pointsOf, type Series } from './Charts.tsx';

const COLORS = ['#2f5d8a', '#b35806', '#1e7b45', '#6a51a3', '#c2185b', '#00838f', '#8d6e63'];

const isGrpoLine = (l: StepLine): l is GrpoStepLine => typeof (l as Partial<GrpoStepLine>).reward === 'number';

export function GrpoCharts({ lines: all, totalSteps, config }: { lines: StepLine[]; totalSteps: number; config?: GrpoConfig }) {
  const lines = all.filter(isGrpoLine);
  const names = config?.rewards.map((r) => r.name) ?? Object.keys(lines.at(-1)?.rewards ?? {});
  const showKl = (config?.grpo.beta ?? 0) > 0 || lines.some((l) => l.kl !== null);
  const perReward: Series[] = names.map((n, i) => ({ name: n, color: COLORS[(i + 1) % COLORS.length], pts: pointsOf(lines, (l) => l.rewards?.[n]?.mean) }));
  const weights = config?.rewards.map((r) => `${r.name}${r.weight === 1 ? '' : ` × ${r.weight}`}`).join(' + ');
  return (
    <div className="train-charts" data-testid="grpo-charts">
      <SeriesChart
        testid="grpo-reward-chart"
        title={`Reward (mean ± std)${weights ? `: ${weights}` : ''}`}
        fmt=".3~f"
        totalSteps={totalSteps}
        series={[{ name: 'reward', color: COLORS[0], pts: pointsOf(lines, (l) => l.reward, (l) => [l.reward - l.reward_std, l.reward + l.reward_std]) }]}
      />
      {names.length > 1 ? <SeriesChart testid="grpo-rewards-chart" title="Each reward (mean, before its weight)" fmt=".3~f" totalSteps={totalSteps} series={perReward} /> : null}
      {showKl ? (
        <SeriesChart testid="grpo-kl-chart" title={`KL to the reference${config ? ` (β ${config.grpo.beta})` : ''}`} fmt="auto" floor0 totalSteps={totalSteps} series={[{ name: 'KL', color: COLORS[2], pts: pointsOf(lines, (l) => l.kl) }]} />
      ) : null}
      <SeriesChart
        testid="grpo-length-chart"
        title="Completion length (tokens)"
        fmt=".3~f"
        floor0
        totalSteps={totalSteps}
        series={[
          { name: 'mean', color: COLORS[3], pts: pointsOf(lines, (l) => l.completion_length) },
          { name: 'longest', color: COLORS[3], dashed: true, pts: pointsOf(lines, (l) => l.completion_length_max) },
        ]}
      />
      <SeriesChart testid="grpo-clip-chart" title="Clip fraction" fmt=".2~%" floor0 totalSteps={totalSteps} series={[{ name: 'clipped', color: COLORS[4], pts: pointsOf(lines, (l) => l.clip_frac) }]} />
      <SeriesChart testid="grpo-loss-chart" title="Loss (the clipped objective)" fmt="auto" totalSteps={totalSteps} series={[{ name: 'loss', color: COLORS[5], pts: pointsOf(lines, (l) => l.loss) }]} />
    </div>
  );
}
