/**
 * Installs the CUDA route's files (sources.ts) into a GPU support folder (the extension's global
 * storage): each tarball is downloaded and its SHA-256 checked before anything is unpacked, the
 * chosen files are unpacked into a staging folder, a manifest is written, and the staging folder
 * is renamed into place. The install root is therefore either absent or complete; a cancelled or
 * failed install leaves only verified downloads (reused by the next run) and no partial files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { GpuSupportError, downloadVerified } from './download';
import {
  type ExtractRule,
  type GpuPackagePart,
  type GpuSupportSource,
  gpuSupportSourceFor,
  installFolderName,
} from './sources';

/** `manifest.json` of an install root. */
export interface GpuSupportManifest {
  format: 1;
  platform: string;
  ortVersion: string;
  cudaMajor: number;
  installedAt: string;
  parts: { name: string; url: string; sha256: string }[];
}

/** An installed GPU support root. */
export interface InstalledGpuSupport {
  /** The install root: `node_modules/onnxruntime-node` lives under it. */
  root: string;
  manifest: GpuSupportManifest;
}

/** Install progress: bytes of one download, or the stage reached. */
export type GpuInstallProgress =
  | { stage: 'download'; part: string; received: number; total: number }
  | { stage: 'unpack'; part: string }
  | { stage: 'done' };

/** Options of {@link installGpuSupport}. */
export interface GpuInstallOptions {
  /** The GPU support folder (e.g. `<global storage>/gpu-support`). */
  dir: string;
  /** What to install (default: the pinned source of this platform). */
  source?: GpuSupportSource;
  signal?: AbortSignal;
  onProgress?: (p: GpuInstallProgress) => void;
  fetch?: typeof fetch;
}

/** The result of {@link installGpuSupport}. */
export interface GpuInstallResult extends InstalledGpuSupport {
  /** True when the same install was already complete and nothing was done. */
  alreadyInstalled: boolean;
}

const MANIFEST = 'manifest.json';

/**
 * The complete install of `source` under `dir`, or undefined (synchronous: the worker asks at
 * start, before anything loads ONNX Runtime): the manifest must name the same
 * platform, version and tarball hashes, and every required file must exist.
 */
export function readInstalledGpuSupport(
  dir: string,
  source: GpuSupportSource | undefined = gpuSupportSourceFor(),
): InstalledGpuSupport | undefined {
  if (!source) return undefined;
  const root = join(dir, installFolderName(source));
  let manifest: GpuSupportManifest;
  try {
    manifest = JSON.parse(readFileSync(join(root, MANIFEST), 'utf8')) as GpuSupportManifest;
  } catch {
    return undefined;
  }
  const sameParts =
    manifest.parts?.length === source.parts.length &&
    source.parts.every((p, i) => manifest.parts[i]?.sha256 === p.sha256);
  if (manifest.format !== 1 || manifest.ortVersion !== source.ortVersion || !sameParts)
    return undefined;
  if (!source.required.every(f => existsSync(join(root, f)))) return undefined;
  return { root, manifest };
}

/** Downloads, verifies and unpacks the GPU support of this platform (or `options.source`). */
export async function installGpuSupport(options: GpuInstallOptions): Promise<GpuInstallResult> {
  const source = options.source ?? gpuSupportSourceFor();
  if (!source)
    throw new GpuSupportError(
      `No GPU support package is pinned for ${process.platform}-${process.arch}; ` +
        'the CUDA route is available on linux-x64 only.',
    );
  const done = readInstalledGpuSupport(options.dir, source);
  if (done) {
    options.onProgress?.({ stage: 'done' });
    return { ...done, alreadyInstalled: true };
  }
  const downloads = join(options.dir, '.downloads');
  await mkdir(downloads, { recursive: true });
  const archives: string[] = [];
  for (const part of source.parts) {
    const file = join(downloads, archiveName(part));
    await downloadVerified(part.url, file, part.sha256, {
      signal: options.signal,
      expectedBytes: part.bytes,
      fetch: options.fetch,
      onBytes: (received, total) =>
        options.onProgress?.({ stage: 'download', part: part.name, received, total }),
    });
    archives.push(file);
  }
  const installed = await unpackIntoPlace(options, source, archives);
  await rm(downloads, { recursive: true, force: true });
  options.onProgress?.({ stage: 'done' });
  return { ...installed, alreadyInstalled: false };
}

/** The download's file name: the tarball's name in its URL. */
function archiveName(part: GpuPackagePart): string {
  return decodeURIComponent(new URL(part.url).pathname.split('/').pop() || 'package.tgz');
}

/** Unpacks verified `archives` into a staging folder, then renames it to the install root. */
async function unpackIntoPlace(
  options: GpuInstallOptions,
  source: GpuSupportSource,
  archives: readonly string[],
): Promise<InstalledGpuSupport> {
  const root = join(options.dir, installFolderName(source));
  const staging = await mkdtemp(join(options.dir, '.staging-'));
  try {
    for (const [i, part] of source.parts.entries()) {
      options.signal?.throwIfAborted();
      options.onProgress?.({ stage: 'unpack', part: part.name });
      await unpackPart(archives[i], part, staging);
    }
    const missing = source.required.filter(f => !existsSync(join(staging, f)));
    if (missing.length > 0)
      throw new GpuSupportError(`The GPU support packages lack ${missing.join(', ')}.`);
    const manifest = manifestOf(source);
    await writeFile(join(staging, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    options.signal?.throwIfAborted();
    await rm(root, { recursive: true, force: true });
    await rename(staging, root);
    return { root, manifest };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function manifestOf(source: GpuSupportSource): GpuSupportManifest {
  return {
    format: 1,
    platform: source.platform,
    ortVersion: source.ortVersion,
    cudaMajor: source.cudaMajor,
    installedAt: new Date().toISOString(),
    parts: source.parts.map(p => ({ name: p.name, url: p.url, sha256: p.sha256 })),
  };
}

/** Whether a tarball entry is one of a rule's files (or inside one of its folders). */
export function ruleTakes(rule: ExtractRule, entryPath: string): boolean {
  const path = entryPath.replace(/^\.\//, '');
  return rule.files.some(f => {
    const full = rule.from + f;
    return f.endsWith('/') ? path.startsWith(full) || path === full.slice(0, -1) : path === full;
  });
}

/** Extracts the files `part`'s rules take into `<staging>/.part`, then moves them to their places. */
async function unpackPart(archive: string, part: GpuPackagePart, staging: string): Promise<void> {
  const scratch = join(staging, '.part');
  await mkdir(scratch, { recursive: true });
  try {
    // node-tar refuses absolute paths and `..` entries, so nothing lands outside `scratch`.
    await tar.x({
      file: archive,
      cwd: scratch,
      filter: path => part.rules.some(r => ruleTakes(r, path)),
    });
    for (const rule of part.rules)
      for (const f of rule.files) {
        const from = join(scratch, rule.from, f);
        if (!existsSync(from))
          throw new GpuSupportError(`${part.name} has no ${rule.from}${f}; its layout changed.`);
        const to = join(staging, rule.to, f);
        await mkdir(dirname(to), { recursive: true });
        await rm(to, { recursive: true, force: true });
        await rename(from, to);
      }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
