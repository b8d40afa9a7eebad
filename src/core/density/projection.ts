/**
 * The random projection of the p-stable L2 hash family: R·K Gaussian vectors a ~ N(0, I_d) and
 * biases b ~ U[0, w), generated deterministically from the sketch parameters.
 *
 * Generation order (part of the reproducibility contract):
 * - hash function t = r·K + j (sketch row r, concatenated hash j) takes the next d normals of
 *   stream `projection` of `Xoshiro128(seed)`, t = 0, 1, …, in order, component 0 first;
 * - its bias is w·u with u the next `nextFloat()` of stream `bias`;
 * - every value is rounded to float32 (the precision the ONNX graph computes in).
 * The matrix is stored d × (R·K) row-major, i.e. column t is a_t, so that hashes = x·A.
 */
import { Xoshiro128, PrngStream } from './prng';
import { SketchParams, hashCount } from './params';

/** The projection matrix and biases of one parameter set. */
export interface Projection {
  /** d × (R·K) row-major: element (i, t) at i·(R·K) + t is component i of a_t. */
  readonly matrix: Float32Array;
  /** R·K biases in [0, w). */
  readonly bias: Float32Array;
}

/** Generates the projection for `params` (about 5 ms for d = 384, R = 1000). */
export function createProjection(params: SketchParams): Projection {
  const { dim, bandwidth: w } = params;
  const width = hashCount(params);
  const matrix = new Float32Array(dim * width);
  const normals = new Xoshiro128(params.seed, PrngStream.projection);
  for (let t = 0; t < width; t++)
    for (let i = 0; i < dim; i++) matrix[i * width + t] = normals.nextNormal();
  const bias = new Float32Array(width);
  const uniforms = new Xoshiro128(params.seed, PrngStream.bias);
  const below = largestFloat32Below(w);
  for (let t = 0; t < width; t++) {
    // Rounding w·u to float32 can land on w itself; keep b strictly inside [0, w).
    const b = Math.fround(w * uniforms.nextFloat());
    bias[t] = b < w ? b : below;
  }
  return { matrix, bias };
}

/** The largest float32 strictly below a positive float32 `x`. */
function largestFloat32Below(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] -= 1;
  return f[0];
}

/**
 * A 32-bit fingerprint (CRC-32) of the projection's float32 bytes. Stored in sketch files so that
 * a file is never scored with different hash functions than it was built with, even if the
 * generator or the platform's arithmetic were to change.
 */
export function projectionFingerprint(p: Projection): number {
  let crc = crc32(new Uint8Array(p.matrix.buffer, p.matrix.byteOffset, p.matrix.byteLength));
  crc = crc32(new Uint8Array(p.bias.buffer, p.bias.byteOffset, p.bias.byteLength), crc);
  return crc;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as zlib/PNG); pass the previous result as `crc` to continue a stream. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
