/**
 * The ASK-LLM answer probabilities with the full-vocabulary reduction on ONNX Runtime
 * (docs/askllm.md#score):
 *
 *   logits[b, V] ─(Cast fp32)─ ReduceMax → max[b]
 *                             └ Sub(max) ─ Exp ─ chunked fp32 ReduceSum ─ fp64 ReduceSum → sum[b]
 *
 * then P(t) = exp(logit_t − max − log sum) for each answer token t, in float64. It replaces a scalar
 * JavaScript loop that cost about 0.8 ms per row for a 32k vocabulary (V8's Math.exp): on a GPU,
 * where the model itself runs in ~4 ms per row, that loop alone cost a fifth of the throughput.
 * ORT's LogSoftmax is vectorised and uses its thread pool, and onnxruntime-node runs sessions
 * synchronously on the calling thread, so every millisecond here is a millisecond of the run.
 *
 * The exponentials are fp32 (the paper's precision) and the sum is taken in fp32 chunks added in
 * float64, so the result agrees with the float64 reference `answerProbabilities` to ~1e-7
 * relative even for a 150k vocabulary (an all-fp32 sum drifts to 2e-5 there); tests measure it.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { GraphBuilder, modelBytes } from '../onnx';
import { type AnswerProbabilities, float16ToNumber } from './softmax';

/** Logits element types a model may return. */
export type LogitsDType = 'float32' | 'float16';

/**
 * Builds the log-sum-exp graph for a `vocab`-wide model: input `logits` [b, vocab] of `dtype`; outputs `max` [b, 1] (float32)
 * and `sum` [b] = Σ exp(logits − max) (float64). The answer tokens' probabilities are then
 * exp(logit − max − log sum), read in float64 by the caller.
 */
export function buildAnswerModel(dtype: LogitsDType, vocab: number): Uint8Array {
  if (!Number.isInteger(vocab) || vocab < 1)
    throw new RangeError(`buildAnswerModel: bad vocabulary size ${vocab}`);
  const chunks = Math.ceil(vocab / SUM_CHUNK);
  const g = new GraphBuilder('askllm_logsumexp');
  const logits = g.input('logits', dtype, ['b', vocab]);
  // TensorProto.DataType FLOAT = 1, DOUBLE = 11.
  const x = dtype === 'float32' ? logits : g.op('Cast', [logits], { to: 1 });
  const max = g.op('ReduceMax', [x], { axes: [-1], keepdims: 1 });
  const e = g.op('Exp', [g.op('Sub', [x, max])]);
  // Each term is exact to an fp32 ulp. One fp32 sum over 150k terms would drift by ~2e-5, so
  // the terms are summed in fp32 in chunks of SUM_CHUNK (padded with zeros), and the chunk sums
  // in float64: ~1e-7 relative, at nearly the speed of a plain fp32 sum.
  const padded = g.op('Pad', [
    e,
    g.const('int64', [4], [0n, 0n, 0n, BigInt(chunks * SUM_CHUNK - vocab)]),
  ]);
  const grouped = g.op('Reshape', [
    padded,
    g.const('int64', [3], [0n, BigInt(chunks), BigInt(SUM_CHUNK)]),
  ]);
  const partial = g.op('ReduceSum', [grouped, g.const('int64', [1], [-1n])], { keepdims: 0 });
  const sum = g.op(
    'ReduceSum',
    [g.op('Cast', [partial], { to: 11 }), g.const('int64', [1], [-1n])],
    {
      keepdims: 0,
    },
  );
  g.output('max', 'float32', ['b', 1], max);
  g.output('sum', 'float64', ['b'], sum);
  return modelBytes(g, { opset: 14, irVersion: 8 });
}

/** Logits per fp32 partial sum (see buildAnswerModel). */
const SUM_CHUNK = 256;

/** Options of {@link OrtAnswerSoftmax.create}. */
export interface AnswerSoftmaxOptions {
  /** ORT intra-op threads (default: ORT's, one per physical core). */
  intraOpNumThreads?: number;
  /**
   * Let the thread pool spin between runs (default false: a run is a fraction of a millisecond
   * between forward passes, and spinning threads would compete with the model's own pool, the
   * tokenizer threads and a GPU driver for the rest of the time).
   */
  allowSpinning?: boolean;
}

/** Answer probabilities from logits rows, on ONNX Runtime's CPU provider. */
export class OrtAnswerSoftmax {
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  private disposed = false;

  constructor(
    readonly yesIds: readonly number[],
    readonly noIds: readonly number[],
    private readonly options: AnswerSoftmaxOptions = {},
  ) {
    if (yesIds.length === 0) throw new Error('OrtAnswerSoftmax: no answer token ids');
  }

  /** The session for one logits type and vocabulary size, made on first use (a model needs one). */
  private session(dtype: LogitsDType, vocab: number): Promise<InferenceSession> {
    const key = `${dtype}:${vocab}`;
    let s = this.sessions.get(key);
    if (!s) {
      const opts: InferenceSession.SessionOptions = {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
      };
      if (this.options.intraOpNumThreads !== undefined)
        opts.intraOpNumThreads = this.options.intraOpNumThreads;
      if (!this.options.allowSpinning)
        opts.extra = { session: { intra_op: { allow_spinning: '0' } } };
      s = InferenceSession.create(buildAnswerModel(dtype, vocab), opts);
      this.sessions.set(key, s);
    }
    return s;
  }

  /**
   * The answer probabilities of `rows` logits rows. `data` holds [rows, positions, vocab] values
   * (float32, or float16 bits as a Uint16Array); the row's last position is read. Throws on NaN
   * or infinite logits (a broken model must not become a score).
   */
  async answers(
    logits: Float32Array | Uint16Array | ArrayLike<number>,
    rows: number,
    positions: number,
    vocab: number,
  ): Promise<AnswerProbabilities[]> {
    return (await this.answersWithProbe(logits, rows, positions, vocab)).answers;
  }

