// The Data page: the embedded task sets (held-out arithmetic problems and Velmic puzzles), and the user's
// own datasets (local files or the Hub) looked at per record format and line before any training, and
// updated manifests (a withdrawn source stops the runs trained on it).
import { TasksPanel } from './TasksPanel.tsx';
import { DatasetPanel } from './data/DatasetPanel.tsx';
import { ManifestUpdate } from './data/ManifestUpdate.tsx';

export function DataPage() {
  return (
    <>
      <DatasetPanel />
      <TasksPanel />
      <ManifestUpdate />
    </>
  );
}
