// `npm run lab -- manifest --template gsm8k|gsm8k-platinum --path <glob> --confirm --out <SOURCE_MANIFEST.yml>`
// Declares a well-known public set's terms from the lab's labelled template (engine/train/manifest-
// templates.ts). The user confirms with --confirm that the files are that set; without it the command
// says what would be confirmed and writes nothing. An existing manifest is never overwritten.
import { existsSync, writeFileSync } from 'node:fs';
import { PUBLIC_TEMPLATES, templateManifest } from '../engine/train/manifest-templates.ts';
import { parseArgs, required, UsageError } from './args.ts';

export async function manifestCommand(argv: string[]): Promise<void> {
  const p = parseArgs(argv, { values: ['template', 'path', 'out'], flags: ['confirm'] });
  const name = required(p, 'template');
  const t = PUBLIC_TEMPLATES[name];
  if (!t) throw new UsageError(`--template: no template "${name}" (known: ${Object.keys(PUBLIC_TEMPLATES).join(', ')}); for other data write its record yourself (schema: source_manifest.schema.json)`);
  const path = required(p, 'path'), out = required(p, 'out');
  if (!p.flags.has('confirm')) throw new UsageError(`nothing written: a template declares terms only when you confirm them. Add --confirm if this is true: ${t.confirm}`);
  if (existsSync(out)) throw new UsageError(`${out} exists: a manifest is never overwritten; add the template's record to it by hand, or write elsewhere`);
  writeFileSync(out, templateManifest(name, path, 'the user (lab manifest --confirm)'));
  process.stderr.write(`lab manifest: wrote ${out}: ${PUBLIC_TEMPLATES[name].record.source_id} (${PUBLIC_TEMPLATES[name].record.license}) for ${path}\n`);
}
