// The Data page's access to Hub datasets and to manifest updates (a withdrawn source stops its runs): the engine (in its worker, whose Content-Security-Policy
// comes from its own response headers, as for model downloads) fetches and parses; the page keeps the
// rows it shows. The Hub endpoint is the store's (?hubEndpoint= in development and tests); an access token
// typed for a gated dataset is sent only where a model load would send it.
import type { DatasetProgress, DatasetRequest, Engine, LoadedRows, ManifestCheck } from '../engine/api.ts';
import { tokenForEndpoint } from './devOptions.ts';

export interface DataSlice {
  /** a Hub dataset's rows through the engine (progress per file; `signal` cancels, keeping what arrived) */
  fetchHubDataset(req: Omit<DatasetRequest, 'endpoint'>, onProgress?: (p: DatasetProgress) => void, signal?: AbortSignal): Promise<LoadedRows>;
  /** an updated manifest decides the stored runs again: refused ones are stopped and marked revoked */
  applyManifest(manifest: { name: string; text: string }): Promise<ManifestCheck>;
}

export function createDataSlice<S extends DataSlice & { hubEndpoint?: string; hubTokenConsent?: string }>(engine: Engine, _set: (p: Partial<S>) => void, get: () => S): DataSlice {
  return {
    fetchHubDataset(req, onProgress, signal) {
      // as for models: the token goes to the Hugging Face Hub, or to another endpoint the user confirmed
      const endpoint = get().hubEndpoint;
      const token = tokenForEndpoint(req.token, endpoint, get().hubTokenConsent);
      return engine.loadDataset({ ...req, token, endpoint }, onProgress, signal);
    },
    applyManifest(manifest) {
      return engine.applyManifest(manifest);
    },
  };
}
