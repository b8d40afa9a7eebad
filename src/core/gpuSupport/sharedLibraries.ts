/**
 * Checks, without loading anything, whether the shared libraries the CUDA provider needs can be
 * found: in LD_LIBRARY_PATH, in the folders /etc/ld.so.conf lists (what `ldconfig` caches; read
 * here rather than run, since the extension starts no process) and in the standard folders. A failed
 * provider load prints a native error line that cannot be caught (docs/runtime.md), so the
 * worker asks this first and gives the user a reason naming each missing library.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A library the CUDA provider links against, and what provides it. */
export interface NeededLibrary {
  soname: string;
  provider: string;
}

/** What `libonnxruntime_providers_cuda.so` 1.29.0 (CUDA 13) needs (its ELF NEEDED entries). */
export const CUDA_PROVIDER_LIBRARIES: readonly NeededLibrary[] = [
  { soname: 'libcuda.so.1', provider: 'the NVIDIA driver' },
  { soname: 'libcudart.so.13', provider: 'the CUDA 13 runtime' },
  { soname: 'libcublas.so.13', provider: 'cuBLAS for CUDA 13' },
  { soname: 'libcublasLt.so.13', provider: 'cuBLAS for CUDA 13' },
  { soname: 'libcurand.so.10', provider: 'cuRAND for CUDA 13' },
  { soname: 'libcudnn.so.9', provider: 'cuDNN 9 for CUDA 13' },
];

/** Folders the dynamic linker searches by default on linux-x64 (plus CUDA's and WSL's usual ones). */
export const STANDARD_LIBRARY_FOLDERS: readonly string[] = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib64',
  '/usr/lib64',
  '/lib',
  '/usr/lib',
  '/usr/local/cuda/lib64',
  '/usr/local/cuda/targets/x86_64-linux/lib',
  '/usr/lib/wsl/lib',
];

/** Where to look, for {@link findMissingLibraries}; each part can be replaced in tests. */
export interface LibrarySearch {
  env?: NodeJS.ProcessEnv;
  /** `ldconfig -p`-format output to consult as well (default: none; tests pass one). */
  ldconfig?: () => string;
  /** The folders the dynamic loader is configured with (default: read /etc/ld.so.conf). */
  configuredFolders?: () => string[];
  /** The standard folders (default STANDARD_LIBRARY_FOLDERS). */
  folders?: readonly string[];
  /** Extra folders searched first, e.g. the provider's own folder. */
  extraFolders?: readonly string[];
}

/** The sonames listed in `ldconfig -p` output (`\tlibcuda.so.1 (libc6,x86-64) => /path`). */
export function ldconfigNames(output: string): Set<string> {
  const names = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>/.exec(line);
    if (m && (m[2].includes('x86-64') || !m[2].includes(','))) names.add(m[1]);
  }
  return names;
}

/** The folders /etc/ld.so.conf names, following its `include` lines (globs of `*.conf`). */
export function ldSoConfFolders(file = '/etc/ld.so.conf', depth = 0): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const folders: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const include = /^include\s+(.+)$/.exec(line);
    if (include && depth < 4) folders.push(...includedFolders(include[1], file, depth));
    else if (line.startsWith('/')) folders.push(line);
  }
  return folders;
}

function includedFolders(pattern: string, from: string, depth: number): string[] {
  const full = pattern.startsWith('/') ? pattern : join(dirname(from), pattern);
  const dir = dirname(full);
  const glob = new RegExp(
    `^${full
      .slice(dir.length + 1)
      .replace(/\./g, '\\.')
      .replace(/\*/g, '.*')}$`,
  );
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter(n => glob.test(n))
      .sort();
  } catch {
    return [];
  }
  return names.flatMap(n => ldSoConfFolders(join(dir, n), depth + 1));
}

/** The libraries of `needed` found nowhere. */
export function findMissingLibraries(
  needed: readonly NeededLibrary[],
  search: LibrarySearch = {},
): NeededLibrary[] {
  const env = search.env ?? process.env;
  const folders = [
    ...(search.extraFolders ?? []),
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    ...(search.configuredFolders ?? (search.ldconfig ? () => [] : ldSoConfFolders))(),
    ...(search.folders ?? STANDARD_LIBRARY_FOLDERS),
  ];
  let cached: Set<string> | undefined;
  return needed.filter(lib => {
    if (folders.some(f => existsSync(join(f, lib.soname)))) return false;
    cached ??= ldconfigNames(search.ldconfig?.() ?? '');
    return !cached.has(lib.soname);
  });
}

/**
 * "libcudnn.so.9 (cuDNN 9 for CUDA 13) and libcurand.so.10 (cuRAND for CUDA 13) were not found
 * …": one sentence naming each missing library, what provides it and where it was looked for.
 */
export function describeMissingLibraries(missing: readonly NeededLibrary[]): string {
  const names = missing.map(l => `${l.soname} (${l.provider})`);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0];
  return (
    `${list} ${missing.length > 1 ? 'were' : 'was'} not found in LD_LIBRARY_PATH, the ldconfig ` +
    'cache or the standard library folders. The CUDA route needs an NVIDIA driver, the CUDA 13 ' +
    'runtime with cuBLAS and cuRAND, and cuDNN 9; install them (system packages, or the pip ' +
    'nvidia-* packages with their lib folders on LD_LIBRARY_PATH) and restart the worker.'
  );
}

/** Whether an NVIDIA driver is present: its /proc entry, or libcuda.so.1 on the search path. */
export function hasNvidiaDriver(search: LibrarySearch = {}): boolean {
  if (existsSync('/proc/driver/nvidia/version')) return true;
  return findMissingLibraries([CUDA_PROVIDER_LIBRARIES[0]], search).length === 0;
}
