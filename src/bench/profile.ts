// A profiled run for the bench suites' --profile: each dispatch of run() in its own timestamped pass, printed by
// kernel and by kernel + grid. Own-pass times overstate small kernels (~20 µs a pass on an H100, BENCHMARKS.md):
// read them for where the big costs lie, not for what a small kernel costs in the stream.
import type { Runtime } from '../engine/gpu/runtime.ts';

/** Runs run() once under the profiler and prints where its GPU time went (top `top` kernel + grid rows). */
export async function printProfile(rt: Runtime, what: string, run: () => Promise<unknown>, top = 25): Promise<void> {
  if (!rt.startProfile(8192)) {
    console.log('profile: this device has no timestamp queries');
    return;
  }
  await run();
  const rows = await rt.stopProfile();
  const total = rows.reduce((a, r) => a + r.ms, 0);
  console.log(`profile of ${what}: ${rows.reduce((a, r) => a + r.count, 0)} dispatches, ${total.toFixed(1)} ms GPU (each in its own pass)`);
  const byKernel = new Map<string, { ms: number; count: number }>();
  for (const r of rows) {
    const k = r.name.replace(/ \[.*$/, '');
    const e = byKernel.get(k) ?? { ms: 0, count: 0 };
    e.ms += r.ms;
    e.count += r.count;
    byKernel.set(k, e);
  }
  console.log('  by kernel: ' + [...byKernel].sort((a, b) => b[1].ms - a[1].ms).map(([k, e]) => `${k} ${e.ms.toFixed(1)} ms/${e.count}`).join(', '));
  for (const r of rows.slice(0, top)) console.log(`  ${r.ms.toFixed(2).padStart(8)} ms ${String(r.count).padStart(4)}×  ${r.name}`);
}
