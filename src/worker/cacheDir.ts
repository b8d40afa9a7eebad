import { homedir } from 'node:os';
import { join, win32 } from 'node:path';

/**
 * The per-user cache folder of the worker when no client gives it a storage folder (VS Code
 * gives its global storage; other editors over stdio give nothing): scores, embeddings and
 * downloaded models live here.
 * - Linux and other Unixes: `$XDG_CACHE_HOME/winnow`, else `~/.cache/winnow` (XDG Base Directory
 *   spec; a relative `XDG_CACHE_HOME` is invalid there and ignored);
 * - macOS: `~/Library/Caches/winnow`;
 * - Windows: `%LOCALAPPDATA%\winnow\Cache`, else `~\AppData\Local\winnow\Cache`.
 *
 * The same layout as the `env-paths` package (without its `-nodejs` suffix); written out here
 * because it is a dozen lines and the worker has no such dependency.
 */
export function userCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA || win32.join(home, 'AppData', 'Local');
    return win32.join(local, 'winnow', 'Cache');
  }
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'winnow');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.cache'), 'winnow');
}
