// Reference for attention_backward*.wgsl, in float64: the analytic gradients of causal
// grouped-query attention (see attention_forward.ref.ts for layouts and visibility).
//
// Legend: B batch, T queries, S keys, H query heads, Hkv kv heads, D head dim, G = H / Hkv.
//   q/dOut/dq [B, T, H, D], k/v/dk/dv [B, S, Hkv, D]
// With P = softmax(scale·QKᵀ) over visible keys and O = PV:
//   Δ_i = Σ_d dO_id O_id,  dP_ij = dO_i·v_j,  dS_ij = P_ij (dP_ij − Δ_i)
//   dV_j = Σ_i P_ij dO_i,  dQ_i = scale Σ_j dS_ij k_j,  dK_j = scale Σ_i dS_ij q_i
// dK/dV sum over the G query heads that share a kv head (repeat_kv's backward).
import { attentionForwardRef, type AttnDims, type AttnOpts } from './attention_forward.ref.ts';

export function attentionBackwardRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dOut: ArrayLike<number>,
  dims: AttnDims,
  opts: AttnOpts = {},
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, T, S, H, Hkv, D } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const G = H / Hkv;
  const { out, probs } = attentionForwardRef(q, k, v, dims, opts); // out [B, T, H, D], probs [B, H, T, S]
  const dq = new Float64Array(B * T * H * D); // [B, T, H, D]
  const dk = new Float64Array(B * S * Hkv * D); // [B, S, Hkv, D]
  const dv = new Float64Array(B * S * Hkv * D); // [B, S, Hkv, D]
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / G);
      for (let i = 0; i < T; i++) {
        const qo = ((b * T + i) * H + h) * D; // q/dOut/out/dq[b, i, h, 0]
        const row = ((b * H + h) * T + i) * S; // probs[b, h, i, 0]
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dOut[qo + d] * out[qo + d];
        for (let j = 0; j < S; j++) {
          const p = probs[row + j];
          if (p === 0) continue; // invisible keys (and exact underflow) contribute nothing
          const ko = ((b * S + j) * Hkv + hk) * D;
          let dp = 0;
          for (let d = 0; d < D; d++) dp += dOut[qo + d] * v[ko + d];
          const ds = p * (dp - delta);
          for (let d = 0; d < D; d++) {
            dv[ko + d] += p * dOut[qo + d];
            dq[qo + d] += scale * ds * k[ko + d];
            dk[ko + d] += scale * ds * q[qo + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
