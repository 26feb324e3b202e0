// A profiled run for the bench suites' --profile: each dispatch of run() in its own timestamped pass, printed by
// kernel and by kernel + grid. Own-pass times overstate small kernels (~10-20 µs a pass on an H100, BENCHMARKS.md):
// the profile also times a dispatch that does almost nothing the same way (the own-pass floor) and prints each
// kernel's time net of it, the figure to set beside torch.profiler's kernel times (tools/bench/torch_sft.py --profile).
import type { Runtime } from '../engine/gpu/runtime.ts';
import { addScale } from '../../shaders/add_scale.ts';

export interface ProfileRow {
  name: string;
  ms: number;
  count: number;
}

/**
 * The own-pass floor: the mean profiled time of `n` dispatches of add_scale on 4 floats, each in its own pass as the
 * profiler records them (ms; null without timestamp queries).
 */
export async function passFloorMs(rt: Runtime, n = 64): Promise<number | null> {
  if (!rt.startProfile(n)) return null;
  const x = rt.zeros([4], 'f32', 'profile.floor_in');
  const y = rt.empty([4], 'f32', 'profile.floor_out');
  for (let i = 0; i < n; i++) addScale(rt, x, 1, null, 0, y);
  const rows = await rt.stopProfile();
  x.dispose();
  y.dispose();
  const count = rows.reduce((a, r) => a + r.count, 0);
  return count > 0 ? rows.reduce((a, r) => a + r.ms, 0) / count : null;
}

/** Rows summed by kernel name (the grid dropped), each with its time net of `floor` ms a dispatch (not below 0), largest first. */
export function byKernelNet(rows: readonly ProfileRow[], floor: number): (ProfileRow & { net: number })[] {
  const by = new Map<string, ProfileRow>();
  for (const r of rows) {
    const k = r.name.replace(/ \[.*$/, '');
    const e = by.get(k) ?? { name: k, ms: 0, count: 0 };
    e.ms += r.ms;
    e.count += r.count;
    by.set(k, e);
  }
  return [...by.values()].map((e) => ({ ...e, net: Math.max(0, e.ms - e.count * floor) })).sort((a, b) => b.ms - a.ms);
}

/** Runs run() once under the profiler and prints where its GPU time went (top `top` kernel + grid rows). */
export async function printProfile(rt: Runtime, what: string, run: () => Promise<unknown>, top = 25): Promise<void> {
  if (!rt.startProfile(8192)) {
    console.log('profile: this device has no timestamp queries');
    return;
  }
  await run();
  const rows = await rt.stopProfile();
  const floor = (await passFloorMs(rt)) ?? 0;
  const total = rows.reduce((a, r) => a + r.ms, 0);
  const n = rows.reduce((a, r) => a + r.count, 0);
  console.log(`profile of ${what}: ${n} dispatches, ${total.toFixed(1)} ms GPU (each in its own pass); own-pass floor ${(1e3 * floor).toFixed(1)} µs a dispatch (add_scale on 4 floats), net of it ${Math.max(0, total - n * floor).toFixed(1)} ms`);
  console.log('  by kernel (ms / dispatches, net): ' + byKernelNet(rows, floor).map((e) => `${e.name} ${e.ms.toFixed(1)}/${e.count} (${e.net.toFixed(1)})`).join(', '));
  for (const r of rows.slice(0, top)) console.log(`  ${r.ms.toFixed(2).padStart(8)} ms ${String(r.count).padStart(4)}×  ${r.name}`);
}