  /**
   * {@link answers}, and with `probe` also the probabilities of `probe.ids` in every row and the
   * `probe.topK` likeliest tokens of the first `probe.topRows` rows (judge health, measured on the
   * first batch of a run: docs/judge.md#judge-health). The extra cost is a pass over the
   * vocabulary per top-k row, nothing per id.
   */
  async answersWithProbe(
    logits: Float32Array | Uint16Array | ArrayLike<number>,
    rows: number,
    positions: number,
    vocab: number,
    probe?: AnswerProbe,
  ): Promise<{ answers: AnswerProbabilities[]; probe?: ProbeResult }> {
    if (this.disposed) throw new Error('OrtAnswerSoftmax: used after dispose()');
    if (rows === 0) return { answers: [] };
    const { last, half, logSums } = await this.logSums(logits, rows, positions, vocab);
    const logit = (b: number, id: number): number => {
      const v = last[b * vocab + id];
      return half ? float16ToNumber(v) : v;
    };
    const p = (b: number, id: number): number => Math.exp(logit(b, id) - logSums[b]);
    const answers: AnswerProbabilities[] = [];
    for (let b = 0; b < rows; b++) {
      let pYes = 0;
      for (const id of this.yesIds) pYes += p(b, id);
      let pNo = 0;
      for (const id of this.noIds) pNo += p(b, id);
      const logPYes =
        this.yesIds.length === 1
          ? logit(b, this.yesIds[0]) - logSums[b]
          : pYes > 0
            ? Math.log(pYes)
            : -Infinity;
      answers.push({ pYes, logPYes, pNo });
    }
    if (!probe) return { answers };
    const masses = Array.from({ length: rows }, (_, b) => probe.ids.map(id => p(b, id)));
    const top = [];
    for (let b = 0; b < Math.min(rows, probe.topRows); b++)
      top.push(
        topTokens(last, b * vocab, vocab, probe.topK, half).map(t => ({ id: t, p: p(b, t) })),
      );
    return { answers, probe: { masses, top } };
  }

  /** The rows' last-position logits, contiguous, and log Σ exp(logits) of each, on ORT. */
  private async logSums(
    logits: Float32Array | Uint16Array | ArrayLike<number>,
    rows: number,
    positions: number,
    vocab: number,
  ): Promise<{ last: Float32Array | Uint16Array; half: boolean; logSums: Float64Array }> {
    // float32 or fp16 bits as ORT returns them; anything else (a Float16Array where the runtime
    // has one, float64) is widened to float32 first.
    const data =
      logits instanceof Float32Array || logits instanceof Uint16Array
        ? logits
        : Float32Array.from(logits);
    if (data.length < rows * positions * vocab)
      throw new RangeError(
        `answers: ${rows} × ${positions} × ${vocab} logits expected, got ${data.length}`,
      );
    const half = data instanceof Uint16Array;
    // The last position of every row, contiguous (no copy when there is one position).
    let last: Float32Array | Uint16Array;
    if (positions === 1) last = data.subarray(0, rows * vocab);
    else {
      last = half ? new Uint16Array(rows * vocab) : new Float32Array(rows * vocab);
      for (let b = 0; b < rows; b++) {
        const from = (b * positions + positions - 1) * vocab;
        last.set(data.subarray(from, from + vocab), b * vocab);
      }
    }
    const dtype: LogitsDType = half ? 'float16' : 'float32';
    const session = await this.session(dtype, vocab);
    const out = await session.run({ logits: new Tensor(dtype, last, [rows, vocab]) });
    const max = out.max.data as Float32Array;
    const sum = out.sum.data as Float64Array;
    const logSums = new Float64Array(rows);
    for (let b = 0; b < rows; b++) {
      // NaN or ±Infinity anywhere in the row makes the sum NaN (or the max infinite).
      if (!Number.isFinite(max[b]) || !Number.isFinite(sum[b]))
        throw new Error(
          `The model produced NaN or infinite logits (row max ${max[b]}, sum ${sum[b]})`,
        );
      logSums[b] = Math.log(sum[b]) + max[b];
    }
    return { last, half, logSums };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(
      sessions.map(s =>
        s.then(
          x => x.release(),
          () => undefined,
        ),
      ),
    );
  }
}

/** What {@link OrtAnswerSoftmax.answersWithProbe} measures besides the answers. */
export interface AnswerProbe {
  /** Token ids whose probability is read in every row. */
  readonly ids: readonly number[];
  /** Likeliest tokens per row, for the first `topRows` rows. */
  readonly topK: number;
  readonly topRows: number;
}

/** Per row, the probability of each probed id; per top row, the likeliest tokens, descending. */
export interface ProbeResult {
  readonly masses: readonly (readonly number[])[];
  readonly top: readonly (readonly { readonly id: number; readonly p: number }[])[];
}

/** Ids of the `k` largest logits of one row (ties: the lower id first), descending. */
function topTokens(
  data: Float32Array | Uint16Array,
  offset: number,
  vocab: number,
  k: number,
  half: boolean,
): number[] {
  const ids: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < vocab; i++) {
    const v = half ? float16ToNumber(data[offset + i]) : data[offset + i];
    if (ids.length === k && v <= vals[k - 1]) continue;
    let j = Math.min(ids.length, k - 1);
    while (j > 0 && vals[j - 1] < v) j--;
    ids.splice(j, 0, i);
    vals.splice(j, 0, v);
    if (ids.length > k) {
      ids.pop();
      vals.pop();
    }
  }
  return ids;
}
