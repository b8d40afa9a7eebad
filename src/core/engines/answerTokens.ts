/**
 * Finding the answer tokens of a remote model (docs/engines.md#answer-tokens), by the same rule
 * as local scoring (docs/askllm.md#answer-tokens): the answer is the one token that
 * `tokenize(prompt + continuation)` adds to `tokenize(prompt)`.
 *
 * - Through the engine's tokenize endpoint where it has one (vLLM, SGLang, llama.cpp): the ids
 *   are exact, and a multi-token answer is refused with the same error as locally.
 * - Else by the token-text rule: the answer is the returned token whose text is the
 *   continuation the model writes (`yes` right after a chat generation prompt, which ends in a
 *   newline for ChatML and Llama-3 templates; ` yes` after `ANSWER:` in a raw prompt), with a
 *   leading `Ġ` or `▁` read as a space (logprobs.ts).
 */
import { answerContinuation, continuationToken } from '../askllm/tokens';
import type { AnswerToken } from './types';

/** Token ids of a text without special tokens, with the pieces where the engine gives them. */
export type TokenizeText = (
  text: string,
  signal?: AbortSignal,
) => Promise<{ ids: number[]; pieces?: string[] }>;

/** Maps ids to pieces for messages; unknown ids show as `<id>`. */
function pieceNames(
  ...runs: { ids: number[]; pieces?: string[] }[]
): (ids: readonly number[]) => string[] {
  const names = new Map<number, string>();
  for (const r of runs)
    r.ids.forEach((id, i) => r.pieces?.[i] !== undefined && names.set(id, r.pieces[i]));
  return ids => ids.map(id => names.get(id) ?? `<${id}>`);
}

/**
 * Answer tokens through a tokenize endpoint. `context` is the prompt without a document, as the
 * model sees it before the answer (for a chat API: the rendered template with the generation
 * prompt). Throws `MultiTokenAnswerError` when an answer is not one token there.
 */
export async function answersByTokenizer(
  words: readonly string[],
  context: string,
  tokenize: TokenizeText,
  signal?: AbortSignal,
): Promise<AnswerToken[]> {
  const base = await tokenize(context, signal);
  const out: AnswerToken[] = [];
  for (const word of words) {
    const continuation = answerContinuation(word, context);
    const full = await tokenize(context + continuation, signal);
    const names = pieceNames(base, full);
    const id = continuationToken(word, base.ids, full.ids, names);
    out.push({ word, continuation, id, token: names([id])[0], source: 'tokenize-endpoint' });
  }
  return out;
}

/**
 * Answer tokens from token ids the caller computed (e.g. vLLM's chat tokenizer, which renders
 * the template itself): `base` before the answer, `full[i]` with answer i appended.
 */
export function answersFromIds(
  words: readonly string[],
  base: { ids: number[]; pieces?: string[] },
  full: readonly { ids: number[]; pieces?: string[] }[],
): AnswerToken[] {
  return words.map((word, i) => {
    const names = pieceNames(base, full[i]);
    const id = continuationToken(word, base.ids, full[i].ids, names);
    return { word, continuation: word, id, token: names([id])[0], source: 'tokenize-endpoint' };
  });
}

/**
 * Answer tokens by the token-text rule. `context` is the raw prompt without a document; undefined
 * for a chat API, whose generation prompt ends in a newline, so the answer follows directly.
 */
export function answersByText(words: readonly string[], context?: string): AnswerToken[] {
  return words.map(word => ({
    word,
    continuation: context === undefined ? word : answerContinuation(word, context),
    source: 'token-text',
  }));
}
