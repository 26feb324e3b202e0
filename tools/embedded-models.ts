// Vite plugin: the lab's embedded models ship inside the app, so the page works offline from the
// first command. For each name in EMBEDDED_NAMES whose folder exists (models/<name>/ with a
// config.json, or the folder in env LAB_EMBEDDED_<NAME> with - as _, e.g. LAB_EMBEDDED_LAB_DEFAULT,
// which tests use to stand a fixture in), the files are
//   - served at /models/<name>/<file> by the dev server, and
//   - emitted into the build at models/<name>/<file> (a static build served from disk has them);
// and the page learns which ones exist through the constant __LAB_EMBEDDED_MODELS__ (a JSON list).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Plugin } from 'vite';

export const EMBEDDED_NAMES = ['lab-default', 'lab-micro'];
const FILES = /^(config\.json|generation_config\.json|model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json|tokenizer\.json|tokenizer_config\.json|chat_template\.jinja|MODEL_CARD\.md|README\.md)$/;

export function embeddedModelDirs(root = process.cwd()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of EMBEDDED_NAMES) {
    const env = process.env[`LAB_EMBEDDED_${name.toUpperCase().replace(/-/g, '_')}`];
    const dir = resolve(root, env ?? join('models', name));
    if (existsSync(join(dir, 'config.json'))) out[name] = dir;
  }
  return out;
}

const filesOf = (dir: string): string[] => readdirSync(dir).filter((f) => FILES.test(f) && statSync(join(dir, f)).isFile());

export function embeddedModels(): Plugin {
  let dirs: Record<string, string> = {};
  return {
    name: 'lab-embedded-models',
    config(cfg) {
      dirs = embeddedModelDirs(cfg.root ?? process.cwd());
      return { define: { __LAB_EMBEDDED_MODELS__: JSON.stringify(Object.keys(dirs)) } };
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/models\/([^/]+)\/([^/?#]+)/.exec(req.url ?? '');
        const dir = m ? dirs[m[1]] : undefined;
        if (!m || !dir || !FILES.test(m[2]) || !existsSync(join(dir, m[2]))) return next();
        const body = readFileSync(join(dir, m[2]));
        res.setHeader('Content-Length', String(body.length));
        res.end(req.method === 'HEAD' ? undefined : body);
      });
    },
    generateBundle() {
      for (const [name, dir] of Object.entries(dirs)) {
        for (const f of filesOf(dir)) this.emitFile({ type: 'asset', fileName: `models/${name}/${f}`, source: readFileSync(join(dir, f)) });
      }
    },
  };
}
