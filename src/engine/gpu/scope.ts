// Tensor scopes for the Runtime (Runtime.scope / scopeAsync): a stack of open scopes, each collecting the
// owning tensors made while it is innermost; at its end every collected tensor is disposed except those
// the function returned (found in the returned value: a Tensor, or inside arrays, Maps, Sets and plain
// objects, recursively; a view or slice keeps its parent) or passed to `keep`. The survivors move to the
// enclosing scope, so nesting composes. A throw disposes the collected tensors too.
import { Tensor } from './tensor.ts';

export class ScopeStack {
  /** the open scopes, innermost last */
  private open: Set<Tensor>[] = [];

  /** Collects `t` into the innermost open scope (none open: nothing happens). */
  track(t: Tensor): void {
    this.open[this.open.length - 1]?.add(t);
  }

  run<T>(fn: (keep: (t: Tensor) => Tensor) => T): T {
    const { mine, kept, keep } = this.begin();
    let out: T;
    try {
      out = fn(keep);
      if (out instanceof Promise) throw new Error('Runtime.scope: the function returned a promise; use scopeAsync');
    } catch (e) {
      this.end(mine, kept);
      throw e;
    }
    collectTensors(out, kept);
    this.end(mine, kept);
    return out;
  }

  async runAsync<T>(fn: (keep: (t: Tensor) => Tensor) => Promise<T>): Promise<T> {
    const { mine, kept, keep } = this.begin();
    let out: T;
    try {
      out = await fn(keep);
    } catch (e) {
      this.end(mine, kept);
      throw e;
    }
    collectTensors(out, kept);
    this.end(mine, kept);
    return out;
  }

  private begin() {
    const mine = new Set<Tensor>();
    const kept = new Set<Tensor>();
    this.open.push(mine);
    return { mine, kept, keep: (t: Tensor) => (kept.add(t.root()), t) };
  }

  /** Closes `mine` (wherever it is: an async scope may end after one opened later), disposes what is not kept, hands the rest out. */
  private end(mine: Set<Tensor>, kept: Set<Tensor>): void {
    const at = this.open.lastIndexOf(mine);
    if (at >= 0) this.open.splice(at, 1);
    for (const t of mine) if (!kept.has(t)) t.dispose();
    const outer = this.open[this.open.length - 1];
    if (outer) for (const t of kept) if (!t.isDisposed) outer.add(t);
  }
}

/** Every Tensor in `v` (itself, or inside arrays, Maps, Sets and plain objects, recursively) into `into`, as its root. */
function collectTensors(v: unknown, into: Set<Tensor>, seen = new Set<unknown>()): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (v instanceof Tensor) {
    into.add(v.root());
    return;
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
  if (v instanceof Map) {
    for (const [k, x] of v) {
      collectTensors(k, into, seen);
      collectTensors(x, into, seen);
    }
  } else if (v instanceof Set || Array.isArray(v)) for (const x of v) collectTensors(x, into, seen);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectTensors(x, into, seen);
}
