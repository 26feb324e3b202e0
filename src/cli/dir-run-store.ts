// The CLI's run store: one run in one --out folder, in the layout `lab sft` has always written —
//   <out>/metrics.jsonl            one JSON line per optimizer step
//   <out>/checkpoint-<step>/       adapter or model, optimizer.safetensors, trainer_state.json, governance.json
//   <out>/                         the result (PEFT adapter or HF checkpoint) + trainer state
//   <out>/governance.json          the terms the result inherits
//   <out>/run.json                 the run record (status, config, data, step)
//   <out>/tokenized-rows.cache     the data's tokenized rows (large files only)
// Checkpoints are written into `<dir>.partial` and renamed: a crash never leaves half a checkpoint.
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord, StepLine } from '../engine/api.ts';
import type { Files, RunStore } from '../engine/train/run-store.ts';

/** What makes a folder hold a run (the tokenized-rows cache alone does not: it is rebuilt at will). */
const RUN_FILES = ['run.json', 'metrics.jsonl', 'samples.jsonl', 'adapter_config.json', 'adapter_model.safetensors', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json'];

export function writeDirAtomic(dir: string, files: Files): void {
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(tmp, name), bytes);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** Every file of a folder (not its subfolders), by name: a checkpoint, an adapter. */
export function readDirFiles(dir: string): Files {
  const out: Files = new Map();
  for (const f of readdirSync(dir).sort()) if (statSync(join(dir, f)).isFile()) out.set(f, new Uint8Array(readFileSync(join(dir, f))));
  return out;
}

export class DirRunStore implements RunStore {
  rowCacheMinRows: number;
  constructor(
    readonly out: string,
    opts: { rowCacheMinRows?: number } = {},
  ) {
    this.rowCacheMinRows = opts.rowCacheMinRows ?? 10_000;
  }
  private get metricsFile(): string {
    return join(this.out, 'metrics.jsonl');
  }
  get rowCacheFile(): string {
    return join(this.out, 'tokenized-rows.cache');
  }
  private ensure(): void {
    mkdirSync(this.out, { recursive: true });
  }

  where(_id: string, step?: number): string {
    return step === undefined ? this.out : join(this.out, `checkpoint-${step}`);
  }
  async get(): Promise<RunRecord | null> {
    const f = join(this.out, 'run.json');
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as RunRecord) : null;
  }
  async put(rec: RunRecord): Promise<void> {
    this.ensure();
    writeFileSync(join(this.out, 'run.json.tmp'), JSON.stringify(rec, null, 1));
    renameSync(join(this.out, 'run.json.tmp'), join(this.out, 'run.json'));
  }
  async list(): Promise<RunRecord[]> {
    const r = await this.get();
    return r ? [r] : [];
  }
  async occupied(): Promise<string[]> {
    if (!existsSync(this.out)) return [];
    return readdirSync(this.out).filter((f) => RUN_FILES.includes(f) || /^checkpoint-\d+$/.test(f)).sort();
  }
  async metrics(): Promise<StepLine[]> {
    if (!existsSync(this.metricsFile)) return [];
    return readFileSync(this.metricsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as StepLine);
  }
  async setMetrics(_id: string, lines: StepLine[]): Promise<void> {
    this.ensure();
    writeFileSync(this.metricsFile, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }
  async appendMetrics(_id: string, line: StepLine): Promise<void> {
    appendFileSync(this.metricsFile, `${JSON.stringify(line)}\n`);
  }
  async saveCheckpoint(id: string, step: number, files: Files): Promise<string> {
    const dir = this.where(id, step);
    writeDirAtomic(dir, files);
    return dir;
  }
  async readCheckpoint(id: string, step: number): Promise<Files> {
    return readDirFiles(this.where(id, step));
  }
  async checkpoints(): Promise<number[]> {
    if (!existsSync(this.out)) return [];
    return readdirSync(this.out).flatMap((f) => (/^checkpoint-(\d+)$/.exec(f) ? [Number(f.slice(11))] : [])).sort((a, b) => a - b);
  }
  async saveResult(_id: string, files: Files): Promise<string> {
    this.ensure();
    for (const [name, bytes] of files) writeFileSync(join(this.out, name), bytes);
    return this.out;
  }
  async readResult(): Promise<Files | null> {
    const names = ['adapter_config.json', 'adapter_model.safetensors', 'model.safetensors', 'config.json'].filter((f) => existsSync(join(this.out, f)));
    return names.length ? new Map(names.map((f) => [f, new Uint8Array(readFileSync(join(this.out, f)))])) : null;
  }
  async saveFile(_id: string, name: string, bytes: Uint8Array): Promise<void> {
    this.ensure();
    writeFileSync(join(this.out, name), bytes);
  }
  async readFile(_id: string, name: string): Promise<Uint8Array | null> {
    const f = join(this.out, name);
    return existsSync(f) ? new Uint8Array(readFileSync(f)) : null;
  }
  async setLines(_id: string, name: string, lines: string[]): Promise<void> {
    this.ensure();
    writeFileSync(join(this.out, name), lines.map((l) => `${l}\n`).join(''));
  }
  async appendLine(_id: string, name: string, line: string): Promise<void> {
    this.ensure();
    appendFileSync(join(this.out, name), `${line}\n`);
  }
  async delete(): Promise<void> {
    throw new Error(`lab sft does not delete runs: remove ${this.out} yourself`);
  }
  async readRowCache(): Promise<Uint8Array | null> {
    return existsSync(this.rowCacheFile) ? new Uint8Array(readFileSync(this.rowCacheFile)) : null;
  }
  async writeRowCache(_id: string, _key: string, bytes: Uint8Array): Promise<void> {
    this.ensure();
    writeFileSync(`${this.rowCacheFile}.tmp`, bytes);
    renameSync(`${this.rowCacheFile}.tmp`, this.rowCacheFile);
  }
}
