/**
 * Downloads one file with progress and an AbortSignal, checking its SHA-256 as the bytes arrive.
 * The bytes go to `<dest>.part` and are renamed to `dest` only once the hash matches, so `dest`
 * is either absent or a complete, verified file; a rerun reuses a verified `dest`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** A download or install failure with a message meant for the user. */
export class GpuSupportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuSupportError';
  }
}

/** Options of {@link downloadVerified}. */
export interface DownloadOptions {
  signal?: AbortSignal;
  /** Bytes received so far of this file, and its size (the server's length, else `expectedBytes`). */
  onBytes?: (received: number, total: number) => void;
  /** Size to report when the server sends no Content-Length. */
  expectedBytes?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** Lower-case hex SHA-256 of a file. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Whether `path` is a file whose SHA-256 is `sha256`. */
export async function isVerifiedFile(path: string, sha256: string): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  return s !== undefined && s.isFile() && (await sha256OfFile(path)) === sha256;
}

/**
 * Downloads `url` to `dest` unless `dest` already holds the file with `sha256`. A SHA-256
 * mismatch deletes the download and throws {@link GpuSupportError}; an abort deletes it too.
 */
export async function downloadVerified(
  url: string,
  dest: string,
  sha256: string,
  options: DownloadOptions = {},
): Promise<void> {
  if (await isVerifiedFile(dest, sha256)) return;
  await rm(dest, { force: true });
  const part = `${dest}.part`;
  try {
    const got = await fetchToFile(url, part, options);
    if (got !== sha256)
      throw new GpuSupportError(
        `The download of ${url} has SHA-256 ${got}, not the pinned ${sha256}. ` +
          'It was deleted and nothing was installed.',
      );
    await rename(part, dest);
  } finally {
    await rm(part, { force: true });
  }
}

/** Streams `url` into `path`, reporting progress; returns the SHA-256 of the bytes written. */
async function fetchToFile(url: string, path: string, options: DownloadOptions): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, { signal: options.signal, redirect: 'follow' });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    throw new GpuSupportError(`Could not download ${url}: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body)
    throw new GpuSupportError(`Could not download ${url}: HTTP ${res.status} ${res.statusText}`);
  const length = Number(res.headers.get('content-length'));
  const total = length > 0 ? length : (options.expectedBytes ?? 0);
  const hash = createHash('sha256');
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      received += chunk.length;
      options.onBytes?.(received, total);
      done(null, chunk);
    },
  });
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  await pipeline(body, meter, createWriteStream(path), { signal: options.signal });
  return hash.digest('hex');
}
