// splitk_reduce_batch: split-K's second pass for several products, four to a dispatch (splitk_reduce_batch.wgsl).
// matmul({ reduceBatch }) hands its partial sums here instead of dispatching their reduce; flush() records what is
// left. Results are the immediate reduce's, bit for bit. Only for outputs nothing reads before the flush (a training
// step's parameter gradients).
import code from './splitk_reduce_batch.wgsl';
import { cdiv, packUniforms, type KernelSpec, type UniformField } from '../src/engine/gpu/kernel.ts';
import type { Runtime } from '../src/engine/gpu/runtime.ts';
import type { Tensor } from '../src/engine/gpu/tensor.ts';

const PER_DISPATCH = 4;

export const splitkReduceBatchSpec: KernelSpec = {
  name: 'splitk_reduce_batch',
  code,
  bindings: ['uniform', ...Array<'read'>(PER_DISPATCH).fill('read'), ...Array<'storage'>(PER_DISPATCH).fill('storage')],
};

interface Entry {
  /** [S, len] raw partial sums: owned by the batch from add() on (disposed after its dispatch) */
  partial: Tensor;
  out: Tensor;
  S: number;
  alpha: number;
  accumulate: boolean;
}

export class SplitkReduceBatch {
  private pending: Entry[] = [];
  /** dispatches recorded so far */
  dispatches = 0;

  constructor(private readonly rt: Runtime) {}

  /** out = alpha · Σ_s partial[s] (+ out): recorded with the next three, or at flush(). Takes ownership of `partial`. */
  add(partial: Tensor, out: Tensor, S: number, alpha: number, accumulate: boolean): void {
    if (out.dtype !== 'f32' || partial.dtype !== 'f32') throw new Error(`splitk_reduce_batch: f32 tensors only, got ${partial} → ${out}`);
    if (partial.numel !== S * out.numel) throw new Error(`splitk_reduce_batch: ${partial} is not ${S} slices of ${out}`);
    if (this.pending.some((e) => e.out.buffer === out.buffer && e.out.byteOffset < out.byteOffset + out.byteLength && out.byteOffset < e.out.byteOffset + e.out.byteLength)) {
      this.flush(); // the same output twice: the first reduce must land before the second reads it
    }
    this.pending.push({ partial, out, S, alpha, accumulate });
    if (this.pending.length === PER_DISPATCH) this.flush();
  }

  /** Records the reduces still pending (one dispatch); the batch can be used again. */
  flush(): void {
    const es = this.pending;
    if (!es.length) return;
    this.pending = [];
    const { rt } = this;
    // bindings past the entries: spare tensors (a writable binding must not alias another)
    const spares = Array.from({ length: PER_DISPATCH - es.length }, () => rt.empty([64], 'f32', 'splitk_reduce_batch.spare'));
    const fields: UniformField[] = [['u32', es.length], ['u32', 0], ['u32', 0], ['u32', 0]];
    for (let i = 0; i < PER_DISPATCH; i++) {
      const e = es[i];
      fields.push(['u32', e ? e.out.numel : 0], ['u32', e ? e.S : 0], ['f32', e ? e.alpha : 0], ['u32', e?.accumulate ? 1 : 0]);
    }
    const partials = Array.from({ length: PER_DISPATCH }, (_, i) => es[i]?.partial ?? es[0].partial);
    const outs = Array.from({ length: PER_DISPATCH }, (_, i) => es[i]?.out ?? spares[i - es.length]);
    const maxLen = Math.max(...es.map((e) => e.out.numel));
    rt.dispatch(splitkReduceBatchSpec, { tensors: [...partials, ...outs], uniforms: packUniforms(fields), workgroups: [cdiv(maxLen, 256), es.length, 1] });
    this.dispatches++;
    for (const e of es) e.partial.dispose(); // recorded dispatches still read them (queue order)
    for (const s of spares) s.dispose();
  }
}
