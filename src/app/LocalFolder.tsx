// A checkpoint folder from this computer: a "Choose folder…" button (<input webkitdirectory>) and a
// drop zone. Files are not read here: the File handles and their paths go to the engine, which
// reads only the bytes it needs (headers, then one tensor at a time).
import { useRef, useState, type DragEvent } from 'react';

export interface PickedFolder {
  name: string;
  files: File[];
  /** each file's path inside the picked folder (structured clone drops webkitRelativePath) */
  paths: string[];
}

/**
 * Files a checkpoint load may read, and an ONNX export beside them (for "Verify against ONNX Runtime");
 * everything else in the folder (e.g. .git, *.bin) stays out.
 */
const WANTED = /\.(json|safetensors|jinja|onnx|onnx_data)$/;

function collect(files: File[], paths: string[]): PickedFolder | null {
  const keep = paths.map((p, i) => [p.replace(/^\/+/, ''), files[i]] as const).filter(([p]) => WANTED.test(p) && !p.split('/').some((s) => s.startsWith('.')));
  if (keep.length === 0) return null;
  const first = keep[0][0];
  const name = first.includes('/') ? first.split('/')[0] : 'local files';
  return { name, files: keep.map(([, f]) => f), paths: keep.map(([p]) => p) };
}

/** Walks dropped entries (folders recursively) into files with their paths. */
async function fromDrop(dt: DataTransfer): Promise<{ files: File[]; paths: string[] }> {
  const files: File[] = [];
  const paths: string[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      const f = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
      files.push(f);
      paths.push(entry.fullPath.replace(/^\/+/, ''));
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries returns the listing in batches until an empty one
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  const entries = Array.from(dt.items)
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  if (entries.length) for (const e of entries) await walk(e);
  else for (const f of Array.from(dt.files)) (files.push(f), paths.push(f.name));
  return { files, paths };
}

export function LocalFolder({ disabled, onPick }: { disabled: boolean; onPick: (folder: PickedFolder) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [note, setNote] = useState('');

  const take = (picked: PickedFolder | null) => {
    if (!picked) return setNote('No checkpoint files there: pick the folder holding config.json, *.safetensors and tokenizer.json.');
    setNote('');
    onPick(picked);
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (disabled) return;
    const { files, paths } = await fromDrop(e.dataTransfer);
    take(collect(files, paths));
  };

  return (
    <div className="source">
      <h3>From a folder on this computer</h3>
      <div
        className={`dropzone${over ? ' over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => (e.preventDefault(), setOver(true))}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => void onDrop(e)}
      >
        <p>Drop a checkpoint folder here (config.json, *.safetensors, tokenizer.json), or</p>
        <button type="button" className="secondary" disabled={disabled} onClick={() => input.current?.click()} data-testid="choose-folder">
          Choose folder…
        </button>
        <input
          ref={(el) => {
            input.current = el;
            el?.setAttribute('webkitdirectory', '');
          }}
          type="file"
          multiple
          hidden
          aria-label="Checkpoint folder"
          onChange={(e) => {
            const list = Array.from(e.target.files ?? []);
            take(collect(list, list.map((f) => f.webkitRelativePath || f.name)));
            e.target.value = ''; // picking the same folder again loads it again
          }}
        />
        <p className="muted small">Read from disk directly; nothing is uploaded anywhere.</p>
      </div>
      {note ? (
        <p className="hint bad" role="status">
          {note}
        </p>
      ) : null}
    </div>
  );
}
