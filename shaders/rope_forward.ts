// rope_forward: rotary embedding of q or k, transformers `rotate_half` convention (shared with rope_backward).
import body from './rope_forward.wgsl';
import turns from './rope_turns.wgsl';
import { cdiv, grid1d, packUniforms, type KernelSpec } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import { Tensor, expectShape } from '../src/engine/gpu/tensor.ts';

// the shared angle reduction (rope_turns.wgsl) goes first: WGSL has no include
const code = turns + body;

export const ropeForwardSpec: KernelSpec = {
  name: 'rope_forward',
  code,
  bindings: ['uniform', 'read', 'read', 'read', 'storage'],
};
export const ropeTableSpec: KernelSpec = {
  name: 'rope_forward.table',
  code,
  entryPoint: 'table',
  bindings: ['uniform', 'read', 'storage'],
};

export interface RopeOptions {
  /** rope_theta (10000 Llama 2, 500000 Llama 3, 1e6 Qwen2); unused when invFreq is given */
  theta: number;
  /** added to every position (KV cache: number of tokens already cached) */
  offset?: number;
  /** i32 positions, one per token row (B·T values); p = offset + positions[row] */
  positions?: Tensor | null;
  /**
   * Own frequencies [D/2] (e.g. llama3 rope_scaling): host numbers (used at float64 precision) or an
   * f32 tensor (its f32 values taken as exact). Default: theta^(-2i/D) in float64.
   */
  invFreq?: Tensor | ArrayLike<number> | null;
}

/** Largest |position| whose angle is exact (12-bit halves of p, see the .wgsl header). */
export const ROPE_MAX_POSITION = 2 ** 24 - 1;

/** theta^(-2i/D) for i < D/2, in float64. */
export function ropeInvFreq(theta: number, D: number): Float64Array {
  return Float64Array.from({ length: D / 2 }, (_, i) => Math.pow(theta, (-2 * i) / D));
}

/**
 * Turn table [D/2, 4]: f_i/(2π) split into 4 pieces of 12 significant bits (largest first), each exact
 * in f32; their sum is f_i/(2π) to float64 precision (48 of 53 bits kept).
 */
export function ropeTurnTable(invFreq: ArrayLike<number>): Float32Array {
  const tab = new Float32Array(invFreq.length * 4); // [D/2, 4]
  for (let i = 0; i < invFreq.length; i++) {
    let rem = invFreq[i] / (2 * Math.PI);
    if (!Number.isFinite(rem)) throw new Error(`rope: inv_freq[${i}] = ${invFreq[i]} is not finite`);
    if (rem === 0) continue;
    let e = Math.floor(Math.log2(Math.abs(rem)));
    if (Math.abs(rem) >= 2 ** (e + 1)) e++; // log2 may round across a power of two
    if (Math.abs(rem) < 2 ** e) e--;
    let scale = 2 ** (11 - e); // |rem|·scale in [2^11, 2^12): the first piece has 12 bits
    for (let k = 0; k < 4; k++) {
      const piece = Math.trunc(rem * scale) / scale; // exact: scaling by powers of two, trunc
      tab[i * 4 + k] = piece;
      rem -= piece; // exact
      scale *= 4096;
    }
  }
  return tab;
}

// Host tables are uploaded once per runtime and frequency set, then reused (a few KiB each).
const tables = new WeakMap<Runtime, Map<string, Tensor>>();
// the model passes the same Float32Array every step: find its table by identity, no string key
const byArray = new WeakMap<Runtime, WeakMap<object, Tensor>>();

/** Turn table [D/2, 4] on the GPU for host frequencies (cached per runtime, by array identity and value). */
export function ropeTable(rt: Runtime, invFreq: ArrayLike<number>): Tensor {
  let m = byArray.get(rt);
  if (!m) byArray.set(rt, (m = new WeakMap()));
  let t = m.get(invFreq as object);
  if (!t || t.isDisposed) {
    t = hostTable(rt, `f:${Array.from(invFreq).join(',')}`, () => invFreq, invFreq.length);
    m.set(invFreq as object, t);
  }
  return t;
}

