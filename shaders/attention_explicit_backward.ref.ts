// Reference for attention_explicit_backward.wgsl, in float64: gather (dv, dk) and the softmax's backward, and the
// whole backward of attention_explicit's three steps (with edits between them) that the training graph composes.
//   m, p, dp, ds [B, H, T, S]; x, q, dz [B, T, H, D]; k, v, dk, dv [B, S, Hkv, D]
import { attentionApplyRef, attentionScoresRef, type ExplicitDims } from './attention_explicit.ref.ts';

/** out[b, j, hk, d] = scale · Σ_{h in hk's group} Σ_i m[b, h, i, j] · x[b, i, h, d]. */
export function attentionGatherRef(m: ArrayLike<number>, x: ArrayLike<number>, dims: ExplicitDims, scale = 1): Float64Array {
  const { B, T, S, H, Hkv, D } = dims;
  const G = H / Hkv;
  const out = new Float64Array(B * S * Hkv * D); // [B, S, Hkv, D]
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / G);
      for (let i = 0; i < T; i++)
        for (let j = 0; j < S; j++) {
          const w = m[((b * H + h) * T + i) * S + j];
          for (let d = 0; d < D; d++) out[((b * S + j) * Hkv + hk) * D + d] += scale * w * x[((b * T + i) * H + h) * D + d];
        }
    }
  return out;
}

/** ds = p · (dp − Σ_j p · dp) per row of [rows, S]. */
export function softmaxBackwardRef(p: ArrayLike<number>, dp: ArrayLike<number>, S: number): Float64Array {
  const ds = new Float64Array(p.length);
  for (let r = 0; r < p.length / S; r++) {
    let dot = 0;
    for (let j = 0; j < S; j++) if (p[r * S + j] !== 0) dot += p[r * S + j] * dp[r * S + j];
    for (let j = 0; j < S; j++) ds[r * S + j] = p[r * S + j] === 0 ? 0 : p[r * S + j] * (dp[r * S + j] - dot);
  }
  return ds;
}

/**
 * The backward of z = edit_p(softmax(edit_s(scale · q kᵀ))) · v for this batch's own keys (S = T, offset 0): p is
 * the softmax's output, pz the pattern z was made of (p after the pattern's edit), and editDp / editDs the edits'
 * backwards (the transposed Jacobians), applied to the gradient at the pattern and at the scores.
 */
export function explicitBackwardRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, p: ArrayLike<number>, pz: ArrayLike<number>, dz: ArrayLike<number>, dims: ExplicitDims,
  opts: { scale?: number; editDp?: (dp: Float64Array) => void; editDs?: (ds: Float64Array) => void } = {},
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const scale = opts.scale ?? 1 / Math.sqrt(dims.D);
  const dp = attentionScoresRef(dz, v, dims, { offset: dims.S, scale: 1 }); // every key: an edited pattern may weigh any
  opts.editDp?.(dp);
  const ds = softmaxBackwardRef(p, dp, dims.S);
  opts.editDs?.(ds);
  const dq = attentionApplyRef(ds, k, dims).map((x) => x * scale);
  return { dq, dk: attentionGatherRef(ds, q, dims, scale), dv: attentionGatherRef(pz, dz, dims) };
}
