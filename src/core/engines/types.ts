/**
 * What every remote engine adapter shares (docs/engines.md): the engines Winnow talks to, the
 * per-row result of remote ASK-LLM scoring and the facts a run records in its manifest.
 */

/** The engines of `winnow score --engine` (besides `local`, the in-process ONNX scorer). */
export const REMOTE_ENGINES = ['openai', 'vllm', 'sglang', 'llamacpp', 'ollama'] as const;
export type RemoteEngineName = (typeof REMOTE_ENGINES)[number];

/**
 * Which API a prompt goes through: `completions` sends the rendered prompt as raw text, `chat`
 * sends it as the user message and the engine applies the model's chat template.
 */
export type EngineApi = 'completions' | 'chat';

/**
 * How the answer's probability is read. `exact`: the engine returns the log-probability of the
 * named answer token ids whatever their rank, so every row gets a score. `top-k`: it returns the
 * k most likely tokens only; a row whose answer is not among them gets an upper bound.
 */
export type LogprobMode = 'exact' | 'top-k';

/** The result of one row. */
export interface RemoteRowResult {
  /**
   * `ok`: `score` is P(answer) over the whole vocabulary. `bound`: the answer token was not among
   * the returned log-probs, so only `upperBound` is known. `error`: no result after the retries
   * (the row is scored again by the next run).
   */
  status: 'ok' | 'bound' | 'error';
  /** Raw P(yes) (answer variants summed); null unless `ok`. Never 0 for a missing token. */
  score: number | null;
  /** `bound` rows: P(yes) is at most this (the smallest returned probability). */
  upperBound?: number;
  /** P(no) where the engine returned it (exact mode, or "no" among the top k). */
  pNo?: number;
  /** `error` rows: the reason, in one line. */
  error?: string;
  /** Prompt tokens by the engine's tokenizer, where rows are truncated (truncation: tokens). */
  tokens?: number;
  /** Whether the document was cut to fit `maxTokens` (truncation: tokens). */
  truncated?: boolean;
}

/** How an answer token was identified. */
export type AnswerTokenSource = 'tokenize-endpoint' | 'token-text';

/** One answer word as the run matches it. */
export interface AnswerToken {
  /** The word as configured, e.g. `yes`. */
  word: string;
  /** The exact text the model writes after the prompt, e.g. ` yes` after `ANSWER:`. */
  continuation: string;
  /** The token id (tokenize endpoint), or undefined under the token-text rule. */
  id?: number;
  /** The token as the engine names it, where known (e.g. `Ġyes`). */
  token?: string;
  source: AnswerTokenSource;
}

/** Where the chat template is applied. */
export type TemplateSide =
  /** The engine's chat API applies the model's template to the user message. */
  | 'engine'
  /** The prompt is sent as raw text, with no chat template (completions APIs). */
  | 'none'
  /** The engine's template endpoint renders it once; rows go as raw text inside it (llama.cpp). */
  | 'engine-rendered';

/** The facts of a remote run, for the manifest and the status line. Never holds the API key. */
export interface EngineManifest {
  engine: RemoteEngineName;
  /** Host (and port) of the endpoint only: no path, query or credentials. */
  endpointHost: string;
  model: string;
  api: EngineApi;
  mode: LogprobMode;
  /** k of the top-k log-probs asked for (top-k mode). */
  topLogprobs: number;
  chatTemplate: TemplateSide;
  /** The words summed into P(yes), with how each was found. */
  answerTokens: AnswerToken[];
  /** The negative words (for the normalised variant), empty when "no" could not be resolved. */
  negativeTokens: AnswerToken[];
  /** How the answer tokens were found, in words (e.g. `POST /tokenize`). */
  answerTokensFoundBy: string;
  promptId: string;
  promptHash: string;
  /** What the probe saw, in one line. */
  probe: string;
  /**
   * `tokens`: each document is cut to fit `maxTokens` prompt tokens by the engine's tokenizer,
   * as local scoring cuts it; `none`: rows are sent whole (no tokenize + detokenize endpoints,
   * or truncation off), so a row longer than local's limit can score differently.
   */
  truncation: 'tokens' | 'none';
  /** The prompt-token limit with `truncation: tokens`. */
  maxTokens?: number;
}

/** The log-probability of one token at the first answer position. */
export interface TokenLogprob {
  /** Token id, where the engine gives it. */
  id?: number;
  /** Token text, where the engine gives it. */
  text?: string;
  logprob: number;
}

/**
 * What an engine returned for one prompt at the first generated position. `named`: the entries
 * include the requested ids whatever their rank (exact mode); `top`: the k most likely tokens.
 */
export interface PositionLogprobs {
  kind: 'named' | 'top';
  entries: TokenLogprob[];
}

/** Thrown by the probe when an engine cannot give ASK-LLM's score. */
export class EngineCapabilityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineCapabilityError';
  }
}
