/**
 * Where "Winnow: Install GPU Support" gets ONNX Runtime's CUDA route from (docs/runtime.md#the-cuda-route).
 *
 * onnxruntime-node's npm package ships only the CPU and WebGPU providers; its install script would
 * fetch the CUDA provider from NuGet. The sources below are npm tarballs instead, each pinned by
 * the SHA-256 of the tarball that was downloaded and checked by hand (2026-12-08):
 * - onnxruntime-node@1.29.0 and onnxruntime-common@1.29.0: ONNX Runtime's own Node binding and
 *   core library (`libonnxruntime.so.1`);
 * - com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9: a community repackaging of the official
 *   ONNX Runtime 1.29.0 GPU build for CUDA 13, whose `Plugins/Linux/x64/` holds
 *   `libonnxruntime_providers_cuda.so` and `libonnxruntime_providers_shared.so`.
 *
 * Provider libraries only work with the core of their own version, so the CUDA route pairs the
 * 1.29.0 core, binding and providers; the CPU and WebGPU route keeps the bundled onnxruntime-node.
 * Only linux-x64 is pinned: no other platform's package was verified.
 */

/** Files taken from one tarball: `files` (paths under `from`, a trailing `/` = a folder) go to `to`. */
export interface ExtractRule {
  /** A folder inside the tarball, with a trailing `/` (e.g. `package/`). */
  from: string;
  /** A folder under the install root. */
  to: string;
  /** Files or folders (trailing `/`) under `from`. */
  files: readonly string[];
}

/** One downloaded tarball. */
export interface GpuPackagePart {
  name: string;
  url: string;
  /** Lower-case hex SHA-256 of the tarball, checked before anything is unpacked. */
  sha256: string;
  /** Size of the tarball in bytes, for progress when the server sends no length. */
  bytes: number;
  rules: readonly ExtractRule[];
}

/** The GPU support of one platform. */
export interface GpuSupportSource {
  /** `${process.platform}-${process.arch}`. */
  platform: string;
  /** The ONNX Runtime version of the core, binding and providers. */
  ortVersion: string;
  /** The CUDA major version the providers were built for. */
  cudaMajor: number;
  parts: readonly GpuPackagePart[];
  /** Files that must exist under the install root once unpacked. */
  required: readonly string[];
}

/** Where the installed binding lives under the install root (a `node_modules` folder, so that
 * `onnxruntime-node` finds its own `onnxruntime-common` by Node's usual lookup). */
export const ORT_NODE_DIR = 'node_modules/onnxruntime-node';

/** The folder of `libonnxruntime.so.1` and the binding, where ORT looks for provider libraries. */
export const LINUX_X64_BIN = `${ORT_NODE_DIR}/bin/napi-v6/linux/x64`;

const NPM = 'https://registry.npmjs.org';

/** The pinned sources, by platform. */
export const GPU_SUPPORT_SOURCES: readonly GpuSupportSource[] = [
  {
    platform: 'linux-x64',
    ortVersion: '1.29.0',
    cudaMajor: 13,
    parts: [
      {
        name: 'onnxruntime-node@1.29.0',
        url: `${NPM}/onnxruntime-node/-/onnxruntime-node-1.29.0.tgz`,
        sha256: 'cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037',
        bytes: 111_735_068,
        rules: [
          {
            from: 'package/',
            to: ORT_NODE_DIR,
            files: ['package.json', 'dist/', 'bin/napi-v6/linux/x64/'],
          },
        ],
      },
      {
        name: 'onnxruntime-common@1.29.0',
        url: `${NPM}/onnxruntime-common/-/onnxruntime-common-1.29.0.tgz`,
        sha256: '9b56a571348dc0e980f939b88989864946148d8500cbd0957534975389a1743b',
        bytes: 66_604,
        rules: [
          {
            from: 'package/',
            to: 'node_modules/onnxruntime-common',
            files: ['package.json', 'dist/'],
          },
        ],
      },
      {
        name: 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9',
        url: `${NPM}/com.github.asus4.onnxruntime.linux-x64-gpu/-/com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz`,
        sha256: '2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412',
        bytes: 179_145_956,
        rules: [
          {
            from: 'package/Plugins/Linux/x64/',
            to: LINUX_X64_BIN,
            files: ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'],
          },
        ],
      },
    ],
    required: [
      `${ORT_NODE_DIR}/package.json`,
      `${ORT_NODE_DIR}/dist/index.js`,
      `${LINUX_X64_BIN}/onnxruntime_binding.node`,
      `${LINUX_X64_BIN}/libonnxruntime.so.1`,
      `${LINUX_X64_BIN}/libonnxruntime_providers_cuda.so`,
      `${LINUX_X64_BIN}/libonnxruntime_providers_shared.so`,
      'node_modules/onnxruntime-common/package.json',
    ],
  },
];

/** The pinned source of a platform, or undefined where none is pinned. */
export function gpuSupportSourceFor(
  platform: string = `${process.platform}-${process.arch}`,
): GpuSupportSource | undefined {
  return GPU_SUPPORT_SOURCES.find(s => s.platform === platform);
}

/** The install root's folder name under the GPU support folder, e.g. `linux-x64-ort-1.29.0`. */
export function installFolderName(source: GpuSupportSource): string {
  return `${source.platform}-ort-${source.ortVersion}`;
}

/** The GPU support folder's name under the extension's global storage (or the user cache). */
export const GPU_SUPPORT_FOLDER = 'gpu-support';

/**
 * The environment variables through which the extension tells the worker, at start, the device
 * setting and the GPU support folder (the worker chooses its ONNX Runtime from them before it
 * loads one: src/worker/runtime/ortRoute.ts).
 */
export const ORT_ROUTE_ENV = {
  device: 'WINNOW_DEVICE',
  gpuSupportDir: 'WINNOW_GPU_SUPPORT_DIR',
} as const;
