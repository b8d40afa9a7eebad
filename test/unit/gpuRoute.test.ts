/**
 * The CUDA route's loader side (src/worker/runtime/ortRoute.ts): which ONNX Runtime the worker
 * chooses for each device setting, the shared-library check against a fake library folder, and,
 * once the route is taken, `require('onnxruntime-node')` finding the GPU support folder's copy
 * (placeholders from support/gpuPackageServer.ts: they are never loaded as native code).
 * The route wraps Node's resolver for the whole process, so this file runs on its own.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CUDA_PROVIDER_LIBRARIES,
  type GpuSupportSource,
  type LibrarySearch,
  describeMissingLibraries,
  findMissingLibraries,
  installGpuSupport,
  ldconfigNames,
  readInstalledGpuSupport,
} from '../../src/core/gpuSupport';
import {
  activateOrtRoute,
  activeOrtRoute,
  chooseOrtRoute,
  cudaProviderPath,
  ortRuntimeInfo,
  skipReason,
} from '../../src/worker/runtime';
import { ortRouteInputFromEnv } from '../../src/worker/runtime/ortRouteBoot';
import { PLACEHOLDER_ORT_MARK, startGpuPackageServer } from '../support/gpuPackageServer';

/** A fake library folder holding empty files named like `sonames`. */
function fakeLibFolder(base: string, name: string, sonames: readonly string[]): string {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  for (const s of sonames) writeFileSync(join(dir, s), '');
  return dir;
}

