/**
 * Chooses this process's ONNX Runtime (ortRoute.ts) as a side effect of being imported. Entry
 * points import it FIRST, before any module that requires `onnxruntime-node`. The extension passes
 * the device setting and the GPU support folder in the environment (ORT_ROUTE_ENV); other clients
 * get the per-user cache folder's `gpu-support`.
 */
import { join } from 'node:path';
import { userCacheDir } from '../cacheDir';
import type { DeviceChoice } from './device';
import { GPU_SUPPORT_FOLDER, ORT_ROUTE_ENV, activateOrtRoute, chooseOrtRoute } from './ortRoute';

/** The route's inputs from the environment. */
export function ortRouteInputFromEnv(env: NodeJS.ProcessEnv = process.env): {
  device: DeviceChoice;
  gpuSupportDir: string;
} {
  const raw = env[ORT_ROUTE_ENV.device];
  const device = (['auto', 'cpu', 'cuda', 'webgpu'] as const).find(d => d === raw) ?? 'auto';
  const gpuSupportDir =
    env[ORT_ROUTE_ENV.gpuSupportDir] || join(userCacheDir(env), GPU_SUPPORT_FOLDER);
  return { device, gpuSupportDir };
}

try {
  activateOrtRoute(chooseOrtRoute(ortRouteInputFromEnv()));
} catch (e) {
  // The bundled runtime always works; say why the GPU route was not taken.
  activateOrtRoute({
    kind: 'bundled',
    cudaNote: `the GPU route could not be chosen: ${String(e)}`,
  });
}
