/**
 * The seam between the remote scoring backend and one engine's API (docs/engines.md#adapters).
 * An adapter builds request bodies and reads replies; the backend owns batching, concurrency,
 * retries and the per-row results. Adapters stay thin: one file per engine, each linked to its
 * API reference.
 */
import type { PromptTemplate } from '../askllm/prompt';
import { renderPrompt, sanitizeDocument } from '../askllm/prompt';
import type { EngineHttp } from './http';
import { RetryableError } from './retry';
import type { EngineTokenizer } from './truncation';
import type {
  AnswerToken,
  EngineApi,
  PositionLogprobs,
  RemoteEngineName,
  TemplateSide,
  TokenLogprob,
} from './types';

/** One chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A row's prompt as an engine takes it: raw text, or the messages of a chat request. */
export type RemotePrompt = { text: string } | { messages: ChatMessage[] };

/** What to ask for at the first answer position. */
export interface LogprobRequest {
  /** Token ids whose log-probs the engine must return whatever their rank (exact mode). */
  ids?: readonly number[];
  /** How many of the most likely tokens to return (top-k mode; 1 with `ids`). */
  topK: number;
}

/** Everything an adapter needs to talk to its endpoint. */
export interface AdapterContext {
  http: EngineHttp;
  model: string;
  api: EngineApi;
  template: PromptTemplate;
}

/** One engine's API. */
export interface EngineAdapter {
  readonly engine: RemoteEngineName;
  readonly api: EngineApi;
  /** Where the chat template is applied for this adapter's API. */
  readonly chatTemplate: TemplateSide;
  /** Most prompts one request may carry (1 where the API takes one prompt per request). */
  readonly maxPromptsPerRequest: number;
  /** Whether the API can name token ids whose log-probs it must return (the probe checks). */
  readonly canNameIds: boolean;
  /** How the answer tokens are found, in words, for the manifest. */
  readonly tokenizeRoute?: string;
  /** Per-run set-up before any prompt is built (llama.cpp renders its chat template once). */
  prepare?(signal?: AbortSignal): Promise<void>;
  /** The request prompt of a row's document (the paper's prompt, `###` removed). */
  prompt(document: string): RemotePrompt;
  /**
   * The text the model sees before the answer, without a document: the raw prompt, or
   * undefined where the engine applies the chat template itself (the token-text rule then
   * takes the answer to follow the generation prompt's newline).
   */
  answerContext(): string | undefined;
  /**
   * Answer tokens through the engine's tokenizer (the local rule: tokenise prompt + answer and
   * prompt, and take the one extra token). Absent where the engine has no tokenize endpoint.
   */
  tokenizeAnswers?(words: readonly string[], signal?: AbortSignal): Promise<AnswerToken[]>;
  /**
   * The engine's tokenizer through its tokenize and detokenize endpoints, for truncating rows as
   * local scoring does (truncation.ts). Absent where the engine has no such pair.
   */
  tokenizer?(): EngineTokenizer;
  /** One request for a batch of prompts: the first position's log-probs of each, in order. */
  logprobs(
    prompts: readonly RemotePrompt[],
    ask: LogprobRequest,
    signal?: AbortSignal,
  ): Promise<PositionLogprobs[]>;
}

/** The rendered ASK-LLM prompt of a document: the same text local scoring renders. */
export function promptText(template: PromptTemplate, document: string): string {
  return renderPrompt(template, sanitizeDocument(document));
}

/** The prompt of a row for a raw-text or a chat API. */
export function rowPrompt(
  api: EngineApi,
  template: PromptTemplate,
  document: string,
): RemotePrompt {
  const text = promptText(template, document);
  return api === 'chat' ? { messages: [{ role: 'user', content: text }] } : { text };
}

/** A reply whose shape is wrong (missing fields, wrong counts): retried like a transient fault. */
export class ReplyShapeError extends RetryableError {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyShapeError';
  }
}

/** The engine answered but gave no log-probs: not transient, and what the probe refuses. */
export class NoLogprobsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoLogprobsError';
  }
}

/** `value` as a plain object, or a {@link ReplyShapeError} naming `what`. */
export function objectAt(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ReplyShapeError(`malformed reply: ${what} is not an object`);
  return value as Record<string, unknown>;
}

/** `value` as an array, or a {@link ReplyShapeError} naming `what`. */
export function arrayAt(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ReplyShapeError(`malformed reply: ${what} is not a list`);
  return value;
}

/** Checks that a reply has one result per prompt. */
export function expectCount<T>(items: readonly T[], prompts: number, what: string): readonly T[] {
  if (items.length !== prompts)
    throw new ReplyShapeError(
      `malformed reply: ${items.length} ${what} for ${prompts} prompt${prompts === 1 ? '' : 's'}`,
    );
  return items;
}

/** A log-prob value, or a {@link ReplyShapeError}. */
export function logprobAt(value: unknown, what: string): number {
  if (typeof value !== 'number')
    throw new ReplyShapeError(`malformed reply: ${what} is not a number`);
  return value;
}

/**
 * An OpenAI-style `{token, logprob}` entry. vLLM's `return_tokens_as_token_ids` writes tokens as
 * `token_id:<id>`; those become ids.
 */
export function openAiEntry(token: string, logprob: number): TokenLogprob {
  const m = /^token_id:(\d+)$/.exec(token);
  return m ? { id: Number(m[1]), logprob } : { text: token, logprob };
}
