// The architecture's one-way dependencies, checked on the source (CONVENTIONS §14, §16):
//   - src/engine imports nothing from workers/, React or the app, and no node:* module, so the
//     training and inference code runs unchanged in a browser worker (Node-only pieces load node:
//     through a variable specifier at run time, as dirSource does, or live in src/cli);
//   - production code imports nothing from testing/ folders, test files or float64 references
//     (*.ref.ts). The exception is the in-page kernel self-check (selfcheck*.ts, shaders/*.check.ts):
//     running each kernel beside its float64 reference in the user's browser is what it is for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'node_modules' || f === 'testdata') return [];
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

const isTestCode = (rel: string) => /\.test\.tsx?$|\.testlib\.ts$|\.ref\.ts$|(^|\/)testing(\/|\.ts$)/.test(rel);
const isSelfCheck = (rel: string) => /(^|\/)selfcheck[^/]*(\/|\.ts$)|\.check\.ts$/.test(rel);

/** Every module specifier a file imports (static, re-export, dynamic with a literal). */
function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?<!typeof )import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const production = [...walk(join(ROOT, 'src')), ...walk(join(ROOT, 'workers')), ...walk(join(ROOT, 'shaders'))].map((f) => relative(ROOT, f)).filter((r) => !isTestCode(r));

test('src/engine imports no node:* module, nothing from workers/ and nothing from React or the app', () => {
  const bad: string[] = [];
  for (const rel of production.filter((r) => r.startsWith('src/engine/'))) {
    for (const spec of imports(join(ROOT, rel))) {
      const target = spec.startsWith('.') ? relative(ROOT, resolve(dirname(join(ROOT, rel)), spec)) : spec;
      if (spec.startsWith('node:') || target.startsWith('workers/') || target.startsWith('src/app/') || /^react(-dom)?(\/|$)/.test(spec)) bad.push(`${rel} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('production code imports no test helper, test file or float64 reference (the kernel self-check excepted)', () => {
  const bad: string[] = [];
  for (const rel of production.filter((r) => !isSelfCheck(r))) {
    for (const spec of imports(join(ROOT, rel))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(ROOT, resolve(dirname(join(ROOT, rel)), spec));
      if (isTestCode(target)) bad.push(`${rel} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the checks see the code: the engine, workers and shaders are scanned and their imports read', () => {
  assert.ok(production.includes('src/engine/train/run.ts') && production.includes('workers/worker-engine.ts') && production.includes('shaders/adamw.ts'));
  assert.ok(imports(join(ROOT, 'src/engine/train/run.ts')).includes('./trainer.ts'));
  assert.ok(isTestCode('shaders/dropout.ref.ts') && isTestCode('src/engine/testing/rng.ts') && !isTestCode('src/engine/util/rng.ts'));
});
