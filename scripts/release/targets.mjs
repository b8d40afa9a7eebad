// The platforms Winnow ships a VSIX for, and what each one's native files must be.
//
// A VSIX is platform-specific because of two native dependencies the worker loads at run time:
// onnxruntime-node (one npm package with every platform's binaries under
// bin/napi-v6/<os>/<arch>/) and sharp (one @img/sharp-<os>-<arch> package per platform, plus
// @img/sharp-libvips-<os>-<arch> on Linux and macOS). Everything else in the VSIX is
// JavaScript, JSON or WebAssembly and the same on every platform.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * vsce target name → npm's `--os`/`--cpu`/`--libc`, the header every native file must have,
 * the files of onnxruntime-node's platform folder that ship (a file of that folder missing from
 * this list fails the package, so an onnxruntime upgrade that adds one is noticed), and the
 * size limit of the VSIX: about 15 % over its measured size (0.1.0: linux-x64 26.9 MiB,
 * linux-arm64 20.0, darwin-arm64 22.3, win32-x64 37.5, win32-arm64 38.0), so that a new
 * dependency or a second copy of a library fails the package instead of shipping unnoticed.
 * darwin-x64's limit is a guess: onnxruntime-node 1.30.0 has no darwin/x64 binary to measure.
 *
 * darwin/arm64's folder holds libonnxruntime.1.30.0.dylib and libonnxruntime.1.dylib, the same
 * 44.6 MB file twice (a symlink in the original build); the binding loads
 * `@rpath/libonnxruntime.1.dylib` (the verifier reads it from the binding's load commands), so
 * only that one ships.
 */
export const TARGETS = {
  'linux-x64': {
    os: 'linux',
    cpu: 'x64',
    libc: 'glibc',
    format: 'ELF',
    machine: 'x86-64',
    ortFiles: ['onnxruntime_binding.node', 'libonnxruntime.so.1'],
    limitMiB: 31,
  },
  'linux-arm64': {
    os: 'linux',
    cpu: 'arm64',
    libc: 'glibc',
    format: 'ELF',
    machine: 'aarch64',
    ortFiles: ['onnxruntime_binding.node', 'libonnxruntime.so.1'],
    limitMiB: 23,
  },
  'darwin-arm64': {
    os: 'darwin',
    cpu: 'arm64',
    format: 'Mach-O',
    machine: 'arm64',
    ortFiles: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'],
    ortLeftOut: ['libonnxruntime.1.30.0.dylib'],
    limitMiB: 26,
  },
  'darwin-x64': {
    os: 'darwin',
    cpu: 'x64',
    format: 'Mach-O',
    machine: 'x86-64',
    ortFiles: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'],
    limitMiB: 30,
  },
  'win32-x64': {
    os: 'win32',
    cpu: 'x64',
    format: 'PE',
    machine: 'x86-64',
    ortFiles: [
      'onnxruntime_binding.node',
      'onnxruntime.dll',
      'DirectML.dll',
      'dxcompiler.dll',
      'dxil.dll',
    ],
    limitMiB: 43,
  },
  'win32-arm64': {
    os: 'win32',
    cpu: 'arm64',
    format: 'PE',
    machine: 'arm64',
    ortFiles: [
      'onnxruntime_binding.node',
      'onnxruntime.dll',
      'DirectML.dll',
      'dxcompiler.dll',
      'dxil.dll',
    ],
    limitMiB: 44,
  },
};

export const TARGET_NAMES = Object.keys(TARGETS);

/** onnxruntime-node's folder for a target, relative to the package. */
export function ortDir(target) {
  const t = TARGETS[target];
  return `bin/napi-v6/${t.os}/${t.cpu}`;
}

/** The @img packages of sharp for a target (libvips is inside the Windows package). */
export function sharpPackages(target) {
  const t = TARGETS[target];
  const id = `${t.os}-${t.cpu}`;
  return t.os === 'win32' ? [`@img/sharp-${id}`] : [`@img/sharp-${id}`, `@img/sharp-libvips-${id}`];
}

/** vsce's name for this machine (alpine on musl, which Winnow does not ship). */
export function hostTarget() {
  const musl =
    process.platform === 'linux' && !process.report?.getReport()?.header?.glibcVersionRuntime;
  const os = musl ? 'alpine' : process.platform;
  const arch = process.arch === 'arm' ? 'armhf' : process.arch;
  return `${os}-${arch}`;
}

/**
 * Why a target cannot be built with the locked onnxruntime-node, or undefined when it can.
 * onnxruntime-node is one npm package for every platform, so the copy in `nodeModules` (any
 * platform's install of the same version) tells which platforms it has binaries for.
 */
export function unavailableReason(target, nodeModules) {
  if (!TARGETS[target]) return `unknown target "${target}" (targets: ${TARGET_NAMES.join(', ')})`;
  const ort = join(nodeModules, 'onnxruntime-node');
  if (!existsSync(join(ort, 'package.json'))) return `${ort} is missing: run npm ci`;
  const { version } = JSON.parse(readFileSync(join(ort, 'package.json'), 'utf8'));
  const dir = join(ort, ortDir(target));
  if (!existsSync(dir) || !readdirSync(dir).includes('onnxruntime_binding.node')) {
    const have = readdirSync(join(ort, 'bin', 'napi-v6')).flatMap(os =>
      readdirSync(join(ort, 'bin', 'napi-v6', os)).map(cpu => `${os}-${cpu}`),
    );
    return (
      `onnxruntime-node ${version} (the version @huggingface/transformers pins) ships no ` +
      `${ortDir(target)} binary; it has ${have.join(', ')}`
    );
  }
  return undefined;
}

/**
 * The targets named by `--target`: `all` (every target that can be built, with the reasons the
 * others cannot), or a comma-separated list (each must be buildable).
 */
export function resolveTargets(spec, nodeModules) {
  const names = spec === 'all' ? TARGET_NAMES : spec.split(',').map(s => s.trim());
  const targets = [];
  const skipped = [];
  for (const name of names) {
    const why = unavailableReason(name, nodeModules);
    if (!why) targets.push(name);
    else if (spec === 'all') skipped.push({ target: name, reason: why });
    else throw new Error(`cannot build ${name}: ${why}`);
  }
  return { targets, skipped };
}
