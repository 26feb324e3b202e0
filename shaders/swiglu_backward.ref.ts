// Reference for swiglu_backward.wgsl, in float64, from the product and chain rules:
//   out = g·s(g)·up, s' = s·(1 − s)  →  ∂out/∂up = g·s,  ∂out/∂g = up·(s + g·s·(1 − s)) = up·s·(1 + g·(1 − s))
import { sigmoidRef } from './swiglu_forward.ref.ts';

export function swigluBackwardRef(gate: ArrayLike<number>, up: ArrayLike<number>, dout: ArrayLike<number>): { dgate: Float64Array; dup: Float64Array } {
  const dgate = new Float64Array(gate.length); // [N, F]
  const dup = new Float64Array(gate.length); // [N, F]
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i], s = sigmoidRef(g);
    dup[i] = dout[i] * g * s;
    dgate[i] = dout[i] * up[i] * (s + g * s * (1 - s));
  }
  return { dgate, dup };
}
