// Reference for dropout.wgsl: the same hash in TypeScript (u32 arithmetic through Math.imul and >>> 0),
// so the mask is bit-identical, and the arithmetic in float64.

/** lowbias32, as in dropout.wgsl. */
export function hash32(v: number): number {
  let h = v >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h;
}

/** The keep threshold for drop probability p: element kept when its draw >= this. */
export const dropoutThreshold = (p: number): number => Math.min(0xffffffff, Math.round(p * 2 ** 32));

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
