// Shared pieces of the browser tests: a fresh vite build; the servers a user runs, on 127.0.0.1:
// `vite preview` of a build (startPreview, as `npm run preview`) and the Vite dev server
// (startDevServer, as `npm start`), both with the single-page-app fallback that answers an unknown
// path with index.html (200 text/html); a plain static server (serveStatic: HEAD, Content-Length,
// single ranges, 404 for a missing file); the system Chromium with WebGPU on; and a watch over what
// the page does that it should not (console errors, requests leaving 127.0.0.1, failed loads).
//
// Env: LAB_E2E_DIST=<folder> serves an existing build instead of building (CI after `vite build`);
//      LAB_CHROMIUM=<path> another Chromium (default /usr/bin/chromium; never downloaded).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, rmSync, existsSync, statSync, createReadStream, readdirSync, symlinkSync, readFileSync } from 'node:fs';
import { before, after } from 'node:test';
import { tmpdir } from 'node:os';
import { join, resolve, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CHROMIUM = process.env.LAB_CHROMIUM ?? '/usr/bin/chromium';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.jinja': 'text/plain; charset=utf-8',
};

/** A fresh build in a temp folder (never stale, never clobbers dist/), or LAB_E2E_DIST. */
export function buildApp(): { distDir: string; cleanup: () => void } {
  if (process.env.LAB_E2E_DIST) return { distDir: resolve(process.env.LAB_E2E_DIST), cleanup: () => undefined };
  const distDir = mkdtempSync(join(tmpdir(), 'lab-e2e-dist-'));
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--outDir', distDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `vite build failed:\n${r.stdout}\n${r.stderr}`);
  assert.ok(existsSync(join(distDir, 'index.html')), `no index.html in ${distDir}`);
  return { distDir, cleanup: () => rmSync(distDir, { recursive: true, force: true }) };
}

/**
 * A static file server for `dir` on 127.0.0.1 (random port). `mounts` maps URL prefixes to other
 * folders (e.g. '/fixtures/' → models/fixtures/), so test data is served without copying it into
 * the build. GET and HEAD send Content-Length; `Range: bytes=a-b` gets a 206.
 */
