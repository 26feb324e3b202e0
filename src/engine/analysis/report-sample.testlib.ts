// A synthetic lab-analysis-report-v1 (2 layers × 3 heads, two statistics) for tests of what reads reports
// (report-diff.ts, trajectory.ts, the page): small, non-significant selectivities and graded ablation effects.
import type { ReportData } from './report-data.ts';
import type { SelectivityRow } from './selectivity.ts';

export const L = 2, H = 3;

/** L·H rows of small, non-significant d (|d| < 0.5, q 0.6, CI d ± 0.5); `seed` varies them per statistic. */
export function rows(seed: number): SelectivityRow[] {
  return Array.from({ length: L * H }, (_, i) => {
    const d = Math.sin(seed + i) * 0.5;
    return { layer: Math.floor(i / H), head: i % H, nA: 8, nB: 8, meanA: 0.3 + d / 10, meanB: 0.3, sdPooled: 0.1, d, ciLow: d - 0.5, ciHigh: d + 0.5, p: 0.3, q: 0.6, pHolm: 1 };
  });
}

export function sample(): ReportData {
  const effects = (k: number) => Array.from({ length: L * H }, (_, i) => {
    const m = -k * (i + 1) / 10;
    return { layer: Math.floor(i / H), head: i % H, mean: m, ci: [m - 0.05, m + 0.05] as [number, number], n: 8 };
  });
  return {
    schema: 'lab-analysis-report-v1', createdAt: '2026-12-20T10:30:00.000Z',
    reproduce: { command: 'lab analyze report --model tiny --seed 7', seed: 7, nBoot: 200, nPerm: 500, queries: 'answer', ablation: 'zero', labCommit: 'abc1234' },
    model: { name: 'tiny-llama-2x3', layers: L, heads: H, dModel: 48, vocab: 512 },
    adapter: null,
    tasks: {
      a: { label: 'arithmetic', file: 'arith.jsonl', n: 8, rows: 20, sha256: 'cd'.repeat(32), provenance: null, examples: ['What is 2 + 3?\n#### 5'] },
      b: { label: 'Velmic', file: 'velmic.jsonl', n: 8, rows: 20, sha256: 'ab'.repeat(32), provenance: null, examples: ['Translate: "tor"\n#### mira'] },
    },
    selectivity: { entropyNorm: rows(1), 'resid:entropy': rows(2) },
    lens: { a: { logprob: [-9, -5, -1], logprobCi: [[-9, -9], [-5, -5], [-1, -1]], rank: [900, 4, 0.2], n: 8 }, b: { logprob: [-9, -6, -2], logprobCi: [[-9, -9], [-6, -6], [-2, -2]], rank: [900, 9, 0.5], n: 8 } },
    ablation: { a: effects(1), b: effects(0.5) },
    seconds: { heads: 1 },
  };
}
