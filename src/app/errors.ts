// An error as the UI shows it. GpuError keeps its kind ('unavailable', 'limits', 'lost', ...) and
// HubError its code ('auth', 'not-found', 'too-large', ...) as `kind`, so panels can react to it
// without parsing the message; the messages themselves are written to be shown.

export interface ErrorView {
  name: string;
  kind?: string;
  message: string;
}

export function errorView(e: unknown): ErrorView {
  const err = e instanceof Error ? e : new Error(String(e));
  const x = err as Error & { kind?: unknown; code?: unknown };
  const kind = typeof x.kind === 'string' ? x.kind : typeof x.code === 'string' ? x.code : undefined;
  return { name: err.name, message: err.message, ...(kind ? { kind } : {}) };
}
