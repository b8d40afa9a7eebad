/**
 * Sketch files: parameters, seed, bandwidth and counters in one compact binary file, so that a
 * score can always be reproduced (the hash functions are regenerated from the parameters) and
 * sketches of later shards can be merged in.
 *
 * Format `WNDS` version 1, little-endian, 64-byte header then the counters:
 *
 * | Offset | Type | Field |
 * |---|---|---|
 * | 0 | 4 bytes | magic `WNDS` |
 * | 4 | u32 | format version (1) |
 * | 8 | u32 | hash family (1 = p-stable L2, ⌊(a·x + b)/w⌋) |
 * | 12 | u32 | generator id (prng.ts `PRNG_ID`) |
 * | 16 | u32 × 4 | d, R, B, K |
 * | 32 | f64 | bandwidth w |
 * | 40 | u32 | seed |
 * | 44 | u32 | projection fingerprint (CRC-32 of the float32 matrix and biases) |
 * | 48 | u32 | N, points added |
 * | 52 | u32 | encoding: 0 dense (R·B u32 counters, counter (r, b) at b·R + r), 1 sparse ((b·R + r, value) u32 pairs of the nonzero counters, ascending) |
 * | 56 | u32 | entries in the payload |
 * | 60 | u32 | CRC-32 of bytes 0–59 and the payload |
 *
 * The smaller encoding is chosen: with K = 1 and w = 1 a row uses about 8 of its 20,000 buckets,
 * so the default sketch takes ~64 KB instead of 80 MB. Reading checks the CRC, that every row
 * sums to N, and that the regenerated projection has the stored fingerprint.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PRNG_ID } from './prng';
import { SketchParams, sketchParams } from './params';
import { createProjection, crc32, projectionFingerprint } from './projection';
import { DensitySketch } from './sketch';

const MAGIC = 0x53444e57; // "WNDS" read as a little-endian u32.
const VERSION = 1;
const FAMILY_PSTABLE_L2 = 1;
const HEADER_BYTES = 64;
const ENCODING_DENSE = 0;
const ENCODING_SPARSE = 1;

/** Serialises a sketch to the `WNDS` format. */
export function encodeSketch(sketch: DensitySketch): Uint8Array {
  const p = sketch.params;
  const c = sketch.counters;
  let nonzero = 0;
  for (let i = 0; i < c.length; i++) if (c[i] !== 0) nonzero++;
  const sparse = nonzero * 2 < c.length;
  const entries = sparse ? nonzero : c.length;
  const bytes = new Uint8Array(HEADER_BYTES + entries * (sparse ? 8 : 4));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, FAMILY_PSTABLE_L2, true);
  view.setUint32(12, PRNG_ID, true);
  view.setUint32(16, p.dim, true);
  view.setUint32(20, p.rows, true);
  view.setUint32(24, p.buckets, true);
  view.setUint32(28, p.hashesPerRow, true);
  view.setFloat64(32, p.bandwidth, true);
  view.setUint32(40, p.seed, true);
  view.setUint32(44, projectionFingerprint(createProjection(p)), true);
  view.setUint32(48, sketch.count, true);
  view.setUint32(52, sparse ? ENCODING_SPARSE : ENCODING_DENSE, true);
  view.setUint32(56, entries, true);
  let o = HEADER_BYTES;
  if (sparse) {
    for (let i = 0; i < c.length; i++) {
      if (c[i] === 0) continue;
      view.setUint32(o, i, true);
      view.setUint32(o + 4, c[i], true);
      o += 8;
    }
  } else {
    for (let i = 0; i < c.length; i++, o += 4) view.setUint32(o, c[i], true);
  }
  view.setUint32(60, checksum(bytes), true);
  return bytes;
}

function checksum(bytes: Uint8Array): number {
  const crc = crc32(bytes.subarray(0, 60));
  return crc32(bytes.subarray(HEADER_BYTES), crc);
}

/**
 * Parses a `WNDS` sketch.
 * @param source Used in error messages (e.g. the file path).
 * @throws Error naming what is wrong: not a sketch, unsupported version, truncated, corrupted,
 *   inconsistent counters, or hash functions that no longer match the fingerprint.
 */
export function decodeSketch(bytes: Uint8Array, source = 'sketch'): DensitySketch {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid density sketch (${why})`);
  };
  if (bytes.length < HEADER_BYTES) fail('file too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('wrong magic number');
  const version = view.getUint32(4, true);
  if (version !== VERSION) fail(`format version ${version}, this build reads ${VERSION}`);
  if (view.getUint32(8, true) !== FAMILY_PSTABLE_L2) fail('unknown hash family');
  if (view.getUint32(12, true) !== PRNG_ID) fail('made with a different random generator');
  let params: SketchParams;
  try {
    params = sketchParams({
      dim: view.getUint32(16, true),
      rows: view.getUint32(20, true),
      buckets: view.getUint32(24, true),
      hashesPerRow: view.getUint32(28, true),
      bandwidth: view.getFloat64(32, true),
      seed: view.getUint32(40, true),
    });
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const count = view.getUint32(48, true);
  const encoding = view.getUint32(52, true);
  const entries = view.getUint32(56, true);
  const size = params.rows * params.buckets;
  if (encoding !== ENCODING_DENSE && encoding !== ENCODING_SPARSE)
    fail(`unknown encoding ${encoding}`);
  if (encoding === ENCODING_DENSE && entries !== size) fail('dense counter count mismatch');
  if (entries > size) fail('too many entries');
  const expected = HEADER_BYTES + entries * (encoding === ENCODING_SPARSE ? 8 : 4);
  if (bytes.length !== expected)
    fail(`expected ${expected} bytes, found ${bytes.length} (truncated?)`);
  if (view.getUint32(60, true) !== checksum(bytes)) fail('checksum mismatch (corrupted)');

  const counters = new Uint32Array(size);
  let o = HEADER_BYTES;
  if (encoding === ENCODING_SPARSE) {
    let last = -1;
    for (let e = 0; e < entries; e++, o += 8) {
      const index = view.getUint32(o, true);
      if (index <= last || index >= size) fail('sparse indices out of order or range');
      counters[index] = view.getUint32(o + 4, true);
      last = index;
    }
  } else {
    for (let i = 0; i < size; i++, o += 4) counters[i] = view.getUint32(o, true);
  }
  // Every point adds exactly one to each row, so each row must sum to N.
  for (let r = 0; r < params.rows; r++) {
    let sum = 0;
    for (let b = 0, i = r; b < params.buckets; b++, i += params.rows) sum += counters[i];
    if (sum !== count) fail(`row ${r} sums to ${sum}, expected ${count}`);
  }
  if (projectionFingerprint(createProjection(params)) !== view.getUint32(44, true))
    fail('the hash functions regenerated from its seed differ from the ones it was built with');
  return new DensitySketch(params, counters, count);
}

/**
 * Writes a sketch atomically: a temp file in the same folder, fsync, then rename over `path`, so
 * a crash never leaves a half-written sketch. Returns the number of bytes written.
 */
export async function writeSketchFile(path: string, sketch: DensitySketch): Promise<number> {
  const bytes = encodeSketch(sketch);
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await open(tmp, 'wx');
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return bytes.length;
}

/** Reads and validates a sketch file (see {@link decodeSketch}). */
export async function readSketchFile(path: string): Promise<DensitySketch> {
  return decodeSketch(await readFile(path), path);
}
