/**
 * Reading ASK-LLM's score from the log-probs an engine returned at the first answer position
 * (docs/engines.md#score). The score is P(answer) over the whole vocabulary, i.e. exp of the
 * answer token's log-prob, with answer variants summed, exactly as local scoring computes it.
 *
 * - Exact mode (`named` entries): the engine returned the log-probs of the requested ids; a
 *   requested id missing from the reply is an error, never a guess.
 * - Top-k mode (`top` entries): an answer token among them is read exactly; one that is missing
 *   makes the row a `bound`: P(answer) is then below the smallest returned probability (the k
 *   returned tokens are the k most likely), and that is all that is known. It is never 0.
 */
import type { AnswerToken, PositionLogprobs, RemoteRowResult, TokenLogprob } from './types';

/** OpenAI's stand-in log-prob for "not among the top 20" (its chat API reference). */
const OPENAI_UNLIKELY = -9999;

/**
 * A token's text in the form the token-text rule compares: the byte-level BPE space marker `Ġ`
 * and the SentencePiece marker `▁` at the start stand for a space (some engines return raw
 * pieces, others decoded text).
 */
export function tokenTextForm(text: string): string {
  return text.startsWith('Ġ') || text.startsWith('▁') ? ` ${text.slice(1)}` : text;
}

/** Whether a returned entry is the answer token (by id where both have one, else by text). */
export function isAnswerEntry(entry: TokenLogprob, answer: AnswerToken): boolean {
  if (answer.id !== undefined && entry.id !== undefined) return entry.id === answer.id;
  if (entry.text === undefined) return false;
  if (answer.token !== undefined && entry.text === answer.token) return true;
  return tokenTextForm(entry.text) === answer.continuation;
}

type Found = { p: number } | { missing: true } | { error: string };

/** The probability of one answer token among the entries. */
function findAnswer(entries: readonly TokenLogprob[], answer: AnswerToken): Found {
  const hits = entries.filter(e => isAnswerEntry(e, answer) && e.logprob > OPENAI_UNLIKELY);
  if (hits.length === 0) return { missing: true };
  const ps = new Set(hits.map(h => h.logprob));
  if (ps.size > 1)
    return {
      error: `${hits.length} returned tokens read ${JSON.stringify(answer.continuation)}; the token-text rule cannot tell them apart`,
    };
  const lp = hits[0].logprob;
  if (Number.isNaN(lp) || lp > 1e-6) return { error: `invalid log-prob ${lp} for the answer` };
  return { p: Math.exp(Math.min(0, lp)) };
}

/** Σ P over the answers, or which of them are missing. */
function sumAnswers(
  entries: readonly TokenLogprob[],
  answers: readonly AnswerToken[],
): { sum: number; missing: AnswerToken[]; error?: string } {
  let sum = 0;
  const missing: AnswerToken[] = [];
  for (const a of answers) {
    const f = findAnswer(entries, a);
    if ('error' in f) return { sum, missing, error: f.error };
    if ('missing' in f) missing.push(a);
    else sum += f.p;
  }
  return { sum, missing };
}

/** The smallest probability among the returned entries (the k-th most likely token's). */
function smallestProbability(entries: readonly TokenLogprob[]): number | undefined {
  let min = Infinity;
  for (const e of entries) if (e.logprob > OPENAI_UNLIKELY && e.logprob < min) min = e.logprob;
  return Number.isFinite(min) ? Math.exp(Math.min(0, min)) : undefined;
}

/**
 * The row's result from the entries of its first answer position: `yes` are summed into the
 * score, `no` into P(no) where all of them are present.
 */
export function readAnswer(
  position: PositionLogprobs,
  yes: readonly AnswerToken[],
  no: readonly AnswerToken[],
): RemoteRowResult {
  const { entries } = position;
  if (entries.length === 0)
    return { status: 'error', score: null, error: 'the engine returned no log-probs' };
  const y = sumAnswers(entries, yes);
  if (y.error) return { status: 'error', score: null, error: y.error };
  const n = no.length > 0 ? sumAnswers(entries, no) : undefined;
  const pNo = n && !n.error && n.missing.length === 0 ? { pNo: n.sum } : {};
  if (y.missing.length === 0) return { status: 'ok', score: y.sum, ...pNo };
  if (position.kind === 'named')
    return {
      status: 'error',
      score: null,
      error: `the engine did not return the log-prob of the requested answer token ${describe(y.missing[0])}`,
    };
  const smallest = smallestProbability(entries);
  if (smallest === undefined)
    return { status: 'error', score: null, error: 'the engine returned no usable log-probs' };
  // Each missing token is below the k-th probability; found variants add their own mass.
  return {
    status: 'bound',
    score: null,
    upperBound: Math.min(1, y.sum + y.missing.length * smallest),
    ...pNo,
  };
}

function describe(a: AnswerToken): string {
  return a.id !== undefined
    ? `${a.id} (${JSON.stringify(a.continuation)})`
    : JSON.stringify(a.continuation);
}
