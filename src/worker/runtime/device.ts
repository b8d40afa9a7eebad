/**
 * Execution-provider selection (docs/runtime.md#execution-providers). onnxruntime-node does not fall back from a
 * failed provider, so each device is tried on its own, in order, and every outcome is recorded
 * for the user: which device won, and why each other one was skipped or failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { activeOrtRoute } from './ortRoute';

/** Devices Winnow can run models on. */
export type DeviceName = 'cuda' | 'webgpu' | 'cpu';

/** A device setting: `auto` tries CUDA, then WebGPU, then CPU. */
export type DeviceChoice = 'auto' | DeviceName;

/** The outcome of trying one device. */
export interface DeviceAttempt {
  device: DeviceName;
  outcome: 'ok' | 'failed' | 'skipped';
  /** Why it failed or was skipped, or what loaded. */
  message: string;
  /** Time spent on the attempt. */
  ms: number;
}

/** The order in which devices are tried for a setting. An explicit device is tried alone. */
export function deviceOrder(choice: DeviceChoice): DeviceName[] {
  return choice === 'auto' ? ['cuda', 'webgpu', 'cpu'] : [choice];
}

/** Root folder of the installed onnxruntime-node package, or undefined if it cannot be found. */
export function onnxruntimeNodeRoot(): string | undefined {
  try {
    return dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    try {
      // Some package layouts hide package.json from `exports`; walk up from the entry instead.
      return join(dirname(require.resolve('onnxruntime-node')), '..');
    } catch {
      return undefined;
    }
  }
}

/**
 * Path where onnxruntime-node looks for the CUDA provider library on this platform. The npm
 * package does not ship it (`bundled: false`); users install it separately.
 */
export function cudaProviderPath(): string | undefined {
  const root = onnxruntimeNodeRoot();
  if (root === undefined || process.platform !== 'linux' || process.arch !== 'x64')
    return undefined;
  return join(root, 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
}

/**
 * Why a device is skipped without trying it, or undefined to try it. CUDA is only tried when
 * its provider library is installed and the GPU route found what it needs (ortRoute.ts): trying
 * it otherwise prints an uncatchable native error line (docs/runtime.md#execution-providers). An
 * explicitly requested device is always tried.
 */
export function skipReason(device: DeviceName, explicit: boolean): string | undefined {
  if (device !== 'cuda' || explicit) return undefined;
  const note = activeOrtRoute().cudaNote;
  if (note !== undefined) return note;
  const path = cudaProviderPath();
  if (path === undefined)
    return `CUDA is only available on linux-x64 (this is ${process.platform}-${process.arch})`;
  if (!existsSync(path))
    return (
      `CUDA provider library not installed (${path} does not exist): run ` +
      '"Winnow: Install GPU Support" and restart the worker'
    );
  return undefined;
}

/**
 * The ONNX Runtime in use, e.g. `{ version: '1.29.0', route: 'gpu' }`: the version of the
 * onnxruntime-node package that `require` finds (the GPU support folder's on the GPU route).
 */
export function ortRuntimeInfo(): { version?: string; route: 'bundled' | 'gpu' } {
  const root = onnxruntimeNodeRoot();
  let version: string | undefined;
  try {
    if (root)
      version = (
        JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }
      ).version;
  } catch {
    version = undefined;
  }
  return { version, route: activeOrtRoute().kind };
}

/** Result of `withDeviceFallback`. */
export interface DeviceSelection<T> {
  value: T;
  device: DeviceName;
  attempts: DeviceAttempt[];
}

/** Thrown when no device could load the model; carries every attempt. */
export class NoDeviceError extends Error {
  constructor(readonly attempts: readonly DeviceAttempt[]) {
    super(
      `No device could load the model:\n${attempts.map(a => `  ${a.device}: ${a.outcome} — ${a.message}`).join('\n')}`,
    );
    this.name = 'NoDeviceError';
  }
}

/**
 * Runs `attempt` for each device of `choice` in order until one succeeds, each in its own
 * try/catch. Throws `NoDeviceError` with every attempt's message if all fail.
 */
export async function withDeviceFallback<T>(
  choice: DeviceChoice,
  attempt: (device: DeviceName) => Promise<T>,
): Promise<DeviceSelection<T>> {
  const attempts: DeviceAttempt[] = [];
  for (const device of deviceOrder(choice)) {
    const reason = skipReason(device, choice !== 'auto');
    if (reason !== undefined) {
      attempts.push({ device, outcome: 'skipped', message: reason, ms: 0 });
      continue;
    }
    const t0 = performance.now();
    try {
      const value = await attempt(device);
      attempts.push({ device, outcome: 'ok', message: 'loaded', ms: performance.now() - t0 });
      return { value, device, attempts };
    } catch (e) {
      const note = device === 'cuda' ? activeOrtRoute().cudaNote : undefined;
      attempts.push({
        device,
        outcome: 'failed',
        message: errorMessage(e) + (note ? ` (${note})` : ''),
        ms: performance.now() - t0,
      });
    }
  }
  throw new NoDeviceError(attempts);
}

/** A one-line message of any thrown value. */
export function errorMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').trim();
}
