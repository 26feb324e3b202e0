// Which kernel family the shape pickers take where several apply (issue 14): Runtime.kernelPrefs holds
// the choice; each kernel's host function reads it. Defaults follow what the GPU machine measured.

/** Kernel families the pickers choose between (see each kernel's host function). */
export interface KernelPrefs {
  /** attention forward/backward for D % 4 == 0, D <= 64 and T >= 32: 'rows' (version 3) or 'flash' (version 2) */
  attention: 'flash' | 'rows';
  /** matmul 'auto' for f32 operands aligned to 4: 'vec4' (also inside split-K) or 'tiled' */
  matmul: 'tiled' | 'vec4';
  /**
   * where the vec4 matmul runs: 'f32' (default) or 'f16', mixed precision (version vec4h: operands rounded to f16,
   * f32 accumulation; needs the GPU feature shader-f16, or matmuls throw naming it)
   */
  precision: 'f32' | 'f16';
  /**
   * where matmul adds a LoRA low-rank term (MatmulOptions.lowRank) itself: 'none' (its own kernel after the product),
   * 'reduce' (in the split-K reduce, the default), 'all' (also as more K steps of the vec4 kernel). Folded into the
   * four-columns reduce (matmul_forward_splitk4) the terms cost no GPU time and save six dispatches a layer: on an
   * H100 the 0.5B LoRA step ran 94.8-95.2 ms against 95.5-95.8 apart, the 135M step 67.3 against 67.6 with its CPU
   * record 6.6 against 7.6 ms (BENCHMARKS.md, twenty-fifth session). The vec4 fold ('all') cost 4-9 ms there
   * (nineteenth session).
   */
  lowrank: 'none' | 'reduce' | 'all';
  /**
   * what a vec4 matmul does where its 128 × 128 tiles leave the last wave part empty: 'none' (the tile picker's
   * smaller tiles for the whole product, the default until measured) or 'columns' (planColumnSplit: the columns that
   * fill whole waves in 128 × 128 tiles, the rest in 64 × 64, two dispatches)
   */
  tail: 'none' | 'columns';
}

/**
 * Rows attention and vec4 matmuls: on an H100 (BENCHMARKS.md, 2026-12-05 ninth session) they took the LoRA
 * SFT step from 164.2 to 140.0 ms (SmolLM2-135M shape, 8 × 256) and from 209.4 to 163.8 ms (Qwen2.5-0.5B,
 * 4 × 256); in every kernel case where the pickers now take them, they ran faster. The others stay
 * selectable (tests hold both to the same numbers: train/kernel-prefs.test.ts).
 */
export const DEFAULT_KERNEL_PREFS: Readonly<KernelPrefs> = { attention: 'rows', matmul: 'vec4', precision: 'f32', lowrank: 'reduce', tail: 'none' };

/**
 * The runtime's preferences with `prefs` applied; throws naming the feature when they ask for f16 precision on
 * a device without shader-f16 (the lab keeps working there in f32, the default).
 */
export function withKernelPrefs(current: KernelPrefs, prefs: Partial<KernelPrefs>, hasF16: boolean, device = 'this GPU'): KernelPrefs {
  const next = { ...current, ...prefs };
  if (next.precision === 'f16' && !hasF16) {
    throw new Error(`precision f16 (mixed precision matmuls) needs the GPU feature shader-f16, which ${device} does not offer; f32 runs everywhere`);
  }
  return next;
}

/**
 * fn's result, run with the holder's (a Runtime's) kernel preferences changed by `prefs` and put back after it: after
 * it returns, throws, or (fn async) settles. Recording reads the preferences, so a fold or version asked for here
 * applies to what fn records. Precision is not among them: f16 needs the device's shader-f16, which withKernelPrefs
 * checks and a plain holder cannot (the type keeps it out, so the only way to f16 is the checked one).
 */
export function usingKernelPrefs<T>(holder: { kernelPrefs: KernelPrefs }, prefs: Partial<Omit<KernelPrefs, 'precision'>>, fn: () => T): T {
  if ('precision' in prefs) throw new Error('usingKernelPrefs: set the precision with withKernelPrefs, which checks that the GPU has shader-f16');
  const saved = holder.kernelPrefs;
  holder.kernelPrefs = { ...saved, ...prefs };
  const restore = () => void (holder.kernelPrefs = saved);
  let out: T;
  try {
    out = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (out instanceof Promise) return out.finally(restore) as T;
  restore();
  return out;
}

/** Parses "attention=rows,matmul=vec4,precision=f16" (benchmarks, CLI); unknown keys or values throw, naming them. */
export function parseKernelPrefs(text: string): Partial<KernelPrefs> {
  const out: Partial<KernelPrefs> = {};
  const allowed: Record<keyof KernelPrefs, readonly string[]> = { attention: ['flash', 'rows'], matmul: ['tiled', 'vec4'], precision: ['f32', 'f16'], lowrank: ['none', 'reduce', 'all'], tail: ['none', 'columns'] };
  for (const part of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!(k in allowed)) throw new Error(`kernel prefs: unknown kernel '${k}' (known: ${Object.keys(allowed).join(', ')})`);
    if (!allowed[k as keyof KernelPrefs].includes(v)) throw new Error(`kernel prefs: ${k} must be ${allowed[k as keyof KernelPrefs].join(' or ')}, got '${v}'`);
    (out as Record<string, string>)[k] = v;
  }
  return out;
}
