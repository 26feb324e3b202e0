// What to do about a training error, by its kind (TrainingError, GovernanceError, GpuError): the
// engine's message says what happened; this says what the user can do next, in the page's terms.
import type { ErrorView } from '../errors.ts';

const TRAINING: Record<string, string> = {
  busy: 'Another run is active, or the model is changing. Wait for it to finish, or cancel it, then start again.',
  'no-model': 'No model is loaded. Load one on the Models page, then come back.',
  'no-data': 'No row of the data can be trained on. Check the data report: each line needs one of the row formats, and must fit the model’s context.',
  'run-exists': 'A run with this id is stored already. Start a new run, or resume that one from the Runs page.',
  'resume-mismatch': 'The checkpoint was made with other data or settings. Resume it from the Runs page (it keeps its own settings), or start a new run.',
  'bad-checkpoint': 'That checkpoint cannot be used. Resume from an earlier checkpoint on the Runs page.',
  'non-finite': 'The loss or a gradient became NaN/Inf. Lower the learning rate or set a max grad norm, then resume from the last good checkpoint (Runs page) or start again.',
  storage: 'The browser’s storage is full. Delete old runs or clear the Hub cache (Runs page), then resume this run from its last checkpoint.',
  invalid: 'A setting is not valid: correct the one named above.',
};

export function errorHelp(e: ErrorView): string {
  if (e.name === 'TrainingError') return TRAINING[e.kind ?? ''] ?? '';
  if (e.name === 'GovernanceError') {
    return 'This data may not be used for training. Pick the SOURCE_MANIFEST.yml of its folder, with a record approved_for_training (with "training" allowed) for the file’s path; nothing is approved automatically.';
  }
  if (e.name === 'GpuError') {
    return e.kind === 'lost' || e.kind === 'out-of-memory'
      ? 'The GPU device was lost or ran out of memory. Reload the page; runs resume from their last checkpoint on the Runs page. A smaller batch size or Recompute uses less memory.'
      : 'WebGPU failed. See the message; reloading the page starts a new device.';
  }
  return '';
}
