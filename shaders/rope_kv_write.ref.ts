// Reference for rope_kv_write.wgsl in float64: split the fused row, rotate q and k (ropeForwardRef),
// place k and v at their cache slots. Cache slots outside cacheAt..cacheAt+T-1 keep `kcIn`/`vcIn`.
import { ropeForwardRef, ropePositions } from './rope_forward.ref.ts';

export function ropeKvWriteRef(
  qkv: ArrayLike<number>, // [B, T, (H + 2·Hkv)·D]
  B: number, T: number, H: number, Hkv: number, D: number,
  kcIn: ArrayLike<number>, vcIn: ArrayLike<number>, S: number, // [B, S, Hkv, D]
  opts: { cacheAt: number; offset: number; positions?: ArrayLike<number>; invFreq: ArrayLike<number> },
): { q: Float64Array; kc: Float64Array; vc: Float64Array } {
  const R = B * T;
  const W = (H + 2 * Hkv) * D;
  const part = (h0: number, nh: number) => {
    const out = new Float64Array(R * nh * D); // [R, nh, D]
    for (let r = 0; r < R; r++) for (let e = 0; e < nh * D; e++) out[r * nh * D + e] = qkv[r * W + h0 * D + e];
    return out;
  };
  const pos = ropePositions(R, T, opts.offset, opts.positions);
  const q = ropeForwardRef(part(0, H), R, H, D, pos, opts.invFreq); // [R, H, D]
  const k = ropeForwardRef(part(H, Hkv), R, Hkv, D, pos, opts.invFreq); // [R, Hkv, D]
  const v = part(H + Hkv, Hkv); // [R, Hkv, D]
  const kc = Float64Array.from(kcIn);
  const vc = Float64Array.from(vcIn);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const slot = (b * S + opts.cacheAt + t) * Hkv * D;
      const row = (b * T + t) * Hkv * D;
      for (let e = 0; e < Hkv * D; e++) {
        kc[slot + e] = k[row + e];
        vc[slot + e] = v[row + e];
      }
    }
  return { q, kc, vc };
}
