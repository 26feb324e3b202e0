// What the Compare page draws from an attention pattern blocks.{l}.attn.hook_pattern [query][key]:
// the engine's values as they are, or with the first-token "attention sink" hidden. Pure functions
// (no React, no DOM), so the page, the exports and the tests use the same numbers.

/** A cell of the drawn matrix: a probability, or null where nothing is drawn (a future key, or the hidden sink). */
export type Cell = number | null;

/**
 * The matrix drawn for one head, [query][key] (T × T):
 *   - keys after the query (k > q, masked by causality) are null;
 *   - with `hideSink`, key 0 is null and each row q ≥ 1 is divided by its sum over keys 1..q, so it
 *     sums to 1 again (row 0 sees only key 0, so all of it is null).
 * Without `hideSink` the values are the engine's, unchanged.
 */
export function viewPattern(p: number[][], hideSink: boolean): Cell[][] {
  const T = p.length;
  const out: Cell[][] = [];
  for (let q = 0; q < T; q++) {
    const row: Cell[] = new Array(T).fill(null);
    if (!hideSink) {
      for (let k = 0; k <= q; k++) row[k] = p[q][k];
    } else if (q > 0) {
      let rest = 0;
      for (let k = 1; k <= q; k++) rest += p[q][k];
      // rest = 0 only when the whole row sits on the sink: nothing is left to show
      for (let k = 1; k <= q; k++) row[k] = rest > 0 ? p[q][k] / rest : 0;
    }
    out.push(row);
  }
  return out;
}

/** The largest drawn value over many matrices (for a colour domain); 0 when nothing is drawn. */
export function maxCell(ms: Iterable<Cell[][]>): number {
  let m = 0;
  for (const rows of ms) for (const r of rows) for (const x of r) if (x !== null && x > m) m = x;
  return m;
}

/**
 * One row of the drawn matrix: query `q` of pattern p [query][key], over keys 0..q (length q + 1),
 * with the same rule as viewPattern (so a stepped row equals row q of the big map).
 */
export function viewRow(p: number[][], q: number, hideSink: boolean): Cell[] {
  const src = p[q];
  const row: Cell[] = new Array(q + 1).fill(null);
  if (!hideSink) {
    for (let k = 0; k <= q; k++) row[k] = src[k];
  } else if (q > 0) {
    let rest = 0;
    for (let k = 1; k <= q; k++) rest += src[k];
    for (let k = 1; k <= q; k++) row[k] = rest > 0 ? src[k] / rest : 0;
  }
  return row;
}

/** b − a cell by cell (the adapter's change: a = base, b = adapter); null where either is not drawn. */
export function diffCells(a: Cell[][], b: Cell[][]): Cell[][] {
  return a.map((row, q) => row.map((x, k) => (x === null || b[q][k] === null ? null : (b[q][k] as number) - x)));
}

/** The largest |x| over many matrices (a symmetric diverging domain); 0 when nothing is drawn. */
export function maxAbsCell(ms: Iterable<Cell[][]>): number {
  let m = 0;
  for (const rows of ms) for (const r of rows) for (const x of r) if (x !== null && Math.abs(x) > m) m = Math.abs(x);
  return m;
}
