// Hook points of the model, TransformerLens's names and shapes, readable (capture) and writable (a
// function that edits the activation in place before the forward goes on).
//
// Legend: B batch, T new positions, S key positions, C = d_model, H = n_heads, D = d_head, F = d_mlp.
//
// Reading: `capture` names the points whose tensors the forward hands back (the caller disposes them);
// a captured tensor is never changed afterwards by the forward (it computes around it).
// Writing: `hooks` maps a point to a function that gets the live activation and may overwrite it in
// place on the GPU (rt.copy from prepared tensors, a kernel with `out`): the forward then continues
// from the edited values. A function runs before the capture of the same point, so a capture shows what
// flowed on. Every hooked or captured point is materialised: the fused decode kernels (which never show
// the normalised inputs, q/k/v or SwiGLU's parts) are not used in such a forward.
//
// Points (in the order a forward meets them):
//   hook_embed                      [B, T, C]     the embedding rows (then blocks.0.hook_resid_pre, the same tensor)
//   blocks.{l}.hook_resid_pre       [B, T, C]
//   blocks.{l}.ln1.hook_normalized  [B, T, C]     rmsnorm(resid_pre) · ln1.w
//   blocks.{l}.attn.hook_q          [B, T, H, D]  q before RoPE  } column windows of the fused q|k|v rows, copied
//   blocks.{l}.attn.hook_k          [B, T, Hkv, D] k before RoPE } out (shaders/copy_columns) and, when a
//   blocks.{l}.attn.hook_v          [B, T, Hkv, D] v             } function edits them, copied back before RoPE
//   blocks.{l}.attn.hook_rot_q      [B, T, H, D]  q after RoPE (what meets the keys)
//   blocks.{l}.attn.hook_rot_k      [B, T, Hkv, D] k after RoPE (read only: it lives in the KV cache's rows;
//                                                 captured as a copy; edit hook_k to change the keys)
//   blocks.{l}.attn.hook_attn_scores [B, H, T, S] q·kᵀ/√D with the causal and padding mask (masked keys hold
//                                                 −3.402823e38, the convention's mask constant, where
//                                                 TransformerLens puts −inf)
//   blocks.{l}.attn.hook_pattern    [B, H, T, S]  the softmax over the visible keys
//   blocks.{l}.attn.hook_z          [B, T, H, D]  the heads' outputs before o_proj
// S is the keys' length: T without a cache, the cache's capacity with one (keys past the query's
// position hold the mask constant / probability 0). Capturing the pattern alone runs the flash kernel
// with its probabilities written out; hooking the scores (capture or edit) or editing the pattern runs
// attention in explicit steps (shaders/attention_explicit: scores → pattern → z = pattern · V), so an
// edit flows on. An edited score of a masked key stays masked (the pattern recomputes visibility).
//   blocks.{l}.hook_attn_out        [B, T, C]     z · W_Oᵀ (with the adapter)
//   blocks.{l}.hook_resid_mid       [B, T, C]
//   blocks.{l}.ln2.hook_normalized  [B, T, C]
//   blocks.{l}.mlp.hook_post        [B, T, F]     silu(gate) · up
//   blocks.{l}.hook_mlp_out         [B, T, C]
//   blocks.{l}.hook_resid_post      [B, T, C]
//   ln_final.hook_normalized        [B, T, C]
// The block that meets them is defined once (./block.ts) and run by this forward, decode and the training
// graph (train/graph.ts), which has the same names, readable and writable with a backward for each edit
// (train/graph-hooks.ts; written scores or a written pattern run attention in explicit steps there, and back).
import type { Runtime } from '../gpu/runtime.ts';
import { copyColumns } from '../../../shaders/copy_columns.ts';
import type { Tensor } from '../gpu/tensor.ts';

export const HOOKS = {
  embed: 'hook_embed',
  residPre: (l: number) => `blocks.${l}.hook_resid_pre`,
  ln1: (l: number) => `blocks.${l}.ln1.hook_normalized`,
  q: (l: number) => `blocks.${l}.attn.hook_q`,
  k: (l: number) => `blocks.${l}.attn.hook_k`,
  rotQ: (l: number) => `blocks.${l}.attn.hook_rot_q`,
  rotK: (l: number) => `blocks.${l}.attn.hook_rot_k`,
  v: (l: number) => `blocks.${l}.attn.hook_v`,
  attnScores: (l: number) => `blocks.${l}.attn.hook_attn_scores`,
  pattern: (l: number) => `blocks.${l}.attn.hook_pattern`,
  z: (l: number) => `blocks.${l}.attn.hook_z`,
  attnOut: (l: number) => `blocks.${l}.hook_attn_out`,
  residMid: (l: number) => `blocks.${l}.hook_resid_mid`,
  ln2: (l: number) => `blocks.${l}.ln2.hook_normalized`,
  mlpPost: (l: number) => `blocks.${l}.mlp.hook_post`,
  mlpOut: (l: number) => `blocks.${l}.hook_mlp_out`,
  residPost: (l: number) => `blocks.${l}.hook_resid_post`,
  lnFinal: 'ln_final.hook_normalized',
} as const;

/** Points that can be captured but not written (see the header). */
export const READ_ONLY_HOOKS = /\.attn\.hook_rot_k$/;

