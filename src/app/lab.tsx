// Shared pieces of the lab's panels: the store context and its hook, the error box, formatters.
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { LabState, LabStore } from './store.ts';
import type { ErrorView } from './errors.ts';

export const StoreContext = createContext<LabStore | null>(null);

/** Reads from the lab store (re-renders when the selected value changes). */
export function useLab<T>(select: (s: LabState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useLab outside <App store={...}>');
  return useStore(store, select);
}

export function ErrorBox({ title, error, testid }: { title: string; error: ErrorView; testid: string }) {
  return (
    <div className="error" role="alert" data-testid={testid} data-kind={error.kind ?? ''} data-name={error.name}>
      <strong>{title}</strong>
      <p>{error.message}</p>
      <p className="muted">
        {error.name}
        {error.kind ? ` (${error.kind})` : ''}
      </p>
    </div>
  );
}

/** Bytes in binary units: "128.0 MiB". */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${+(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${+(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${+(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Seconds as "42 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '—';
  sec = Math.round(sec); // round first: 299.6 s is "5 min 00 s", not "4 min 60 s"
  if (sec < 60) return `${sec} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} min ${String(sec % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Large counts: 134,515,008 → "134.5M". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** A token's text for display: spaces as '·', newlines as '↵', tabs as '→', empty as '∅'. */
export function showToken(text: string): string {
  if (text === '') return '∅';
  return text.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→');
}
