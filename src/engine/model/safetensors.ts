// safetensors reading and writing, validated before anything is trusted.
//
// File layout (https://github.com/huggingface/safetensors):
//   [0, 8)          u64 little-endian N = header length in bytes
//   [8, 8 + N)      UTF-8 JSON object: { "<tensor>": { dtype, shape, data_offsets: [begin, end] },
//                                        "__metadata__"?: { "<key>": "<string>" } }
//   [8 + N, size)   data section; data_offsets are relative to its start, row-major, little-endian
//
// Every failure is a CheckpointError with one line "<file>: <what>" (and the tensor's name when
// one is involved): an empty or truncated file, an absurd header length, a header that is not a
// JSON object, a tensor name given twice (JSON.parse keeps the last, other readers the first), an unknown dtype, a bad shape, offsets outside the data section, a byte range that
// does not match shape × dtype size, or two tensors whose bytes overlap. Gaps between tensors and
// trailing bytes are tolerated (they cannot corrupt a tensor); the Rust reader rejects them, so
// files written by HF tools have none.

export type StDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8' | 'BOOL' | 'F64' | 'I8' | 'I16' | 'U16' | 'U32' | 'U64';

/** bytes per element of each dtype */
export const ST_DTYPE_SIZE: Readonly<Record<StDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

export interface StTensorInfo {
  name: string;
  dtype: StDtype;
  shape: number[];
  /** byte offsets relative to the data section, begin inclusive, end exclusive */
  begin: number;
  end: number;
}

/** Any problem with a checkpoint's files. `message` is one line: "<file>: [tensor '<t>': ]<what>". */
export class CheckpointError extends Error {
  readonly file: string;
  readonly tensor: string | null;
  constructor(file: string, what: string, tensor?: string) {
    super(`${file}: ${tensor !== undefined ? `tensor '${tensor}': ` : ''}${what}`);
    this.name = 'CheckpointError';
    this.file = file;
    this.tensor = tensor ?? null;
  }
}

/** Largest header accepted (the Rust reader's limit is the same 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Reads the u64 header length from the first 8 bytes; throws on a short file or absurd value. */
export function readHeaderLength(head: Uint8Array, fileSize: number, file: string): number {
  if (fileSize === 0) throw new CheckpointError(file, 'file is empty (0 bytes); expected a safetensors file');
  if (fileSize < 8 || head.length < 8) {
    throw new CheckpointError(file, `file is ${Math.min(fileSize, head.length)} bytes, shorter than the 8-byte safetensors header length`);
  }
  const dv = new DataView(head.buffer, head.byteOffset, 8);
  const lo = dv.getUint32(0, true), hi = dv.getUint32(4, true);
  // hi != 0 means N >= 2^32: far past the limit, and not exactly representable in general
  if (hi !== 0 || lo > MAX_HEADER_BYTES) {
    const n = hi !== 0 ? `${BigInt(hi) * 2n ** 32n + BigInt(lo)}` : `${lo}`;
    throw new CheckpointError(file, `header length ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or corrupt)`);
  }
  if (lo === 0) throw new CheckpointError(file, 'header length is 0; expected a JSON header');
  if (8 + lo > fileSize) {
    throw new CheckpointError(file, `header length ${lo} bytes runs past the end of the ${fileSize}-byte file (truncated download?)`);
  }
  return lo;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function parseSafetensorsHeader(
  head: Uint8Array,
  fileSize: number,
  file: string,
): { headerLength: number; dataOffset: number; tensors: Map<string, StTensorInfo>; metadata: Record<string, string> } {
  const headerLength = readHeaderLength(head, fileSize, file);
  const dataOffset = 8 + headerLength;
  if (head.length < dataOffset) {
    throw new CheckpointError(file, `need the first ${dataOffset} bytes to parse the header, got ${head.length}`);
  }
  const dataSize = fileSize - dataOffset; // bytes in the data section

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, dataOffset));
  } catch {
    throw new CheckpointError(file, 'header is not valid UTF-8 (not a safetensors file, or corrupt)');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `header is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isPlainObject(json)) {
    throw new CheckpointError(file, `header JSON must be an object, got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`);
  }
  // JSON.parse keeps the last of two equal keys silently; readers that keep the first would see other weights
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) throw new CheckpointError(file, 'given twice in the header (JSON keeps the last entry, other readers the first: the weights would depend on the reader)', key);
    seen.add(key);
  }

  // null prototype: a key named "__proto__" stays an ordinary key
  const metadata: Record<string, string> = Object.create(null);
  const tensors: StTensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw new CheckpointError(file, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new CheckpointError(file, `__metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.push(parseEntry(name, entry, dataSize, file));
  }

  // Reject overlapping byte ranges: sort by begin; each tensor must start at or after the
  // previous one's end. Empty tensors (begin == end) overlap nothing.
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: StTensorInfo | null = null;
  for (const t of sorted) {
    if (t.begin === t.end) continue;
    if (prev && t.begin < prev.end) {
      throw new CheckpointError(file, `bytes [${t.begin}, ${t.end}) overlap tensor '${prev.name}' [${prev.begin}, ${prev.end})`, t.name);
    }
    prev = t;
  }
  return { headerLength, dataOffset, tensors: new Map(sorted.map((t) => [t.name, t])), metadata };
}

