/**
 * llama.cpp's server, native API (docs/engines.md#llamacpp).
 *
 * API reference: https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md
 * - `POST /completion` `{prompt, n_predict: 1, n_probs: k, temperature: 0}` →
 *   `completion_probabilities[0].top_logprobs[]` of `{id, token, logprob}`. With the default
 *   `post_sampling_probs: false` they come from the softmax of the raw logits over the whole
 *   vocabulary, before any sampler: what the paper's score needs. `prompt` may be a list (the
 *   reply is then a list). Top-k only: there is no way to name token ids.
 * - `POST /tokenize` `{content, add_special: false, with_pieces: true}` → `{tokens: [{id,
 *   piece}]}`, for the answer tokens in context.
 * - `POST /detokenize` `{tokens}` → `{content}`: with `/tokenize` (`add_special: true` for a
 *   whole prompt, as `/completion` tokenises it) it cuts long rows as local scoring does
 *   (truncation.ts).
 * - `POST /apply-template` `{messages}` → `{prompt}`: the model's chat template, rendered by the
 *   server.
 *
 * Prompt: `completions` sends the rendered prompt raw. `chat` renders the user message through
 * `/apply-template` once (around a placeholder), and each row goes to `/completion` as raw text
 * inside that rendering, the same text the server's chat route would build. `/completion` adds
 * the BOS token where the GGUF asks for one.
 */
import {
  type AdapterContext,
  type EngineAdapter,
  type LogprobRequest,
  NoLogprobsError,
  type RemotePrompt,
  arrayAt,
  expectCount,
  logprobAt,
  objectAt,
  promptText,
} from './adapter';
import { answersByTokenizer } from './answerTokens';
import { renderPrompt, sanitizeDocument } from '../askllm/prompt';
import type { EngineTokenizer } from './truncation';
import type { AnswerToken, EngineApi, PositionLogprobs, TemplateSide, TokenLogprob } from './types';

/** Replaces the document while the chat template is rendered (cannot occur in a document). */
const SENTINEL = '\u0000WINNOW_DOCUMENT\u0000';

/** The first position of one `/completion` result. */
export function completionProbabilities(result: unknown): PositionLogprobs {
  const probs = objectAt(result, 'a /completion result').completion_probabilities;
  if (probs === null || probs === undefined)
    throw new NoLogprobsError('completion_probabilities is missing (was n_probs ignored?)');
  const first = arrayAt(probs, 'completion_probabilities')[0];
  if (first === undefined) throw new NoLogprobsError('completion_probabilities is empty');
  const pos = objectAt(first, 'completion_probabilities[0]');
  // `top_probs` (probabilities) is what a server running with post_sampling_probs returns.
  const logs = pos.top_logprobs !== undefined;
  const list = arrayAt(logs ? pos.top_logprobs : pos.top_probs, 'top_logprobs');
  const entries = list.map((e, i): TokenLogprob => {
    const o = objectAt(e, `top_logprobs[${i}]`);
    const v = logprobAt(logs ? o.logprob : o.prob, `top_logprobs[${i}]`);
    const entry: TokenLogprob = { logprob: logs ? v : Math.log(v) };
    if (typeof o.id === 'number') entry.id = o.id;
    if (typeof o.token === 'string') entry.text = o.token;
    return entry;
  });
  return { kind: 'top', entries };
}

export class LlamaCppAdapter implements EngineAdapter {
  readonly engine = 'llamacpp' as const;
  readonly api: EngineApi;
  readonly chatTemplate: TemplateSide;
  readonly maxPromptsPerRequest = 8;
  readonly canNameIds = false;
  readonly tokenizeRoute = 'POST /tokenize';
  /** The rendered chat template before and after the document (`chat` only). */
  private parts: [string, string] | undefined;

  constructor(private readonly ctx: AdapterContext) {
    this.api = ctx.api;
    this.chatTemplate = ctx.api === 'chat' ? 'engine-rendered' : 'none';
  }

  private get root(): string {
    return this.ctx.http.basePath;
  }

