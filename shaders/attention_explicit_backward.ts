// attention_explicit_backward: the two kernels the backward of attention_explicit's steps needs beside that
// file's own (see the .wgsl header for the whole chain): gather (dv, dk: a kv head's group summed over its
// query heads and the queries) and the softmax's backward (ds from the pattern and its gradient).
import code from './attention_explicit_backward.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';
import { attentionApply, attentionScores, checkF32 } from './attention_explicit.ts';

const bindings = ['uniform', 'read', 'read', 'storage'] as const;
export const attentionGatherSpec: KernelSpec = { name: 'attention_explicit_gather', code, entryPoint: 'gather_main', bindings };
export const attentionSoftmaxBackwardSpec: KernelSpec = { name: 'attention_explicit_softmax_backward', code, entryPoint: 'softmax_backward_main', bindings };

const U32_MAX = 0xffffffff;

const uniforms = (B: number, T: number, S: number, H: number, Hkv: number, D: number, scale: number) =>
  packUniforms([['u32', B], ['u32', T], ['u32', S], ['u32', H], ['u32', Hkv], ['u32', D], ['f32', scale], ['u32', 0]]);

/**
 * out[b, j, hk, d] = scale · Σ_{h in hk's group} Σ_i m[b, h, i, j] · x[b, i, h, d]: dv (m = the pattern z was
 * made of, x = dz, scale 1) or dk (m = ds, x = the roped q, scale = the scores' scale).
 * m [B, H, T, S], x [B, T, H, D] → [B, S, Hkv, D].
 */
export function attentionGather(rt: Runtime, m: Tensor, x: Tensor, Hkv: number, scale = 1): Tensor {
  const what = 'attention_gather';
  const [B, H, T, S] = checkF32(what, 'm', m, '[B, H, T, S]');
  const [Bx, Tx, Hx, D] = checkF32(what, 'x', x, '[B, T, H, D]');
  if (Bx !== B || Tx !== T || Hx !== H) throw new Error(`${what}: x ${x} does not match m ${m} (B, T, H)`);
  if (!Number.isInteger(Hkv) || Hkv < 1 || H % Hkv !== 0) throw new Error(`${what}: H=${H} is not a multiple of Hkv=${Hkv}`);
  if (!Number.isFinite(scale)) throw new Error(`${what}: scale ${scale} must be finite`);
  const n = B * S * Hkv * D;
  if (n < 1 || n > U32_MAX) throw new Error(`${what}: output [${B}, ${S}, ${Hkv}, ${D}] is empty or too large`);
  const out = rt.empty([B, S, Hkv, D], 'f32', 'attention.gather'); // [B, S, Hkv, D]
  rt.dispatch(attentionGatherSpec, { tensors: [m, x, out], uniforms: uniforms(B, T, S, H, Hkv, D, scale), workgroups: grid1d(cdiv(n, 256)) });
  return out;
}

/** ds = p ⊙ (dp − Σ_j p ⊙ dp) per row: the softmax's backward. p, dp [B, H, T, S] → ds [B, H, T, S]. */
export function attentionSoftmaxBackward(rt: Runtime, p: Tensor, dp: Tensor): Tensor {
  const what = 'attention_softmax_backward';
  const [B, H, T, S] = checkF32(what, 'p', p, '[B, H, T, S]');
  checkF32(what, 'dp', dp, '[B, H, T, S]');
  if (dp.shape.some((d, i) => d !== p.shape[i])) throw new Error(`${what}: dp ${dp} does not match p ${p}`);
  if (p.numel < 1) throw new Error(`${what}: empty p ${p}`);
  const out = rt.empty([B, H, T, S], 'f32', 'attention.dscores'); // [B, H, T, S]
  rt.dispatch(attentionSoftmaxBackwardSpec, { tensors: [p, dp, out], uniforms: uniforms(B, T, S, H, 1, 1, 1), workgroups: grid1d(B * H * T) });
  return out;
}

/**
 * The backward of attention_explicit's steps over this batch's own keys (k, v [B, T, Hkv, D], offset 0): from dz
 * [B, T, H, D] to the roped dq [B, T, H, D] and dk, dv [B, T, Hkv, D]. p is the softmax's output, pz the pattern z
 * was made of (p itself, or p after a hook_pattern edit); onDp / onDs edit the gradient in place where it meets the
 * pattern and the scores (the hooks' backwards). scale: the scores' (default 1/√D).
 */
export function attentionExplicitBackward(
  rt: Runtime, q: Tensor, k: Tensor, v: Tensor, p: Tensor, pz: Tensor, dz: Tensor,
  opts: { scale?: number; onDp?: (dp: Tensor) => void; onDs?: (ds: Tensor) => void } = {},
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const [, T, Hkv, D] = k.shape;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const dp = attentionScores(rt, dz, v, { offset: T, scale: 1 }); // [B, H, T, T]: every key, as an edited pattern may weigh any
  opts.onDp?.(dp);
  const ds = attentionSoftmaxBackward(rt, p, dp); // [B, H, T, T]
  dp.dispose();
  opts.onDs?.(ds);
  const dq = attentionApply(rt, ds, k, { scale }); // [B, T, H, D]
  const dk = attentionGather(rt, ds, q, Hkv, scale); // [B, T, Hkv, D]
  ds.dispose();
  const dv = attentionGather(rt, pz, dz, Hkv); // [B, T, Hkv, D]
  return { dq, dk, dv };
}
