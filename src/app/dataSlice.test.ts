// The Data page's Hub datasets through the store: the endpoint is the store's, and a typed access token is
// sent only where a model load would send it (the Hugging Face Hub, or an endpoint the user confirmed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatasetRequest, Engine, LoadedRows } from '../engine/api.ts';
import { createDataSlice, type DataSlice } from './dataSlice.ts';

function slice(state: { hubEndpoint?: string; hubTokenConsent?: string }) {
  const seen: DatasetRequest[] = [];
  const engine = { loadDataset: async (req: DatasetRequest) => (seen.push(req), { file: req.ref, format: 'jsonl', rows: [], problems: [], last: 0 } as LoadedRows) } as unknown as Engine;
  const s: DataSlice = createDataSlice<DataSlice & typeof state>(engine, () => {}, () => ({ ...state, ...s }));
  return { s, seen };
}

test('the token goes to the Hub, and to another endpoint only once the user confirmed it', async () => {
  const hub = slice({});
  await hub.s.fetchHubDataset({ ref: 'hf://datasets/a/b', token: 'hf_x' });
  assert.deepEqual(hub.seen[0], { ref: 'hf://datasets/a/b', token: 'hf_x', endpoint: undefined });
  const foreign = slice({ hubEndpoint: 'http://127.0.0.1:9' });
  await foreign.s.fetchHubDataset({ ref: 'hf://datasets/a/b', token: 'hf_x' });
  assert.equal(foreign.seen[0].token, undefined, 'a link alone never gets the token');
  assert.equal(foreign.seen[0].endpoint, 'http://127.0.0.1:9');
  const agreed = slice({ hubEndpoint: 'http://127.0.0.1:9', hubTokenConsent: 'http://127.0.0.1:9' });
  await agreed.s.fetchHubDataset({ ref: 'hf://datasets/a/b', token: 'hf_x' });
  assert.equal(agreed.seen[0].token, 'hf_x');
});
