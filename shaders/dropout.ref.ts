// Reference for dropout.wgsl: the same hash in TypeScript (u32 arithmetic through Math.imul and >>> 0),
// so the mask is bit-identical, and the arithmetic in float64.

import { hash32, dropoutThreshold } from '../src/engine/util/hash32.ts';

export { hash32, dropoutThreshold };

/** Whether element i is kept under (seedLo, seedHi) at drop probability p. */
export function keepBit(i: number, seedLo: number, seedHi: number, p: number): boolean {
  const d = hash32(((hash32((i ^ seedLo) >>> 0) + (seedHi >>> 0)) >>> 0));
  return d >= dropoutThreshold(p);
}

/** out = (acc ?? 0) + x · keep / (1 − p), in float64. */
export function dropoutRef(x: ArrayLike<number>, p: number, seedLo: number, seedHi: number, acc?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (acc ? acc[i] : 0) + (keepBit(i, seedLo, seedHi, p) ? x[i] / (1 - p) : 0);
  return out;
}
