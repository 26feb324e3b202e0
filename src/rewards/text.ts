// Python's string semantics where the rewards must agree with Python references (sacrebleu, the GRPO
// GSM8K recipe): str.split() / str.strip() whitespace, str.isdigit(), and code-point (not UTF-16) indexing.
// Plain functions, no node: imports — the rewards run in the browser worker too.

/**
 * The characters Python's str.isspace() accepts (str.split(), str.strip() and re's \s on str patterns use
 * the same set). JS's \s differs: it adds U+FEFF and lacks U+001C..U+001F and U+0085.
 */
export const PY_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** PY_WHITESPACE as a character class, for building regexes (`[${PY_WS_CLASS}]`). */
const WS_RUN = new RegExp(`[${PY_WHITESPACE}]+`, 'u');
const WS_RUN_G = new RegExp(`[${PY_WHITESPACE}]+`, 'gu');
const WS_EDGES = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, 'gu');

/** Python's `s.split()` (no argument): runs of whitespace separate fields; no empty fields. */
export function pySplit(s: string): string[] {
  return s.split(WS_RUN).filter((w) => w.length > 0);
}

/** Python's `s.strip()` (no argument). */
export function pyStrip(s: string): string {
  return s.replace(WS_EDGES, '');
}

/** Every whitespace run collapsed to one space, ends trimmed (Python's `' '.join(s.split())`). */
export function collapseWhitespace(s: string): string {
  return pyStrip(s).replace(WS_RUN_G, ' ');
}

/** All whitespace removed (Python's `''.join(s.split())`, what sacrebleu does before char n-grams). */
export function removeWhitespace(s: string): string {
  return s.replace(WS_RUN_G, '');
}

/** The string as an array of Unicode code points (Python's indexing unit; a lone surrogate counts as one). */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

// Python's str.isdigit() accepts Unicode decimal digits (\p{Nd}) and also the characters whose
// Numeric_Type is Digit: superscripts, subscripts, circled digits ... (listed from Python 3.11,
// Unicode 14.0: 128 code points in these ranges).
const PY_DIGIT_NOT_DECIMAL =
  '\\u00b2\\u00b3\\u00b9\\u1369-\\u1371\\u19da\\u2070\\u2074-\\u2079\\u2080-\\u2089\\u2460-\\u2468\\u2474-\\u247c\\u2488-\\u2490' +
  '\\u24ea\\u24f5-\\u24fd\\u24ff\\u2776-\\u277e\\u2780-\\u2788\\u278a-\\u2792\\u{10a40}-\\u{10a43}\\u{10e60}-\\u{10e68}' +
  '\\u{11052}-\\u{1105a}\\u{1f100}-\\u{1f10a}';
const PY_ISDIGIT = new RegExp(`^[\\p{Nd}${PY_DIGIT_NOT_DECIMAL}]+$`, 'u');

/**
 * Python's `s.isdigit()`: non-empty and every character a digit. (\p{Nd} comes from the JS engine's
 * Unicode version, which may be newer than Python's; the two agree on every digit Python 3.11 knows.)
 */
export function pyIsDigit(s: string): boolean {
  return PY_ISDIGIT.test(s);
}
