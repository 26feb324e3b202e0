// The model slice's rule for the Hub access token: it goes to the Hugging Face Hub; a ?hubEndpoint= on
// another host gets it only after the user confirmed that endpoint. Checked on the store itself (not
// the panel) with a fake Engine that records what loadModel was asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine, ModelSourceSpec } from '../engine/engine.ts';
import { createModelSlice, type ModelSlice } from './modelSlice.ts';
import { endpointHost, isHuggingFaceHub, tokenForEndpoint } from './devOptions.ts';

function storeWithFakeEngine(): { s: () => ModelSlice; specs: ModelSourceSpec[] } {
  const specs: ModelSourceSpec[] = [];
  const engine = {
    async loadModel(spec: ModelSourceSpec) {
      specs.push(spec);
      return { name: 'fake' };
    },
    async modelInfo() {
      return null;
    },
    async cacheUsage() {
      return { bytes: 0, files: 0, partial: 0 };
    },
  } as unknown as Engine;
  let state = {} as ModelSlice;
  const set = (p: Partial<ModelSlice>) => void (state = { ...state, ...p });
  state = createModelSlice<ModelSlice>(engine, set, () => state);
  return { s: () => state, specs };
}

const hub = (token?: string): ModelSourceSpec => ({ kind: 'hub', repo: 'org/m', revision: 'main', ...(token ? { token } : {}) });

test('no endpoint option: the token goes to the Hub as typed', async () => {
  const { s, specs } = storeWithFakeEngine();
  await s().loadModel(hub('hf_secret'), 'org/m@main');
  assert.deepEqual(specs[0], { kind: 'hub', repo: 'org/m', revision: 'main', token: 'hf_secret' });
  s().setHubEndpoint('https://huggingface.co');
  await s().loadModel(hub('hf_secret'), 'org/m@main');
  assert.equal((specs[1] as { token?: string }).token, 'hf_secret', 'an endpoint that is huggingface.co itself needs no confirmation');
});

test('another endpoint (a link) gets no token until the user confirms that endpoint; a new endpoint needs a new confirmation', async () => {
  const { s, specs } = storeWithFakeEngine();
  s().setHubEndpoint('https://evil.example');
  await s().loadModel(hub('hf_secret'), 'org/m@main');
  assert.deepEqual(specs[0], { kind: 'hub', repo: 'org/m', revision: 'main', endpoint: 'https://evil.example' }, 'the load goes on without the token');
  assert.ok(!JSON.stringify(specs[0]).includes('hf_secret'));

  s().confirmHubToken(true);
  assert.equal(s().hubTokenConsent, 'https://evil.example');
  await s().loadModel(hub('hf_secret'), 'org/m@main');
  assert.equal((specs[1] as { token?: string }).token, 'hf_secret', 'confirmed: sent');

  s().confirmHubToken(false);
  await s().loadModel(hub('hf_secret'), 'org/m@main');
  assert.equal('token' in specs[2], false, 'confirmation withdrawn: not sent');

  s().confirmHubToken(true);
  s().setHubEndpoint('http://127.0.0.1:9');
  assert.equal(s().hubTokenConsent, undefined, 'a new endpoint clears the old consent');
  await s().loadModel(hub('hf_secret'), 'org/m@main');
  assert.equal('token' in specs[3], false);
});

test('devOptions: only https://huggingface.co is the Hub; the host is named as the page shows it', () => {
  assert.ok(isHuggingFaceHub(undefined) && isHuggingFaceHub('https://huggingface.co') && isHuggingFaceHub('https://huggingface.co/'));
  for (const e of ['http://huggingface.co', 'https://huggingface.co.evil.example', 'https://evil.example/huggingface.co', 'https://user:pw@huggingface.co', 'not a url']) assert.equal(isHuggingFaceHub(e), false, e);
  assert.equal(endpointHost('http://127.0.0.1:8080/hub'), '127.0.0.1:8080');
  assert.equal(tokenForEndpoint('t', 'https://x.example', 'https://x.example'), 't');
  assert.equal(tokenForEndpoint('t', 'https://x.example', 'https://y.example'), undefined);
  assert.equal(tokenForEndpoint('', undefined, undefined), undefined);
});