function hostTable(rt: Runtime, key: string, invFreq: () => ArrayLike<number>, half: number): Tensor {
  let m = tables.get(rt);
  if (!m) tables.set(rt, (m = new Map()));
  let t = m.get(key);
  if (!t || t.isDisposed) {
    t = rt.persistent(() => rt.upload(ropeTurnTable(invFreq()), [half, 4], 'f32', 'rope.table')); // [D/2, 4] a cache: no scope frees it
    m.set(key, t);
  }
  return t;
}

/** Shared by ropeForward (dir = +1) and ropeBackward (dir = −1). x: [T, H, D] or [B, T, H, D] f32. */
export function ropeApply(rt: Runtime, x: Tensor, opts: RopeOptions, dir: 1 | -1, what: string): Tensor {
  if (x.dtype !== 'f32' || (x.shape.length !== 3 && x.shape.length !== 4)) throw new Error(`${what}: expected f32 [T, H, D] or [B, T, H, D], got ${x}`);
  const [H, D] = x.shape.slice(-2);
  const T = x.shape[x.shape.length - 3];
  const R = x.numel / (H * D || 1); // token rows B·T
  if (D % 2 !== 0 || D === 0) throw new Error(`${what}: head dim D must be even and > 0, got ${x}`);
  const half = D / 2;
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(offset)) throw new Error(`${what}: offset must be an integer, got ${offset}`);
  const pos = opts.positions ?? null;
  if (pos) {
    if (pos.dtype !== 'i32' || pos.numel !== R) throw new Error(`${what}: positions must be i32 with ${R} values (one per token row), got ${pos}`);
    if (Math.abs(offset) > ROPE_MAX_POSITION) throw new Error(`${what}: offset ${offset} beyond ±${ROPE_MAX_POSITION}`);
    // positions on the GPU cannot be checked here: |offset + positions[r]| must stay <= ROPE_MAX_POSITION
  } else if (offset < -ROPE_MAX_POSITION || offset + T - 1 > ROPE_MAX_POSITION) {
    throw new Error(`${what}: positions ${offset}..${offset + T - 1} beyond ±${ROPE_MAX_POSITION}`);
  }

  const uniforms = packUniforms([
    ['u32', R * H * half], ['u32', H], ['u32', half], ['u32', Math.max(T, 1)],
    ['i32', offset], ['u32', pos ? 1 : 0], ['f32', dir], ['u32', 0],
  ]);
  let tab: Tensor;
  let ownTable = false;
  const inv = opts.invFreq ?? null;
  if (inv instanceof Tensor) {
    expectShape(inv, [half], `${what}: invFreq`, ['f32']);
    tab = rt.empty([half, 4], 'f32', 'rope.table'); // [D/2, 4]
    rt.dispatch(ropeTableSpec, { tensors: [inv, tab], uniforms, workgroups: [cdiv(half, 256)] });
    ownTable = true;
  } else if (inv) {
    if (inv.length !== half) throw new Error(`${what}: invFreq needs ${half} values, got ${inv.length}`);
    tab = ropeTable(rt, inv);
  } else {
    if (!(opts.theta > 0) || !Number.isFinite(opts.theta)) throw new Error(`${what}: theta must be > 0, got ${opts.theta}`);
    tab = hostTable(rt, `theta:${opts.theta}:D:${D}`, () => ropeInvFreq(opts.theta, D), half);
  }

  const out = rt.empty(x.shape, 'f32', `${what}.out`); // like x
  rt.dispatch(ropeForwardSpec, { tensors: [x, tab, pos ?? tab, out], uniforms, workgroups: grid1d(cdiv(R * H * half, 256)) });
  if (ownTable) tab.dispose(); // the recorded dispatch still reads it (queue order)
  return out;
}

/**
 * Rotates x [T, H, D] (or [B, T, H, D]) by position p = offset + t (t = index in the sequence) or
 * p = offset + positions[row]. Returns a new tensor shaped like x. Exact angles for |p| < 2^24.
 */
export function ropeForward(rt: Runtime, x: Tensor, opts: RopeOptions): Tensor {
  return ropeApply(rt, x, opts, 1, 'rope_forward');
}