export function serveStatic(dir: string, mounts: Record<string, string> = {}): Promise<Server> {
  const s = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let base = dir;
    let rel = path;
    for (const [prefix, target] of Object.entries(mounts)) {
      if (path.startsWith(prefix)) (base = resolve(target)), (rel = path.slice(prefix.length - 1));
    }
    let file = resolve(base, '.' + rel);
    if (file !== base && !file.startsWith(base + sep)) return void res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    const size = statSync(file).size;
    const headers: Record<string, string> = { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', 'accept-ranges': 'bytes' };
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let [start, end, status] = [0, size - 1, 200];
    if (m) {
      (start = Number(m[1])), (end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1), (status = 206);
      if (start >= size || end < start) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['content-length'] = String(end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || size === 0) return void res.end();
    createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((ok) => s.listen(0, '127.0.0.1', () => ok(s)));
}

/** A server a user runs (vite preview or the dev server), in its own process group. */
export interface AppServer {
  /** http://127.0.0.1:<port> (no trailing slash), as originOf gives for serveStatic */
  url: string;
  /** what the server printed so far (for failure messages) */
  log(): string;
  /** stops the server and its process group (SIGTERM, then SIGKILL); removes its staging folder */
  close(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1 (vite has no --port 0: bind one, read it, let it go). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });
}

const VITE = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
/** process groups of servers still running: killed on exit, should a test process end without its after() */
const running = new Set<number>();
process.once('exit', () => {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

const killGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
};

/**
 * Starts `node vite.js <args> --host 127.0.0.1 --port <free> --strictPort` in ROOT, in its own
 * process group, and waits until it answers / with 200. A port taken between freePort() and the
 * bind is retried with another.
 */
async function startVite(what: string, args: string[], cleanup: () => void = () => undefined, env: NodeJS.ProcessEnv = {}): Promise<AppServer> {
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(process.execPath, [VITE, ...args, '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--clearScreen', 'false'], {
      cwd: ROOT,
      detached: true, // its own process group: close() kills vite and anything it started
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    const pgid = child.pid!;
    running.add(pgid);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    let exited: number | string | null = null;
    const exitedP = new Promise<void>((ok) => child.once('exit', (code, sig) => ((exited = code ?? sig ?? 'exit'), ok())));
    const close = async () => {
      if (exited === null) {
        killGroup(pgid, 'SIGTERM');
        const t = setTimeout(() => killGroup(pgid, 'SIGKILL'), 5_000);
        await exitedP;
        clearTimeout(t);
      }
      killGroup(pgid, 'SIGKILL'); // anything of the group that outlived vite
      running.delete(pgid);
      cleanup();
    };
    const deadline = Date.now() + 60_000;
    let up = false;
    while (exited === null && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        if (res.ok) {
          up = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((ok) => setTimeout(ok, 200));
    }
    if (up) return { url, log: () => out, close };
    lastLog = out;
    const portTaken = /port .* is already in use|EADDRINUSE/i.test(out);
    await close().catch(() => undefined);
    if (!portTaken) break;
  }
  cleanup();
  throw new Error(`${what} did not start:\n${lastLog}`);
}

/**
 * `vite preview` of the build in `distDir` (as `npm run preview`), on a free port of 127.0.0.1.
 * `mounts` maps folder names in the site's root to other folders (e.g. { fixtures: models/fixtures }
 * serves the test checkpoints at /fixtures/): the build is staged in a temp folder of symlinks (its
 * entries and the mounts), so neither the build nor a LAB_E2E_DIST folder is changed.
 */
export async function startPreview(distDir: string, mounts: Record<string, string> = {}): Promise<AppServer> {
  let dir = resolve(distDir);
  let cleanup = () => undefined as void;
  if (Object.keys(mounts).length) {
    const stage = mkdtempSync(join(tmpdir(), 'lab-e2e-stage-'));
    for (const f of readdirSync(dir)) if (!(f in mounts)) symlinkSync(join(dir, f), join(stage, f));
    for (const [name, target] of Object.entries(mounts)) {
      assert.ok(!name.includes('/') && existsSync(target), `mount ${name} → ${target}`);
      symlinkSync(resolve(target), join(stage, name));
    }
    (dir = stage), (cleanup = () => rmSync(stage, { recursive: true, force: true }));
  }
  return startVite('vite preview', ['preview', '--outDir', dir], cleanup);
}

/**
 * The Vite dev server (`vite`, as `npm start`) over the working tree, on a free port of 127.0.0.1.
 * It serves the project's root, so the test checkpoints are at /models/fixtures/<name>/ and the
 * embedded models at /models/<name>/. `env` goes to the server (e.g. LAB_EMBEDDED_LAB_DEFAULT).
 */
export function startDevServer(env: NodeJS.ProcessEnv = {}): Promise<AppServer> {
  return startVite('vite (dev server)', [], undefined, env);
}

export const originOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
export const closeServer = (s: Server | undefined) => new Promise((ok) => (s ? s.close(ok) : ok(undefined)));

export function isLocal(url: string): boolean {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'blob:') return true;
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname === '127.0.0.1';
}

const QUIET = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** The system Chromium; `webgpu` adds the flags for WebGPU on SwiftShader (here) or the real GPU. */
export async function launchChromium(webgpu = true): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install chromium; see tools/ci/install-system.sh)`);
  const gpu = ['--enable-unsafe-webgpu', '--use-angle=swiftshader', '--enable-features=Vulkan'];
  return chromium.launch({ executablePath: CHROMIUM, args: [...QUIET, ...(webgpu ? gpu : [])], timeout: 60_000 });
}

export interface Watch {
  consoleErrors: Set<string>;
  offHost: string[];
  failedLoads: string[];
  /** requests the page itself abandoned (net::ERR_ABORTED) */
  aborted: string[];
  requested: string[];
}

/**
 * Files a checkpoint may lack: the loader probes for them, and a 404 is the expected answer (from
 * serveStatic; vite preview and the dev server answer index.html, 200 text/html, which the loader
 * also takes for "missing": src/engine/sources.ts).
 */
export const optionalCheckpointFile = (url: string): boolean => /chat_template\.jinja|model\.safetensors\.index\.json|generation_config\.json/.test(url);

/**
 * Blocks and records every request that leaves 127.0.0.1 (data:/blob: allowed), and records
 * console errors of the page and its workers, failed local loads and HTTP errors. `expected404`
 * lists URLs whose 404 is part of the protocol (probes for optional files).
 */
export async function watchContext(context: BrowserContext, expected404: (url: string) => boolean = () => false): Promise<Watch> {
  const w: Watch = { consoleErrors: new Set(), offHost: [], failedLoads: [], aborted: [], requested: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    w.offHost.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('request', (r) => {
    w.requested.push(r.url());
    if (!isLocal(r.url()) && !w.offHost.includes(r.url())) w.offHost.push(r.url());
  });
  context.on('requestfailed', (r) => {
    if (!isLocal(r.url())) return;
    const why = r.failure()?.errorText ?? '';
    // ERR_ABORTED = the page stopped reading (a HEAD, a ranged read cut short, a cancelled
    // download): not a failed load; what was fetched is checked through the servers' own counters
    if (why === 'net::ERR_ABORTED') w.aborted.push(`${r.method()} ${r.url()}`);
    else w.failedLoads.push(`${r.method()} ${r.url()}: ${why}`);
  });
  context.on('response', (r) => {
    if (r.status() >= 400 && !(r.status() === 404 && expected404(r.url()))) w.failedLoads.push(`${r.url()}: HTTP ${r.status()}`);
  });
  return w;
}

/** Console errors of `page` and its workers go into `w` (404s of expected probes excepted). */
export function watchPage(page: Page, w: Watch, expected404: (text: string) => boolean = () => false): void {
  const add = (prefix: string, text: string) => {
    if (/status of 404/.test(text) && expected404(text)) return;
    w.consoleErrors.add(`${prefix}: ${text}`);
  };
  page.on('console', (m) => m.type() === 'error' && add('console', `${m.text()} ${m.location().url}`));
  page.on('pageerror', (e) => w.consoleErrors.add(`pageerror: ${e.message}`));
  page.on('worker', (wk) => wk.on('console', (m) => m.type() === 'error' && add('worker console', m.text())));
}

/**
 * The built app under `vite preview` (what `npm run preview` serves; lab-micro ships in the build) and a
 * Chromium, started before a test file's tests and stopped after them. Call once at the top of the file.
 */
export function usePreviewApp(): { readonly server: AppServer; readonly browser: Browser } {
  let build: ReturnType<typeof buildApp> | undefined;
  let server: AppServer | undefined;
  let browser: Browser | undefined;
  before(async () => {
    build = buildApp();
    server = await startPreview(build.distDir);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    build?.cleanup();
  });
  return {
    get server() {
      return server!;
    },
    get browser() {
      return browser!;
    },
  };
}

/** An attribute of the one element with data-testid `testid` (strict: several is an error; ./train-page.ts's attr reads the first). */
export const attr = (page: Page, testid: string, name: string) => page.getByTestId(testid).getAttribute(name);

/** Clicks `testid` (the first of several with `first`) and returns the download it starts: its suggested name and its text. */
export async function download(page: Page, testid: string, opts: { first?: boolean } = {}): Promise<{ name: string; text: string }> {
  const target = page.getByTestId(testid);
  const [dl] = await Promise.all([page.waitForEvent('download'), (opts.first ? target.first() : target).click()]);
  return { name: dl.suggestedFilename(), text: readFileSync((await dl.path())!, 'utf8') };
}
