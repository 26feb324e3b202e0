// Parquet files as JSON-like rows, through hyparquet (a maintained pure-JS reader that runs in the browser
// and in Node alike; no WASM, no native code). Snappy, the codec pyarrow and the Hub's parquet conversion
// write by default, is built in; a file with another codec is refused with the codec and the file named.
//
// Values are made JSON-like for the row loaders: int64 columns (BigInt) become numbers when they are safe
// integers (token ids, ratings), else an error names the column; byte arrays that are not UTF-8 text stay
// out of text fields (the row loaders reject them with the row named); nested lists and structs (chat
// "messages": list<struct<role, content>>) arrive as arrays and objects.
import { parquetMetadata, parquetReadObjects } from 'hyparquet';

export class ParquetError extends Error {
  override name = 'ParquetError';
}

const SUPPORTED_CODECS = new Set(['UNCOMPRESSED', 'SNAPPY']);

/** BigInt → number where exact; Dates → ISO strings; typed arrays → plain arrays; recursively. */
function jsonLike(v: unknown, column: string, file: string, row: number): unknown {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new ParquetError(`${file}: row ${row + 1}, column ${column}: ${v} is too large for an exact number`);
    return Number(v);
  }
  if (v instanceof Date) return v.toISOString();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => jsonLike(x, column, file, row));
  if (Array.isArray(v)) return v.map((x) => jsonLike(x, column, file, row));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonLike(x, `${column}.${k}`, file, row)]));
  return v;
}

/** Every row of a Parquet file as a plain object (column name → value), in file order. */
export async function readParquetRows(bytes: Uint8Array, file: string): Promise<Record<string, unknown>[]> {
  // hyparquet reads from an ArrayBuffer; give it exactly this file's bytes
  const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
  let metadata;
  try {
    metadata = parquetMetadata(buf);
  } catch (e) {
    throw new ParquetError(`${file}: not a readable Parquet file (${(e as Error).message})`);
  }
  for (const rg of metadata.row_groups) {
    for (const col of rg.columns) {
      const codec = col.meta_data?.codec;
      if (codec && !SUPPORTED_CODECS.has(codec)) {
        throw new ParquetError(`${file}: column ${col.meta_data?.path_in_schema.join('.')} is compressed with ${codec}; the lab reads uncompressed and Snappy Parquet (pyarrow's and the Hub's default). Re-save it with compression="snappy", or convert it to JSONL`);
      }
    }
  }
  let rows: Record<string, unknown>[];
  try {
    rows = (await parquetReadObjects({ file: buf, metadata })) as Record<string, unknown>[];
  } catch (e) {
    throw new ParquetError(`${file}: the Parquet data could not be decoded (${(e as Error).message})`);
  }
  return rows.map((r, i) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k, jsonLike(x, k, file, i)])));
}