  async prepare(signal?: AbortSignal): Promise<void> {
    if (this.api !== 'chat' || this.parts) return;
    const reply = objectAt(
      await this.ctx.http.post(
        `${this.root}/apply-template`,
        {
          messages: [{ role: 'user', content: renderPrompt(this.ctx.template, SENTINEL) }],
          chat_template_kwargs: { enable_thinking: false },
        },
        signal,
      ),
      'the /apply-template reply',
    );
    const parts = typeof reply.prompt === 'string' ? reply.prompt.split(SENTINEL) : [];
    if (parts.length !== 2)
      throw new Error(
        "POST /apply-template: the chat template changes the message's text, so rows cannot be placed in it; use --api completions",
      );
    this.parts = [parts[0], parts[1]];
  }

  private wrap(document: string): string {
    if (this.api !== 'chat') return promptText(this.ctx.template, document);
    if (!this.parts) throw new Error('llama.cpp chat template not rendered yet (prepare())');
    return this.parts[0] + sanitizeDocument(document) + this.parts[1];
  }

  prompt(document: string): RemotePrompt {
    return { text: this.wrap(document) };
  }

  answerContext(): string {
    return this.wrap('');
  }

  tokenizer(): EngineTokenizer {
    const ids = async (content: string, special: boolean, signal?: AbortSignal) => {
      const reply = objectAt(
        await this.ctx.http.post(
          `${this.root}/tokenize`,
          { content, add_special: special },
          signal,
        ),
        'the /tokenize reply',
      );
      return arrayAt(reply.tokens, 'tokens').map(t => logprobAt(t, 'a token id'));
    };
    return {
      route: 'POST /tokenize + /detokenize',
      promptIds: (doc, signal) => ids(this.wrap(doc), true, signal),
      plainIds: (text, signal) => ids(text, false, signal),
      decode: async (tokens, signal) => {
        const reply = objectAt(
          await this.ctx.http.post(`${this.root}/detokenize`, { tokens: [...tokens] }, signal),
          'the /detokenize reply',
        );
        if (typeof reply.content !== 'string')
          throw new Error('POST /detokenize: the reply has no content');
        return reply.content;
      },
    };
  }

  async tokenizeAnswers(words: readonly string[], signal?: AbortSignal): Promise<AnswerToken[]> {
    return answersByTokenizer(
      words,
      this.answerContext(),
      async (text, s) => {
        const reply = objectAt(
          await this.ctx.http.post(
            `${this.root}/tokenize`,
            { content: text, add_special: false, with_pieces: true },
            s,
          ),
          'the /tokenize reply',
        );
        const ids: number[] = [];
        const pieces: string[] = [];
        for (const t of arrayAt(reply.tokens, 'tokens')) {
          const o = typeof t === 'number' ? { id: t } : objectAt(t, 'a token');
          if (typeof o.id !== 'number') throw new Error('POST /tokenize: a token has no id');
          ids.push(o.id);
          pieces.push(typeof o.piece === 'string' ? o.piece : `<${o.id}>`);
        }
        return { ids, pieces };
      },
      signal,
    );
  }

  async logprobs(
    prompts: readonly RemotePrompt[],
    ask: LogprobRequest,
    signal?: AbortSignal,
  ): Promise<PositionLogprobs[]> {
    const texts = prompts.map(p => ('text' in p ? p.text : ''));
    const single = texts.length === 1;
    const body = {
      prompt: single ? texts[0] : texts,
      n_predict: 1,
      n_probs: ask.topK,
      temperature: 0,
      post_sampling_probs: false,
      cache_prompt: true,
    };
    const reply = await this.ctx.http.post(`${this.root}/completion`, body, signal);
    const results = single ? [reply] : [...arrayAt(reply, 'the /completion reply')];
    const ordered = results.map((r, i) => ({ r, i: Number(objectAt(r, 'a result').index ?? i) }));
    ordered.sort((a, b) => a.i - b.i);
    return expectCount(ordered, prompts.length, 'results').map(o => completionProbabilities(o.r));
  }
}
