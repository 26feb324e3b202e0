// Unicode NFC for parsed data rows: every string in a JSON value (inside arrays and plain objects too) in
// its composed form, so that a file written with decomposed characters (a + U+0302 for â, t + U+0331 for ṯ)
// and one written composed give the same text, the same tokens and the same rewards. Composed Stoney
// orthography (â î û ṯ ẖ …) is already NFC and comes out byte for byte as it went in.
export function nfc<T>(v: T): T {
  if (typeof v === 'string') return v.normalize('NFC') as T;
  if (Array.isArray(v)) return v.map((x) => nfc(x)) as T;
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k.normalize('NFC'), nfc(x)])) as T;
  }
  return v;
}
