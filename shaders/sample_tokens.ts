// sample_tokens: one draw per row from softmax(logits / T) by an inverse CDF in id order, and its
// log-probability: [rows, V] f32 logits + [rows, 2] (1/T, u) → tokens [rows] i32, logp [rows] f32.
import kernelCode from './sample_tokens.wgsl';
import reduceCommonCode from './workgroup_reduce_common.wgsl';
import { packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

const code = `${reduceCommonCode}\n${kernelCode}`;

export const sampleTokensSpec: KernelSpec = { name: 'sample_tokens', code, bindings: ['uniform', 'read', 'read', 'storage', 'storage'] };

/**
 * x [..., V] f32 logits, params [rows, 2] f32 (per row: 1 / temperature, u in [0, 1)) → the token whose
 * CDF step (in id order) holds u, and log_softmax(x / T) at it. `tokens` may be given (e.g. the next decode
 * step's input ids [B, 1]).
 */
export function sampleTokens(rt: Runtime, x: Tensor, params: Tensor, out?: { tokens?: Tensor }): { tokens: Tensor; logp: Tensor } {
  if (x.dtype !== 'f32' || x.shape.length < 1) throw new Error(`sample_tokens: expected f32 [..., V] logits, got ${x}`);
  const V = x.shape[x.shape.length - 1];
  if (V === 0) throw new Error(`sample_tokens: empty rows in ${x}`);
  const rows = x.numel / V;
  if (rows > 65535) throw new Error(`sample_tokens: ${rows} rows exceed one dispatch dimension`);
  if (params.dtype !== 'f32' || params.numel !== 2 * rows) throw new Error(`sample_tokens: params ${params} must be f32 [${rows}, 2] (1/temperature, u per row)`);
  const tokens = out?.tokens ?? rt.empty([rows], 'i32', 'sample.tokens');
  if (tokens.dtype !== 'i32' || tokens.numel !== rows) throw new Error(`sample_tokens: tokens ${tokens} must be i32 with ${rows} values`);
  const logp = rt.empty([rows], 'f32', 'sample.logp');
  const chunk = Math.ceil(V / 256);
  rt.dispatch(sampleTokensSpec, { tensors: [x, params, tokens, logp], uniforms: packUniforms([['u32', V], ['u32', rows], ['u32', chunk], ['u32', 0]]), workgroups: [rows] });
  return { tokens, logp };
}
