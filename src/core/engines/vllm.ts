/**
 * vLLM's OpenAI-compatible server (docs/engines.md#vllm): OpenAI's completions and chat routes
 * plus vLLM's extensions.
 *
 * API reference: https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
 * - `logprob_token_ids` (vLLM PRs #34539 and #43463): the log-probs of the listed ids whatever the
 *   top-k, which makes every row exact. Older servers ignore the field; the probe finds out.
 * - `return_tokens_as_token_ids`: tokens come back as `token_id:<id>`, so answers match by id.
 * - `POST /tokenize` (at the server root, beside `/v1`): `{model, prompt, add_special_tokens}` or
 *   `{model, messages, add_generation_prompt | continue_final_message}` → `{tokens,
 *   token_strs}`, for the answer tokens in context.
 * - `POST /detokenize` (beside `/tokenize`): `{model, tokens}` → `{prompt}`; with `/tokenize` it
 *   truncates long rows as local scoring does (truncation.ts). Reference:
 *   https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
 * - `--max-logprobs` caps k (default 20). Log-probs are raw (before temperature and processors)
 *   unless the server runs with another `--logprobs-mode`.
 *
 * Prompt: `completions` sends raw text; `chat` sends the user message and vLLM applies the
 * model's chat template, with `chat_template_kwargs: {enable_thinking: false}` as local scoring.
 */
import { type LogprobRequest, promptText } from './adapter';
import { answersByTokenizer, answersFromIds, type TokenizeText } from './answerTokens';
import { OpenAiAdapter } from './openai';
import type { EngineTokenizer } from './truncation';
import type { AnswerToken, RemoteEngineName } from './types';

/** The chat-template arguments local scoring renders with. */
const CHAT_TEMPLATE_KWARGS = { enable_thinking: false };

export class VllmAdapter extends OpenAiAdapter {
  override readonly engine: RemoteEngineName = 'vllm';
  override readonly canNameIds = true;
  override readonly maxPromptsPerRequest = this.api === 'completions' ? 64 : 1;
  readonly tokenizeRoute = 'POST /tokenize';

  /** The server root: vLLM's own routes sit beside `/v1`. */
  private get root(): string {
    return this.ctx.http.basePath.replace(/\/v1$/, '');
  }

  protected override extensions(ask: LogprobRequest): Record<string, unknown> {
    return {
      return_tokens_as_token_ids: true,
      ...(ask.ids && ask.ids.length > 0 ? { logprob_token_ids: [...ask.ids] } : {}),
      ...(this.api === 'chat' ? { chat_template_kwargs: CHAT_TEMPLATE_KWARGS } : {}),
    };
  }

  private async tokenizeBody(
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<{ ids: number[]; pieces?: string[] }> {
    const reply = (await this.ctx.http.post(
      `${this.root}/tokenize`,
      { model: this.ctx.model, return_token_strs: true, ...body },
      signal,
    )) as { tokens?: unknown; token_strs?: unknown };
    if (!Array.isArray(reply?.tokens) || !reply.tokens.every(t => typeof t === 'number'))
      throw new Error('POST /tokenize: the reply has no token list');
    const pieces = Array.isArray(reply.token_strs) ? (reply.token_strs as string[]) : undefined;
    return { ids: reply.tokens as number[], pieces };
  }

  tokenizer(): EngineTokenizer {
    const chat = this.api === 'chat';
    return {
      route: 'POST /tokenize + /detokenize',
      promptIds: async (doc, signal) => {
        const content = promptText(this.ctx.template, doc);
        const body = chat
          ? {
              messages: [{ role: 'user', content }],
              add_generation_prompt: true,
              chat_template_kwargs: CHAT_TEMPLATE_KWARGS,
            }
          : { prompt: content, add_special_tokens: true };
        return (await this.tokenizeBody(body, signal)).ids;
      },
      plainIds: async (text, signal) =>
        (await this.tokenizeBody({ prompt: text, add_special_tokens: false }, signal)).ids,
      decode: async (ids, signal) => {
        const reply = (await this.ctx.http.post(
          `${this.root}/detokenize`,
          { model: this.ctx.model, tokens: [...ids] },
          signal,
        )) as { prompt?: unknown };
        if (typeof reply?.prompt !== 'string')
          throw new Error('POST /detokenize: the reply has no prompt text');
        return reply.prompt;
      },
    };
  }

  async tokenizeAnswers(words: readonly string[], signal?: AbortSignal): Promise<AnswerToken[]> {
    const context = promptText(this.ctx.template, '');
    if (this.api === 'completions') {
      const tokenize: TokenizeText = (text, s) =>
        this.tokenizeBody({ prompt: text, add_special_tokens: false }, s);
      return answersByTokenizer(words, context, tokenize, signal);
    }
    const user = { role: 'user', content: context };
    const base = await this.tokenizeBody(
      { messages: [user], add_generation_prompt: true, chat_template_kwargs: CHAT_TEMPLATE_KWARGS },
      signal,
    );
    const full = [];
    for (const word of words)
      full.push(
        await this.tokenizeBody(
          {
            messages: [user, { role: 'assistant', content: word }],
            add_generation_prompt: false,
            continue_final_message: true,
            chat_template_kwargs: CHAT_TEMPLATE_KWARGS,
          },
          signal,
        ),
      );
    return answersFromIds(words, base, full);
  }
}
