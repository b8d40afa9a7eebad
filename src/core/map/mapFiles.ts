/**
 * Cache files of the map and of near-duplicate groups: one 32-bit value per item (in the order
 * of the items' content hashes) plus a JSON meta block that carries the cache key, so a file is
 * used only for exactly the inputs it was computed from.
 *
 * Format, little-endian:
 *
 * | Offset | Type | Field |
 * |---|---|---|
 * | 0 | 4 bytes | magic: `WNML` (layout: x then y, float32) or `WNMD` (groups: int32) |
 * | 4 | u32 | format version (1) |
 * | 8 | u32 | meta length m (bytes of UTF-8 JSON, with at least `key` and `items`) |
 * | 12 | u32 | columns c (2 for a layout, 1 for groups) |
 * | 16 | m bytes | meta |
 * | 16 + m | padding to a multiple of 4 |
 * | … | c × items × 4 bytes | the columns, one after the other |
 * | end − 4 | u32 | CRC-32 of everything before it |
 *
 * Written atomically (temp file + rename); a damaged or foreign file reads as absent.
 */
import { readFile } from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { writeAtomically } from '../embedStore/embeddingStore';
import { crc32 as crc32Js } from '../density/projection';

type Crc = (data: Uint8Array, value?: number) => number;
const crc32: Crc = (zlib as unknown as { crc32?: Crc }).crc32 ?? crc32Js;

export const LAYOUT_MAGIC = 0x4c4d4e57; // "WNML"
export const GROUPS_MAGIC = 0x444d4e57; // "WNMD"
const VERSION = 1;

/** The meta block every map file carries. */
export interface MapFileMeta {
  /** Digest of everything the values depend on (inputs and options). */
  readonly key: string;
  readonly items: number;
  readonly [field: string]: unknown;
}

export interface MapFile<M extends MapFileMeta> {
  readonly meta: M;
  /** The columns as raw 32-bit words (view them as Float32Array or Int32Array). */
  readonly columns: Uint32Array[];
}

/** Serialises a map file. Each column has `meta.items` 32-bit values. */
export function encodeMapFile(
  magic: number,
  meta: MapFileMeta,
  columns: readonly (Float32Array | Int32Array | Uint32Array)[],
): Uint8Array {
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  const dataAt = 16 + Math.ceil(metaBytes.length / 4) * 4;
  const bytes = new Uint8Array(dataAt + columns.length * meta.items * 4 + 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magic, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, metaBytes.length, true);
  view.setUint32(12, columns.length, true);
  bytes.set(metaBytes, 16);
  columns.forEach((c, i) => {
    if (c.length !== meta.items) throw new RangeError(`Map file column ${i}: ${c.length} values`);
    bytes.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), dataAt + i * meta.items * 4);
  });
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

/** Parses a map file; undefined when it is not a valid file of this kind. */
export function decodeMapFile<M extends MapFileMeta>(
  magic: number,
  bytes: Uint8Array,
): MapFile<M> | undefined {
  if (bytes.length < 20) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== magic || view.getUint32(4, true) !== VERSION) return undefined;
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== view.getUint32(bytes.length - 4, true))
    return undefined;
  const metaLength = view.getUint32(8, true);
  const count = view.getUint32(12, true);
  let meta: M;
  try {
    meta = JSON.parse(Buffer.from(bytes.subarray(16, 16 + metaLength)).toString('utf8')) as M;
  } catch {
    return undefined;
  }
  const dataAt = 16 + Math.ceil(metaLength / 4) * 4;
  if (!Number.isInteger(meta.items) || dataAt + count * meta.items * 4 + 4 !== bytes.length)
    return undefined;
  const columns: Uint32Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = dataAt + i * meta.items * 4;
    // Copied (a Buffer's slice is a view into a shared pool), so the column owns aligned memory.
    const copy = new Uint8Array(meta.items * 4);
    copy.set(bytes.subarray(start, start + meta.items * 4));
    columns.push(new Uint32Array(copy.buffer));
  }
  return { meta, columns };
}

/** Reads a map file; undefined when it is missing, damaged or of another kind. */
export async function readMapFile<M extends MapFileMeta>(
  magic: number,
  path: string,
): Promise<MapFile<M> | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return decodeMapFile<M>(magic, bytes);
}

/** Writes a map file atomically. */
export async function writeMapFile(
  magic: number,
  path: string,
  meta: MapFileMeta,
  columns: readonly (Float32Array | Int32Array | Uint32Array)[],
): Promise<void> {
  await writeAtomically(path, encodeMapFile(magic, meta, columns));
}
