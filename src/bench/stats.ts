// Small statistics shared by the benchmarks.

/** The upper median (the middle value after sorting; the higher of the two middle ones for even lengths). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median wall time in ms of `reps` runs of `run`, after two warm-up runs (first-use compilation, caches). */
export async function timed(reps: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  await run();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** "2.10x faster" or "1.50x slower": the lab's speed against another's, from their times (theirs ÷ ours). */
export function speedWords(ratio: number): string {
  return ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${(1 / ratio).toFixed(2)}x slower`;
}
