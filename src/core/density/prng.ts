/**
 * The seeded pseudo-random generator behind every random choice in DENSITY: the projection
 * matrix, the biases and the sampling keys. A sketch is reproducible from its parameters alone,
 * so this generator is part of the file format: changing it changes every stored sketch, which
 * the projection fingerprint in the sketch file detects (see serialize.ts).
 *
 * Algorithm: xoshiro128** 1.1 (Blackman & Vigna 2018, 32-bit state words, period 2^128 − 1). The
 * 128-bit state is filled from a 32-bit seed and a stream number by SplitMix32, i.e. the
 * MurmurHash3 finaliser `fmix32` applied to a Weyl sequence, so different streams of the same
 * seed are independent for practical purposes. Doubles take 52 random bits. Normals use
 * Marsaglia's polar method, which needs only `Math.log` and `Math.sqrt` (sqrt is correctly
 * rounded by IEEE 754, and V8 ships its own fdlibm port of log, so results match across
 * platforms and Node versions).
 */

/** Named streams, so that the projection, the biases and sampling never share random numbers. */
export const PrngStream = {
  /** The Gaussian projection vectors a ~ N(0, I). */
  projection: 1,
  /** The biases b ~ U[0, w). */
  bias: 2,
  /** Efraimidis–Spirakis sampling keys. */
  sampling: 3,
} as const;

/** Identifies this generator in sketch files (bump if the algorithm or seeding ever changes). */
export const PRNG_ID = 1;

const TWO_POW_26 = 67108864;
const TWO_POW_52 = 4503599627370496;

/** The MurmurHash3 32-bit finaliser: a bijective avalanche mix of one 32-bit word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A xoshiro128** generator seeded by (seed, stream). Not cryptographic. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  /**
   * @param seed Any integer; it is reduced to 32 bits (`seed >>> 0`).
   * @param stream Selects an independent stream for the same seed (see {@link PrngStream}).
   */
  constructor(seed: number, stream = 0) {
    // SplitMix32: a Weyl sequence started from the seed and offset by the stream, then fmix32.
    let weyl = (seed ^ Math.imul(stream, 0x632be5ab)) | 0;
    const next = (): number => {
      weyl = (weyl + 0x9e3779b9) | 0;
      return fmix32(weyl);
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // The all-zero state is the one fixed point of xoshiro; fmix32 makes it practically
    // impossible, but the guard keeps the generator total.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** A uniform double in [0, 1) with 52 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 6; // 26 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * TWO_POW_26 + lo) / TWO_POW_52;
  }

  /**
   * A uniform double in the open interval (0, 1): the midpoint of one of 2^52 equal cells, so
   * it is never 0 (log(u) stays finite) and never 1. Every value is exactly representable.
   */
  nextOpenFloat(): number {
    const hi = this.nextUint32() >>> 6;
    const lo = this.nextUint32() >>> 6;
    return (hi * TWO_POW_26 + lo + 0.5) / TWO_POW_52;
  }

  /** A standard normal N(0, 1) deviate (Marsaglia's polar method, pairs cached). */
  nextNormal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.nextFloat() - 1;
      v = 2 * this.nextFloat() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }
}
