/**
 * A minimal reader for the safetensors format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length N, N bytes of JSON
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }`, then the raw
 * little-endian tensor bytes (offsets relative to the end of the header). Used for the Dense
 * layer of sentence-transformers models (e.g. `2_Dense/model.safetensors` of sentence-t5).
 */
import { readFileSync } from 'node:fs';
import { fromHalfBits } from '../../core/embedStore';

/** One tensor, converted to float32. */
export interface SafeTensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/**
 * Parses safetensors bytes into float32 tensors (F32, F16, BF16 and F64 are converted).
 * @throws Error naming the problem (truncated file, bad header, unsupported dtype).
 */
export function parseSafetensors(
  bytes: Uint8Array,
  source = 'safetensors',
): Map<string, SafeTensor> {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a readable safetensors file (${why})`);
  };
  if (bytes.length < 8) fail('too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) fail('header longer than the file');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return fail('header is not JSON');
  }
  const base = 8 + n;
  const out = new Map<string, SafeTensor>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = value as HeaderEntry;
    const width = BYTES[e?.dtype];
    if (!width)
      fail(`tensor ${name} has dtype ${String(e?.dtype)}; F32, F16, BF16 or F64 are read`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = e.data_offsets;
    if (end - begin !== count * width || base + end > bytes.length)
      fail(`tensor ${name} is truncated`);
    const data = new Float32Array(count);
    const at = base + begin;
    for (let i = 0; i < count; i++) {
      const o = at + i * width;
      switch (e.dtype) {
        case 'F32':
          data[i] = view.getFloat32(o, true);
          break;
        case 'F64':
          data[i] = view.getFloat64(o, true);
          break;
        case 'F16':
          data[i] = fromHalfBits(view.getUint16(o, true));
          break;
        default: {
          // bfloat16 is the upper half of a float32.
          const f = new DataView(new ArrayBuffer(4));
          f.setUint16(2, view.getUint16(o, true), true);
          data[i] = f.getFloat32(0, true);
        }
      }
    }
    out.set(name, { dtype: e.dtype, shape: [...e.shape], data });
  }
  return out;
}

/** Reads and parses a safetensors file. */
export function readSafetensors(path: string): Map<string, SafeTensor> {
  return parseSafetensors(readFileSync(path), path);
}

/**
 * Encodes float32 tensors as safetensors bytes (F32). Used by tests to write fixture weights in
 * the real format.
 */
export function encodeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
): Uint8Array {
  const header: Record<string, HeaderEntry> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = {
      dtype: 'F32',
      shape: t.shape,
      data_offsets: [offset, offset + t.data.length * 4],
    };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const bytes = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  let o = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    for (let i = 0; i < t.data.length; i++, o += 4) view.setFloat32(o, t.data[i], true);
  }
  return bytes;
}
