/**
 * A zlib stream (a compressor or a decompressor) driven with promises: bytes in, the bytes it
 * produced for them out. The export compresses through one; the zstd reader decodes through one
 * where Node's zlib has zstd.
 */
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

export interface ByteTransform {
  /** Feeds `data`; resolves with the output it produced so far. */
  push(data: Uint8Array): Promise<Buffer[]>;
  /** Ends the input; resolves with the rest of the output. */
  end(): Promise<Buffer[]>;
  destroy(): void;
}

/** Drives a zlib stream: each write waits until the stream has processed it. */
export function streamTransform(stream: Transform): ByteTransform {
  let out: Buffer[] = [];
  let failed: Error | undefined;
  stream.on('data', (b: Buffer) => out.push(b));
  stream.on('error', (e: Error) => (failed = e));
  const take = () => {
    if (failed) throw failed;
    const got = out;
    out = [];
    return got;
  };
  return {
    push: data =>
      new Promise<Buffer[]>((resolve, reject) =>
        stream.write(data, err => {
          if (err) reject(err);
          else {
            try {
              resolve(take());
            } catch (e) {
              reject(e as Error);
            }
          }
        }),
      ),
    end: () =>
      new Promise<Buffer[]>((resolve, reject) => {
        if (failed) return reject(failed);
        stream.once('error', reject);
        stream.once('end', () => {
          try {
            resolve(take());
          } catch (e) {
            reject(e as Error);
          }
        });
        stream.end();
      }),
    destroy: () => stream.destroy(),
  };
}

/** An export's output compression. */
export type OutputCompression = 'gzip' | 'zstd';

/** The compression a file name asks for (`.gz`, `.zst`), if any. */
export function compressionOfName(path: string): OutputCompression | undefined {
  if (/\.gz$/i.test(path)) return 'gzip';
  if (/\.zst$/i.test(path)) return 'zstd';
  return undefined;
}

/**
 * A compressor for `format`: gzip through Node's zlib (level 6, gzip's default); zstd through
 * Node's zlib where the runtime has it (level 3, zstd's default), else an Error that says so.
 */
export function compressorFor(format: OutputCompression): ByteTransform {
  return streamTransform(format === 'gzip' ? zlib.createGzip() : createZstdCompressor());
}

/** The zstd parts of Node's zlib (Node 22.15+/23.8+), absent from older runtimes and typings. */
interface ZlibZstd {
  createZstdDecompress?: () => Transform;
  createZstdCompress?: () => Transform;
  zstdDecompressSync?: (buf: Uint8Array) => Buffer;
}

const zstdZlib = zlib as unknown as ZlibZstd;

/** True when this runtime's zlib decodes zstd (Node 22.15 / 23.8 and newer). */
export function nativeZstdAvailable(): boolean {
  return typeof zstdZlib.createZstdDecompress === 'function';
}

/** True when this runtime's zlib encodes zstd (the export's `zstd` option needs it). */
export function nativeZstdCompressAvailable(): boolean {
  return typeof zstdZlib.createZstdCompress === 'function';
}

/** Node's zstd decompressor stream; only where {@link nativeZstdAvailable}. */
export function nativeZstdDecompressor(): Transform {
  if (!zstdZlib.createZstdDecompress) throw new Error(noZstdMessage('Reading'));
  return zstdZlib.createZstdDecompress();
}

/** One zstd frame (or several) decoded at once by Node's zlib. */
export function nativeZstdDecompressSync(data: Uint8Array): Buffer {
  if (!zstdZlib.zstdDecompressSync) throw new Error(noZstdMessage('Reading'));
  return zstdZlib.zstdDecompressSync(data);
}

/** A zstd compressor stream from Node's zlib; throws a plain message where the runtime has none. */
export function createZstdCompressor(): Transform {
  if (!zstdZlib.createZstdCompress) {
    throw new Error(`${noZstdMessage('Writing')} Export as plain JSON Lines or gzip instead.`);
  }
  return zstdZlib.createZstdCompress();
}

function noZstdMessage(what: string): string {
  return (
    `${what} zstd with Node's zlib needs Node.js 22.15 or newer; this runtime is Node ` +
    `${process.versions.node}.`
  );
}
