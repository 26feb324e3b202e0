// A banner under the header when the lab cannot run here: no WebGPU at all, an adapter whose
// limits are below the engine's, or a model too large for this GPU's limits. It says what is
// missing and what to do. (The engine's typed errors carry the kind: GpuError 'unavailable' /
// 'limits' from adapterInfo, HubError 'too-large' from loadModel's plan.)
import { useLab } from './lab.tsx';

export function GpuBanner() {
  const adapter = useLab((s) => s.adapter);
  const model = useLab((s) => s.model);
  const err = adapter.status === 'error' ? adapter.error : undefined;
  if (err) {
    const unavailable = err.kind === 'unavailable';
    return (
      <div className="banner" role="alert" data-testid="gpu-banner" data-kind={err.kind ?? err.name}>
        <strong>{unavailable ? 'WebGPU is not available in this browser' : err.kind === 'limits' ? 'This GPU cannot run the lab' : 'The GPU cannot be used'}</strong>
        <p>{err.message}</p>
        <ul>
          {unavailable ? (
            <>
              <li>Use a recent Chrome or Edge (version 113 or later) on Windows, macOS or ChromeOS.</li>
              <li>
                On Linux, open <code>chrome://flags/#enable-unsafe-webgpu</code>, set it to Enabled and restart the browser; <code>chrome://gpu</code> shows
                whether WebGPU is on.
              </li>
              <li>Firefox and Safari: WebGPU is not yet everywhere; if it is off, use Chrome or Edge.</li>
            </>
          ) : (
            <>
              <li>Update the GPU driver and the browser, or try another browser.</li>
              <li>Use a machine with a discrete or newer GPU.</li>
            </>
          )}
        </ul>
      </div>
    );
  }
  if (model.status === 'error' && model.error?.kind === 'too-large') {
    return (
      <div className="banner" role="alert" data-testid="gpu-banner" data-kind="too-large">
        <strong>This model does not fit this GPU</strong>
        <p>{model.error.message}</p>
        <ul>
          <li>
            Choose a smaller model on the <a href="#/models">Models</a> page: the embedded <code>lab-default</code> (4.6 M parameters) always fits, and
            SmolLM2-135M fits most GPUs.
          </li>
          <li>Or use a machine whose GPU allows larger buffers (see the WebGPU adapter’s limits on the Models page).</li>
        </ul>
      </div>
    );
  }
  return null;
}
