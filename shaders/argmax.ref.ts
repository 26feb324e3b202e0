// Reference for argmax.wgsl: first index of the row maximum, NaN skipped (all-NaN row → 0).
export function argmaxRef(x: ArrayLike<number>, V: number): Int32Array {
  const rows = x.length / V;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = -1;
    for (let j = 0; j < V; j++) {
      const v = x[r * V + j];
      if (Number.isNaN(v)) continue;
      if (best < 0 || v > x[r * V + best]) best = j;
    }
    out[r] = Math.max(best, 0);
  }
  return out;
}
