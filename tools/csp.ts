// Vite plugin: the lab's Content-Security-Policy. The page may talk to itself and to the Hugging
// Face Hub only; no inline script unless hashed, no eval (WebAssembly compilation excepted:
// onnxruntime-web needs 'wasm-unsafe-eval'), no third-party fonts, styles or scripts, no plugins,
// no framing.
//
//   build    a <meta http-equiv="Content-Security-Policy"> in index.html (static hosting has no
//            headers). A meta policy covers the document only: the engine worker, which does the
//            Hub downloads, gets a policy from its own response headers, so a host that can send
//            headers should send HEADER_POLICY (below) on every response as well.
//   preview  `vite preview`: the same policy as a header on every response (the worker included),
//            plus the meta of the build.
//   dev      `vite dev`: a meta with the sha256 of the inline React Refresh preamble that Vite adds,
//            and 'unsafe-inline' styles (Vite injects CSS as <style> elements in dev only); the
//            header on every other response (the worker script).
//
// Hub hosts: https://huggingface.co for the API and file URLs; downloads of large (LFS / Xet) files
// redirect to https://cdn-lfs*.hf.co, https://cas-bridge.xethub.hf.co and the like, and a fetch
// follows the redirect under connect-src, hence https://*.hf.co and https://*.huggingface.co.
//
// Loopback: dev and preview also allow http://127.0.0.1:* and http://localhost:* in connect-src,
// and nothing else. Only for the stand-in Hub of the tests and of local development
// (tools/hub-server.mjs, ?hubEndpoint=http://127.0.0.1:<port>), which listens on another port than
// the page, so 'self' does not cover it. The built app's meta does not allow it.
import { createHash } from 'node:crypto';
import type { Plugin } from 'vite';

export const HUB_HOSTS = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'];
const LOOPBACK = ['http://127.0.0.1:*', 'http://localhost:*'];

export interface PolicyOptions {
  /** sha256 hashes ('sha256-…') of inline scripts allowed to run */
  scriptHashes?: string[];
  /** dev server: inline <style> elements (Vite's CSS injection) */
  inlineStyles?: boolean;
  /** the test/dev stand-in Hub on a loopback port */
  loopback?: boolean;
  /** header form: may carry frame-ancestors (ignored, with a console warning, in a meta) */
  header?: boolean;
}

export function cspPolicy(o: PolicyOptions = {}): string {
  const d: [string, string[]][] = [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'", "'wasm-unsafe-eval'", ...(o.scriptHashes ?? []).map((h) => `'${h}'`)]],
    ['worker-src', ["'self'", 'blob:']],
    ['connect-src', ["'self'", ...HUB_HOSTS, ...(o.loopback ? LOOPBACK : [])]],
    ['img-src', ["'self'", 'data:', 'blob:']],
    ['style-src', ["'self'", ...(o.inlineStyles ? ["'unsafe-inline'"] : [])]],
    ['font-src', ["'self'"]],
    ['object-src', ["'none'"]],
    ['base-uri', ["'self'"]],
    ['form-action', ["'self'"]],
    ...(o.header ? ([['frame-ancestors', ["'none'"]]] as [string, string[]][]) : []),
  ];
  return d.map(([k, v]) => `${k} ${v.join(' ')}`).join('; ');
}

/** The policy a host should send as a header with the built app (preview does). */
export const HEADER_POLICY = cspPolicy({ header: true, loopback: true });

const inlineScripts = (html: string): string[] => [...html.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1]);
const sha256 = (s: string) => `sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}`;

export function contentSecurityPolicy(): Plugin {
  let dev = false;
  const setHeader = (policy: string, skipHtml: boolean) => (req: { url?: string; headers: Record<string, unknown> }, res: { setHeader(k: string, v: string): void }, next: () => void) => {
    const path = (req.url ?? '/').split('?')[0];
    const html = path.endsWith('/') || path.endsWith('.html');
    if (!(skipHtml && html)) res.setHeader('Content-Security-Policy', policy);
    next();
  };
  return {
    name: 'lab-content-security-policy',
    configResolved(cfg) {
      dev = cfg.command === 'serve';
    },
    transformIndexHtml: {
      order: 'post',
      handler(html) {
        // every inline script (in dev: the React Refresh preamble) is allowed by its hash, no other
        const policy = cspPolicy({ scriptHashes: inlineScripts(html).map(sha256), inlineStyles: dev, loopback: dev });
        const meta = `<meta http-equiv="Content-Security-Policy" content="${policy}" />`;
        // first in <head>: a meta policy covers only what comes after it
        return html.replace(/<head>/i, `<head>\n    ${meta}`);
      },
    },
    configureServer(server) {
      // dev: the HTML carries its meta (with the preamble's hash); every other response, the
      // worker script among them, the header with the dev allowances
      server.middlewares.use(setHeader(cspPolicy({ header: true, inlineStyles: true, loopback: true }), true));
    },
    configurePreviewServer(server) {
      server.middlewares.use(setHeader(HEADER_POLICY, false));
    },
  };
}