describe('the CUDA route', () => {
  let base: string;
  let gpuSupportDir: string;
  let all: LibrarySearch;
  let noCudnn: LibrarySearch;
  let source: GpuSupportSource;
  const driver = (): boolean => true;

  before(async () => {
    base = mkdtempSync(join(tmpdir(), 'winnow-gpu-route-'));
    const server = await startGpuPackageServer(4096);
    gpuSupportDir = join(base, 'gpu-support');
    source = server.source;
    await installGpuSupport({ dir: gpuSupportDir, source });
    await server.close();
    const sonames = CUDA_PROVIDER_LIBRARIES.map(l => l.soname);
    const isolated = { ldconfig: () => '', folders: [] };
    all = { ...isolated, env: { LD_LIBRARY_PATH: fakeLibFolder(base, 'all', sonames) } };
    const partial = fakeLibFolder(
      base,
      'partial',
      sonames.filter(s => s !== 'libcudnn.so.9'),
    );
    noCudnn = { ...isolated, env: { LD_LIBRARY_PATH: `/nonexistent:${partial}` } };
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test('the library check: each missing library by name, what provides it', () => {
    assert.deepEqual(findMissingLibraries(CUDA_PROVIDER_LIBRARIES, all), []);
    const missing = findMissingLibraries(CUDA_PROVIDER_LIBRARIES, noCudnn);
    assert.deepEqual(
      missing.map(l => l.soname),
      ['libcudnn.so.9'],
    );
    const none = findMissingLibraries(CUDA_PROVIDER_LIBRARIES, {
      ldconfig: () => '',
      folders: [],
      env: {},
    });
    assert.equal(none.length, CUDA_PROVIDER_LIBRARIES.length);
    const text = describeMissingLibraries(none);
    for (const l of CUDA_PROVIDER_LIBRARIES) assert.ok(text.includes(l.soname), l.soname);
    assert.match(text, /cuDNN 9/);
    assert.match(text, /CUDA 13 runtime/);
  });

  test('ldconfig -p: x86-64 entries count, other architectures do not', () => {
    const out =
      "3 libs found in cache `/etc/ld.so.cache'\n" +
      '\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9\n' +
      '\tlibcuda.so.1 (libc6) => /usr/lib/i386-linux-gnu/libcuda.so.1\n' +
      '\tlibcurand.so.10 (libc6,AArch64) => /usr/lib/aarch64-linux-gnu/libcurand.so.10\n';
    assert.deepEqual([...ldconfigNames(out)], ['libcudnn.so.9', 'libcuda.so.1']);
    const found = findMissingLibraries(CUDA_PROVIDER_LIBRARIES, {
      ldconfig: () => out,
      folders: [],
      env: {},
    });
    assert.ok(!found.some(l => l.soname === 'libcudnn.so.9'));
    assert.ok(found.some(l => l.soname === 'libcurand.so.10'));
  });

  test('the route for each setting, with the reason it falls back', () => {
    const input = { gpuSupportDir, platform: 'linux-x64', hasDriver: driver, search: all, source };
    for (const device of ['cpu', 'webgpu'] as const) {
      const r = chooseOrtRoute({ ...input, device });
      assert.equal(r.kind, 'bundled');
      assert.match(
        r.cudaNote ?? '',
        /restart it to use CUDA/,
        'a later switch to CUDA says why not',
      );
    }
    const gpu = chooseOrtRoute({ ...input, device: 'auto' });
    assert.equal(gpu.kind, 'gpu');
    assert.equal(gpu.root, readInstalledGpuSupport(gpuSupportDir, source)?.root);
    assert.equal(gpu.ortVersion, '1.29.0');
    assert.equal(gpu.cudaNote, undefined);
    const noDriver = chooseOrtRoute({ ...input, device: 'auto', hasDriver: () => false });
    assert.equal(noDriver.kind, 'bundled');
    assert.match(noDriver.cudaNote ?? '', /no NVIDIA driver/);
    const notInstalled = chooseOrtRoute({
      ...input,
      device: 'auto',
      gpuSupportDir: join(base, 'none'),
    });
    assert.match(notInstalled.cudaNote ?? '', /Winnow: Install GPU Support/);
    const mac = chooseOrtRoute({ device: 'cuda', gpuSupportDir, platform: 'darwin-arm64' });
    assert.match(mac.cudaNote ?? '', /not available on darwin-arm64/);
    const autoNoCudnn = chooseOrtRoute({ ...input, device: 'auto', search: noCudnn });
    assert.equal(autoNoCudnn.kind, 'bundled');
    assert.match(
      autoNoCudnn.cudaNote ?? '',
      /libcudnn\.so\.9 \(cuDNN 9 for CUDA 13\) was not found/,
    );
    const cudaNoCudnn = chooseOrtRoute({ ...input, device: 'cuda', search: noCudnn });
    assert.equal(cudaNoCudnn.kind, 'gpu', 'an explicit cuda still takes the route');
    assert.match(cudaNoCudnn.cudaNote ?? '', /libcudnn\.so\.9/);
  });

  test('the environment the extension passes', () => {
    const env = { WINNOW_DEVICE: 'cuda', WINNOW_GPU_SUPPORT_DIR: '/x/gpu-support' };
    assert.deepEqual(ortRouteInputFromEnv(env), {
      device: 'cuda',
      gpuSupportDir: '/x/gpu-support',
    });
    const d = ortRouteInputFromEnv({ WINNOW_DEVICE: 'tpu', XDG_CACHE_HOME: '/c' });
    assert.deepEqual(d, { device: 'auto', gpuSupportDir: '/c/winnow/gpu-support' });
  });

  test('a bundled route without GPU support skips CUDA with the install hint', () => {
    activateOrtRoute(
      chooseOrtRoute({
        device: 'auto',
        gpuSupportDir: join(base, 'none'),
        platform: 'linux-x64',
        hasDriver: driver,
        search: all,
      }),
    );
    assert.equal(activeOrtRoute().kind, 'bundled');
    assert.match(skipReason('cuda', false) ?? '', /Install GPU Support/);
    assert.equal(ortRuntimeInfo().route, 'bundled');
  });

  test('once taken, onnxruntime-node resolves to the GPU support folder from everywhere', () => {
    const route = chooseOrtRoute({
      device: 'auto',
      gpuSupportDir,
      platform: 'linux-x64',
      hasDriver: driver,
      search: all,
      source,
    });
    assert.equal(route.kind, 'gpu');
    activateOrtRoute(route);
    const fromTransformers = createRequire(require.resolve('@huggingface/transformers'));
    const ort = fromTransformers('onnxruntime-node') as {
      mark: string;
      dir: string;
      common: { version: string };
    };
    assert.equal(ort.mark, PLACEHOLDER_ORT_MARK);
    assert.ok(ort.dir.startsWith(route.root!), ort.dir);
    assert.equal(
      ort.common.version,
      '1.29.0-placeholder',
      'its onnxruntime-common is the 1.29 copy',
    );
    assert.ok(fromTransformers.resolve('onnxruntime-common').startsWith(route.root!));
    assert.ok(cudaProviderPath()?.startsWith(route.root!), 'the provider is looked for there');
    assert.deepEqual(ortRuntimeInfo(), { version: '1.29.0', route: 'gpu' });
    assert.equal(skipReason('cuda', false), undefined, 'CUDA is tried');
  });
});
