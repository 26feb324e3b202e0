// Helpers shared by the self-check registry files (src/engine/selfcheck-cases.ts re-exports them).
// They import nothing from the registry itself, so the registry files import them without a cycle.

import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
// type-only: selfcheck.ts imports the registry, so no runtime import back (no module cycle)
import type { SelfCheckCase } from '../selfcheck.ts';

/** Typed helper for registry entries (keeps each entry's inputs type checked). */
export function defineCase<I>(c: SelfCheckCase<I>): SelfCheckCase {
  return c as unknown as SelfCheckCase;
}

/** Read `out` back, then give it and the given inputs back to the pool. */
export async function readAndFree(rt: Runtime, out: Tensor, ...inputs: Tensor[]): Promise<ArrayLike<number>> {
  try {
    return await rt.read(out);
  } finally {
    for (const t of [out, ...inputs]) t.dispose();
  }
}

/**
 * Read several outputs back and concatenate them (in the order given), then give the outputs and
 * the inputs back to the pool. For kernels with more than one output compared under one tolerance.
 */
export async function readAllAndFree(rt: Runtime, outs: readonly Tensor[], ...inputs: Tensor[]): Promise<Float64Array> {
  try {
    const parts: ArrayLike<number>[] = [];
    for (const t of outs) parts.push(await rt.read(t));
    return concat(...parts);
  } finally {
    for (const t of [...outs, ...inputs]) t.dispose();
  }
}

/** Concatenation of host arrays as float64 (f32 values convert exactly). */
export function concat(...parts: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
