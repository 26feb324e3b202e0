// Reference for rope_backward (rope_forward.wgsl with dir = −1), in float64, written from the forward's
// Jacobian: out_i = x_i·c − x_{i+h}·s, out_{i+h} = x_{i+h}·c + x_i·s (h = D/2), so
//   dx_i = dy_i·c + dy_{i+h}·s,   dx_{i+h} = −dy_i·s + dy_{i+h}·c      (the transpose, i.e. angle → −angle)
//   dy [R, H, D], pos [R], invFreq [D/2] → dx [R, H, D]
export function ropeBackwardRef(dy: ArrayLike<number>, R: number, H: number, D: number, pos: ArrayLike<number>, invFreq: ArrayLike<number>): Float64Array {
  const half = D / 2;
  const dx = new Float64Array(R * H * D); // [R, H, D]
  for (let r = 0; r < R; r++) {
    for (let h = 0; h < H; h++) {
      const o = (r * H + h) * D;
      for (let i = 0; i < half; i++) {
        const a = pos[r] * invFreq[i];
        const c = Math.cos(a), s = Math.sin(a);
        dx[o + i] = dy[o + i] * c + dy[o + i + half] * s;
        dx[o + i + half] = -dy[o + i] * s + dy[o + i + half] * c;
      }
    }
  }
  return dx;
}
