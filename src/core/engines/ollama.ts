/**
 * Ollama's native API (docs/engines.md#ollama), v0.12.11 and later.
 *
 * API reference: https://github.com/ollama/ollama/blob/main/docs/api.md
 * - `POST /api/generate` `{model, prompt, raw: true, stream: false, logprobs: true,
 *   top_logprobs: k, options: {num_predict: 1, temperature: 0}}` and `POST /api/chat`
 *   `{model, messages, ...}` → `logprobs[0].top_logprobs[]` of `{token, logprob, bytes}`.
 * - Top-k only (k ≤ 20), and no tokenize endpoint: answers follow the token-text rule
 *   (answerTokens.ts). Servers before v0.12.11 drop `logprobs`, and the probe refuses them.
 *
 * Prompt: `completions` sends the rendered prompt with `raw: true` (no template); `chat` sends
 * the user message to `/api/chat` and Ollama applies the model's template. One prompt per request.
 */
import {
  type AdapterContext,
  type EngineAdapter,
  type LogprobRequest,
  NoLogprobsError,
  type RemotePrompt,
  arrayAt,
  logprobAt,
  objectAt,
  promptText,
  rowPrompt,
} from './adapter';
import type { EngineApi, PositionLogprobs, TemplateSide, TokenLogprob } from './types';

/** The first position of an Ollama reply. */
export function ollamaEntries(reply: unknown): PositionLogprobs {
  const logprobs = objectAt(reply, 'the reply').logprobs;
  if (logprobs === null || logprobs === undefined)
    throw new NoLogprobsError('the reply has no logprobs (Ollama before v0.12.11?)');
  const first = arrayAt(logprobs, 'logprobs')[0];
  if (first === undefined) throw new NoLogprobsError('logprobs is empty');
  const top = arrayAt(objectAt(first, 'logprobs[0]').top_logprobs, 'top_logprobs');
  const entries = top.map((e, i): TokenLogprob => {
    const o = objectAt(e, `top_logprobs[${i}]`);
    if (typeof o.token !== 'string') throw new NoLogprobsError(`top_logprobs[${i}] has no token`);
    return { text: o.token, logprob: logprobAt(o.logprob, `top_logprobs[${i}].logprob`) };
  });
  return { kind: 'top', entries };
}

export class OllamaAdapter implements EngineAdapter {
  readonly engine = 'ollama' as const;
  readonly api: EngineApi;
  readonly chatTemplate: TemplateSide;
  readonly maxPromptsPerRequest = 1;
  readonly canNameIds = false;

  constructor(private readonly ctx: AdapterContext) {
    this.api = ctx.api;
    this.chatTemplate = ctx.api === 'chat' ? 'engine' : 'none';
  }

  prompt(document: string): RemotePrompt {
    return rowPrompt(this.api, this.ctx.template, document);
  }

  answerContext(): string | undefined {
    return this.api === 'chat' ? undefined : promptText(this.ctx.template, '');
  }

  async logprobs(
    prompts: readonly RemotePrompt[],
    ask: LogprobRequest,
    signal?: AbortSignal,
  ): Promise<PositionLogprobs[]> {
    const root = this.ctx.http.basePath;
    const out: PositionLogprobs[] = [];
    for (const p of prompts) {
      const common = {
        model: this.ctx.model,
        stream: false,
        logprobs: true,
        top_logprobs: ask.topK,
        options: { num_predict: 1, temperature: 0 },
      };
      const reply =
        'messages' in p
          ? await this.ctx.http.post(
              `${root}/api/chat`,
              { ...common, messages: p.messages },
              signal,
            )
          : await this.ctx.http.post(
              `${root}/api/generate`,
              { ...common, prompt: p.text, raw: true },
              signal,
            );
      out.push(ollamaEntries(reply));
    }
    return out;
  }
}
