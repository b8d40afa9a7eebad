/**
 * Hashers turn embeddings into raw p-stable hash values ⌊(a_t·x + b_t)/w⌋ for every hash
 * function t. The production hasher runs the projection as an ONNX Runtime graph (ortHasher.ts);
 * the scalar one here is the plain-JS reference the tests and the benchmark compare it with.
 */
import { INVALID_HASH } from './buckets';
import { SketchParams, hashCount } from './params';
import { Projection, createProjection } from './projection';

/** Computes raw hashes for blocks of embeddings. */
export interface LshHasher {
  /** The parameters whose hash functions this hasher computes. */
  readonly params: SketchParams;
  /** Largest number of rows per call; callers split bigger inputs (see passes.ts). */
  readonly blockRows: number;
  /**
   * Hashes `n` embeddings (row-major n × d float32, at most `blockRows`).
   * @returns Row-major n × (R·K) int32 hash values; {@link INVALID_HASH} marks NaN or overflow.
   */
  hash(x: Float32Array, n: number): Promise<Int32Array>;
  /**
   * Optional: writes the n × (R·K) float32 projections (a·x + b)/w, the values `hash` floors,
   * into `out` (which may be a sketch's WebAssembly input area, see
   * `DensitySketch.projectionInput`). ⌊out⌋ must equal `hash`'s result exactly.
   */
  project?(x: Float32Array, n: number, out: Float32Array): Promise<void>;
  /** Releases native resources. */
  dispose(): Promise<void>;
}

/**
 * Hashes one embedding row with the float64 formula ⌊(Σ_i a_ti·x_i + b_t)/w⌋, the
 * straightforward JS implementation of the paper's definition.
 * @param vectors The projection vectors hash-major: a_t at t·d (see {@link hashMajor}).
 */
export function scalarHashRow(
  vectors: Float32Array,
  bias: Float32Array,
  params: SketchParams,
  x: Float32Array,
  xOffset: number,
  out: Int32Array,
  outOffset: number,
): void {
  const d = params.dim;
  const width = hashCount(params);
  const w = params.bandwidth;
  for (let t = 0; t < width; t++) {
    let dot = 0;
    for (let i = 0, o = t * d; i < d; i++, o++) dot += vectors[o] * x[xOffset + i];
    const v = Math.floor((dot + bias[t]) / w);
    // Same convention as ORT's float→int32 Cast on x86: NaN or out of range gives INT32_MIN.
    out[outOffset + t] = v >= -2147483648 && v <= 2147483647 ? v : INVALID_HASH;
  }
}

/** The projection vectors as an (R·K) × d row-major matrix (a_t contiguous). */
export function hashMajor(proj: Projection, params: SketchParams): Float32Array {
  const d = params.dim;
  const width = hashCount(params);
  const out = new Float32Array(width * d);
  for (let i = 0; i < d; i++)
    for (let t = 0; t < width; t++) out[t * d + i] = proj.matrix[i * width + t];
  return out;
}

/**
 * The reference hasher: a scalar JS loop (about 0.5–1 GFLOP/s). Use it for tests and small
 * inputs only; the production path is `OrtLshHasher`.
 */
export class ScalarLshHasher implements LshHasher {
  readonly projection: Projection;
  private readonly vectors: Float32Array;

  constructor(
    readonly params: SketchParams,
    readonly blockRows = 8192,
    projection?: Projection,
  ) {
    this.projection = projection ?? createProjection(params);
    this.vectors = hashMajor(this.projection, params);
  }

  hash(x: Float32Array, n: number): Promise<Int32Array> {
    return Promise.resolve(this.hashSync(x, n));
  }

  /** Synchronous form of {@link hash}. */
  hashSync(x: Float32Array, n: number): Int32Array {
    const d = this.params.dim;
    if (x.length < n * d)
      throw new RangeError(`hash: expected ${n} × ${d} floats, got ${x.length}`);
    const width = hashCount(this.params);
    const out = new Int32Array(n * width);
    const bias = this.projection.bias;
    for (let r = 0; r < n; r++)
      scalarHashRow(this.vectors, bias, this.params, x, r * d, out, r * width);
    return out;
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}
