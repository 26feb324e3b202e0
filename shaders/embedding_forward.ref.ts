// Reference for embedding_forward.wgsl: a plain gather (exact; no arithmetic). ids outside [0, V) → zeros.
//   ids [N], table [V, C] (values already as numbers) → out [N, C]
export function embeddingForwardRef(ids: ArrayLike<number>, table: ArrayLike<number>, V: number, C: number): Float64Array {
  const out = new Float64Array(ids.length * C); // [N, C]
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (id < 0 || id >= V) continue;
    for (let c = 0; c < C; c++) out[n * C + c] = table[id * C + c];
  }
  return out;
}
