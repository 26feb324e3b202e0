// The Data page: the embedded task sets (held-out arithmetic problems and Velmic puzzles). The
// user's own data (and, with its community's approval, Stoney data) comes here later.
import { TasksPanel } from './TasksPanel.tsx';

export function DataPage() {
  return <TasksPanel />;
}
