// A BlobStore (engine/hub/store.ts) in a folder, for the CLI's Hub cache: one file per key, named by the
// key's SHA-256, holding the value in V8's structured-clone serialization (what IndexedDB keeps in the
// browser). Writes go to a temporary name and are renamed, so a crash never leaves half a value.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { BlobStore } from '../engine/hub/store.ts';

const fileOf = (key: string) => `${createHash('sha256').update(key).digest('hex')}.v8`;

export class FsBlobStore implements BlobStore {
  constructor(readonly dir: string) {}

  async get(key: string): Promise<unknown> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, fileOf(key)));
    } catch {
      return undefined;
    }
    try {
      const { k, v } = deserialize(bytes) as { k: string; v: unknown };
      return k === key ? v : undefined;
    } catch {
      return undefined; // a damaged entry is a miss; the cache re-downloads
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const f = join(this.dir, fileOf(key));
    const tmp = `${f}.${process.pid}.tmp`;
    await writeFile(tmp, serialize({ k: key, v: value }));
    await rename(tmp, f);
  }

  async del(key: string): Promise<void> {
    await rm(join(this.dir, fileOf(key)), { force: true });
  }

  async keys(): Promise<string[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.v8'));
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const n of names) {
      try {
        out.push((deserialize(await readFile(join(this.dir, n))) as { k: string }).k);
      } catch {
        /* skip a damaged entry */
      }
    }
    return out;
  }
}
