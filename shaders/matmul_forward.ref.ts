// Reference for matmul_forward_{naive,tiled}.wgsl, in float64.
//   out[z, m, n] = alpha · Σ_k op(A)[z, m, k] · op(B)[z, k, n] + bias[n] (+ accumulateInto[z, m, n])
// a: [batch, M, K] ([batch, K, M] with transA); b: [batch, K, N] ([batch, N, K] with transB), or a
// single [K, N] / [N, K] matrix shared by every batch entry when broadcastB.
// Half-precision B is passed as its f32 values (decode the half bits first: the kernel sees the
// same rounded numbers, so the comparison measures the kernel, not the rounding).

export interface MatmulRefOptions {
  transA?: boolean;
  transB?: boolean;
  batch?: number;
  broadcastB?: boolean;
  bias?: ArrayLike<number>;
  alpha?: number;
  /** C before the call, for accumulate: result is added to it */
  accumulateInto?: ArrayLike<number>;
  /** batch 1: + alpha · Σ_j p[m, pOffset + blk(n)·k + j] · q(n, j) (matmul_forward.ts LowRankTerm; q [N, k], or [k, N] with transQ) */
  lowRank?: { p: ArrayLike<number>; pStride: number; pOffset?: number; q: ArrayLike<number>; transQ?: boolean; k: number; alpha: number; starts?: readonly number[] };
}

/** The low-rank term of (m, n) (MatmulRefOptions.lowRank). */
function lowRankRef(l: NonNullable<MatmulRefOptions['lowRank']>, N: number, m: number, n: number): number {
  const starts = l.starts ?? [0];
  let blk = 0;
  while (blk + 1 < starts.length && n >= starts[blk + 1]) blk++;
  const p0 = m * l.pStride + (l.pOffset ?? 0) + blk * l.k;
  let s = 0;
  for (let j = 0; j < l.k; j++) s += l.p[p0 + j] * l.q[l.transQ ? j * N + n : n * l.k + j];
  return l.alpha * s;
}

export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number, opts: MatmulRefOptions = {}): Float64Array {
  const { transA = false, transB = false, batch = 1, broadcastB = false, bias, alpha = 1, accumulateInto, lowRank } = opts;
  if (lowRank && batch !== 1) throw new Error('matmulRef: lowRank needs batch 1');
  const out = new Float64Array(batch * M * N); // [batch, M, N]
  for (let z = 0; z < batch; z++) {
    const aOff = z * M * K;                   // A[z]
    const bOff = broadcastB ? 0 : z * K * N;  // B[z]
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a[aOff + (transA ? k * M + m : m * K + k)]; // op(A)[m, k]
          const bv = b[bOff + (transB ? n * K + k : k * N + n)]; // op(B)[k, n]
          s += av * bv;
        }
        const o = (z * M + m) * N + n;
        out[o] = alpha * s + (bias ? bias[n] : 0) + (accumulateInto ? accumulateInto[o] : 0) + (lowRank ? lowRankRef(lowRank, N, m, n) : 0);
      }
    }
  }
  return out;
}