/** Every hook name of a model with `nLayers` blocks, in forward order. */
export function hookNames(nLayers: number): string[] {
  const out: string[] = [HOOKS.embed];
  for (let l = 0; l < nLayers; l++) {
    out.push(HOOKS.residPre(l), HOOKS.ln1(l), HOOKS.q(l), HOOKS.k(l), HOOKS.v(l), HOOKS.rotQ(l), HOOKS.rotK(l), HOOKS.attnScores(l), HOOKS.pattern(l), HOOKS.z(l), HOOKS.attnOut(l));
    out.push(HOOKS.residMid(l), HOOKS.ln2(l), HOOKS.mlpPost(l), HOOKS.mlpOut(l), HOOKS.residPost(l));
  }
  out.push(HOOKS.lnFinal);
  return out;
}

/**
 * Edits an activation in place (GPU work recorded on the model's runtime). It runs inside the block's tensor
 * scope: temporaries it makes are freed with the block; one it keeps past the forward needs rt.escape.
 */
export type HookFn = (act: Tensor, name: string) => void;

/** One forward's hook points: what to capture, what to edit, and what that forces. */
export class HookPoints {
  readonly captures = new Map<string, Tensor>();
  private readonly kept = new Set<Tensor>();
  /** the runtime's scope depth at the forward's start: captures leave the scopes opened since (the blocks') */
  private readonly depth: number;

  constructor(
    private readonly rt: Runtime,
    private readonly capture: ReadonlySet<string> | undefined,
    private readonly hooks: ReadonlyMap<string, HookFn> | undefined,
    nLayers: number,
  ) {
    this.depth = rt.scopeDepth;
    if (hooks) {
      const known = new Set(hookNames(nLayers));
      for (const name of hooks.keys()) {
        if (!known.has(name)) throw new Error(`forward: no hook point "${name}" (points: hook_embed, blocks.{0..${nLayers - 1}}.hook_resid_pre, …, ln_final.hook_normalized)`);
        if (READ_ONLY_HOOKS.test(name)) throw new Error(`forward: ${name} can be captured but not written`);
      }
    }
  }

  /** Nothing is hooked or captured: the fused decode kernels may run. */
  get none(): boolean {
    return !this.capture?.size && !this.hooks?.size;
  }
  /** The point is captured or edited (so its tensor must exist). */
  wants(name: string): boolean {
    return (this.capture?.has(name) ?? false) || (this.hooks?.has(name) ?? false);
  }
  captured(name: string): boolean {
    return this.capture?.has(name) ?? false;
  }
  /** A function edits the point. */
  edited(name: string): boolean {
    return this.hooks?.has(name) ?? false;
  }
  /** Runs the point's function on `t` (in place), then captures it; returns t. */
  at(name: string, t: Tensor): Tensor {
    this.hooks?.get(name)?.(t, name);
    if (this.capture?.has(name)) {
      this.captures.set(name, this.rt.escape(t, this.depth)); // the caller's, past the block's scope
      this.kept.add(t);
    }
    return t;
  }
  /** Captures a copy made by `make` (points that live inside another buffer, e.g. the KV cache). */
  atCopy(name: string, make: () => Tensor): void {
    if (this.capture?.has(name)) this.captures.set(name, this.rt.escape(make(), this.depth));
  }
  /** Whether `t` was handed to the caller (the forward must neither free nor change it). */
  isKept(t: Tensor): boolean {
    return this.kept.has(t);
  }
  /** Frees `t` unless it was captured. */
  release(t: Tensor): void {
    if (!this.kept.has(t)) t.dispose();
  }
}

/**
 * hook_q [B, T, H, D], hook_k and hook_v [B, T, Hkv, D] of layer l as column windows of the fused q|k|v rows
 * (the forward's and the training graph's q|k|v matmul output): [name, heads, first column] = columns 0, H·D
 * and (H + Hkv)·D, each heads·D wide.
 */
export function qkvWindows(cfg: { n_heads: number; n_kv_heads: number; d_head: number }, l: number): [string, number, number][] {
  const [H, Hkv, D] = [cfg.n_heads, cfg.n_kv_heads, cfg.d_head];
  return [[HOOKS.q(l), H, 0], [HOOKS.k(l), Hkv, H * D], [HOOKS.v(l), Hkv, (H + Hkv) * D]];
}

/** A copy of the window `heads`·D columns from `at` of fused rows `fused` (B·T rows) as [B, T, heads, D]. */
export function windowOut(rt: Runtime, fused: Tensor, B: number, T: number, heads: number, D: number, at: number, label: string): Tensor {
  const part = rt.empty([B, T, heads, D], 'f32', label); // [B, T, heads, D]
  copyColumns(rt, fused, part.view([B * T, heads * D]), { cols: heads * D, srcOffset: at, dstOffset: 0 });
  return part;
}

/** Writes `part` [B, T, heads, D] back into its window (columns from `at`) of the fused rows. */
export function windowIn(rt: Runtime, part: Tensor, fused: Tensor, at: number): void {
  const [B, T, heads, D] = part.shape;
  copyColumns(rt, part.view([B * T, heads * D]), fused, { cols: heads * D, srcOffset: 0, dstOffset: at });
}
