// Tensor scopes for the Runtime (Runtime.scope / scopeAsync): a stack of open scopes, each collecting the
// owning tensors made while it is innermost; at its end every collected tensor is disposed except those
// the function returned (found in the returned value: a Tensor, or inside arrays, Maps, Sets and plain
// objects, recursively; a view or slice keeps its parent), passed to `keep`, or escaped to a depth (`escape`:
// code that does not hold `keep`, e.g. hook points handing a capture out of the scopes a forward opened). The survivors move to the
// enclosing scope, so nesting composes. A throw disposes the collected tensors too.
import { Tensor } from './tensor.ts';

export class ScopeStack {
  /** the open scopes, innermost last */
  private open: Set<Tensor>[] = [];
  /** each open scope's kept tensors, by its collection */
  private keptOf = new Map<Set<Tensor>, Set<Tensor>>();

  /** > 0 while tensors are made outside every scope (persistent) */
  private suspended = 0;

  /** Collects `t` into the innermost open scope (none open, or inside `persistent`: nothing happens). */
  track(t: Tensor): void {
    if (this.suspended === 0) this.open[this.open.length - 1]?.add(t);
  }

  /** Runs `fn` with tracking off: what it makes belongs to no scope (caches that outlive the work that first needs them). */
  persistent<T>(fn: () => T): T {
    this.suspended++;
    try {
      return fn();
    } finally {
      this.suspended--;
    }
  }

  /** Whether persistent() is running (a tensor made now belongs to no scope, whatever is open). */
  get persisting(): boolean {
    return this.suspended > 0;
  }

  /** How many scopes are open. */
  get depth(): number {
    return this.open.length;
  }

  /**
   * Every scope opened after the first `depth` keeps `t`, as if passed to its `keep`: t leaves them as they end
   * and lands in scope `depth` − 1 (or none), which frees it as it would any tensor it made.
   */
  escape(t: Tensor, depth: number): Tensor {
    for (let i = Math.max(0, depth); i < this.open.length; i++) this.keptOf.get(this.open[i])!.add(t.root());
    return t;
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
    this.keptOf.set(mine, kept);
    return { mine, kept, keep: (t: Tensor) => (kept.add(t.root()), t) };
  }

  /** Closes `mine` (wherever it is: an async scope may end after one opened later), disposes what is not kept, hands the rest out. */
  private end(mine: Set<Tensor>, kept: Set<Tensor>): void {
    const at = this.open.lastIndexOf(mine);
    if (at >= 0) this.open.splice(at, 1);
    this.keptOf.delete(mine);
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
