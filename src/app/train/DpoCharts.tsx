// A DPO run's charts over its steps (the metrics lines, DpoStepLine of engine/rl/dpo.ts): the loss,
// the reward margin, the preference accuracy, and the implicit rewards β(π − ref) of the chosen and
// rejected completions. The same d3 chart as SFT's and GRPO's (./Charts.tsx); they rebuild from
// Engine.runMetrics after a reload like the others.
import type { StepLine } from '../../engine/api.ts';
import type { DpoStepLine } from '../../engine/rl/dpo.ts';
import { SeriesChart, pointsOf } from './Charts.tsx';

const COLORS = ['#2f5d8a', '#b35806', '#1e7b45', '#6a51a3', '#c2185b'];

export const isDpoLine = (l: StepLine): l is DpoStepLine => typeof (l as Partial<DpoStepLine>).margin === 'number';

export function DpoCharts({ lines: all, totalSteps, beta }: { lines: StepLine[]; totalSteps: number; beta?: number }) {
  const lines = all.filter(isDpoLine);
  return (
    <div className="train-charts" data-testid="dpo-charts">
      <SeriesChart testid="dpo-loss-chart" title="Loss (−log σ(β·z); ln 2 at the start)" fmt="auto" floor0 totalSteps={totalSteps} series={[{ name: 'loss', color: COLORS[0], pts: pointsOf(lines, (l) => l.loss) }]} />
      <SeriesChart testid="dpo-margin-chart" title="Reward margin (chosen − rejected)" fmt="auto" totalSteps={totalSteps} series={[{ name: 'margin', color: COLORS[1], pts: pointsOf(lines, (l) => l.margin) }]} />
      <SeriesChart testid="dpo-accuracy-chart" title="Accuracy (chosen’s reward > rejected’s)" fmt=".0%" floor0 totalSteps={totalSteps} series={[{ name: 'accuracy', color: COLORS[2], pts: pointsOf(lines, (l) => l.accuracy) }]} />
      <SeriesChart
        testid="dpo-rewards-chart"
        title={`Rewards β(π − ref)${beta !== undefined ? ` (β ${beta})` : ''}`}
        fmt="auto"
        totalSteps={totalSteps}
        series={[
          { name: 'chosen', color: COLORS[3], pts: pointsOf(lines, (l) => l.rewards_chosen) },
          { name: 'rejected', color: COLORS[4], dashed: true, pts: pointsOf(lines, (l) => l.rewards_rejected) },
        ]}
      />
    </div>
  );
}
