/**
 * zstd test data made by the reference encoder: libzstd 1.5.7 compiled to WebAssembly
 * (`@hpcc-js/wasm-zstd`, a devDependency), so tests need no `zstd` binary and run on Node 20,
 * whose zlib has no zstd. One-shot frames carry their content size; streamed frames do not (as
 * `zstd -T0` and Python's streaming writer produce them), and span many blocks.
 */
import { Zstd } from '@hpcc-js/wasm-zstd';

let encoder: Promise<Zstd> | undefined;

function load(): Promise<Zstd> {
  encoder ??= Zstd.load();
  return encoder;
}

/** One zstd frame of `data`, with its content size in the header. */
export async function zstdFrame(data: Uint8Array, level = 3): Promise<Buffer> {
  return Buffer.from((await load()).compress(data, level));
}

/**
 * One zstd frame of `data` written by the streaming compressor in `chunkBytes` pieces: no
 * content size in the header, many blocks, back-references across them.
 */
export async function zstdStreamed(
  data: Uint8Array,
  chunkBytes = 64 << 10,
  level = 3,
): Promise<Buffer> {
  const z = await load();
  z.reset();
  z.setCompressionLevel(level);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += chunkBytes) {
    parts.push(z.compressChunk(data.subarray(at, at + chunkBytes)));
  }
  parts.push(z.compressEnd());
  return Buffer.concat(parts);
}

/**
 * Frames of `data` cut at the given byte offsets (mid-line too), concatenated, as pzstd writes
 * and as `cat a.zst b.zst` makes.
 */
export async function zstdFrames(data: Uint8Array, cuts: readonly number[]): Promise<Buffer> {
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), data.length];
  const frames: Buffer[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    frames.push(await zstdFrame(data.subarray(bounds[k], bounds[k + 1]), 1 + (k % 19)));
  }
  return Buffer.concat(frames);
}

/** A skippable frame (RFC 8878 §3.1.2) holding `payload`, with magic 0x184D2A5`n`. */
export function skippableFrame(payload: Uint8Array, n = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50 + (n & 15), 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}
