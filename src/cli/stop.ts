// Ctrl-C / SIGTERM for long commands (lab sft, lab grpo): the first signal asks the run to stop after
// the step in flight and write a checkpoint of it; a repeat a second or more later kills at once
// (nothing is saved). `timeout` (not --foreground) signals the child AND its process group: one stop
// request can arrive twice within microseconds, so only a later repeat means "stop at once".

export interface StopOnSignals {
  signal: AbortSignal;
  /** the signal that asked to stop, or null */
  readonly by: NodeJS.Signals | null;
  release(): void;
}

export function stopOnSignals(cmd: string): StopOnSignals {
  const stop = new AbortController();
  let by: NodeJS.Signals | null = null;
  let at = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (by) {
      if (performance.now() - at > 1000) process.exit(130);
      return;
    }
    by = sig;
    at = performance.now();
    process.stderr.write(`lab ${cmd}: ${sig}: stopping after the step in flight and writing a checkpoint (signal again to stop at once)\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    get by() {
      return by;
    },
    release: () => void process.off('SIGINT', onSignal).off('SIGTERM', onSignal),
  };
}