/**
 * The keys of a JSON object's top level, in order, decoded ("\u0061" is "a"), duplicates kept.
 * `text` must already be valid JSON holding an object (JSON.parse succeeded): this only walks it,
 * skipping nested values by counting brackets outside strings.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  const Q = 0x22, BS = 0x5c, LB = 0x7b, RB = 0x7d, LS = 0x5b, RS = 0x5d, COMMA = 0x2c;
  let i = text.indexOf('{') + 1;
  let depth = 1; // 1 = inside the top-level object
  let expectKey = true; // at depth 1: the next string is a key (after '{' or ',') rather than a value
  while (i < text.length && depth > 0) {
    const c = text.charCodeAt(i);
    if (c === Q) {
      const start = i;
      for (i++; text.charCodeAt(i) !== Q; i++) if (text.charCodeAt(i) === BS) i++; // skip the escaped character
      i++;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(text.slice(start, i)) as string);
        expectKey = false;
      }
      continue;
    }
    if (c === LB || c === LS) depth++;
    else if (c === RB || c === RS) depth--;
    else if (c === COMMA && depth === 1) expectKey = true;
    i++;
  }
  return keys;
}

/** Validates one header entry against the data section size. */
function parseEntry(name: string, entry: unknown, dataSize: number, file: string): StTensorInfo {
  if (!isPlainObject(entry)) throw new CheckpointError(file, 'header entry must be an object {dtype, shape, data_offsets}', name);
  const { dtype, shape, data_offsets: offs } = entry;
  if (typeof dtype !== 'string' || !Object.hasOwn(ST_DTYPE_SIZE, dtype)) {
    throw new CheckpointError(file, `unsupported dtype ${JSON.stringify(dtype)} (known: ${Object.keys(ST_DTYPE_SIZE).join(', ')})`, name);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
    throw new CheckpointError(file, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, name);
  }
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt)) {
    throw new CheckpointError(file, `data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`, name);
  }
  const [begin, end] = offs as [number, number];
  if (begin > end) throw new CheckpointError(file, `data_offsets [${begin}, ${end}] has begin > end`, name);
  if (end > dataSize) {
    throw new CheckpointError(file, `data_offsets [${begin}, ${end}] run past the ${dataSize}-byte data section (truncated file?)`, name);
  }
  // numel × size, guarding against products past 2^53 (they cannot match a real byte range)
  const size = ST_DTYPE_SIZE[dtype as StDtype];
  let bytes = size;
  for (const d of shape as number[]) {
    bytes *= d;
    if (!Number.isSafeInteger(bytes)) break;
  }
  if (bytes !== end - begin) {
    throw new CheckpointError(file, `shape [${(shape as number[]).join(', ')}] × ${dtype} needs ${Number.isSafeInteger(bytes) ? bytes : 'too many'} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`, name);
  }
  return { name, dtype: dtype as StDtype, shape: [...(shape as number[])], begin, end };
}

/** Parses a whole file held in memory; each tensor's `data` is a view into `bytes` (not aligned). */
export function readSafetensors(bytes: Uint8Array, file: string): Map<string, { info: StTensorInfo; data: Uint8Array }> {
  const { dataOffset, tensors } = parseSafetensorsHeader(bytes, bytes.length, file);
  const out = new Map<string, { info: StTensorInfo; data: Uint8Array }>();
  for (const [name, info] of tensors) {
    out.set(name, { info, data: bytes.subarray(dataOffset + info.begin, dataOffset + info.end) });
  }
  return out;
}

/**
 * Writes a safetensors file: `__metadata__` first (when given), then the tensors in the order
 * given, their bytes contiguous from offset 0; the header is padded with spaces to a multiple of
 * 8 bytes so the data section starts 8-aligned (as the Rust writer does).
 */
export function writeSafetensors(
  tensors: { name: string; dtype: StDtype; shape: number[]; data: Uint8Array }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const where = 'writeSafetensors';
  const header: Record<string, unknown> = Object.create(null); // so a tensor named "__proto__" is a plain key
  if (metadata) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) throw new CheckpointError(where, 'duplicate or reserved tensor name', t.name);
    if (!Object.hasOwn(ST_DTYPE_SIZE, t.dtype)) throw new CheckpointError(where, `unsupported dtype ${t.dtype}`, t.name);
    if (!t.shape.every((d) => isNonNegInt(d))) throw new CheckpointError(where, `bad shape [${t.shape.join(', ')}]`, t.name);
    const bytes = t.shape.reduce((a, d) => a * d, ST_DTYPE_SIZE[t.dtype]);
    if (bytes !== t.data.byteLength) {
      throw new CheckpointError(where, `shape [${t.shape.join(', ')}] × ${t.dtype} needs ${bytes} bytes, data has ${t.data.byteLength}`, t.name);
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20); // ASCII spaces: valid trailing JSON whitespace
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Checks that a shard name is a plain relative path (no "..", not absolute), so it cannot escape the checkpoint folder. */
export function checkRelativePath(path: string, file: string, what: string): void {
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0') || /^[a-zA-Z]:/.test(path) || path.split('/').includes('..')) {
    throw new CheckpointError(file, `${what} ${JSON.stringify(path)} is not a plain relative file name`);
  }
}

/**
 * model.safetensors.index.json: { "metadata"?: {...}, "weight_map": { "<tensor>": "<shard file>" } }.
 * Returns tensor → shard file.
 */
export function parseShardIndex(json: unknown, file: string): Map<string, string> {
  if (!isPlainObject(json)) throw new CheckpointError(file, 'index must be a JSON object with a "weight_map"');
  if (json.metadata !== undefined && !isPlainObject(json.metadata)) throw new CheckpointError(file, '"metadata" must be an object');
  const wm = json.weight_map;
  if (!isPlainObject(wm)) throw new CheckpointError(file, '"weight_map" must be an object {tensor: shard file}');
  const out = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(wm)) {
    if (typeof shard !== 'string') throw new CheckpointError(file, `weight_map value must be a file name, got ${JSON.stringify(shard)}`, tensor);
    checkRelativePath(shard, file, `weight_map['${tensor}']`);
    out.set(tensor, shard);
  }
  if (out.size === 0) throw new CheckpointError(file, '"weight_map" is empty');
  return out;
}
