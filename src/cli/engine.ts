/**
 * The seam between `winnow score` and the engines that compute ASK-LLM scores: the in-process
 * ONNX scorer (`local`, localEngine.ts) and the remote engines (vLLM, SGLang, llama.cpp server,
 * Ollama, any OpenAI-compatible server). The CLI does everything around an engine the same way
 * for all of them: reading and sharding the file, the crash-safe score cache (a row already in it
 * is never sent again), progress, output files and manifests. An engine only turns documents
 * into per-row results.
 *
 * Writing an engine:
 * 1. implement {@link ScoringEngine} (below) and a {@link EngineFactory} that builds it from
 *    {@link EngineOptions}, probing the server first (a server that gives neither exact nor
 *    top-k logprobs is refused by throwing a `CliError` that says so);
 * 2. register the factory under its `--engine` name in engines.ts.
 *
 * Rules every engine keeps (the CLI relies on them):
 * - `score` delivers each document's result at most once, through `onResults`, in any order and
 *   grouping; a document it did not deliver (the signal aborted) is simply asked again by the
 *   next run. Deliver often (per request or batch): the CLI makes each delivery durable before it
 *   counts the rows as done, so a SIGKILL loses at most what was not delivered.
 * - A row's own failure (after the engine's retries) is a result with status `error`, never a
 *   thrown error; `score` throws only when the engine as a whole cannot go on (the run then
 *   exits 1, keeping every delivered row).
 * - `score` is the raw P(answer token) at the first answer position over the whole vocabulary
 *   (the paper's definition, docs/askllm.md). Where the engine returns only its top-k and the
 *   answer token is not among them, the result is `bound` with `upperBound` = the smallest
 *   probability returned: never 0, never an estimate.
 * - `facts.scorerKey` identifies everything that can change a score (engine, model, prompt,
 *   answer tokens, truncation, mode): scores are cached under it, so two configurations never
 *   share cached scores. API keys are never part of the facts.
 */
import type { ScoreColumnMeta } from '../shared/protocol/worker';
import type { Logger } from '../worker/logger';

/** The engines `--engine` names, exactly as the CLI accepts them. */
export const ENGINE_NAMES = ['local', 'openai', 'vllm', 'sglang', 'llamacpp', 'ollama'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** One document to score. */
export interface ScoreDocument {
  /** Identifies the document in the results (the position in the call's input). */
  readonly id: number;
  /** The row's text as the schema extracts it; the engine renders the prompt around it. */
  readonly text: string;
}

/** What happened to one row. */
export type RowStatus = 'ok' | 'bound' | 'error';

/** One row's result. */
export interface RowResult {
  /** The {@link ScoreDocument.id} it answers. */
  readonly id: number;
  readonly status: RowStatus;
  /** Raw P(yes) over the full vocabulary when `ok`; null otherwise. */
  readonly score: number | null;
  /** `bound`: the smallest probability the engine returned (P(yes) lies below it). */
  readonly upperBound?: number;
  /** `error`: why, in one line (no secrets). */
  readonly error?: string;
  /** P(no) when the engine gave it (the editor's labelled normalised variant). */
  readonly pNo?: number;
  /** Prompt tokens the model read, and whether the document was truncated to fit. */
  readonly tokens?: number;
  readonly truncated?: boolean;
}

/** What an engine is, for manifests, summaries and the cache key. */
export interface EngineFacts {
  readonly engine: EngineName;
  /** The model as the engine names it (a Hugging Face id, a folder, a served model name). */
  readonly model: string;
  /** The endpoint's origin and path, e.g. `http://gpu-node:8000/v1` (remote engines). */
  readonly endpoint?: string;
  /** `completions` or `chat` (OpenAI-compatible engines). */
  readonly api?: string;
  /** `exact`: P(yes) over the whole vocabulary; `top-k`: from the top `topK` logprobs. */
  readonly mode: 'exact' | 'top-k';
  readonly topK?: number;
  /** Precision and device (local engine). */
  readonly dtype?: string;
  readonly device?: string;
  readonly promptName: string;
  /** sha256 of the prompt template (core/askllm promptHash), as the extension records it. */
  readonly promptHash: string;
  readonly promptId: string;
  /** Answer tokens whose probabilities are summed into P(yes), with their ids. */
  readonly answerTokens: readonly { readonly token: string; readonly id: number }[];
  /** How the answer tokens were found: `tokenizer`, `tokenize endpoint`, or the rule used. */
  readonly answerTokenSource: string;
  /** Longest prompt in tokens (the document is truncated to fit), where the engine knows it. */
  readonly maxTokens?: number;
  /**
   * Remote engines: `tokens` (documents cut to `maxTokens` by the engine's tokenizer, as local
   * scoring cuts them) or `none` (rows sent whole; docs/engines.md#truncation).
   */
  readonly truncation?: 'tokens' | 'none';
  /** Who applies the chat template: `engine` (chat API), `local` (Winnow), or `none` (raw). */
  readonly chatTemplate: 'engine' | 'local' | 'none';
  /** The cache key of this configuration (32 hex): see the module comment. */
  readonly scorerKey: string;
}

/** An engine ready to score. */
export interface ScoringEngine {
  readonly facts: EngineFacts;
  /** Scores documents; see the module comment for the rules. */
  score(
    documents: readonly ScoreDocument[],
    options: { signal: AbortSignal; onResults: (results: readonly RowResult[]) => void },
  ): Promise<void>;
  /**
   * Optional: the scorer configuration's entry in the worker's scorer registry (scorers.json),
   * so that the extension and `node dist/worker.js --stdio` show these cached scores for the
   * same settings without loading a model. The local engine has one.
   */
  readonly registration?: { readonly fingerprint: string; readonly meta: ScoreColumnMeta };
  /** Releases models, sockets and threads. */
  dispose(): Promise<void>;
}

/** Everything `winnow score` passes to an engine's factory. */
export interface EngineOptions {
  readonly engine: EngineName;
  /** `--endpoint`: for OpenAI-compatible engines the base URL ending in `/v1`. */
  readonly endpoint?: string;
  /** `--model` (local default: `Xenova/flan-t5-small`). */
  readonly model?: string;
  /** `--api completions|chat`. */
  readonly api?: 'completions' | 'chat';
  /** The API key, read from the variable `--api-key-env` names (never logged or stored). */
  readonly apiKey?: string;
  /** `--concurrency`: requests in flight (remote engines). */
  readonly concurrency?: number;
  /** `--max-logprobs`: top-k to ask for where the engine caps it (default 20). */
  readonly maxLogprobs?: number;
  /** `--max-tokens`: longest prompt (default 512). */
  readonly maxTokens: number;
  /** `--prompt-file`: a `.winnow-prompt` template; undefined = the paper's prompt. */
  readonly promptFile?: string;
  /** `--answer-variant`: extra single-token answers summed into P(yes). */
  readonly answerVariants: readonly string[];
  /** Local engine: `--dtype`, `--device`, `--batch-size`, model cache, offline. */
  readonly dtype: 'fp32' | 'fp16' | 'q8' | 'q4';
  readonly device: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  readonly batchSize: number | 'auto';
  readonly modelCacheDir: string;
  readonly offline: boolean;
  /** The dataset path (relative prompt files resolve from its folder). */
  readonly datasetPath: string;
  readonly logger: Logger;
  /** Reports model download and load steps (shown as the `loading` phase). */
  readonly onLoadProgress?: (message: string) => void;
  readonly signal: AbortSignal;
}

/** Builds an engine (loading a model or probing a server first). */
export type EngineFactory = (options: EngineOptions) => Promise<ScoringEngine>;
