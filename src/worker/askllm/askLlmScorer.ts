/**
 * The ASK-LLM scorer (docs/askllm.md): P("yes" | prompt) from the full-vocabulary softmax at the
 * first answer position, for encoder-decoder models (first decoder step from the start token)
 * and decoder-only chat models (last position of a left-padded batch).
 *
 * Rows are grouped into length buckets and run in adaptive batches; on a GPU each batch is
 * tokenised on tokenizer threads while the previous one runs. The softmax over the vocabulary
 * runs on ONNX Runtime too (ortSoftmax.ts). Scores go to an optional crash-safe cache after
 * every batch, and cancellation is honoured between batches.
 */
import { cpus } from 'node:os';
import type { PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import { defaultBatching, planBatches } from '../../core/askllm/batching';
import { capAfterOutOfMemory, chunksOf, isOutOfMemoryError } from '../../core/askllm/outOfMemory';
import {
  DOCUMENT_PLACEHOLDER,
  type PromptTemplate,
  defaultPrompt,
  promptHash,
  renderPrompt,
  sanitizeDocument,
} from '../../core/askllm/prompt';
import {
  type ScoreCache,
  type ScorerIdentity,
  contentHash,
  scopedScorerKey,
  scorerKey,
} from '../../core/askllm/scoreCache';
import { type AnswerProbe, OrtAnswerSoftmax, type ProbeResult } from '../../core/askllm/ortSoftmax';
import { type JudgeProbe, type TokenMass, answerVariantWords } from '../../core/judge/health';
import { type AnswerProbabilities, normalizedYes } from '../../core/askllm/softmax';
import {
  type FittedPrompt,
  type PromptTokenizer,
  type ResolvedAnswer,
  fitPrompt,
  resolveAnswer,
} from '../../core/askllm/tokens';
import { transformers, hostData } from '../runtime';
import type { LoadedModel, ModelKind } from './scorerLoader';
import { type ForwardRun, directForward } from './directForward';
import { TokenizerPool } from './tokenizerPool';

/** Scorer settings. Defaults follow the paper. */
export interface AskLlmOptions {
  /** Prompt template (default: the paper's prompt; the ANSWER: form for decoder-only models). */
  prompt?: PromptTemplate;
  /** The answer word whose probability is the score (default `yes`). */
  answer?: string;
  /** Extra words whose probabilities are summed into P(yes), e.g. `['Yes']` (default none). */
  answerVariants?: readonly string[];
  /** The negative word for the normalised variant (default `no`). */
  negative?: string;
  /** Extra negative words summed into P(no) (default none). */
  negativeVariants?: readonly string[];
  /** Max prompt tokens; the document is truncated to fit, never the question (default 512). */
  maxTokens?: number;
  /** Most rows per batch, or `auto` for the default per model kind and device (default `auto`). */
  batchSize?: number | 'auto';
  /** Upper bound on rows × padded tokens per batch (default per kind and device, batching.ts). */
  tokenBudget?: number;
  /** Sort rows into length buckets before batching (default true). */
  bucketing?: boolean;
  /** Use the tokenizer's chat template for decoder-only models (default: when it has one). */
  useChatTemplate?: boolean;
  /**
   * Threads for prompt tokenisation. `auto` (default) uses none on CPU, where ONNX Runtime
   * already keeps every core busy, and all cores but two (at most 16) on a GPU.
   */
  tokenizerThreads?: number | 'auto';
  /**
   * Run the forward pass as plain `session.run` calls fetching only the logits (default true;
   * models whose sessions have unknown inputs always use transformers.js's forward).
   */
  directForward?: boolean;
}

/** What a scorer is, for status displays and cache records. */
export interface ScorerInfo {
  modelId: string;
  kind: ModelKind;
  device: string;
  dtype: string;
  promptId: string;
  promptName: string;
  promptHash: string;
  /** Resolved answer tokens whose probabilities are summed into the score. */
  yes: readonly ResolvedAnswer[];
  /** Resolved negative tokens (empty if "no" is not a single token). */
  no: readonly ResolvedAnswer[];
  /**
   * Case and space variants of the answers (`Yes`, ` yes`, …) that are single tokens in context
   * and not configured: measured for judge health, never part of the score.
   */
  yesVariants: readonly ResolvedAnswer[];
  noVariants: readonly ResolvedAnswer[];
  maxTokens: number;
  chatTemplate: boolean;
  /** The cache key of this configuration. */
  scorerKey: string;
}

/** One row's score. */
export interface AskLlmScore {
  /** Row position in the input array. */
  index: number;
  /** Raw P(yes) over the full vocabulary: the ASK-LLM score (paper definition). */
  pYes: number;
  /** P(no) over the full vocabulary. */
  pNo: number;
  /** VARIANT, not the paper's score: P(yes) / (P(yes) + P(no)). */
  normalizedVariant: number | undefined;
  /** Prompt length in tokens. */
  tokens: number;
  truncated: boolean;
  /** Whether the score came from the cache. */
  cached: boolean;
}

/** Progress of a scoring run. */
export interface ScoreProgress {
  done: number;
  total: number;
  /** Rows answered from the cache (included in `done`). */
  cached: number;
  elapsedMs: number;
  /** Estimated time left, once at least one batch has run. */
  etaMs: number | undefined;
}

/** Options of one scoring run. */
export interface ScoreRunOptions {
  /** Crash-safe store: hits skip the model, new scores are appended per batch. */
  cache?: ScoreCache;
  /** Cancellation, checked between batches. */
  signal?: AbortSignal;
  onProgress?: (p: ScoreProgress) => void;
  /** Scores as they become available (cache hits first, then per batch). */
  onScores?: (scores: readonly AskLlmScore[]) => void;
  /** Per-batch timing: the input rows of each batch, its padded length and forward-pass time. */
  onBatch?: (info: BatchInfo) => void;
  /** Rows that could not be scored (as they fail; see {@link ScoreRunResult.failed}). */
  onFailed?: (failed: readonly FailedRow[]) => void;
  /**
   * A batch ran out of device memory and was split in half; `cap` is the rows-per-batch limit
   * now in force for the rest of the scorer's life (see {@link AskLlmScorer.batchCap}).
   */
  onOutOfMemory?: (info: OutOfMemoryInfo) => void;
  /**
   * Cache keys of the rows, aligned with the documents (default: `contentHash` of each text).
   * Rows with equal keys are scored once. The worker passes the JSONL engine's hash of the raw
   * line, so that a score is found again without extracting the row's text.
   */
  hashes?: readonly string[];
  /**
   * Mixed into the scorer key of cache records and lookups (see `scopedScorerKey`), e.g. the
   * text-extraction config: the same raw line read through another schema is another document.
   */
  cacheScope?: string;
  /**
   * Judge health (docs/judge.md#judge-health): when set, the first batch this call runs also
   * measures the answer masses, their case/space variants and the top-5 next tokens of its
   * first rows, and reports them here (once; not at all when every row is cached).
   */
  onProbe?: (probe: JudgeProbe) => void;
}

/** One forward pass of a scoring run. */
export interface BatchInfo {
  /** Input positions scored by this batch (first occurrence of each distinct text). */
  rows: number[];
  /** Padded prompt length of the batch. */
  paddedLength: number;
  /** Forward pass time (tensors, model, softmax), without tokenisation. */
  ms: number;
}

/** A batch that ran out of device memory, and what the scorer did about it. */
export interface OutOfMemoryInfo {
  /** Rows of the batch that failed. */
  rows: number;
  /** The rows-per-batch cap from now on. */
  cap: number;
  /** ONNX Runtime's message, on one line. */
  message: string;
}

/** A row that could not be scored, and why. Nothing is cached for it. */
export interface FailedRow {
  /** Row position in the input array. */
  index: number;
  /** The error, in one line. */
  reason: string;
}

/** Result of a scoring run. Unfinished and failed rows are undefined. */
export interface ScoreRunResult {
  scores: (AskLlmScore | undefined)[];
  /**
   * Rows whose tokenisation or forward pass failed (alone: a failed batch is run again row by
   * row, so one bad row does not fail the rows batched with it). The rest of the run goes on.
   */
  failed: FailedRow[];
  cancelled: boolean;
  /** Model forward passes run. */
  batches: number;
  /** Σ rows × padded length over the batches run. */
  paddedTokens: number;
  /** Σ real prompt tokens over the rows run. */
  realTokens: number;
}

/** A tokenised row ready for batching. */
export interface PreparedRow extends FittedPrompt {
  /** The full prompt text before truncation (chat template applied). */
  promptText: string;
}

/** The ASK-LLM scorer over a loaded model. Create with `AskLlmScorer.create`. */
export class AskLlmScorer {
  private readonly tok: PromptTokenizer;
  private readonly yesIds: number[];
  private readonly noIds: number[];
  private readonly padId: number;
  private readonly startId: number;
  private readonly batchSize: number;
  /** Rows-per-batch cap after an out-of-memory split (Infinity until one happens). */
  private oomCap = Infinity;
  private readonly tokenBudget: number;
  private readonly bucketing: boolean;
  private readonly threads: number;
  private pool: Promise<TokenizerPool | undefined> | undefined;
  private poolNote = 'in-process';
  /** Tokens of the prompt without a document (measured once). */
  private promptOverhead: number | undefined;
  /** Document characters and tokens seen, for the length estimates that plan batches. */
  private ratioChars = 0;
  private ratioTokens = 0;
  /** The full-vocabulary softmax at the answer tokens, on ONNX Runtime (see ortSoftmax.ts). */
  private readonly softmax: OrtAnswerSoftmax;
  /** The forward pass as plain session.run calls, where the model's layout allows it. */
  private readonly direct: ForwardRun | undefined;

  private constructor(
    readonly model: LoadedModel,
    readonly info: ScorerInfo,
    private readonly wrap: (document: string) => string,
    private readonly wrapParts: readonly [string, string] | undefined,
    tok: PromptTokenizer,
    options: AskLlmOptions,
  ) {
    this.tok = tok;
    this.yesIds = [...new Set(info.yes.map(a => a.id))];
    this.noIds = [...new Set(info.no.map(a => a.id))];
    this.softmax = new OrtAnswerSoftmax(this.yesIds, this.noIds);
    const cfg = model.config;
    const t = model.tokenizer;
    const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
    const eos = Array.isArray(cfg.eos_token_id) ? num(cfg.eos_token_id[0]) : num(cfg.eos_token_id);
    this.padId = num(t.pad_token_id) ?? num(cfg.pad_token_id) ?? eos ?? 0;
    this.startId = num(cfg.decoder_start_token_id) ?? num(cfg.pad_token_id) ?? 0;
    this.direct = options.directForward === false ? undefined : directForward(model, this.startId);
    const defaults = defaultBatching(model.kind, model.device);
    this.batchSize =
      options.batchSize === undefined || options.batchSize === 'auto'
        ? defaults.maxBatchSize
        : options.batchSize;
    this.tokenBudget =
      options.tokenBudget ??
      (options.batchSize === undefined || options.batchSize === 'auto'
        ? defaults.tokenBudget
        : Infinity);
    this.bucketing = options.bucketing ?? true;
    const threads = options.tokenizerThreads ?? 'auto';
    this.threads =
      threads === 'auto'
        ? model.device === 'cpu'
          ? 0
          : // On a GPU the forward pass is short and tokenisation sets the pace: use the cores.
            Math.max(1, Math.min(16, cpus().length - 2))
        : Math.max(0, Math.floor(threads));
  }

  /**
   * The most rows a batch runs with now: the configured batch size, or less once a batch ran out
   * of device memory (it stays lower for the rest of the run: later `score` calls keep it).
   */
  get batchCap(): number {
    return Math.min(this.batchSize, this.oomCap);
  }

  /** How the forward pass runs: plain `session.run` calls, or transformers.js's forward. */
  get forwardPath(): string {
    return this.direct ? 'session.run (logits only)' : "transformers.js's forward";
  }

  /** How prompts are tokenised: `in-process`, `N threads`, or why threads are not used. */
  get tokenization(): string {
    return this.poolNote;
  }

  /** Stops tokenizer threads, if any. The model itself is disposed by its owner. */
  async dispose(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await (await p?.catch(() => undefined))?.dispose();
    await this.softmax.dispose();
  }

  /**
   * Builds a scorer: renders the prompt (chat template with generation prompt for decoder-only
   * chat models), resolves the answer tokens in context and checks they are single tokens.
   * Throws `MultiTokenAnswerError` for a multi-token answer.
   */
  static create(model: LoadedModel, options: AskLlmOptions = {}): AskLlmScorer {
    const template = options.prompt ?? defaultPrompt(model.kind);
    const maxTokens = options.maxTokens ?? 512;
    if (!Number.isInteger(maxTokens) || maxTokens < 8)
      throw new Error(`maxTokens must be an integer ≥ 8 (got ${maxTokens})`);
    const tokenizer = model.tokenizer;
    const hasTemplate =
      typeof tokenizer.chat_template === 'string' && tokenizer.chat_template.length > 0;
    const chat = model.kind === 'causal' && (options.useChatTemplate ?? hasTemplate);
    if (chat && !hasTemplate)
      throw new Error(`${model.modelId} has no chat template; turn the chat-template option off.`);
    if (model.kind === 'causal') tokenizer.padding_side = 'left';
    const chatWrap = chat ? chatWrapper(tokenizer, template) : undefined;
    const plainParts = splitTemplate(template);
    const wrap = chatWrap
      ? chatWrap.wrap
      : (doc: string): string => plainParts[0] + doc + plainParts[1];
    const wrapParts = chatWrap ? chatWrap.parts : plainParts;
    const tok = promptTokenizer(tokenizer, model.kind === 'seq2seq' || !chat);
    // Encoder-decoder models start a fresh decoder text; decoder-only models continue the prompt.
    const context = model.kind === 'seq2seq' ? undefined : wrap('');
    const yesWords = [options.answer ?? 'yes', ...(options.answerVariants ?? [])];
    const yes = yesWords.map(w => resolveAnswer(tok, w, context));
    const noWords = [options.negative ?? 'no', ...(options.negativeVariants ?? [])];
    let no: ResolvedAnswer[];
    try {
      no = noWords.map(w => resolveAnswer(tok, w, context));
    } catch {
      // The normalised variant is optional; without a single-token "no" it is not offered.
      no = [];
    }
    const variants = (words: readonly string[], taken: readonly ResolvedAnswer[]) =>
      singleTokenVariants(tok, words, taken, context);
    const identity: ScorerIdentity = {
      modelId: model.modelId,
      dtype: model.dtype,
      promptId: template.id,
      promptHash: promptHash(template),
      yesIds: yes.map(a => a.id),
      noIds: no.map(a => a.id),
      maxTokens,
    };
    const info: ScorerInfo = {
      modelId: model.modelId,
      kind: model.kind,
      device: model.device,
      dtype: model.dtype,
      promptId: template.id,
      promptName: template.name,
      promptHash: identity.promptHash,
      yes,
      no,
      yesVariants: variants(yesWords, yes),
      noVariants: variants(noWords, no),
      maxTokens,
      chatTemplate: chat,
      scorerKey: scorerKey(identity),
    };
    return new AskLlmScorer(model, info, wrap, wrapParts, tok, options);
  }

  /** The full prompt text for a document (sanitised, chat template applied, not truncated). */
  promptText(document: string): string {
    return this.wrap(sanitizeDocument(document));
  }

  /** Tokenises one row: sanitise, render, truncate the document to `maxTokens`. */
  prepare(document: string): PreparedRow {
    const doc = sanitizeDocument(document);
    const fitted = fitPrompt(this.tok, this.wrap, doc, this.info.maxTokens);
    return { ...fitted, promptText: this.wrap(doc) };
  }

  /**
   * One forward pass over already tokenised prompts; returns the answer probabilities per row.
   * Seq2seq: right padding, decoder input = [start]. Decoder-only: left padding, last position.
   */
  async scoreIds(rows: readonly (readonly number[])[]): Promise<AnswerProbabilities[]> {
    return (await this.readAnswers(await this.runModel(rows), rows.length)).answers;
  }

  /** The token ids judge health reads (configured answers, then variants), in one list. */
  private probeTokens(): { answers: ResolvedAnswer[]; spec: AnswerProbe } {
    const { yes, no, yesVariants, noVariants } = this.info;
    const answers = [...yes, ...no, ...yesVariants, ...noVariants];
    return { answers, spec: { ids: answers.map(a => a.id), topK: 5, topRows: PROBE_TOP_ROWS } };
  }

  /** The judge-health probe of one batch, from the masses the softmax measured. */
  private judgeProbe(answers: readonly ResolvedAnswer[], r: ProbeResult): JudgeProbe {
    const rows = r.masses.length;
    const mass = (k: number): number => r.masses.reduce((s, m) => s + m[k], 0) / rows;
    const list: TokenMass[] = answers.map((a, k) => ({
      word: a.word,
      token: a.token,
      id: a.id,
      mass: mass(k),
    }));
    const { yes, no, yesVariants } = this.info;
    let k = 0;
    const take = (n: number): TokenMass[] => list.slice(k, (k += n));
    return {
      rows,
      yes: take(yes.length),
      no: take(no.length),
      yesVariants: take(yesVariants.length),
      noVariants: take(list.length - k),
      top: r.top.map((tokens, row) => ({
        row,
        tokens: tokens.map(t => ({ token: this.tok.tokensOf([t.id])[0], id: t.id, p: t.p })),
      })),
    };
  }

  /** Builds the padded input tensors of a batch and runs the model; returns its outputs. */
  private async runModel(rows: readonly (readonly number[])[]): Promise<Record<string, unknown>> {
    const { Tensor: TensorClass } = await transformers();
    const B = rows.length;
    let L = 0;
    for (const r of rows) L = Math.max(L, r.length);
    const ids = new BigInt64Array(B * L).fill(BigInt(this.padId));
    const mask = new BigInt64Array(B * L);
    const left = this.model.kind === 'causal';
    for (let b = 0; b < B; b++) {
      const r = rows[b];
      const off = b * L + (left ? L - r.length : 0);
      for (let i = 0; i < r.length; i++) {
        ids[off + i] = BigInt(r[i]);
        mask[off + i] = 1n;
      }
    }
    if (this.direct) return { logits: await this.direct({ ids, mask, rows: B, length: L }) };
    const inputs: Record<string, Tensor> = {
      input_ids: new TensorClass('int64', ids, [B, L]),
      attention_mask: new TensorClass('int64', mask, [B, L]),
    };
    if (this.model.kind === 'seq2seq')
      inputs.decoder_input_ids = new TensorClass(
        'int64',
        new BigInt64Array(B).fill(BigInt(this.startId)),
        [B, 1],
      );
    else if (this.model.hasNumLogitsToKeep)
      inputs.num_logits_to_keep = new TensorClass('int64', [1n], []);
    return (await this.model.model(inputs)) as Record<string, unknown>;
  }

  /**
   * The answer probabilities of each row from the model's outputs, which it then frees; with
   * `probe`, the judge-health probe of the batch too.
   */
  private async readAnswers(
    out: Record<string, unknown>,
    B: number,
    probe?: boolean,
  ): Promise<{ answers: AnswerProbabilities[]; probe?: JudgeProbe }> {
    try {
      const logits = out.logits as Tensor;
      const [, P, V] = logits.dims;
      // T5: the first decoder step is position 0 (P = 1). Decoder-only: the last position,
      // where every left-padded row has its last real token.
      const data = (await hostData(logits)) as Float32Array | Uint16Array;
      if (!probe) return { answers: await this.softmax.answers(data, B, P, V) };
      const tokens = this.probeTokens();
      const r = await this.softmax.answersWithProbe(data, B, P, V, tokens.spec);
      return {
        answers: r.answers,
        ...(r.probe ? { probe: this.judgeProbe(tokens.answers, r.probe) } : {}),
      };
    } finally {
      disposeOutputs(out);
    }
  }

  /**
   * Scores documents. Cache hits are answered without the model; duplicate texts are scored
   * once. Returns when done or cancelled (finished scores are kept and already cached).
   */
  async score(documents: readonly string[], run: ScoreRunOptions = {}): Promise<ScoreRunResult> {
    const t0 = performance.now();
    const total = documents.length;
    const key = run.cacheScope
      ? scopedScorerKey(this.info.scorerKey, run.cacheScope)
      : this.info.scorerKey;
    if (run.hashes && run.hashes.length !== total)
      throw new Error(`score(): ${run.hashes.length} hashes for ${total} documents`);
    const hashes = run.hashes ?? documents.map(d => contentHash(d));
    const { scores, pending, hits } = lookUpCachedScores(hashes, run.cache, key);
    const progress = new ScoreRunProgress(run, total, hits.length, t0);
    if (hits.length > 0) run.onScores?.(hits);
    const result: ScoreRunResult = {
      scores,
      failed: [],
      cancelled: false,
      batches: 0,
      paddedTokens: 0,
      realTokens: 0,
    };
    progress.report();

    const unique = [...pending.values()].map(list => list[0]);
    // Bucket by an estimate from character counts, so that tokenising batch k+1 (on tokenizer
    // threads, where there are some) can overlap the forward pass of batch k. Exact token
    // lengths are known per batch before it runs.
    const estimates = this.estimateLengths(unique.map(i => documents[i]));
    const plan = planBatches(estimates, {
      maxBatchSize: this.batchSize,
      tokenBudget: this.tokenBudget,
      bucketing: this.bucketing,
    });
    const rowsOf = (j: number): number[] => pending.get(hashes[unique[j]]) ?? [unique[j]];
    const finish = this.batchFinisher({ run, key, hashes, unique, rowsOf, result, progress });
    const fail = (j: number, reason: string): void => {
      const rows = rowsOf(j).map(index => ({ index, reason }));
      result.failed.push(...rows);
      run.onFailed?.(rows);
    };
    const ran = await this.runBatches(plan, j => documents[unique[j]], run, finish, fail);
    result.cancelled = ran.cancelled;
    result.batches = ran.batches;
    await progress.settled();
    return result;
  }

  /**
   * What happens to a batch once its forward pass is done: its scores go to every row with the
   * same content, into the result and the cache, and are reported once the cache has them.
   */
  private batchFinisher(ctx: {
    run: ScoreRunOptions;
    key: string;
    hashes: readonly string[];
    /** Per planned index, the first row with its content. */
    unique: readonly number[];
    /** Per planned index, every row with its content. */
    rowsOf: (j: number) => number[];
    result: ScoreRunResult;
    progress: ScoreRunProgress;
  }): FinishBatch {
    const { run, key, hashes, unique, rowsOf, result, progress } = ctx;
    // onnxruntime-node runs a session synchronously on this thread (deferred to setImmediate),
    // so JavaScript work cannot overlap a forward pass here; what overlaps is work on other
    // threads: tokenizer threads prepare batch k+1 while batch k runs, and cache writes.
    let probed = !run.onProbe;
    return async (batch, prepared, out, t0) => {
      const read = await this.readAnswers(out, prepared.length, !probed);
      const probs = read.answers;
      if (read.probe && !probed) {
        probed = true;
        // Rows of the probe are named by their input position, not their place in the batch.
        const top = read.probe.top.map(t => ({ ...t, row: unique[batch[t.row]] }));
        run.onProbe?.({ ...read.probe, top });
      }
      const ms = performance.now() - t0;
      let maxLen = 0;
      for (const p of prepared) maxLen = Math.max(maxLen, p.ids.length);
      result.paddedTokens += maxLen * batch.length;
      const fresh: AskLlmScore[] = [];
      const entries: Parameters<ScoreCache['putMany']>[1][number][] = [];
      batch.forEach((j, k) => {
        const p = prepared[k];
        result.realTokens += p.ids.length;
        for (const i of rowsOf(j)) {
          const s = makeScore(i, probs[k].pYes, probs[k].pNo, p.ids.length, p.truncated, false);
          result.scores[i] = s;
          fresh.push(s);
        }
        entries.push({
          hash: hashes[unique[j]],
          score: {
            pYes: probs[k].pYes,
            pNo: probs[k].pNo,
            tokens: p.ids.length,
            truncated: p.truncated,
            modelId: this.info.modelId,
            promptId: this.info.promptId,
          },
        });
      });
      run.onBatch?.({ rows: batch.map(j => unique[j]), paddedLength: maxLen, ms });
      // Durable per batch (append + fsync), overlapped with the next batch's compute.
      progress.afterWrite(run.cache ? run.cache.putMany(key, entries) : Promise.resolve(), fresh);
    };
  }

  /**
   * Tokenises and runs the planned batches (`plan` holds indices that `docOf` maps to documents),
   * tokenising batch k+1 while batch k runs. A row whose tokenisation fails is reported to `fail`
   * and left out of its batch; see {@link forward} for a failing forward pass.
   */
  private async runBatches(
    plan: readonly (readonly number[])[],
    docOf: (j: number) => string,
    run: Pick<ScoreRunOptions, 'signal' | 'onOutOfMemory'>,
    finish: FinishBatch,
    fail: (j: number, reason: string) => void,
  ): Promise<{ cancelled: boolean; batches: number }> {
    const signal = run.signal;
    const prepare = (b: number): Promise<(FittedPrompt | Error)[]> => {
      const p = this.prepareRows(plan[b].map(docOf));
      // Handled at once: a rejection while the previous batch runs is no unhandled rejection.
      p.catch(() => undefined);
      return p;
    };
    let batches = 0;
    let next = plan.length > 0 ? prepare(0) : undefined;
    for (let b = 0; b < plan.length && next; b++) {
      const rows = await next;
      if (signal?.aborted) return { cancelled: true, batches };
      next = b + 1 < plan.length ? prepare(b + 1) : undefined;
      const batch: number[] = [];
      const prepared: FittedPrompt[] = [];
      rows.forEach((r, k) => {
        if (r instanceof Error) fail(plan[b][k], r.message);
        else {
          batch.push(plan[b][k]);
          prepared.push(r);
        }
      });
      if (batch.length > 0) batches += await this.forwardCapped(batch, prepared, finish, fail, run);
    }
    return { cancelled: false, batches };
  }

  /**
   * Runs a batch in chunks of at most {@link batchCap} rows. A chunk that runs out of device
   * memory is split in half and each half run again (recursively, down to one row), and the cap
   * drops to the half for the rest of the run; `onOutOfMemory` hears of each split. Any other
   * failure goes to {@link forward}'s row-by-row retry. Returns the forward passes run.
   */
  private async forwardCapped(
    batch: readonly number[],
    prepared: readonly FittedPrompt[],
    finish: FinishBatch,
    fail: (j: number, reason: string) => void,
    run: Pick<ScoreRunOptions, 'onOutOfMemory'>,
  ): Promise<number> {
    let passes = 0;
    const cap = this.batchCap;
    if (batch.length > cap) {
      const parts = chunksOf([...batch.keys()], cap);
      for (const part of parts)
        passes += await this.forwardCapped(
          part.map(k => batch[k]),
          part.map(k => prepared[k]),
          finish,
          fail,
          run,
        );
      return passes;
    }
    const oom = await this.forward(batch, prepared, finish, fail, batch.length > 1);
    if (typeof oom === 'number') return oom;
    this.oomCap = capAfterOutOfMemory(batch.length, this.oomCap);
    run.onOutOfMemory?.({ rows: batch.length, cap: this.oomCap, message: errorLine(oom.error) });
    return 1 + (await this.forwardCapped(batch, prepared, finish, fail, run));
  }

  /**
   * Runs one batch and finishes it. With `oomSplit`, an out-of-memory failure is returned (as
   * `{ error }`) for the caller to split the batch. If it throws otherwise, each row runs alone, so that only the rows
   * that fail by themselves are reported to `fail` (nothing is cached for them). Returns the
   * forward passes run.
   */
  private async forward(
    batch: readonly number[],
    prepared: readonly FittedPrompt[],
    finish: FinishBatch,
    fail: (j: number, reason: string) => void,
    oomSplit = false,
  ): Promise<number | { error: unknown }> {
    const t0 = performance.now();
    try {
      await finish(batch, prepared, await this.runModel(prepared.map(p => p.ids)), t0);
      return 1;
    } catch (e) {
      if (oomSplit && isOutOfMemoryError(e)) return { error: e };
      if (batch.length === 1) {
        fail(batch[0], errorLine(e));
        return 1;
      }
    }
    let passes = 1;
    for (let k = 0; k < batch.length; k++)
      passes += (await this.forward([batch[k]], [prepared[k]], finish, fail)) as number;
    return passes;
  }

  /**
   * Estimated prompt lengths in tokens: the template's own tokens plus document characters over
   * a characters-per-token ratio, capped at maxTokens. The ratio is measured on a sample of the
   * documents the first time, then kept up to date from the rows actually tokenised, so later
   * calls (the worker scores a file in blocks) spend no tokenisation on estimates.
   */
  estimateLengths(documents: readonly string[]): number[] {
    this.promptOverhead ??= this.tok.encodePrompt(this.wrap('')).length;
    const overhead = this.promptOverhead;
    if (this.ratioTokens === 0) {
      // A small sample is enough for a ratio; tokenising more would delay the first batch.
      const step = Math.max(1, Math.floor(documents.length / 8));
      for (let i = 0; i < documents.length && this.ratioChars < 8000; i += step) {
        const d = sanitizeDocument(documents[i].slice(0, 4000)).slice(0, 1000);
        let tokens: number;
        try {
          tokens = this.tok.encodePlain(d).length;
        } catch {
          // A row the tokenizer fails on is reported when its batch is tokenised.
          continue;
        }
        this.ratioChars += d.length;
        this.ratioTokens += tokens;
      }
    }
    const charsPerToken =
      this.ratioTokens > 0 ? Math.max(1, this.ratioChars / this.ratioTokens) : 4;
    return documents.map(d =>
      Math.min(this.info.maxTokens, overhead + Math.ceil(d.length / charsPerToken)),
    );
  }

  /** Folds tokenised rows into the characters-per-token ratio used by `estimateLengths`. */
  private learnRatio(
    documents: readonly string[],
    fitted: readonly (FittedPrompt | Error)[],
  ): void {
    const overhead = this.promptOverhead;
    if (overhead === undefined) return;
    for (let i = 0; i < fitted.length; i++) {
      const f = fitted[i];
      if (f instanceof Error) continue;
      const tokens = f.ids.length - overhead;
      // Truncated rows say nothing about the ratio of the whole text.
      if (f.truncated || tokens <= 0) continue;
      this.ratioChars += documents[i].length;
      this.ratioTokens += tokens;
    }
    // Keep the sample bounded so the ratio follows the data being scored now.
    if (this.ratioTokens > 200_000) {
      this.ratioChars /= 2;
      this.ratioTokens /= 2;
    }
  }

  /**
   * Tokenises rows: on the thread pool when there is one, else in small slices that yield to
   * the event loop between slices. A row that fails gives its error in its place; if a thread
   * batch fails, its rows are tokenised here one by one to find the failing ones.
   */
  private async prepareRows(documents: readonly string[]): Promise<(FittedPrompt | Error)[]> {
    const pool = await this.tokenizerPool();
    const clean = documents.map(sanitizeDocument);
    let out: (FittedPrompt | Error)[] | undefined = pool
      ? await pool.fit(clean).catch(() => undefined)
      : undefined;
    if (!out) {
      out = [];
      for (let i = 0; i < clean.length; i++) {
        if (i % 4 === 0 && i > 0) await new Promise<void>(r => setImmediate(r));
        try {
          out.push(fitPrompt(this.tok, this.wrap, clean[i], this.info.maxTokens));
        } catch (e) {
          out.push(new Error(`tokenising the prompt failed: ${errorLine(e)}`));
        }
      }
    }
    this.learnRatio(clean, out);
    return out;
  }

  /** Starts the tokenizer threads once, if configured and possible; otherwise undefined. */
  private tokenizerPool(): Promise<TokenizerPool | undefined> {
    if (this.pool) return this.pool;
    const internals = this.model.tokenizer as unknown as {
      _tokenizerJSON?: unknown;
      _tokenizerConfig?: unknown;
    };
    if (this.threads === 0) this.pool = Promise.resolve(undefined);
    else if (!this.wrapParts || internals._tokenizerJSON === undefined) {
      this.poolNote = 'in-process (the prompt cannot be split for tokenizer threads)';
      this.pool = Promise.resolve(undefined);
    } else {
      const spec = {
        tokenizerJson: internals._tokenizerJSON,
        tokenizerConfig: internals._tokenizerConfig,
        promptSpecialTokens: this.model.kind === 'seq2seq' || !this.info.chatTemplate,
        prefix: this.wrapParts[0],
        suffix: this.wrapParts[1],
        maxTokens: this.info.maxTokens,
      };
      const probes = [
        'Hello world.',
        'The science of energy. '.repeat(Math.ceil(this.info.maxTokens / 2)),
      ];
      this.pool = TokenizerPool.create(spec, this.threads, this.tok, probes).then(
        p => {
          this.poolNote = `${p.size} tokenizer threads`;
          return p;
        },
        (e: unknown) => {
          this.poolNote = `in-process (tokenizer threads unavailable: ${e instanceof Error ? e.message : String(e)})`;
          return undefined;
        },
      );
    }
    return this.pool;
  }
}

/** Rows of the first batch whose top-5 next tokens judge health shows. */
const PROBE_TOP_ROWS = 3;

/**
 * The case and space variants of `words` that are one token right after `context` and are not
 * among `taken` (or each other): judge health measures them (docs/judge.md#judge-health).
 */
function singleTokenVariants(
  tok: PromptTokenizer,
  words: readonly string[],
  taken: readonly ResolvedAnswer[],
  context: string | undefined,
): ResolvedAnswer[] {
  const seen = new Set(taken.map(a => a.id));
  const out: ResolvedAnswer[] = [];
  for (const word of words)
    for (const v of answerVariantWords(word, words)) {
      let r: ResolvedAnswer;
      try {
        r = resolveAnswer(tok, v, context);
      } catch {
        continue; // Several tokens: not a variant the score could add.
      }
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      out.push(r);
    }
  return out;
}

/**
 * Answers what the cache holds. Returns the scores array (cache hits filled in), the hits, and
 * the rows left to run, deduplicated by content: hash → row indices.
 */
function lookUpCachedScores(
  hashes: readonly string[],
  cache: ScoreCache | undefined,
  key: string,
): {
  scores: (AskLlmScore | undefined)[];
  pending: Map<string, number[]>;
  hits: AskLlmScore[];
} {
  const total = hashes.length;
  const scores: (AskLlmScore | undefined)[] = new Array(total);
  const pending = new Map<string, number[]>();
  const hits: AskLlmScore[] = [];
  for (let i = 0; i < total; i++) {
    const c = cache?.get(key, hashes[i]);
    if (c) {
      const s = makeScore(i, c.pYes, c.pNo, c.tokens, c.truncated, true);
      scores[i] = s;
      hits.push(s);
      continue;
    }
    const list = pending.get(hashes[i]);
    if (list) list.push(i);
    else pending.set(hashes[i], [i]);
  }
  return { scores, pending, hits };
}

/**
 * The progress of one {@link AskLlmScorer.score} run. Scores are reported only once their batch
 * is durable in the cache, so that a caller that shows them (or counts them as done) never shows
 * a score that a SIGKILL could still lose. The cache write of batch k (fsync on libuv's threads)
 * overlaps batch k+1.
 */
class ScoreRunProgress {
  private done: number;
  private reported: Promise<void> = Promise.resolve();

  constructor(
    private readonly run: ScoreRunOptions,
    private readonly total: number,
    private readonly cachedCount: number,
    private readonly t0: number,
  ) {
    this.done = cachedCount;
  }

  report(): void {
    const elapsedMs = performance.now() - this.t0;
    const ran = this.done - this.cachedCount;
    this.run.onProgress?.({
      done: this.done,
      total: this.total,
      cached: this.cachedCount,
      elapsedMs,
      etaMs: ran > 0 ? (elapsedMs / ran) * (this.total - this.done) : undefined,
    });
  }

  /** Once `written` (after the earlier batches) is done: counts, hands out and reports `fresh`. */
  afterWrite(written: Promise<void>, fresh: AskLlmScore[]): void {
    this.reported = Promise.all([this.reported, written]).then(() => {
      this.done += fresh.length;
      this.run.onScores?.(fresh);
      this.report();
    });
    // Marks the chain as handled; a failed write still rejects `settled()`.
    this.reported.catch(() => undefined);
  }

  /** Resolves when every batch's scores are reported; rejects when a cache write failed. */
  settled(): Promise<void> {
    return this.reported;
  }
}

type FinishBatch = (
  batch: readonly number[],
  prepared: readonly FittedPrompt[],
  out: Record<string, unknown>,
  t0: number,
) => Promise<void>;

/** The first line of an error's message, at most 300 characters. */
function errorLine(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();
  return text.length > 300 ? `${text.slice(0, 299)}…` : text || 'unknown error';
}

function makeScore(
  index: number,
  pYes: number,
  pNo: number,
  tokens: number,
  truncated: boolean,
  cached: boolean,
): AskLlmScore {
  return {
    index,
    pYes,
    pNo,
    normalizedVariant: normalizedYes(pYes, pNo),
    tokens,
    truncated,
    cached,
  };
}

/** Frees output tensors (GPU buffers need it; CPU tensors are simply dropped). */
function disposeOutputs(out: Record<string, unknown>): void {
  const visit = (v: unknown): void => {
    if (v && typeof v === 'object') {
      const d = (v as { dispose?: unknown }).dispose;
      if (typeof d === 'function' && 'dims' in v) {
        try {
          (d as () => void).call(v);
        } catch {
          // Already released.
        }
      } else if (!('dims' in v)) for (const x of Object.values(v)) visit(x);
    }
  };
  visit(out);
}

/** Adapts a transformers.js tokenizer to the scorer's tokenizer interface. */
function promptTokenizer(
  tokenizer: PreTrainedTokenizer,
  promptSpecialTokens: boolean,
): PromptTokenizer {
  let inverse: Map<number, string> | undefined;
  return {
    encodePrompt: text => tokenizer.encode(text, { add_special_tokens: promptSpecialTokens }),
    encodePlain: text => tokenizer.encode(text, { add_special_tokens: false }),
    decode: ids => tokenizer.decode([...ids], { skip_special_tokens: true }),
    tokensOf: ids => {
      inverse ??= new Map([...tokenizer.get_vocab()].map(([t, i]) => [i, t]));
      return ids.map(i => inverse?.get(i) ?? `<${i}>`);
    },
  };
}

/**
 * Wraps the rendered ASK-LLM prompt as the user turn of the chat template, with the generation
 * prompt. The template is rendered once around a sentinel and split, so each row costs a string
 * concatenation; if the template transforms its content (the sentinel does not survive, or a
 * direct render differs), every row is rendered through the template instead.
 */
function chatWrapper(
  tokenizer: PreTrainedTokenizer,
  template: PromptTemplate,
): { wrap: (document: string) => string; parts: readonly [string, string] | undefined } {
  const render = (content: string): string =>
    tokenizer.apply_chat_template([{ role: 'user', content }], {
      tokenize: false,
      add_generation_prompt: true,
      enable_thinking: false,
    } as Parameters<PreTrainedTokenizer['apply_chat_template']>[1]) as unknown as string;
  const sentinel = '\u0000WINNOW_DOCUMENT\u0000';
  const whole = render(renderPrompt(template, sentinel));
  const parts = whole.split(sentinel);
  const slow = (doc: string): string => render(renderPrompt(template, doc));
  if (parts.length !== 2) return { wrap: slow, parts: undefined };
  const fast = (doc: string): string => parts[0] + doc + parts[1];
  const probe = 'The quick brown fox.';
  return fast(probe) === slow(probe)
    ? { wrap: fast, parts: [parts[0], parts[1]] }
    : { wrap: slow, parts: undefined };
}

/** The template text before and after its placeholder. */
function splitTemplate(template: PromptTemplate): readonly [string, string] {
  const i = template.text.indexOf(DOCUMENT_PLACEHOLDER);
  return [template.text.slice(0, i), template.text.slice(i + DOCUMENT_PLACEHOLDER.length)];
}
