/**
 * Exact cosine neighbours on ONNX Runtime: a query block times the transposed reference set,
 *
 *   q[n, d] ─MatMul(rᵀ[d, m])─TopK(k)→ (similarities[n, k], indices[n, k]),
 *
 * so the n × m similarity block never leaves ORT (only n × k values come back). The map uses it
 * for the landmarks' neighbour graph and to place every other row by its nearest landmarks;
 * the near-duplicate tests and benchmark use {@link CosineBlocks} for brute force. Vectors must
 * be unit-norm (see {@link normalizeRows}): the dot product is then the cosine.
 *
 * Why ORT and not JavaScript: placing 100k rows against 5,000 landmarks is 2·10¹¹ multiply-adds,
 * minutes in a scalar JS loop and seconds on ORT's MatMul kernels (the same ones DENSITY uses).
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { GraphBuilder, modelBytes } from '../onnx';

/** Query rows per ORT run: the n × m block stays at a few tens of MB for m ≤ 10,000. */
export const KNN_BLOCK_ROWS = 1024;

/** Scales every row of `x` (n × d) to unit L2 norm in place; all-zero rows stay zero. */
export function normalizeRows(x: Float32Array, n: number, d: number): Float32Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = i * d, e = t + d; t < e; t++) s += x[t] * x[t];
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let t = i * d, e = t + d; t < e; t++) x[t] *= inv;
  }
  return x;
}

/** The rows `rows` of `x` (n × d), transposed to d × rows.length (the MatMul's right side). */
export function transposeRows(x: Float32Array, d: number, rows: ArrayLike<number>): Float32Array {
  const m = rows.length;
  const out = new Float32Array(d * m);
  for (let j = 0; j < m; j++) {
    const base = rows[j] * d;
    for (let t = 0; t < d; t++) out[t * m + j] = x[base + t];
  }
  return out;
}

/** Neighbours of a block of queries, row-major n × k, most similar first. */
export interface Neighbours {
  /** Indices into the reference set. */
  readonly indices: Int32Array;
  /** Cosine similarities (float32 dot products of unit vectors). */
  readonly similarities: Float32Array;
  readonly k: number;
}

function graph(withTopK: boolean, d: number): Uint8Array {
  const g = new GraphBuilder(withTopK ? 'cosine_topk' : 'cosine_block');
  const q = g.input('q', 'float32', ['n', d]);
  const rt = g.input('rt', 'float32', [d, 'm']);
  const s = g.op('MatMul', [q, rt]);
  if (withTopK) {
    const k = g.input('k', 'int64', [1]);
    const [values, indices] = g.op('TopK', [s, k], {}, ['values', 'indices']);
    g.output('values', 'float32', ['n', 'k'], values);
    g.output('indices', 'int64', ['n', 'k'], indices);
  } else g.output('s', 'float32', ['n', 'm'], s);
  return modelBytes(g, { opset: 14, irVersion: 8 });
}

async function session(bytes: Uint8Array, threads?: number): Promise<InferenceSession> {
  const options: InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  };
  if (threads !== undefined) options.intraOpNumThreads = threads;
  return InferenceSession.create(bytes, options);
}

/** k nearest reference rows (by cosine) of query blocks against one reference set. */
export class CosineKnn {
  private constructor(
    private readonly session: InferenceSession,
    private readonly rt: Tensor,
    readonly dim: number,
    readonly references: number,
  ) {}

  /**
   * @param transposed The reference set as d × m (see {@link transposeRows}), unit rows.
   */
  static async create(transposed: Float32Array, d: number, threads?: number): Promise<CosineKnn> {
    const m = transposed.length / d;
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`CosineKnn: bad reference set`);
    const s = await session(graph(true, d), threads);
    return new CosineKnn(s, new Tensor('float32', transposed, [d, m]), d, m);
  }

  /** The k (≤ references) nearest references of the n queries in `q` (n × d). */
  async query(q: Float32Array, n: number, k: number): Promise<Neighbours> {
    const kk = Math.min(k, this.references);
    const out = await this.session.run({
      q: new Tensor('float32', q.subarray(0, n * this.dim), [n, this.dim]),
      rt: this.rt,
      k: new Tensor('int64', BigInt64Array.of(BigInt(kk)), [1]),
    });
    const idx = out.indices.data as BigInt64Array;
    const indices = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) indices[i] = Number(idx[i]);
    return { indices, similarities: out.values.data as Float32Array, k: kk };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Full cosine blocks q · rᵀ (n × m), for brute-force references in tests and benchmarks. */
export class CosineBlocks {
  private constructor(private readonly session: InferenceSession) {}

  static async create(d: number, threads?: number): Promise<CosineBlocks> {
    return new CosineBlocks(await session(graph(false, d), threads));
  }

  /** Similarities of `q` (n × d) with the references `rt` (d × m), row-major n × m. */
  async block(q: Float32Array, n: number, rt: Float32Array, d: number): Promise<Float32Array> {
    const m = rt.length / d;
    const out = await this.session.run({
      q: new Tensor('float32', q.subarray(0, n * d), [n, d]),
      rt: new Tensor('float32', rt, [d, m]),
    });
    return out.s.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
