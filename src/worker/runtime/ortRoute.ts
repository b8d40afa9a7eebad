/**
 * Which ONNX Runtime the process loads (docs/runtime.md#the-cuda-route): the bundled
 * onnxruntime-node (CPU and WebGPU), or the 1.29.0 core, binding and CUDA provider that
 * "Winnow: Install GPU Support" unpacked into the GPU support folder. Provider libraries only work
 * with the core of their own version, and a process can load only one `libonnxruntime.so.1`, so
 * the route is chosen once, at start, before anything requires `onnxruntime-node`
 * (ortRouteBoot.ts); changing it takes a worker restart.
 */
import Module from 'node:module';
import { join } from 'node:path';
import {
  CUDA_PROVIDER_LIBRARIES,
  GPU_SUPPORT_FOLDER,
  ORT_ROUTE_ENV,
  LINUX_X64_BIN,
  type GpuSupportSource,
  type LibrarySearch,
  describeMissingLibraries,
  findMissingLibraries,
  gpuSupportSourceFor,
  hasNvidiaDriver,
  readInstalledGpuSupport,
} from '../../core/gpuSupport';
import type { DeviceChoice } from './device';

/** The chosen ONNX Runtime. */
export interface OrtRoute {
  kind: 'bundled' | 'gpu';
  /** For `gpu`: the install root whose `node_modules/onnxruntime-node` is loaded. */
  root?: string;
  /** For `gpu`: the installed ONNX Runtime version. */
  ortVersion?: string;
  /** Why the CUDA route was not taken, or what it lacks (shown with the CUDA attempt). */
  cudaNote?: string;
}

/** What the route depends on; every part can be replaced in tests. */
export interface OrtRouteInput {
  device: DeviceChoice;
  /** The GPU support folder (where the install command unpacks). */
  gpuSupportDir: string;
  /** `${platform}-${arch}` (default this process's). */
  platform?: string;
  search?: LibrarySearch;
  /** Whether an NVIDIA driver is present (default hasNvidiaDriver). */
  hasDriver?: () => boolean;
  /** The pinned source to expect installed (default: the platform's from the pinned table). */
  source?: GpuSupportSource;
}

const INSTALL_HINT = 'run "Winnow: Install GPU Support" and restart the worker';

/**
 * The route for a device setting: the GPU route when the device is `cuda` (or `auto` on
 * linux-x64 with an NVIDIA driver), GPU support is installed and the CUDA provider's libraries
 * are found. An explicit `cuda` takes the GPU route even with libraries missing (the attempt then
 * fails with ORT's message and the note says what is missing); `auto` falls back to the bundled
 * runtime with the reason.
 */
export function chooseOrtRoute(input: OrtRouteInput): OrtRoute {
  const { device } = input;
  if (device === 'cpu' || device === 'webgpu')
    return {
      kind: 'bundled',
      cudaNote: `the worker started with winnow.device ${device}, on the bundled ONNX Runtime; restart it to use CUDA`,
    };
  const platform = input.platform ?? `${process.platform}-${process.arch}`;
  const source = input.source ?? gpuSupportSourceFor(platform);
  if (!source)
    return { kind: 'bundled', cudaNote: `the CUDA route is not available on ${platform}` };
  if (device === 'auto' && !(input.hasDriver ?? (() => hasNvidiaDriver(input.search)))())
    return {
      kind: 'bundled',
      cudaNote: 'no NVIDIA driver found (/proc/driver/nvidia, libcuda.so.1)',
    };
  const installed = readInstalledGpuSupport(input.gpuSupportDir, source);
  if (!installed)
    return {
      kind: 'bundled',
      cudaNote: `GPU support is not installed in ${input.gpuSupportDir}: ${INSTALL_HINT}`,
    };
  const bin = join(installed.root, LINUX_X64_BIN);
  const missing = findMissingLibraries(CUDA_PROVIDER_LIBRARIES, {
    ...input.search,
    extraFolders: [bin, ...(input.search?.extraFolders ?? [])],
  });
  const gpu: OrtRoute = { kind: 'gpu', root: installed.root, ortVersion: source.ortVersion };
  if (missing.length === 0) return gpu;
  const note = describeMissingLibraries(missing);
  return device === 'cuda' ? { ...gpu, cudaNote: note } : { kind: 'bundled', cudaNote: note };
}

let active: OrtRoute = { kind: 'bundled' };

/** The route this process took (bundled until activateOrtRoute chose another). */
export function activeOrtRoute(): OrtRoute {
  return active;
}

const REDIRECTED = /^onnxruntime-(node|common)(\/.*)?$/;

type ResolveFilename = (request: string, parent: unknown, ...rest: unknown[]) => string;

/**
 * Takes `route` for this process. For the GPU route, `onnxruntime-node` and `onnxruntime-common`
 * then resolve to the install root's copies from everywhere (transformers.js and Winnow's own
 * imports alike). Node has no public resolve hook for `require` in Node 20, so this wraps
 * `Module._resolveFilename`, as module-alias does. Call before anything requires them.
 */
export function activateOrtRoute(route: OrtRoute): void {
  active = route;
  if (route.kind !== 'gpu' || !route.root) return;
  const root = route.root;
  const mod = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = mod._resolveFilename;
  mod._resolveFilename = function (request, parent, ...rest) {
    if (REDIRECTED.test(request))
      return original.call(
        this,
        request,
        { id: root, filename: join(root, 'index.js'), paths: [join(root, 'node_modules')] },
        ...rest,
      );
    return original.call(this, request, parent, ...rest);
  };
}

export { GPU_SUPPORT_FOLDER, ORT_ROUTE_ENV };
