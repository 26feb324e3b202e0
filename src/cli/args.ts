// Minimal, strict argument parsing for the lab CLI: `--name value`, `--flag`; unknown options are errors.

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A run stopped on purpose (a signal): `lab` exits 130, as a shell does for Ctrl-C, and says how to go on. */
export class Interrupted extends Error {
  override name = 'stopped';
}

export interface ArgSpec {
  /** options that take a value */
  values?: readonly string[];
  /** boolean flags */
  flags?: readonly string[];
}

export interface Parsed {
  values: Map<string, string>;
  flags: Set<string>;
  positional: string[];
}

export function parseArgs(argv: readonly string[], spec: ArgSpec): Parsed {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (spec.flags?.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    } else if (spec.values?.includes(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      values.set(name, v);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { values, flags, positional };
}

/** The value of a required --name, or a UsageError saying it is required. */
export function required(p: Parsed, name: string): string {
  const v = p.values.get(name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

export function num(p: Parsed, name: string, dflt?: number): number {
  const v = p.values.get(name);
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`--${name} is required`);
    return dflt;
  }
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name}: "${v}" is not a number`);
  return n;
}

/**
 * A comma-separated list of token ids (`--ids 1,2,3`): every field a non-negative integer written in
 * digits. An empty field (`1,,2`, a trailing comma) is an error, never a 0 (Number('') is 0).
 */
export function parseIdList(value: string, flag: string): number[] {
  const fields = value.split(',');
  return fields.map((raw, i) => {
    const s = raw.trim();
    const where = `--${flag}: field ${i + 1} of ${fields.length}`;
    if (s === '') throw new UsageError(`${where} is empty in "${value}"; give comma-separated token ids, e.g. 1,2,3`);
    const n = Number(s);
    if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(n)) throw new UsageError(`${where} ("${raw}") is not a token id (a non-negative integer)`);
    return n;
  });
}
