/**
 * Bulk IEEE 754 half-precision conversion for the embedding store. Node 20 has no Float16Array,
 * so encoding works on the float32 bit pattern (round to nearest, ties to even) and decoding
 * looks every one of the 65,536 half values up in a table built once (256 KB).
 *
 * Accuracy for unit-norm embeddings: a component x in [2^-k, 2^-k+1) is stored with an error of
 * at most 2^-(k+11), i.e. a relative error ≤ 2^-11 ≈ 4.9e-4 and an absolute error ≤ 2.4e-4 for
 * |x| ≤ 1. Components below 2^-14 ≈ 6.1e-5 become subnormals (absolute error ≤ 2^-25).
 * test/unit/embedStore.test.ts measures the effect on hashes, scores and ranks.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Half bits of one float32 value (round to nearest even; overflow → ±Inf; NaN stays NaN). */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 112; // Rebias: 127 − 15.
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand into place, rounding to even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) !== 0)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, and reaches Inf at the top, as it should.
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0)) half++;
  return sign | half;
}

let table: Float32Array | undefined;

/** float32 value of every half bit pattern. */
function halfTable(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) t[h] = mant === 0 ? sign * Infinity : NaN;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  table = t;
  return t;
}

/** Encodes `src` into half bits in `dst` (same length). */
export function encodeFloat16(src: ArrayLike<number>, dst: Uint16Array): Uint16Array {
  if (dst.length < src.length) throw new RangeError('encodeFloat16: destination too short');
  for (let i = 0; i < src.length; i++) dst[i] = toHalfBits(src[i]);
  return dst;
}

/** Decodes half bits into float32 values in `dst` (same length). */
export function decodeFloat16(src: Uint16Array, dst: Float32Array): Float32Array {
  if (dst.length < src.length) throw new RangeError('decodeFloat16: destination too short');
  const t = halfTable();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
  return dst;
}

/** The float32 value of one half bit pattern. */
export function fromHalfBits(bits: number): number {
  return halfTable()[bits & 0xffff];
}
