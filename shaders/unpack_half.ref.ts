// Reference for unpack_half.wgsl: decode half bits (one value per Uint16 entry) to numbers.
// Written from the formats' definitions, independently of src/engine/gpu/half.ts.

const view = new DataView(new ArrayBuffer(4));

/** IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; bfloat16: the top 16 bits of an f32. */
export function unpackHalfRef(bits: ArrayLike<number>, dtype: 'f16' | 'bf16'): Float64Array {
  const out = new Float64Array(bits.length); // [n]
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i] & 0xffff;
    if (dtype === 'bf16') {
      view.setUint32(0, h << 16); // exact: bf16 ⊂ f32
      out[i] = view.getFloat32(0);
      continue;
    }
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) out[i] = mant ? NaN : sign * Infinity;
    else if (exp === 0) out[i] = sign * mant * 2 ** -24; // subnormal: mant · 2^-14 / 2^10
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}
