/**
 * Tokenizer-level ASK-LLM logic that does not depend on a particular library: answer-token
 * resolution in context (docs/askllm.md#answer-tokens) and document-only truncation (#truncation).
 */

/** The few tokenizer operations the scorer needs. */
export interface PromptTokenizer {
  /** Token ids of a full prompt string, as the model will see it (special tokens included). */
  encodePrompt(text: string): number[];
  /** Token ids of a bare string, without special tokens. */
  encodePlain(text: string): number[];
  /** Text of token ids, without special tokens. */
  decode(ids: readonly number[]): string;
  /** Token strings of ids, for error messages. */
  tokensOf(ids: readonly number[]): string[];
}

/** One answer word and its resolved token id. */
export interface ResolvedAnswer {
  /** The word as configured, e.g. `yes`. */
  word: string;
  /** The exact continuation that was tokenised, e.g. ` yes` after `ANSWER:`. */
  continuation: string;
  id: number;
  token: string;
}

/** Thrown when an answer word is not a single token in context. */
export class MultiTokenAnswerError extends Error {
  constructor(
    readonly word: string,
    readonly tokens: readonly string[],
  ) {
    super(
      `The answer "${word}" is ${tokens.length} tokens for this tokenizer ` +
        `(${tokens.map(t => JSON.stringify(t)).join(', ')}); ASK-LLM reads one next-token ` +
        'probability, so each answer must be a single token. Choose another answer word or model.',
    );
    this.name = 'MultiTokenAnswerError';
  }
}

/**
 * Resolves the token the model would emit for `word` right after `context` (docs/askllm.md#answer-tokens):
 * `encode(context + continuation)` minus `encode(context)`, checked to be one token.
 *
 * - Encoder-decoder models (`context` undefined) emit the answer as the start of a fresh
 *   decoder text, so the word is tokenised alone (T5: `yes` → `▁yes`).
 * - Decoder-only models continue the prompt. After a newline (a chat generation prompt) the
 *   word follows directly; after other text (`ANSWER:`) a space is inserted, the form the
 *   model would write (`Ġyes` / `▁yes`).
 */
export function resolveAnswer(
  tok: PromptTokenizer,
  word: string,
  context?: string,
): ResolvedAnswer {
  if (word.trim() === '') throw new Error('The answer word is empty');
  if (context === undefined) {
    const ids = tok.encodePlain(word);
    if (ids.length !== 1) throw new MultiTokenAnswerError(word, tok.tokensOf(ids));
    return { word, continuation: word, id: ids[0], token: tok.tokensOf(ids)[0] };
  }
  const continuation = answerContinuation(word, context);
  const id = continuationToken(
    word,
    tok.encodePlain(context),
    tok.encodePlain(context + continuation),
    ids => tok.tokensOf(ids),
  );
  return { word, continuation, id, token: tok.tokensOf([id])[0] };
}

/**
 * The text a decoder-only model writes for `word` right after `context`: after a newline (a chat
 * generation prompt) the word itself, after other text (`ANSWER:`) a space and the word.
 */
export function answerContinuation(word: string, context: string): string {
  const needsSpace = context.length > 0 && !/\s$/.test(context) && !/^\s/.test(word);
  return needsSpace ? ` ${word}` : word;
}

/**
 * The one token that `full` (the ids of context + continuation) adds to `base` (the ids of the
 * context). Throws {@link MultiTokenAnswerError} when it adds more than one, or when the
 * continuation merged into the context's own last tokens (the answer is then not a separate
 * next token).
 */
export function continuationToken(
  word: string,
  base: readonly number[],
  full: readonly number[],
  tokensOf: (ids: readonly number[]) => string[],
): number {
  let common = 0;
  while (common < base.length && common < full.length && base[common] === full[common]) common++;
  const extra = full.slice(common);
  if (common !== base.length || extra.length !== 1) {
    const tokens = tokensOf(extra.length > 0 ? extra : full.slice(-1));
    throw new MultiTokenAnswerError(
      word,
      common !== base.length ? [...tokensOf(base.slice(common)), '+', ...tokens] : tokens,
    );
  }
  return extra[0];
}

