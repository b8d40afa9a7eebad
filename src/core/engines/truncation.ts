/**
 * Remote rows truncated as local scoring truncates them (docs/engines.md#truncation): the
 * document is cut to the tokens the prompt leaves under `maxTokens`, by local scoring's own
 * `fitPrompt` (core/askllm/tokens.ts), with the engine's tokenizer behind its tokenize and
 * detokenize endpoints. So a row longer than the limit gets the same text, and the same score,
 * remotely as locally.
 *
 * `fitPrompt` is synchronous (the tokenizer threads run its source), and an endpoint is not: it
 * runs here over a memo of the engine's answers, and when it asks for something not yet known it
 * stops, the answer is fetched, and it runs again. It is deterministic, so each run gets one
 * step further; a row that fits needs one tokenize request, a long row about a dozen.
 */
import { fitPrompt, type PromptTokenizer } from '../askllm/tokens';

/** An engine's tokenizer, as its endpoints give it. */
export interface EngineTokenizer {
  /** How, in words (for the manifest and the probe line). */
  readonly route: string;
  /** Ids of a row's whole prompt as the model sees it (chat template applied where it is). */
  promptIds(document: string, signal?: AbortSignal): Promise<number[]>;
  /** Ids of a bare text, without special tokens. */
  plainIds(text: string, signal?: AbortSignal): Promise<number[]>;
  /** Text of ids, without special tokens. */
  decode(ids: readonly number[], signal?: AbortSignal): Promise<string>;
}

/** A document fitted to the limit. */
export interface FittedDocument {
  /** The document as it goes into the prompt (the whole one, or its kept prefix). */
  document: string;
  truncated: boolean;
  /** Prompt tokens of the fitted row. */
  tokens: number;
}

/** What `fitPrompt` asked for and the memo does not have yet. */
class Missing {
  constructor(readonly fetch: () => Promise<void>) {}
}

/** Per-run memo of an engine's tokenizer answers, keyed by text (or ids). */
class Memo {
  readonly prompt = new Map<string, number[]>();
  readonly plain = new Map<string, number[]>();
  readonly decoded = new Map<string, string>();
}

/**
 * Fits `document` (already sanitised, as local scoring's) to `maxTokens` prompt tokens with the
 * engine's tokenizer, exactly as local scoring's `fitPrompt` fits it with the local one.
 */
export async function fitRemoteDocument(
  tok: EngineTokenizer,
  document: string,
  maxTokens: number,
  signal?: AbortSignal,
): Promise<FittedDocument> {
  const memo = new Memo();
  let last = document;
  const known = <K, V>(map: Map<K, V>, key: K, fetch: () => Promise<V>): V => {
    const v = map.get(key);
    if (v !== undefined) return v;
    throw new Missing(async () => void map.set(key, await fetch()));
  };
  // The render step is the identity: the engine renders the prompt around the document itself.
  const sync: PromptTokenizer = {
    encodePrompt: doc => {
      const ids = known(memo.prompt, doc, () => tok.promptIds(doc, signal));
      last = doc;
      return ids;
    },
    encodePlain: text => known(memo.plain, text, () => tok.plainIds(text, signal)),
    decode: ids => known(memo.decoded, ids.join(','), () => tok.decode(ids, signal)),
    tokensOf: ids => ids.map(String),
  };
  for (;;) {
    try {
      const f = fitPrompt(sync, doc => doc, document, maxTokens);
      return { document: last, truncated: f.truncated, tokens: f.ids.length };
    } catch (e) {
      if (!(e instanceof Missing)) throw e;
      await e.fetch();
    }
  }
}
