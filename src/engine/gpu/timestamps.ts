// Timestamp queries read back, for Runtime.timeGpu and its per-dispatch profile (runtime.ts).
//
// WebGPU resolves a query set into a QUERY_RESOLVE buffer at a 256-byte-aligned offset; that buffer cannot be mapped,
// so it is copied into a MAP_READ one. Timestamps are nanoseconds of the GPU's clock.

/**
 * The first `count` timestamps of each query set, resolved into one buffer in order and read back (ns): records the
 * resolve and copy on `encoder`, then `submit()`s (what the runtime recorded before goes first). Every set but the last
 * must hold a multiple of 32 queries (the 256-byte alignment). `check` throws a GPU error seen meanwhile.
 */
export async function resolveTimestamps(
  device: GPUDevice, encoder: GPUCommandEncoder, submit: () => void,
  sets: readonly { querySet: GPUQuerySet; count: number }[], check: () => void,
): Promise<BigUint64Array> {
  const total = sets.reduce((a, s) => a + s.count, 0);
  const bytes = 8 * Math.max(2, total);
  const resolve = device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'timestamps-resolve' });
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'timestamps-read' });
  let at = 0;
  for (const { querySet, count } of sets) {
    if (count === 0) continue;
    if ((8 * at) % 256 !== 0) throw new Error(`readTimestamps: resolve offset ${8 * at} is not 256-byte aligned`);
    encoder.resolveQuerySet(querySet, 0, count, resolve, 8 * at);
    at += count;
  }
  encoder.copyBufferToBuffer(resolve, 0, staging, 0, bytes);
  submit();
  try {
    await staging.mapAsync(GPUMapMode.READ);
    check();
    return new BigUint64Array(staging.getMappedRange().slice(0));
  } finally {
    if (staging.mapState === 'mapped') staging.unmap();
    staging.destroy();
    resolve.destroy();
  }
}

/**
 * GPU milliseconds per label from a profile's timestamps (dispatch i began at ts[2i], ended at ts[2i + 1]): summed
 * over the dispatches of each label, with their count, largest first.
 */
export function sumByLabel(names: readonly string[], ts: BigUint64Array): { name: string; ms: number; count: number }[] {
  const rows = new Map<string, { name: string; ms: number; count: number }>();
  names.forEach((name, i) => {
    const r = rows.get(name) ?? { name, ms: 0, count: 0 };
    r.ms += Number(ts[2 * i + 1] - ts[2 * i]) / 1e6;
    r.count++;
    rows.set(name, r);
  });
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}