/** A prompt fitted to the token limit. */
export interface FittedPrompt {
  /** Token ids of the whole prompt (what the model receives). */
  ids: number[];
  /** Whether the document was shortened. */
  truncated: boolean;
  /** Document tokens kept (only computed when truncated). */
  documentTokens?: number;
}

/**
 * Builds the prompt for `document` and, if it exceeds `maxTokens`, shortens the DOCUMENT (never
 * the question) token-wise, decoding the kept tokens back to text (as nano-askllm does), until
 * the whole prompt fits. Throws if the prompt without any document is already too long.
 *
 * Only a prefix of a long document is ever tokenised, so a row of many megabytes costs what a
 * row of a few thousand characters costs: the document is first cut (at a whitespace) to
 * 8 characters per token of the limit, more than any real text needs, and the cut grows
 * (×4) while the prompt of the cut text has fewer than `maxTokens` + 16 tokens. Those 16 extra
 * tokens keep the tokens at the cut, which may differ from those of the whole text, out of the
 * part that is kept; the document's last characters (from a whitespace on) are put back after
 * the cut, so that the prompt's own tokens around the document are those of the whole text, and
 * the result equals tokenising the whole document and then truncating it.
 * The growth stops at 256 characters per token of the limit: a document whose first
 * `256 × maxTokens` characters do not fill the limit (a huge run of whitespace that the
 * tokenizer collapses) is scored on those characters.
 *
 * Self-contained (it uses only its parameters): the tokenizer threads run its source.
 */
export function fitPrompt(
  tok: PromptTokenizer,
  render: (document: string) => string,
  document: string,
  maxTokens: number,
): FittedPrompt {
  const margin = 16;
  const limit = Math.min(document.length, 256 * maxTokens);
  /** The document cut to at most `size` characters, before a whitespace where there is one. */
  const cut = (size: number): string => {
    if (size >= document.length) return document;
    const ws = /\s/;
    for (let i = size; i > size - 256 && i > 0; i--)
      if (ws.test(document[i])) return document.slice(0, i);
    const code = document.charCodeAt(size - 1);
    // Never split a surrogate pair.
    return document.slice(0, code >= 0xd800 && code <= 0xdbff ? size - 1 : size);
  };
  let doc = cut(Math.min(limit, 8 * (maxTokens + margin)));
  let ids = tok.encodePrompt(render(doc));
  while (doc.length < limit && ids.length < maxTokens + margin) {
    doc = cut(Math.min(limit, 4 * doc.length));
    ids = tok.encodePrompt(render(doc));
  }
  const shortened = doc.length < document.length;
  if (ids.length <= maxTokens)
    return shortened
      ? { ids, truncated: true, documentTokens: tok.encodePlain(doc).length }
      : { ids, truncated: false };
  // The document's end, from a whitespace on, meets the prompt's suffix as in the whole text, so
  // the prompt's own token count (which `keep` below subtracts) is that of the whole document.
  if (shortened) {
    let from = Math.max(doc.length, document.length - 256);
    while (from < document.length && !/\s/.test(document[from])) from++;
    doc += document.slice(from);
    ids = tok.encodePrompt(render(doc));
  }
  const docIds = tok.encodePlain(doc);
  let keep = docIds.length - (ids.length - maxTokens) - 1;
  for (let attempt = 0; attempt < 8 && keep > 0; attempt++) {
    ids = tok.encodePrompt(render(tok.decode(docIds.slice(0, keep))));
    if (ids.length <= maxTokens) return { ids, truncated: true, documentTokens: keep };
    keep -= ids.length - maxTokens + 1;
  }
  ids = tok.encodePrompt(render(''));
  if (ids.length > maxTokens)
    throw new Error(
      `The prompt alone is ${ids.length} tokens, more than the max-token setting (${maxTokens}); raise the setting or shorten the prompt template.`,
    );
  return { ids, truncated: true, documentTokens: 0 };
}
