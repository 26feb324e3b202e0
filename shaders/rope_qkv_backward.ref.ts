// Reference for rope_qkv_backward.wgsl in float64: rotate dq and dk back (ropeBackwardRef, angles
// in double precision) and place dq | dk | dv in the fused row layout [R, (H + 2·Hkv)·D]. With kvGroup G > 1, dk and
// dv come as per-query-head partials [R, Hkv·G, D] and are summed over each kv head's G query heads first.
import { ropeBackwardRef } from './rope_backward.ref.ts';
import { ropePositions } from './rope_forward.ref.ts';

export function ropeQkvBackwardRef(
  dq: ArrayLike<number>, // [R, H, D]
  dk: ArrayLike<number>, // [R, Hkv, D] (or [R, Hkv·G, D] with kvGroup G)
  dv: ArrayLike<number>, // [R, Hkv, D] (or [R, Hkv·G, D])
  B: number, T: number, H: number, Hkv: number, D: number,
  opts: { offset?: number; positions?: ArrayLike<number>; invFreq: ArrayLike<number>; kvGroup?: number },
): Float64Array {
  const R = B * T;
  const G = opts.kvGroup ?? 1;
  if (G > 1) [dk, dv] = [sumGroups(dk, R * Hkv, G, D), sumGroups(dv, R * Hkv, G, D)];
  const W = (H + 2 * Hkv) * D;
  const pos = ropePositions(R, T, opts.offset ?? 0, opts.positions);
  const gq = ropeBackwardRef(dq, R, H, D, pos, opts.invFreq); // [R, H, D]
  const gk = ropeBackwardRef(dk, R, Hkv, D, pos, opts.invFreq); // [R, Hkv, D]
  const out = new Float64Array(R * W); // [R, (H + 2Hkv)·D]
  for (let r = 0; r < R; r++) {
    for (let e = 0; e < H * D; e++) out[r * W + e] = gq[r * H * D + e];
    for (let e = 0; e < Hkv * D; e++) {
      out[r * W + H * D + e] = gk[r * Hkv * D + e];
      out[r * W + (H + Hkv) * D + e] = dv[r * Hkv * D + e];
    }
  }
  return out;
}

/** [n, G, D] → [n, D]: the sum over the G slices of each of n groups. */
function sumGroups(x: ArrayLike<number>, n: number, G: number, D: number): Float64Array {
  const out = new Float64Array(n * D);
  for (let i = 0; i < n; i++) for (let g = 0; g < G; g++) for (let e = 0; e < D; e++) out[i * D + e] += x[(i * G + g) * D + e];
  return out;
}
