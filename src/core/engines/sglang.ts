/**
 * SGLang's native API (docs/engines.md#sglang).
 *
 * API reference: https://docs.sglang.ai/basic_usage/native_api.html and
 * https://docs.sglang.ai/basic_usage/sampling_params.html
 * - `POST /generate` `{text, sampling_params: {max_new_tokens: 1, temperature: 0},
 *   return_logprob: true, logprob_start_len: -1, top_logprobs_num: k, token_ids_logprob: [ids]}`
 *   → `meta_info.output_top_logprobs[0]` and `meta_info.output_token_ids_logprobs[0]`, lists of
 *   `[logprob, token_id, text]`. `token_ids_logprob` names the answer ids whatever their rank:
 *   exact. `text` may be a list (several prompts per request; the reply is then a list).
 * - `POST /tokenize` `{model, prompt, add_special_tokens}` → `{tokens}`.
 *
 * Prompt: sent raw (`/generate` takes text, so no chat template). For a chat model through its
 * template, use SGLang's OpenAI route: `--engine openai --endpoint http://host:30000/v1 --api
 * chat` (top-k mode).
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
import { EngineCapabilityError } from './types';
import type { AnswerToken, EngineApi, PositionLogprobs, TokenLogprob } from './types';

/** `[logprob, id, text|null]` triples of one position. */
function triples(value: unknown, what: string): TokenLogprob[] {
  return arrayAt(value, what).map((t, i) => {
    const [lp, id, text] = arrayAt(t, `${what}[${i}]`);
    const entry: TokenLogprob = { logprob: logprobAt(lp, `${what}[${i}][0]`) };
    if (typeof id === 'number') entry.id = id;
    if (typeof text === 'string') entry.text = text;
    return entry;
  });
}

/** The first position of one `/generate` result. */
export function generateEntries(result: unknown, named: boolean): PositionLogprobs {
  const meta = objectAt(objectAt(result, 'a /generate result').meta_info, 'meta_info');
  const field = named ? 'output_token_ids_logprobs' : 'output_top_logprobs';
  const positions = meta[field];
  if (positions === null || positions === undefined)
    throw new NoLogprobsError(`meta_info.${field} is missing`);
  const first = arrayAt(positions, field)[0];
  if (first === undefined || first === null) throw new NoLogprobsError(`${field} is empty`);
  return { kind: named ? 'named' : 'top', entries: triples(first, `${field}[0]`) };
}

export class SglangAdapter implements EngineAdapter {
  readonly engine = 'sglang' as const;
  readonly api: EngineApi;
  readonly chatTemplate = 'none' as const;
  readonly maxPromptsPerRequest = 64;
  readonly canNameIds = true;
  readonly tokenizeRoute = 'POST /tokenize';

  constructor(private readonly ctx: AdapterContext) {
    if (ctx.api === 'chat')
      throw new EngineCapabilityError(
        "SGLang's /generate takes raw text, so --api chat has no meaning there: use --api completions, or SGLang's OpenAI route (--engine openai --endpoint http://HOST:30000/v1 --api chat, top-k mode).",
      );
    this.api = ctx.api;
  }

  private get root(): string {
    return this.ctx.http.basePath;
  }

  prompt(document: string): RemotePrompt {
    return { text: promptText(this.ctx.template, document) };
  }

  answerContext(): string {
    return promptText(this.ctx.template, '');
  }

  async tokenizeAnswers(words: readonly string[], signal?: AbortSignal): Promise<AnswerToken[]> {
    return answersByTokenizer(
      words,
      this.answerContext(),
      async (text, s) => {
        const reply = objectAt(
          await this.ctx.http.post(
            `${this.root}/tokenize`,
            { model: this.ctx.model, prompt: text, add_special_tokens: false },
            s,
          ),
          'the /tokenize reply',
        );
        const tokens = arrayAt(reply.tokens, 'tokens');
        if (!tokens.every(t => typeof t === 'number'))
          throw new Error('POST /tokenize: tokens are not ids');
        return { ids: tokens as number[] };
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
    const named = ask.ids !== undefined && ask.ids.length > 0;
    const body: Record<string, unknown> = {
      text: single ? texts[0] : texts,
      sampling_params: { max_new_tokens: 1, temperature: 0 },
      return_logprob: true,
      logprob_start_len: -1,
      top_logprobs_num: ask.topK,
      return_text_in_logprobs: true,
    };
    if (named) body.token_ids_logprob = single ? [...(ask.ids ?? [])] : texts.map(() => ask.ids);
    const reply = await this.ctx.http.post(`${this.root}/generate`, body, signal);
    const results = single ? [reply] : arrayAt(reply, 'the /generate reply');
    return expectCount(results, prompts.length, 'results').map(r => generateEntries(r, named));
  }
}
