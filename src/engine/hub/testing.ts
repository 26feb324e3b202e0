// Test helpers for the hub module (Node only): the local Hub stand-in (tools/hub-server.mjs) with
// types, and a tiny model repo written to a temp folder.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HubError } from './errors.ts';
import { makeTinyCheckpoint, type TinyCheckpoint, type TinyOptions } from '../model/checkpoint-fixtures.ts';

export interface HubRequest {
  method: string;
  /** the Hub-side path, /{repo}/resolve/{revision}/{file} (also for CDN requests) */
  path: string;
  cdn: boolean;
  range: string | null;
  ifRange: string | null;
  auth: boolean;
  status: number;
  /** body bytes sent */
  bytes: number;
}

export interface HubServerOptions {
  root: string;
  token?: string | null;
  cutAfterBytes?: number | null;
  cutCount?: number;
  chunkSize?: number | null;
  chunkDelayMs?: number;
  lfsRedirect?: boolean;
}

export interface HubServer {
  url: string;
  cdnUrl: string;
  stats: { requests: HubRequest[] };
  /** live settings: change them between requests */
  options: Required<Omit<HubServerOptions, 'root'>> & { root: string };
  resetStats(): void;
  close(): Promise<void>;
}

/** Starts tools/hub-server.mjs in this process (imported through a variable: it is plain JS). */
export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const spec = new URL('../../../tools/hub-server.mjs', import.meta.url).href;
  const mod = (await import(/* @vite-ignore */ spec)) as { startHubServer(o: HubServerOptions): Promise<HubServer> };
  return mod.startHubServer(opts);
}

/** Requests of `method` for a file whose path ends with `/file`. */
export function requestsFor(s: HubServer, file: string, method = 'GET'): HubRequest[] {
  return s.stats.requests.filter((r) => r.method === method && r.path.endsWith(`/${file}`));
}

export const TEST_REPO = 'test-org/tiny-llama';

/**
 * Writes a tiny Llama checkpoint as `{root}/{repo}/{revision}/...`. The default overrides give a
 * model.safetensors of about 270 KB (V = 2048, D = 16: two 128 KiB f32 embedding matrices), big
 * enough for several network reads and cache chunks, small enough to be instant.
 */
export async function writeTinyRepo(
  root: string,
  opts: { repo?: string; revision?: string; overrides?: Record<string, unknown>; tiny?: TinyOptions } = {},
): Promise<TinyCheckpoint> {
  const ckpt = makeTinyCheckpoint({ vocab_size: 2048, ...opts.overrides }, 7, 'f32', opts.tiny);
  const dir = join(root, opts.repo ?? TEST_REPO, opts.revision ?? 'main');
  for (const [path, bytes] of ckpt.files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  return ckpt;
}

/** A fresh temp folder and its removal. */
export async function tempRoot(): Promise<{ root: string; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'hub-test-'));
  return { root, remove: () => rm(root, { recursive: true, force: true }) };
}

/** Awaits `p`, which must reject with a HubError; returns that error (anything else fails the test). */
export async function hubFailure(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HubError) return e;
    throw e;
  }
  throw new Error('expected a HubError, but the call succeeded');
}
