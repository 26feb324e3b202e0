// Saving a run's files: one Blob and a temporary <a download> per file (no zip library), so an
// adapter arrives as the adapter_config.json + adapter_model.safetensors PEFT expects.
import { exportProblem } from '../../engine/train/governance.ts';

/**
 * Starts a download of each file in `names` that `files` holds, saved as prefix + name; returns the names
 * saved. Files made from governed data carry their governance.json: when its terms forbid taking them off
 * this device (exportProblem), nothing is saved and the error says why.
 */
export function downloadFiles(files: Record<string, Uint8Array>, names: string[], prefix = ''): string[] {
  if (files['governance.json']) {
    let terms: Parameters<typeof exportProblem>[0];
    try {
      terms = JSON.parse(new TextDecoder().decode(files['governance.json']));
    } catch {
      throw new Error('governance.json of these files cannot be read: not exported');
    }
    const why = exportProblem(terms);
    if (why) throw new Error(`Not exported: ${why}.`);
  }
  const saved: string[] = [];
  for (const name of names) {
    const bytes = files[name];
    if (!bytes) continue;
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = prefix + name;
    a.style.display = 'none';
    document.body.append(a);
    a.click();
    a.remove();
    // the download has its own reference once started; free ours a little later
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    saved.push(prefix + name);
  }
  return saved;
}

/** The PEFT adapter's two files. */
export const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors'];

/** What an adapter download carries: its two files and the terms it inherits from its data (derived artifacts keep them). */
export const ADAPTER_DOWNLOAD = [...ADAPTER_FILES, 'governance.json'];
