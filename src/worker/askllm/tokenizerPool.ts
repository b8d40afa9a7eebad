/**
 * Parallel prompt tokenisation on worker threads. On a GPU a forward pass of a small scorer
 * takes a few milliseconds, less than tokenising its batch on one JavaScript thread, so the
 * scorer spreads tokenisation over threads when the model runs on a GPU (on CPU, ONNX Runtime
 * already uses every core and threads would only compete with it).
 *
 * Each thread builds the same `@huggingface/tokenizers` Tokenizer that transformers.js wraps
 * (from the loaded tokenizer's own JSON) and runs the scorer's `fitPrompt`, so results are
 * identical; `TokenizerPool.create` checks that on probe texts and refuses otherwise.
 */
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type FittedPrompt, type PromptTokenizer, fitPrompt } from '../../core/askllm/tokens';

/** What a thread needs to rebuild the tokenizer and the prompt. */
export interface TokenizerPoolSpec {
  /** tokenizer.json and tokenizer_config.json contents. */
  tokenizerJson: unknown;
  tokenizerConfig: unknown;
  /** Whether prompts are encoded with special tokens. */
  promptSpecialTokens: boolean;
  /** The prompt around the (sanitised) document: prefix + document + suffix. */
  prefix: string;
  suffix: string;
  maxTokens: number;
}

interface Reply {
  id: number;
  rows?: { ids: Int32Array; truncated: boolean; documentTokens?: number }[];
  error?: string;
}

/** Source of the thread: CommonJS, evaluated by `new Worker(code, { eval: true })`. */
function threadSource(): string {
  // `fitPrompt` is self-contained (it only uses its parameters), so its compiled source can be
  // reused verbatim in the thread.
  return `
const { parentPort, workerData } = require('node:worker_threads');
const { Tokenizer } = require(workerData.tokenizersPath);
const tok = new Tokenizer(workerData.spec.tokenizerJson, workerData.spec.tokenizerConfig);
const fitPrompt = ${fitPrompt.toString()};
const spec = workerData.spec;
const t = {
  encodePrompt: text => tok.encode(text, { add_special_tokens: spec.promptSpecialTokens }).ids,
  encodePlain: text => tok.encode(text, { add_special_tokens: false }).ids,
  decode: ids => tok.decode(Array.from(ids), { skip_special_tokens: true }),
  tokensOf: ids => ids.map(String),
};
const render = doc => spec.prefix + doc + spec.suffix;
parentPort.on('message', ({ id, docs }) => {
  try {
    const rows = docs.map(d => {
      const f = fitPrompt(t, render, d, spec.maxTokens);
      return { ids: Int32Array.from(f.ids), truncated: f.truncated, documentTokens: f.documentTokens };
    });
    parentPort.postMessage({ id, rows }, rows.map(r => r.ids.buffer));
  } catch (e) {
    parentPort.postMessage({ id, error: String((e && e.message) || e) });
  }
});
`;
}

/** Resolves @huggingface/tokenizers the way transformers.js does (it is its dependency). */
function tokenizersPath(): string {
  const base = dirname(require.resolve('@huggingface/transformers'));
  return require.resolve('@huggingface/tokenizers', { paths: [base] });
}

/** A fixed set of tokenizer threads. */
export class TokenizerPool {
  private next = 0;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; worker: Worker }>();
  private inFlight = 0;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.unref();
      w.on('message', (r: Reply) => {
        const p = this.waiting.get(r.id);
        if (!p) return;
        this.waiting.delete(r.id);
        if (--this.inFlight === 0) for (const x of this.workers) x.unref();
        p.resolve(r);
      });
      w.on('error', e => this.failAll(w, e));
      w.on('exit', code => this.failAll(w, new Error(`tokenizer thread exited with code ${code}`)));
    }
  }

  /**
   * Starts `threads` threads and checks on the probes that they produce exactly what
   * `reference` (the in-process tokenizer) produces. Throws if they differ.
   */
  static async create(
    spec: TokenizerPoolSpec,
    threads: number,
    reference: PromptTokenizer,
    probes: readonly string[],
  ): Promise<TokenizerPool> {
    const path = tokenizersPath();
    const workers = Array.from(
      { length: Math.max(1, threads) },
      () => new Worker(threadSource(), { eval: true, workerData: { spec, tokenizersPath: path } }),
    );
    const pool = new TokenizerPool(workers);
    try {
      const got = await pool.fit(probes);
      probes.forEach((d, i) => {
        const want = fitPrompt(
          reference,
          doc => spec.prefix + doc + spec.suffix,
          d,
          spec.maxTokens,
        );
        if (want.ids.length !== got[i].ids.length || want.ids.some((v, k) => v !== got[i].ids[k]))
          throw new Error('tokenizer threads disagree with the in-process tokenizer');
      });
    } catch (e) {
      await pool.dispose();
      throw e;
    }
    return pool;
  }

  /** Number of threads. */
  get size(): number {
    return this.workers.length;
  }

  /** Fits sanitised documents to the prompt, spread over the threads, results in input order. */
  async fit(documents: readonly string[]): Promise<FittedPrompt[]> {
    if (documents.length === 0) return [];
    const n = Math.min(this.workers.length, documents.length);
    const per = Math.ceil(documents.length / n);
    const parts: Promise<Reply>[] = [];
    for (let i = 0; i < documents.length; i += per)
      parts.push(this.send(documents.slice(i, i + per)));
    const replies = await Promise.all(parts);
    const out: FittedPrompt[] = [];
    for (const r of replies) {
      if (r.error !== undefined || !r.rows)
        throw new Error(`Tokenizer thread failed: ${r.error ?? 'no result'}`);
      for (const row of r.rows)
        out.push({
          ids: Array.from(row.ids),
          truncated: row.truncated,
          ...(row.documentTokens !== undefined ? { documentTokens: row.documentTokens } : {}),
        });
    }
    return out;
  }

  /** Stops the threads. */
  async dispose(): Promise<void> {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map(w => w.terminate().catch(() => 0)));
  }

  private send(docs: readonly string[]): Promise<Reply> {
    const worker = this.workers[this.next++ % this.workers.length];
    const id = this.seq++;
    if (this.inFlight++ === 0) for (const w of this.workers) w.ref();
    return new Promise<Reply>(resolve => {
      this.waiting.set(id, { resolve, worker });
      worker.postMessage({ id, docs });
    });
  }

  private failAll(worker: Worker, e: unknown): void {
    for (const [id, p] of this.waiting)
      if (p.worker === worker) {
        this.waiting.delete(id);
        this.inFlight--;
        p.resolve({ id, error: e instanceof Error ? e.message : String(e) });
      }
  }
}
