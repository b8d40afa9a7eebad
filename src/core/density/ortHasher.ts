/**
 * The production hasher: the projection N × d times d × (R·K) runs as an ONNX Runtime graph,
 *
 *   x[n, d] ─MatMul(A)─Add(b)─Div(w)─Floor─Cast(int32)→ h[n, R·K],
 *
 * i.e. exactly h = ⌊(a·x + b)/w⌋ in float32, on ORT's optimised MatMul kernels and on whatever
 * execution provider the caller picked. Inputs are processed in blocks of `blockRows` rows, so
 * memory stays bounded at about blockRows·(d + 2·R·K)·4 bytes (≈ 80 MB for 8,192 × 384 × 1,000).
 *
 * Float rounding: ORT sums the dot product in float32 in its own order (with FMA), the scalar
 * reference in float64. The two can disagree by one where (a·x + b)/w lies within ~1e-6 of an
 * integer; the tests measure agreement ≥ 99.99 % (in practice about 1 hash in 10^6 differs).
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { GraphBuilder, modelBytes } from '../onnx';
import { LshHasher } from './hasher';
import { SketchParams, hashCount } from './params';
import { Projection, createProjection } from './projection';

/** Default rows per ORT run: large enough for efficient MatMul, small enough to stay bounded. */
export const DEFAULT_BLOCK_ROWS = 8192;

/** Options for {@link OrtLshHasher.create}. */
export interface OrtHasherOptions {
  /** Execution providers, tried as ORT does (no fallback; the caller picks). Default `['cpu']`. */
  executionProviders?: InferenceSession.SessionOptions['executionProviders'];
  /** Rows per run (default {@link DEFAULT_BLOCK_ROWS}). */
  blockRows?: number;
  /** ORT intra-op threads; ORT's default (one per physical core) when absent. */
  intraOpNumThreads?: number;
  /** A precomputed projection for these params (it is regenerated otherwise). */
  projection?: Projection;
  /**
   * False: ORT's intra-op threads sleep between runs instead of spinning, so JavaScript work
   * between blocks (near-duplicate band keys) gets the cores. Default: ORT's (spinning).
   */
  allowSpinning?: boolean;
}

/**
 * Builds the hash graph as ONNX model bytes (opset 14). Input `x` float32 [n, d]; output `h`
 * int32 [n, R·K].
 *
 * When w is a power of two (the default w = 1 included) the Div is dropped and A/w, b/w are
 * folded into the initializers. Scaling by 2^k is exact in floating point, so the hashes are
 * bit-identical to MatMul → Add → Div, and one elementwise pass over the n × R·K output is saved.
 */
export function buildHashModel(params: SketchParams, projection: Projection): Uint8Array {
  const g = new GraphBuilder('density_lsh');
  const scaled = projectionNodes(g, params, projection);
  const floored = g.op('Floor', [scaled]);
  // TensorProto.DataType INT32 = 6.
  const h = g.op('Cast', [floored], { to: 6 });
  g.output('h', 'int32', ['n', hashCount(params)], h);
  return modelBytes(g, { opset: 14, irVersion: 8 });
}

/**
 * The projection graph: {@link buildHashModel} without Floor → Cast. Input `x` float32 [n, d];
 * output `y` float32 [n, R·K] = (a·x + b)/w, the very values the hash graph floors, for the
 * WebAssembly counting kernel (counters.wat), which floors them itself.
 */
export function buildProjectionModel(params: SketchParams, projection: Projection): Uint8Array {
  const g = new GraphBuilder('density_lsh_projection');
  // The last node writes `y` itself: an Identity would copy the block once more.
  g.output('y', 'float32', ['n', hashCount(params)], projectionNodes(g, params, projection, 'y'));
  return modelBytes(g, { opset: 14, irVersion: 8 });
}

/** x → MatMul(A) → Add(b) [→ Div(w)]; the last node's output is named `out` when given. */
function projectionNodes(
  g: GraphBuilder,
  params: SketchParams,
  projection: Projection,
  out?: string,
): string {
  const width = hashCount(params);
  const w = params.bandwidth;
  const fold = isPowerOfTwo(w);
  const matrix = fold && w !== 1 ? projection.matrix.map(v => v / w) : projection.matrix;
  const bias = fold && w !== 1 ? projection.bias.map(v => v / w) : projection.bias;
  const x = g.input('x', 'float32', ['n', params.dim]);
  const a = g.init('a', 'float32', [params.dim, width], matrix);
  const b = g.init('b', 'float32', [width], bias);
  const product = g.op('MatMul', [x, a]);
  if (fold) return g.op('Add', [product, b], {}, out);
  const shifted = g.op('Add', [product, b]);
  return g.op('Div', [shifted, g.const('float32', [], [w])], {}, out);
}

