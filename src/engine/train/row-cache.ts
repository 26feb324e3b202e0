// The tokenized rows of an SFT data file, stored so a resumed `lab sft` need not tokenize again.
// Tokenizing is the slow part of loading a large JSONL (transformers.js byte-level BPE encodes about
// 2–3 k rows/s here; the embedded default's 300 k rows take minutes), and a run resumed in a later
// call reads the same file with the same tokenizer. The cache is keyed by everything the rows depend
// on (data bytes, tokenizer files, length limit, vocabulary, EOS option: see rowCacheKey); a file
// whose key differs, or that is damaged, is ignored and rebuilt, never trusted.
//
// Layout (little-endian):
//   "LABROWS1" | u32 header bytes | header JSON {key, rows, tokens, width, problems} | pad to 4 |
//   lines u32[rows] | lengths u32[rows] | ids [tokens] | labels [tokens]
// width 2: ids as u16 and labels as u16 with 0xFFFF for IGNORE_INDEX (every id < 65535); else 4 (i32).
import { sha256Hex } from '../util/sha256.ts';
import { IGNORE_INDEX, type SftData, type SftExample, type RowProblem } from './data.ts';

const MAGIC = 'LABROWS1';

/** Cache key: a hash of the data (its bytes, or a digest of them), the tokenizer files (in order) and the options that shape the rows. */
export async function rowCacheKey(data: string | Uint8Array, tokenizerFiles: ReadonlyArray<Uint8Array | null>, opts: object): Promise<string> {
  const parts = [MAGIC, await sha256Hex(data)];
  for (const f of tokenizerFiles) parts.push(f === null ? 'none' : await sha256Hex(f));
  parts.push(JSON.stringify(opts));
  return sha256Hex(parts.join('\n'));
}

export function encodeRowCache(key: string, data: SftData): Uint8Array {
  const rows = data.examples.length;
  let tokens = 0, maxId = 0;
  for (const ex of data.examples) {
    tokens += ex.input_ids.length;
    for (let t = 0; t < ex.input_ids.length; t++) maxId = Math.max(maxId, ex.input_ids[t], ex.labels[t]);
  }
  const width = maxId < 0xffff ? 2 : 4;
  const header = new TextEncoder().encode(JSON.stringify({ key, rows, tokens, width, problems: data.problems }));
  const start = Math.ceil((8 + 4 + header.length) / 4) * 4;
  const out = new Uint8Array(start + 8 * rows + 2 * width * tokens);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  const lines = new Uint32Array(out.buffer, start, rows), lengths = new Uint32Array(out.buffer, start + 4 * rows, rows);
  const at = start + 8 * rows;
  const ids = width === 2 ? new Uint16Array(out.buffer, at, tokens) : new Int32Array(out.buffer, at, tokens); // [tokens]
  const labels = width === 2 ? new Uint16Array(out.buffer, at + width * tokens, tokens) : new Int32Array(out.buffer, at + width * tokens, tokens); // [tokens]
  let k = 0;
  data.examples.forEach((ex, i) => {
    lines[i] = ex.line;
    lengths[i] = ex.input_ids.length;
    for (let t = 0; t < ex.input_ids.length; t++, k++) {
      ids[k] = ex.input_ids[t];
      labels[k] = ex.labels[t] === IGNORE_INDEX && width === 2 ? 0xffff : ex.labels[t];
    }
  });
  return out;
}

/** The rows stored in `bytes`, or null when the bytes are not a cache for `key` (other data, damaged). */
export function decodeRowCache(bytes: Uint8Array, key: string): SftData | null {
  try {
    if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return null;
    const buf = new Uint8Array(bytes); // aligned copy (a Node Buffer may sit at any offset of a pool)
    const hl = new DataView(buf.buffer).getUint32(8, true);
    const h = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + hl))) as { key: string; rows: number; tokens: number; width: number; problems: RowProblem[] };
    if (h.key !== key || (h.width !== 2 && h.width !== 4)) return null;
    const start = Math.ceil((12 + hl) / 4) * 4;
    if (buf.length !== start + 8 * h.rows + 2 * h.width * h.tokens) return null;
    const lines = new Uint32Array(buf.buffer, start, h.rows), lengths = new Uint32Array(buf.buffer, start + 4 * h.rows, h.rows);
    const at = start + 8 * h.rows;
    const ids = h.width === 2 ? new Uint16Array(buf.buffer, at, h.tokens) : new Int32Array(buf.buffer, at, h.tokens);
    const labels = h.width === 2 ? new Uint16Array(buf.buffer, at + h.width * h.tokens, h.tokens) : new Int32Array(buf.buffer, at + h.width * h.tokens, h.tokens);
    const examples: SftExample[] = [];
    let k = 0;
    for (let i = 0; i < h.rows; i++) {
      const n = lengths[i];
      if (k + n > h.tokens) return null;
      const lab = Array.from(labels.subarray(k, k + n), (v) => (h.width === 2 && v === 0xffff ? IGNORE_INDEX : v));
      examples.push({ line: lines[i], input_ids: Array.from(ids.subarray(k, k + n)), labels: lab });
      k += n;
    }
    return k === h.tokens ? { examples, problems: h.problems } : null;
  } catch {
    return null; // unreadable header: not a cache we can trust
  }
}
