// The counter hash of dropout.wgsl in TypeScript (u32 arithmetic through Math.imul and >>> 0): the
// trainer derives per-step dropout seeds with it, and the kernel's float64 reference rebuilds masks
// bit-identically with it.

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
