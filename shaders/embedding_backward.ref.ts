// Reference for embedding_backward.wgsl, in float64: the plain scatter-add, row by row in position order.
//   ids [N], dout [N, C] → dtable [V, C] (the gradient alone; the kernel adds it to what dtable held)
export function embeddingBackwardRef(ids: ArrayLike<number>, dout: ArrayLike<number>, V: number, C: number): Float64Array {
  const dtable = new Float64Array(V * C); // [V, C]
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n];
    if (id < 0 || id >= V) continue; // no gradient: the forward gave a constant zero row
    for (let c = 0; c < C; c++) dtable[id * C + c] += dout[n * C + c];
  }
  return dtable;
}
