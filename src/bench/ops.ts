// Benchmark runners for the kernels beyond matmul (which kernels.ts holds), registered by op name as
// they appear in tools/bench/kernel_cases.json. Each `record` makes the op's outputs and disposes them
// at once: disposal is queue-ordered, so the pool hands the same buffers back and nothing is allocated
// inside a timed region. Bytes are the tensors each op must read and write at least once.
import type { Runtime } from '../engine/gpu/runtime.ts';
import type { Tensor } from '../engine/gpu/tensor.ts';
import { Rng } from '../engine/util/rng.ts';
import { registerRunner, type BenchCase } from './kernels.ts';
import { rmsnormForward } from '../../shaders/rmsnorm_forward.ts';
import { ropeForward } from '../../shaders/rope_forward.ts';
import { swigluForward } from '../../shaders/swiglu_forward.ts';
import { crossEntropyForward } from '../../shaders/cross_entropy_forward.ts';
import { adamwStep } from '../../shaders/adamw.ts';
import { loraForward } from '../../shaders/lora_forward.ts';
import { softmax } from '../../shaders/softmax_forward.ts';
import { attentionForward } from '../../shaders/attention_forward.ts';
import { attentionBackward } from '../../shaders/attention_backward.ts';

const rng = new Rng(11);
const n = (c: BenchCase, k: string): number => Number(c[k]);
function rand(rt: Runtime, shape: number[], lo = -1, hi = 1): Tensor {
  return rt.upload(rng.uniform(shape.reduce((a, b) => a * b, 1), lo, hi), shape, 'f32', 'bench-in');
}
const free = (...ts: Tensor[]) => ts.forEach((t) => t.dispose());

registerRunner('rmsnorm', ['v1'], (rt, c) => {
  const [N, C] = [n(c, 'N'), n(c, 'C')];
  const x = rand(rt, [N, C]), w = rand(rt, [C], 0.5, 1.5);
  return {
    record: () => {
      const r = rmsnormForward(rt, x, w, 1e-6);
      free(r.y, r.rstd);
    },
    flops: 0,
    bytes: 2 * x.byteLength + w.byteLength,
    tensors: [x, w],
  };
});

registerRunner('rope', ['v1'], (rt, c) => {
  const x = rand(rt, [n(c, 'T'), n(c, 'H'), n(c, 'D')]);
  return { record: () => ropeForward(rt, x, { theta: 10000 }).dispose(), flops: 0, bytes: 2 * x.byteLength, tensors: [x] };
});

registerRunner('swiglu', ['v1'], (rt, c) => {
  const g = rand(rt, [n(c, 'N'), n(c, 'F')]), u = rand(rt, [n(c, 'N'), n(c, 'F')]);
  return { record: () => swigluForward(rt, g, u).dispose(), flops: 0, bytes: 3 * g.byteLength, tensors: [g, u] };
});

registerRunner('softmax', ['v1'], (rt, c) => {
  const x = rand(rt, [n(c, 'rows'), n(c, 'cols')], -10, 10);
  return { record: () => softmax(rt, x).dispose(), flops: 0, bytes: 2 * x.byteLength, tensors: [x] };
});

registerRunner('cross_entropy', ['v1'], (rt, c) => {
  const [N, V] = [n(c, 'N'), n(c, 'V')];
  const logits = rand(rt, [N, V], -10, 10);
  const targets = rt.upload(rng.ints(N, 0, V), [N], 'i32', 'targets');
  return {
    record: () => {
      const r = crossEntropyForward(rt, logits, targets);
      free(r.loss, r.rowLoss, r.lse, r.count);
    },
    flops: 0,
    bytes: logits.byteLength,
    tensors: [logits, targets],
  };
});

registerRunner('adamw', ['v1'], (rt, c) => {
  const N = n(c, 'n');
  const p = rand(rt, [N]), g = rand(rt, [N]), m = rt.zeros([N]), v = rt.zeros([N]);
  const hp = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 };
  return { record: () => adamwStep(rt, p, g, m, v, null, hp), flops: 0, bytes: 7 * p.byteLength, tensors: [p, g, m, v] };
});

registerRunner('lora', ['v1'], (rt, c) => {
  const [N, I, O, r] = [n(c, 'N'), n(c, 'in'), n(c, 'out'), n(c, 'r')];
  const x = rand(rt, [N, I]), A = rand(rt, [r, I]), B = rand(rt, [O, r]), y = rand(rt, [N, O]);
  return {
    record: () => loraForward(rt, x, A, B, y, 2).xa.dispose(),
    flops: 2 * N * r * (I + O),
    bytes: x.byteLength + 2 * y.byteLength,
    tensors: [x, A, B, y],
  };
});

registerRunner('attention', ['naive', 'flash', 'rows'], (rt, c, version) => {
  const [B, T, H, Hkv, D] = [n(c, 'B'), n(c, 'T'), n(c, 'H'), n(c, 'Hkv'), n(c, 'D')];
  const q = rand(rt, [B, T, H, D]), k = rand(rt, [B, T, Hkv, D]), v = rand(rt, [B, T, Hkv, D]);
  return {
    record: () => {
      const r = attentionForward(rt, q, k, v, { version: version === 'naive' ? 1 : version === 'flash' ? 2 : 3 });
      free(r.out, r.lse, ...(r.probs ? [r.probs] : []));
    },
    // causal: half of the T×T score matrix, two matmuls (QKᵀ and PV)
    flops: (4 * B * H * T * T * D) / 2,
    bytes: 2 * q.byteLength + 2 * k.byteLength,
    tensors: [q, k, v],
  };
});

// backward only (stats pre-pass, dQ, dK/dV), from one forward made outside the timed region;
// 'rows' = version 3 (attention_backward_dq_rows.wgsl, attention_backward_dkv_rows.wgsl and the reduce)
registerRunner('attention_bwd', ['flash', 'rows'], (rt, c, version) => {
  const [B, T, H, Hkv, D] = [n(c, 'B'), n(c, 'T'), n(c, 'H'), n(c, 'Hkv'), n(c, 'D')];
  const q = rand(rt, [B, T, H, D]), k = rand(rt, [B, T, Hkv, D]), v = rand(rt, [B, T, Hkv, D]), dOut = rand(rt, [B, T, H, D]);
  const fwd = attentionForward(rt, q, k, v);
  return {
    record: () => {
      const g = attentionBackward(rt, q, k, v, fwd.out, fwd.lse, dOut, { version: version === 'rows' ? 3 : 2 });
      free(g.dq, g.dk, g.dv);
    },
    flops: (5 * ((4 * B * H * T * T * D) / 2)) / 2, // as torch_kernels.py counts it
    bytes: 4 * q.byteLength + 4 * k.byteLength,
    tensors: [q, k, v, dOut, fwd.out, fwd.lse],
  };
});
