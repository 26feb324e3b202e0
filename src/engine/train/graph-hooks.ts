// Hook points in the training graph (graph.ts): the same TransformerLens names as the inference forward
// (model/hooks.ts), readable and writable, so a hook defined once works in inference, decode and training.
//
// Reading: `capture` names points whose values go to `onCapture(name, copy)` as the forward meets them
// (copies the receiver owns; a recomputed block — StepOptions.recompute — does not report twice).
// Writing: `edit` maps a point to a TrainHook: `forward` edits the activation in place, as a HookFn does
// in the inference forward; `backward` edits the gradient arriving at that point in place, turning
// d loss / d(edited activation) into d loss / d(activation before the edit) — the transposed Jacobian of
// the edit, as a custom autograd function's backward. None = identity (an added steering vector);
// an ablation that replaces entries by constants zeroes the same entries of the gradient (zeroHeads).
// The edit runs again when a block is recomputed (it must be deterministic), except at resid_pre,
// whose edited tensor is what the recompute starts from.
//
// Points (TransformerLens's shapes; N = B·T rows): every point of model/hooks.ts — the block is the one the
// inference forward runs (model/block.ts) — all writable: hook_embed, resid_pre/mid/post,
// ln1/ln2.hook_normalized [N, C], attn.hook_q [B, T, H, D], attn.hook_k and attn.hook_v [B, T, Hkv, D] before
// RoPE (column windows of the fused q|k|v rows: an edit is written back before RoPE, the backward edits the
// gradient of the same window; v has no RoPE), attn.hook_rot_q [B, T, H, D], attn.hook_rot_k [B, T, Hkv, D]
// (no KV cache here: the roped keys are this batch's own), attn.hook_z [B, T, H, D], hook_attn_out and
// hook_mlp_out [N, C] (the projections with their adapters, computed apart when hooked; the backward edit
// applies to the gradient reaching the projection, not the residual's), mlp.hook_post [N, F],
// ln_final.hook_normalized [N, C], attn.hook_attn_scores and attn.hook_pattern [B, H, T, T]. Captured only, the
// last two come from the flash kernel's path (scores computed from the roped q and k, the probabilities written
// out by the kernel); written, attention runs in explicit steps (scores → pattern → z) and its backward runs
// them back (shaders/attention_explicit_backward), each edit's backward applied to the gradient at its point.
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { HOOKS, type HookFn } from '../model/hooks.ts';
import type { BlockHooks } from '../model/block.ts';

const RESID_PRE = /\.hook_resid_pre$/;

export interface TrainHook {
  /** edits the activation in place */
  forward: HookFn;
  /** edits the gradient at the point in place (the edit's transposed Jacobian); absent = identity */
  backward?: HookFn;
}

export interface GraphHooks {
  edit?: ReadonlyMap<string, TrainHook>;
  capture?: ReadonlySet<string>;
  /** receives a copy of each captured point (the receiver disposes it) */
  onCapture?: (name: string, t: Tensor) => void;
}

/** The training graph's points, in forward order (every one readable and writable). */
export function trainHookNames(nLayers: number): string[] {
  const out: string[] = [HOOKS.embed];
  for (let l = 0; l < nLayers; l++) {
    out.push(HOOKS.residPre(l), HOOKS.ln1(l), HOOKS.q(l), HOOKS.k(l), HOOKS.rotQ(l), HOOKS.rotK(l), HOOKS.v(l), HOOKS.attnScores(l), HOOKS.pattern(l));
    out.push(HOOKS.z(l), HOOKS.attnOut(l), HOOKS.residMid(l), HOOKS.ln2(l), HOOKS.mlpPost(l), HOOKS.mlpOut(l), HOOKS.residPost(l));
  }
  out.push(HOOKS.lnFinal);
  return out;
}

/**
 * One step's hook points: checks the names once, then runs edits and captures as the graph meets them. The
 * block's view of them (model/block.ts BlockHooks): captures are copies, so nothing is ever kept from the graph.
 */
export class GraphHookPoints implements BlockHooks {
  /** a recomputed block (StepOptions.recompute): no captures, and resid_pre's edit is not run again */
  again = false;
  /** the runtime's scope depth when the step began: captured copies leave the scopes opened since (the blocks') */
  private readonly depth: number;

  constructor(
    private readonly rt: Runtime,
    private readonly h: GraphHooks | undefined,
    nLayers: number,
  ) {
    this.depth = rt.scopeDepth;
    if (!h) return;
    const known = new Set(trainHookNames(nLayers));
    for (const name of h.edit?.keys() ?? []) {
      if (!known.has(name)) throw new Error(`train hooks: no hook point "${name}" in the training graph (${[...known].slice(0, 3).join(', ')}, …, ${HOOKS.lnFinal})`);
    }
    for (const name of h.capture ?? []) if (!known.has(name)) throw new Error(`train hooks: no hook point "${name}" in the training graph`);
    if (h.capture?.size && !h.onCapture) throw new Error('train hooks: captures need onCapture');
  }

  /** Nothing hooked. */
  get none(): boolean {
    return !this.h || (!this.h.edit?.size && !this.h.capture?.size);
  }
  /** Captured in this pass (a recompute captures nothing). */
  captured(name: string): boolean {
    return !this.again && (this.h?.capture?.has(name) ?? false);
  }
  edited(name: string): boolean {
    return this.h?.edit?.has(name) ?? false;
  }
  /** Captured or edited. */
  wants(name: string): boolean {
    return this.captured(name) || this.edited(name);
  }
  /** Edited with a backward (a gradient edit to apply). */
  editsGrad(name: string): boolean {
    return !!this.h?.edit?.get(name)?.backward;
  }
  /** The forward edit of the point (not resid_pre's in a recompute), then a copy of it to onCapture; returns t. */
  at(name: string, t: Tensor): Tensor {
    if (!(this.again && RESID_PRE.test(name))) this.h?.edit?.get(name)?.forward(t, name);
    if (this.captured(name)) this.report(name, t);
    return t;
  }
  /** A read-only point: a copy made by `make` to onCapture, when captured. */
  atCopy(name: string, make: () => Tensor): void {
    if (this.captured(name)) this.report(name, make(), true);
  }
  /** Nothing goes to the caller but copies. */
  isKept(_t: Tensor): boolean {
    return false;
  }
  release(t: Tensor): void {
    t.dispose();
  }
  /** Reports a tensor made for a capture-only point (it takes ownership). */
  report(name: string, t: Tensor, own = false): void {
    if (own) return this.h!.onCapture!(name, this.rt.escape(t, this.depth));
    const copy = this.rt.empty(t.shape, t.dtype, `capture.${name}`);
    this.rt.copy(t, 0, copy, 0, t.numel);
    this.h!.onCapture!(name, this.rt.escape(copy, this.depth)); // the receiver's, past the block's scope
  }
  /** The backward edit of the point on its gradient g (in place); returns g. */
  grad(name: string, g: Tensor): Tensor {
    this.h?.edit?.get(name)?.backward?.(g, name);
    return g;
  }
}
