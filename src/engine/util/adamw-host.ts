// AdamW on the host in float64, torch.optim.AdamW's equations (decoupled weight decay first, bias-corrected
// moments), for the few parameters that live on the CPU (a reward model's scalar head). Updates in place.
// Checked against the kernel's float64 reference (shaders/adamw.ref.ts) in src/engine/rl/reward-model.test.ts.

export interface HostAdamW {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step (bias correction) */
  step: number;
}

/** p, m, v [n] (updated in place) from the gradient g [n] times clipCoef. */
export function adamwHost(p: Float64Array, g: ArrayLike<number>, m: Float64Array, v: Float64Array, clipCoef: number, hp: HostAdamW): void {
  const bc1 = 1 - hp.beta1 ** hp.step;
  const bc2sqrt = Math.sqrt(1 - hp.beta2 ** hp.step);
  const stepSize = hp.lr / bc1;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * clipCoef;
    const pw = p[i] * (1 - hp.lr * hp.weightDecay);
    m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * gi;
    v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * gi * gi;
    p[i] = pw - stepSize * (m[i] / (Math.sqrt(v[i]) / bc2sqrt + hp.eps));
  }
}
