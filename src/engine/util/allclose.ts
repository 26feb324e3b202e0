// The one comparison helper (CONVENTIONS §3): pass when |a − r| ≤ atol + rtol·|r| for every element.
// NaN or ±Inf in `actual` never passes unless the reference holds the very same value at that index
// (a reference of +Inf is how a test says "this must overflow to +Inf"; NaN never matches anything).

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface CloseReport {
  ok: boolean;
  count: number;
  mismatches: number;
  meanAbsErr: number;
  worstAbsErr: number;
  worstIndex: number;
  message: string;
}

type Numeric = ArrayLike<number>;

export function allClose(actual: Numeric, ref: Numeric, tol: Tolerance, name = 'tensor'): CloseReport {
  if (actual.length !== ref.length) {
    return { ok: false, count: actual.length, mismatches: -1, meanAbsErr: NaN, worstAbsErr: NaN, worstIndex: -1, message: `${name}: length ${actual.length} != reference length ${ref.length}` };
  }
  let mismatches = 0;
  let sumErr = 0;
  let worst = -1;
  let worstIdx = -1;
  const firsts: string[] = [];
  for (let i = 0; i < ref.length; i++) {
    const a = actual[i];
    const r = ref[i];
    const err = Math.abs(a - r);
    const same = !Number.isFinite(r) && !Number.isNaN(r) && a === r; // matching infinities
    const bad = !same && (Number.isNaN(a) || Number.isNaN(r) || !Number.isFinite(a) || !(err <= tol.atol + tol.rtol * Math.abs(r)));
    if (Number.isFinite(err)) sumErr += err;
    if (bad) {
      mismatches++;
      if (firsts.length < 5) firsts.push(`[${i}] got ${a}, want ${r}`);
      const e = Number.isFinite(err) ? err : Infinity;
      if (e > worst) {
        worst = e;
        worstIdx = i;
      }
    } else if (!bad && Number.isFinite(err) && err > worst && mismatches === 0) {
      worst = err;
      worstIdx = i;
    }
  }
  const meanAbsErr = ref.length ? sumErr / ref.length : 0;
  const ok = mismatches === 0;
  const message = ok
    ? `${name}: ${ref.length} values within atol=${tol.atol} rtol=${tol.rtol} (mean err ${meanAbsErr.toExponential(2)}, worst ${worst.toExponential(2)} at ${worstIdx})`
    : `${name}: ${mismatches}/${ref.length} values outside atol=${tol.atol} rtol=${tol.rtol}; mean err ${meanAbsErr.toExponential(2)}, worst ${worst} at [${worstIdx}]; first: ${firsts.join('; ')}`;
  return { ok, count: ref.length, mismatches, meanAbsErr, worstAbsErr: worst, worstIndex: worstIdx, message };
}

/** Throws an Error carrying allClose's report when the comparison fails. */
export function assertAllClose(actual: Numeric, ref: Numeric, tol: Tolerance, name = 'tensor'): CloseReport {
  const r = allClose(actual, ref, tol, name);
  if (!r.ok) throw new Error(r.message);
  return r;
}
