// Which accelerator failures the device tests may skip on. A device test skips only for a named,
// expected reason that says the machine has no such device: the CUDA provider library is not
// installed (device.ts `skipReason`), or the driver finds no WebGPU adapter / CUDA device. Any
// other load error (a regression in the loader, a graph the provider rejects) fails the test.
import { type DeviceName, skipReason } from '../../src/worker/runtime/device';

/** The expected "no such device here" failures, by device, each with the reason to print. */
const EXPECTED_UNAVAILABLE: Record<DeviceName, { pattern: RegExp; reason: string }[]> = {
  webgpu: [{ pattern: /Failed to get a WebGPU adapter/, reason: 'no WebGPU adapter' }],
  // With the provider library installed, only a machine without a CUDA device is expected to
  // fail; a library that is there but does not load is a broken install and fails the test.
  cuda: [{ pattern: /no CUDA-capable device is detected/, reason: 'no CUDA device' }],
  cpu: [],
};

/** Why `device` is skipped before trying it (the provider library is absent), or undefined. */
export function deviceSkipReason(device: DeviceName): string | undefined {
  return skipReason(device, false);
}

/**
 * The skip reason for a load error that only says this machine lacks `device`, or undefined:
 * the test must then fail with the error.
 */
export function unavailableReason(device: DeviceName, error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const hit = EXPECTED_UNAVAILABLE[device].find(e => e.pattern.test(message));
  return hit && `${device}: ${hit.reason} (${message.replace(/\s+/g, ' ').slice(0, 200)})`;
}

/**
 * Runs `load` on `device`: its value, or `{ skip }` with the reason when the error only says the
 * device is absent here. Any other error is rethrown, so the test fails.
 */
export async function loadOnDevice<T>(
  device: DeviceName,
  load: () => Promise<T>,
): Promise<{ value: T } | { skip: string }> {
  try {
    return { value: await load() };
  } catch (e) {
    const skip = unavailableReason(device, e);
    if (skip === undefined) throw e;
    return { skip };
  }
}
