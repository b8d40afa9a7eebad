/**
 * Generic OpenAI-compatible engine: top log-probs only (docs/engines.md#openai).
 *
 * API reference: https://platform.openai.com/docs/api-reference/completions/create (`logprobs`:
 * the top k as `choices[i].logprobs.top_logprobs[0]`, token text → log-prob; `prompt` may be a
 * list) and https://platform.openai.com/docs/api-reference/chat/create (`logprobs: true`,
 * `top_logprobs` ≤ 20: `choices[0].logprobs.content[0].top_logprobs[]` of `{token, logprob}`).
 *
 * Prompt: `completions` sends the rendered prompt as raw text (no chat template); `chat` sends it
 * as the user message and the server applies the model's chat template. Answer tokens follow the
 * token-text rule (answerTokens.ts): the generic API has no tokenize endpoint. Requests carry
 * `max_tokens: 1` and `temperature: 0`, and nothing but documented OpenAI fields.
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
  openAiEntry,
  promptText,
  rowPrompt,
} from './adapter';
import type {
  EngineApi,
  PositionLogprobs,
  RemoteEngineName,
  TemplateSide,
  TokenLogprob,
} from './types';

/** Choices of a reply in prompt order (servers may return them in any order). */
function choicesOf(reply: unknown, prompts: number): Record<string, unknown>[] {
  const choices = arrayAt(objectAt(reply, 'the reply').choices, 'choices').map((c, i) =>
    objectAt(c, `choice ${i}`),
  );
  choices.sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0));
  return [...expectCount(choices, prompts, 'choices')];
}

/** The first position's entries of a completions choice (`top_logprobs[0]`: token → log-prob). */
export function completionEntries(choice: Record<string, unknown>): TokenLogprob[] {
  if (choice.logprobs === null || choice.logprobs === undefined)
    throw new NoLogprobsError('the completion has no logprobs');
  const top = arrayAt(objectAt(choice.logprobs, 'logprobs').top_logprobs, 'top_logprobs');
  if (top.length === 0 || top[0] === null) throw new NoLogprobsError('top_logprobs is empty');
  return Object.entries(objectAt(top[0], 'top_logprobs[0]')).map(([t, v]) =>
    openAiEntry(t, logprobAt(v, `the log-prob of ${JSON.stringify(t)}`)),
  );
}

/** The first position's entries of a chat choice (`logprobs.content[0].top_logprobs`). */
export function chatEntries(choice: Record<string, unknown>): TokenLogprob[] {
  if (choice.logprobs === null || choice.logprobs === undefined)
    throw new NoLogprobsError('the chat completion has no logprobs');
  const content = objectAt(choice.logprobs, 'logprobs').content;
  if (content === null || content === undefined)
    throw new NoLogprobsError('logprobs.content is missing');
  const first = arrayAt(content, 'logprobs.content')[0];
  if (first === undefined) throw new NoLogprobsError('logprobs.content is empty');
  const top = arrayAt(objectAt(first, 'logprobs.content[0]').top_logprobs, 'top_logprobs');
  return top.map((e, i) => {
    const o = objectAt(e, `top_logprobs[${i}]`);
    if (typeof o.token !== 'string') throw new NoLogprobsError(`top_logprobs[${i}] has no token`);
    return openAiEntry(o.token, logprobAt(o.logprob, `top_logprobs[${i}].logprob`));
  });
}

/** The generic OpenAI-compatible adapter; vLLM's (vllm.ts) adds its extensions. */
export class OpenAiAdapter implements EngineAdapter {
  readonly engine: RemoteEngineName = 'openai';
  readonly api: EngineApi;
  readonly chatTemplate: TemplateSide;
  readonly maxPromptsPerRequest: number;
  readonly canNameIds: boolean = false;

  constructor(protected readonly ctx: AdapterContext) {
    this.api = ctx.api;
    this.chatTemplate = ctx.api === 'chat' ? 'engine' : 'none';
    // The completions API takes a list of prompts; chat takes one conversation per request.
    this.maxPromptsPerRequest = ctx.api === 'completions' ? 16 : 1;
  }

  prompt(document: string): RemotePrompt {
    return rowPrompt(this.api, this.ctx.template, document);
  }

  answerContext(): string | undefined {
    return this.api === 'chat' ? undefined : promptText(this.ctx.template, '');
  }

  /** Fields an extended server takes on top of OpenAI's (none here). */
  protected extensions(_ask: LogprobRequest): Record<string, unknown> {
    return {};
  }

  async logprobs(
    prompts: readonly RemotePrompt[],
    ask: LogprobRequest,
    signal?: AbortSignal,
  ): Promise<PositionLogprobs[]> {
    const kind = ask.ids && ask.ids.length > 0 ? 'named' : 'top';
    const base = this.ctx.http.basePath;
    if (this.api === 'completions') {
      const body = {
        model: this.ctx.model,
        prompt: prompts.map(p => ('text' in p ? p.text : '')),
        max_tokens: 1,
        temperature: 0,
        logprobs: ask.topK,
        ...this.extensions(ask),
      };
      const reply = await this.ctx.http.post(`${base}/completions`, body, signal);
      return choicesOf(reply, prompts.length).map(c => ({ kind, entries: completionEntries(c) }));
    }
    const out: PositionLogprobs[] = [];
    for (const p of prompts) {
      const body = {
        model: this.ctx.model,
        messages: 'messages' in p ? p.messages : [{ role: 'user', content: p.text }],
        max_tokens: 1,
        temperature: 0,
        logprobs: true,
        top_logprobs: ask.topK,
        ...this.extensions(ask),
      };
      const reply = await this.ctx.http.post(`${base}/chat/completions`, body, signal);
      out.push({ kind, entries: chatEntries(choicesOf(reply, 1)[0]) });
    }
    return out;
  }
}
