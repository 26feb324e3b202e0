// Reference for sample_tokens.wgsl in float64: the CPU sampler's draw (Sampler.drawFull) — target u · z walked
// down exp((x − max) / T) in id order, zero weights and NaN skipped — and log_softmax(x / T) at the token.
// Also how far the target lies from the nearest CDF boundary (relative to z), so a test can tell a real
// mismatch from a rounding tie.
export function sampleTokensRef(x: ArrayLike<number>, V: number, params: ArrayLike<number>): { tokens: Int32Array; logp: Float64Array; margin: Float64Array } {
  const rows = x.length / V;
  const tokens = new Int32Array(rows), logp = new Float64Array(rows), margin = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = (j: number) => x[r * V + j];
    const invT = params[2 * r], u = params[2 * r + 1];
    let mx = -Infinity;
    for (let j = 0; j < V; j++) if (!Number.isNaN(row(j))) mx = Math.max(mx, row(j));
    const w = (j: number) => (Number.isNaN(row(j)) ? 0 : Math.exp((row(j) - mx) * invT));
    let z = 0;
    for (let j = 0; j < V; j++) z += w(j);
    const target = u * z;
    let acc = 0, tok = 0, near = Infinity;
    for (let j = 0; j < V; j++) {
      const wj = w(j);
      if (wj === 0) continue;
      tok = j;
      near = Math.min(near, Math.abs(acc - target), Math.abs(acc + wj - target));
      if (acc + wj > target) break;
      acc += wj;
    }
    tokens[r] = tok;
    logp[r] = (row(tok) - mx) * invT - Math.log(z);
    margin[r] = near / z;
  }
  return { tokens, logp, margin };
}
