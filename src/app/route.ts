// Pages reached by the URL hash (#/models, #/data, #/train, #/compare, #/analyze, #/evaluate, #/runs, #/validate): no router library,
// no server routes, so the static build works from any folder and offline. With no hash the page
// is Models until a model is loaded, then Compare.
import { useSyncExternalStore } from 'react';

export const PAGES = [
  { id: 'models', label: 'Models', title: 'Models' },
  { id: 'data', label: 'Data', title: 'Data' },
  { id: 'train', label: 'Train', title: 'Train' },
  { id: 'compare', label: 'Compare', title: 'Compare' },
  { id: 'analyze', label: 'Analyze', title: 'Analyze' },
  { id: 'evaluate', label: 'Evaluate', title: 'Evaluate' },
  { id: 'runs', label: 'Runs', title: 'Runs' },
  { id: 'validate', label: 'Validate', title: 'Community validation' },
] as const;

export type PageId = (typeof PAGES)[number]['id'];

/** "#/compare" → 'compare'; anything else → null. */
export function pageFromHash(hash: string): PageId | null {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return PAGES.some((p) => p.id === id) ? (id as PageId) : null;
}

const subscribe = (cb: () => void) => {
  addEventListener('hashchange', cb);
  return () => removeEventListener('hashchange', cb);
};

/** The page named by the URL hash, or null; re-renders on hashchange (links, back/forward). */
export function useHashPage(): PageId | null {
  return useSyncExternalStore(subscribe, () => pageFromHash(location.hash), () => null);
}

/** The page shown: the hash's, else Models until a model is loaded, then Compare. */
export function landingPage(hashPage: PageId | null, modelLoaded: boolean): PageId {
  return hashPage ?? (modelLoaded ? 'compare' : 'models');
}
