// WebGPU setup and all of its failures, in one place (CONVENTIONS §12).
//
// One code path for the browser (`navigator.gpu`, in a worker or the page) and Node (`webgpu`
// package, see ./node.ts): the caller passes the `GPU` object; everything after that is shared.
//
// - limits the engine needs are requested up front; an adapter that cannot give them is refused
//   with a message that names the limit, what it has and what is needed;
// - `device.lost` and `uncapturederror` feed one typed error that the runtime throws at the next
//   synchronisation point (readback, flush), so no GPU failure passes silently.

/** Kinds of failure a caller can act on differently. */
export type GpuErrorKind = 'unavailable' | 'limits' | 'lost' | 'validation' | 'out-of-memory' | 'internal';

export class GpuError extends Error {
  override name = 'GpuError';
  constructor(
    readonly kind: GpuErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Limits the engine asks for. Each is the minimum it needs; it asks for the adapter's maximum. */
export interface EngineLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxStorageBuffersPerShaderStage: number;
}

/** What every kernel in shaders/ may assume (WebGPU defaults, except storage buffers: 8 is the default). */
export const ENGINE_MIN_LIMITS: EngineLimits = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxBufferSize: 256 * 1024 * 1024,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxStorageBuffersPerShaderStage: 8,
};

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  features: string[];
  limits: Record<keyof EngineLimits, number>;
}

export interface GpuContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  summary: AdapterSummary;
  hasTimestamps: boolean;
  hasSubgroups: boolean;
  hasF16: boolean;
  /** Throws the first GPU error seen since the last call (device lost, validation, OOM). */
  throwIfFailed(): void;
  /** Register a listener for GPU errors (UI: show them; runtime: stop work). */
  onError(listener: (e: GpuError) => void): void;
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Extra minimums beyond ENGINE_MIN_LIMITS (e.g. a model's largest tensor, before loading it). */
  need?: Partial<EngineLimits>;
}

function summarize(adapter: GPUAdapter): AdapterSummary {
  // `adapter.info` is standard; older Dawn builds lacked it.
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const limits = {} as Record<keyof EngineLimits, number>;
  for (const k of Object.keys(ENGINE_MIN_LIMITS) as (keyof EngineLimits)[]) limits[k] = Number(adapter.limits[k]);
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    description: info?.description ?? '',
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

/** Acquire an adapter and a device with the limits the engine needs, or fail saying why. */
export async function acquireDevice(gpu: GPU | undefined, opts: AcquireOptions = {}): Promise<GpuContext> {
  if (!gpu) {
    throw new GpuError(
      'unavailable',
      'WebGPU is not available here. In a browser use a recent Chrome/Edge (or Chromium with --enable-unsafe-webgpu); ' +
        'in Node install a Vulkan driver (see README: mesa-vulkan-drivers >= 25) so the `webgpu` package can find an adapter.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) {
    const inNode = typeof process !== 'undefined' && !!process.versions?.node;
    throw new GpuError(
      'unavailable',
      inNode
        ? 'No WebGPU adapter was found. Point VK_ICD_FILENAMES at a Vulkan driver (Mesa >= 25 lavapipe works on CPU; see README).'
        : 'No WebGPU adapter was found: this browser has WebGPU but no usable GPU. Check chrome://gpu, update the GPU driver, or try another browser.',
    );
  }
  const summary = summarize(adapter);
  const need: EngineLimits = { ...ENGINE_MIN_LIMITS, ...opts.need };
  const short: string[] = [];
  for (const k of Object.keys(need) as (keyof EngineLimits)[]) {
    if (summary.limits[k] < need[k]) short.push(`${k}: adapter has ${summary.limits[k]}, needs ${need[k]}`);
  }
  if (short.length) {
    throw new GpuError('limits', `This GPU adapter (${summary.description || summary.vendor}) cannot run the engine: ${short.join('; ')}.`);
  }
  // Ask for the adapter's maxima of what we use: bigger models fit, nothing is lost by asking.
  const requiredLimits: Record<string, number> = {};
  for (const k of Object.keys(need) as (keyof EngineLimits)[]) requiredLimits[k] = summary.limits[k];
  const wanted: GPUFeatureName[] = ['timestamp-query', 'subgroups', 'shader-f16'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'stoney-lab' });
  } catch (e) {
    throw new GpuError('unavailable', `The adapter refused to create a device: ${(e as Error).message}`);
  }

  let pending: GpuError | null = null;
  const listeners: ((e: GpuError) => void)[] = [];
  const report = (e: GpuError) => {
    pending ??= e;
    for (const l of listeners) l(e);
  };
  device.lost.then((info) => {
    // 'destroyed' is our own doing (runtime.destroy()); anything else is a real loss.
    if (info.reason === 'destroyed') return;
    report(new GpuError('lost', `The GPU device was lost (${info.reason}): ${info.message}. Reload the model to continue.`));
  });
  device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
    const err = ev.error;
    const kind: GpuErrorKind =
      err instanceof GPUOutOfMemoryError ? 'out-of-memory' : err instanceof GPUValidationError ? 'validation' : 'internal';
    const hint = kind === 'out-of-memory' ? ' The GPU ran out of memory: try a smaller batch or sequence length.' : '';
    report(new GpuError(kind, `GPU ${kind} error: ${err.message}${hint}`));
  };

  return {
    adapter,
    device,
    summary,
    hasTimestamps: device.features.has('timestamp-query'),
    hasSubgroups: device.features.has('subgroups'),
    hasF16: device.features.has('shader-f16'),
    throwIfFailed() {
      if (pending) {
        const e = pending;
        pending = null;
        throw e;
      }
    },
    onError(l) {
      listeners.push(l);
    },
  };
}