/** True for 2^k (k any integer), where dividing by w is exact. */
function isPowerOfTwo(w: number): boolean {
  const e = Math.round(Math.log2(w));
  return 2 ** e === w;
}

/** Computes p-stable hashes with an ONNX Runtime session. Create with {@link OrtLshHasher.create}. */
export class OrtLshHasher implements LshHasher {
  private disposed = false;
  /** The projection graph's session, opened on the first {@link project}. */
  private projector?: Promise<InferenceSession>;

  private constructor(
    readonly params: SketchParams,
    readonly blockRows: number,
    private readonly session: InferenceSession,
    private readonly openProjector: () => Promise<InferenceSession>,
  ) {}

  /** Builds the graph for `params` and opens a session on the requested execution provider. */
  static async create(params: SketchParams, options: OrtHasherOptions = {}): Promise<OrtLshHasher> {
    const blockRows = options.blockRows ?? DEFAULT_BLOCK_ROWS;
    if (!Number.isInteger(blockRows) || blockRows < 1)
      throw new RangeError(`OrtLshHasher: blockRows must be a positive integer, got ${blockRows}`);
    const projection = options.projection ?? createProjection(params);
    const bytes = buildHashModel(params, projection);
    const sessionOptions: InferenceSession.SessionOptions = {
      executionProviders: options.executionProviders ?? ['cpu'],
      graphOptimizationLevel: 'all',
    };
    if (options.intraOpNumThreads !== undefined)
      sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
    if (options.allowSpinning === false)
      sessionOptions.extra = { session: { intra_op: { allow_spinning: '0' } } };
    const session = await InferenceSession.create(bytes, sessionOptions);
    const openProjector = () =>
      InferenceSession.create(buildProjectionModel(params, projection), sessionOptions);
    return new OrtLshHasher(params, blockRows, session, openProjector);
  }

  async hash(x: Float32Array, n: number): Promise<Int32Array> {
    if (this.disposed) throw new Error('OrtLshHasher: used after dispose()');
    const d = this.params.dim;
    if (n < 0 || n > this.blockRows)
      throw new RangeError(`OrtLshHasher: n must be in [0, ${this.blockRows}], got ${n}`);
    if (x.length < n * d)
      throw new RangeError(`hash: expected ${n} × ${d} floats, got ${x.length}`);
    if (n === 0) return new Int32Array(0);
    const input = x.length === n * d ? x : x.subarray(0, n * d);
    const out = await this.session.run({ x: new Tensor('float32', input, [n, d]) });
    const data = out.h.data;
    if (!(data instanceof Int32Array)) throw new Error('OrtLshHasher: unexpected output type');
    return data;
  }

  /**
   * Writes the projections (a·x + b)/w of n rows into `out` as ORT's pre-allocated output: ORT
   * computes them straight into that memory (a sketch's WebAssembly input area), with no copy.
   */
  async project(x: Float32Array, n: number, out: Float32Array): Promise<void> {
    if (this.disposed) throw new Error('OrtLshHasher: used after dispose()');
    const d = this.params.dim;
    const width = hashCount(this.params);
    if (n < 0 || n > this.blockRows)
      throw new RangeError(`OrtLshHasher: n must be in [0, ${this.blockRows}], got ${n}`);
    if (x.length < n * d)
      throw new RangeError(`project: expected ${n} × ${d} floats, got ${x.length}`);
    if (out.length < n * width)
      throw new RangeError(`project: out holds ${out.length} floats, need ${n * width}`);
    if (n === 0) return;
    this.projector ??= this.openProjector();
    const session = await this.projector;
    const input = x.length === n * d ? x : x.subarray(0, n * d);
    const y = out.length === n * width ? out : out.subarray(0, n * width);
    await session.run(
      { x: new Tensor('float32', input, [n, d]) },
      { y: new Tensor('float32', y, [n, width]) },
    );
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
    if (this.projector) await (await this.projector).release();
  }
}
