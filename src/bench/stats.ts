// Small statistics shared by the benchmarks.
import { num, UsageError, type Parsed } from '../cli/args.ts';

/** The upper median (the middle value after sorting; the higher of the two middle ones for even lengths). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `--steps` of a bench that reports its first step apart and the median of the others: a whole number ≥ 2 */
export function stepsArg(p: Parsed, dflt: number): number {
  const steps = num(p, 'steps', dflt);
  if (!Number.isInteger(steps) || steps < 2) throw new UsageError(`--steps must be a whole number of at least 2 (the first step is timed apart), got ${p.values.get('steps')}`);
  return steps;
}

/**
 * Median wall time in ms of `reps` runs of `run`, after warm-up runs (first-use compilation, caches): two, and as many
 * more as fill `warmMs` (warmUp).
 */
export async function timed(reps: number, run: () => Promise<unknown>, warmMs = 0): Promise<number> {
  await warmUp(run, 2, warmMs);
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/**
 * Runs `run` until it has run at least `minRuns` times and for at least `minMs` of wall time: first-use compilation,
 * then the GPU's clocks up (an H100 idles at 345 MHz and takes a few hundred ms of work to reach 1 980; a timed run
 * right after a process starts measured a 256-token prefill at a third of its speed). Returns how many runs it took.
 */
export async function warmUp(run: () => Promise<unknown>, minRuns: number, minMs: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  while (n < minRuns || performance.now() - t0 < minMs) {
    await run();
    n++;
  }
  return n;
}

/** "2.10x faster" or "1.50x slower": the lab's speed against another's, from their times (theirs ÷ ours). */
export function speedWords(ratio: number): string {
  return ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${(1 / ratio).toFixed(2)}x slower`;
}
