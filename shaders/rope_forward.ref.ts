// Reference for rope_forward.wgsl, in float64: angles p·f_i formed and rotated in double precision.
//   x [R, H, D] (R token rows), pos [R] (the position of each row), invFreq [D/2] → out [R, H, D]
export function ropeForwardRef(x: ArrayLike<number>, R: number, H: number, D: number, pos: ArrayLike<number>, invFreq: ArrayLike<number>): Float64Array {
  const half = D / 2;
  const out = new Float64Array(R * H * D); // [R, H, D]
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < half; i++) {
      const a = pos[r] * invFreq[i]; // exact to ~1e-16 relative: |a| ≤ 3e4 leaves ~1e-12 rad
      const c = Math.cos(a), s = Math.sin(a);
      for (let h = 0; h < H; h++) {
        const o = (r * H + h) * D;
        // rotate_half: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin)
        out[o + i] = x[o + i] * c - x[o + i + half] * s;
        out[o + i + half] = x[o + i + half] * c + x[o + i] * s;
      }
    }
  }
  return out;
}

/** Positions of the rows of x [B, T, H, D] (or [T, H, D] with B = 1): offset + t, or offset + positions[r]. */
export function ropePositions(R: number, T: number, offset: number, positions?: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: R }, (_, r) => offset + (positions ? positions[r] : r % T));
}
