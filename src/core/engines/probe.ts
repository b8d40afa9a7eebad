/**
 * The capability probe that runs before every remote run (docs/engines.md#probe): finds the
 * answer tokens (the engine's tokenize endpoint where it has one, else the token-text rule),
 * then asks for the answer's log-prob on a probe document and says which mode the engine gives:
 *
 * - `exact`: the engine returned the log-probs of the named answer ids (vLLM
 *   `logprob_token_ids`, SGLang `token_ids_logprob`);
 * - `top-k`: it returned the k most likely tokens;
 * - neither: the run is refused with an {@link EngineCapabilityError} saying why.
 */
import { type EngineAdapter, NoLogprobsError } from './adapter';
import { answersByText } from './answerTokens';
import { EngineRequestError, endpointHost } from './http';
import { type RetryPolicy, withRetries } from './retry';
import {
  type AnswerToken,
  EngineCapabilityError,
  type LogprobMode,
  type PositionLogprobs,
} from './types';

/** The document of the probe request. */
export const PROBE_DOCUMENT = 'The quick brown fox jumps over the lazy dog.';

/** What the probe found. */
export interface ProbeResult {
  mode: LogprobMode;
  yes: AnswerToken[];
  no: AnswerToken[];
  /** How the answer tokens were found, in words. */
  foundBy: string;
  /** What the probe saw, in one line. */
  note: string;
}

export interface ProbeOptions {
  adapter: EngineAdapter;
  endpoint: string;
  model: string;
  yesWords: readonly string[];
  noWords: readonly string[];
  topK: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** Answer tokens by the adapter's tokenizer, else (no such endpoint: 404/405/501) by token text. */
async function findAnswers(
  o: ProbeOptions,
  words: readonly string[],
): Promise<{ tokens: AnswerToken[]; foundBy: string }> {
  const a = o.adapter;
  const tokenize = a.tokenizeAnswers?.bind(a);
  if (tokenize) {
    try {
      const tokens = await withRetries(() => tokenize(words, o.signal), o.retry, o.signal);
      return { tokens, foundBy: `the engine's tokenizer (${a.tokenizeRoute ?? 'tokenize'})` };
    } catch (e) {
      if (!(e instanceof EngineRequestError && [404, 405, 501].includes(e.status))) throw e;
      o.log?.(`${a.tokenizeRoute} is not available (${e.message}); using the token-text rule`);
    }
  }
  const tokens = answersByText(words, a.answerContext());
  const forms = tokens.map(t => JSON.stringify(t.continuation)).join(' or ');
  return { tokens, foundBy: `the token-text rule (the returned token whose text is ${forms})` };
}

/** One probe request, retried like any request; a refusal names the engine and the cause. */
async function ask(
  o: ProbeOptions,
  ids: readonly number[] | undefined,
  topK: number,
): Promise<PositionLogprobs> {
  const prompt = o.adapter.prompt(PROBE_DOCUMENT);
  const what = `${o.adapter.engine} at ${endpointHost(o.endpoint)} (model ${JSON.stringify(o.model)})`;
  try {
    const [pos] = await withRetries(
      () => o.adapter.logprobs([prompt], { ids, topK }, o.signal),
      o.retry,
      o.signal,
    );
    return pos;
  } catch (e) {
    if (e instanceof NoLogprobsError)
      throw new EngineCapabilityError(
        `${what} returns no log-probs (${e.message}), so it gives neither the exact answer probability nor the top-k log-probs that ASK-LLM's score needs. ${hint(o.adapter.engine)}`,
      );
    if (e instanceof EngineRequestError)
      throw new EngineCapabilityError(`${what} refused the probe request: ${e.message}`);
    throw e;
  }
}

/** What to do about an engine without log-probs. */
function hint(engine: string): string {
  if (engine === 'ollama') return 'Ollama returns log-probs from v0.12.11 on.';
  if (engine === 'openai')
    return 'Use a server whose OpenAI route implements logprobs (vLLM, SGLang, llama.cpp), or its native engine.';
  return 'Check that the server version supports log-probs.';
}

/** Whether every id is among the entries. */
function namesIds(pos: PositionLogprobs, ids: readonly number[]): boolean {
  return ids.every(id => pos.entries.some(e => e.id === id));
}

/**
 * Runs the probe. Throws {@link EngineCapabilityError} when the engine gives no log-probs, and
 * `MultiTokenAnswerError` when an answer word is not one token for the engine's tokenizer.
 */
export async function probeEngine(o: ProbeOptions): Promise<ProbeResult> {
  const yes = await findAnswers(o, o.yesWords);
  let no: AnswerToken[] = [];
  try {
    no = (await findAnswers(o, o.noWords)).tokens;
  } catch {
    // The normalised variant is optional: without a single-token "no" it is not offered.
  }
  const all = [...yes.tokens, ...no];
  const ids = all.every(a => a.id !== undefined) ? all.map(a => a.id as number) : undefined;
  if (o.adapter.canNameIds && ids) {
    // With k = 1 a server that ignores the named ids returns one token at most (the sampled one
    // is the top one at temperature 0), so two named ids coming back prove it honours them.
    const probeIds = [...new Set(ids)];
    for (let c = 0; probeIds.length < 2; c++) if (!probeIds.includes(c)) probeIds.push(c);
    const named = await ask(o, probeIds, 1).catch((e: unknown) => {
      if (e instanceof EngineCapabilityError) return undefined; // e.g. the field is unknown: try top-k
      throw e;
    });
    if (named && namesIds(named, probeIds))
      return {
        mode: 'exact',
        yes: yes.tokens,
        no,
        foundBy: yes.foundBy,
        note: `exact: the engine returned the log-probs of the named answer ids ${ids.join(', ')}`,
      };
  }
  const top = await ask(o, undefined, o.topK);
  if (top.entries.length === 0)
    throw new EngineCapabilityError(
      `${o.adapter.engine} at ${endpointHost(o.endpoint)} returned an empty log-prob list. ${hint(o.adapter.engine)}`,
    );
  if (!ids && top.entries.every(e => e.text === undefined))
    throw new EngineCapabilityError(
      `${o.adapter.engine} returns token ids without text and has no tokenize endpoint: the answer token cannot be identified.`,
    );
  const capped = top.entries.length < o.topK ? ` (asked for ${o.topK}: the server caps k)` : '';
  return {
    mode: 'top-k',
    yes: yes.tokens,
    no,
    foundBy: yes.foundBy,
    note: `top-k: the engine returned the ${top.entries.length} most likely tokens${capped}; rows whose answer is not among them get an upper bound`,
  };
}
