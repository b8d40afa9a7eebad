/**
 * Judge health (docs/judge.md#judge-health): on the first batch of a run, how much of the
 * judge's next-token probability goes to the configured answer tokens, to "no", and to their
 * case and space variants (`Yes`, ` yes`, `YES`…, single tokens only), with the top next tokens
 * of a few rows. A chat model that answers `Yes` gives the configured `yes` a sliver of the
 * mass; a prompt that does not fit the model gives yes and no together little of it. Either
 * is worth one warning, with the numbers and a fix.
 */

import type {
  HealthFix,
  JudgeHealth,
  JudgeProbe,
  TokenMass,
  TopTokens,
} from '../../shared/protocol/worker';

export type { HealthFix, JudgeHealth, JudgeProbe, TokenMass, TopTokens };

/** Below this, yes + no (with variants) get "little" of the mass: the prompt does not fit. */
export const MISFIT_MASS = 0.1;
/** A variant "gets much" at this mass, and at least VARIANT_RATIO × the configured answer's. */
export const VARIANT_MASS = 0.05;
export const VARIANT_RATIO = 2;

/**
 * The case and space variants of an answer word (`yes` → `Yes`, `YES`, ` yes`, ` Yes`, ` YES`),
 * without the word itself and without `exclude`d words.
 */
export function answerVariantWords(word: string, exclude: readonly string[] = []): string[] {
  const w = word.trim();
  if (w === '') return [];
  const cased = [w.toLowerCase(), w[0].toUpperCase() + w.slice(1).toLowerCase(), w.toUpperCase()];
  const all = [...cased, ...cased.map(c => ` ${c}`)];
  const skip = new Set([word, ...exclude]);
  return [...new Set(all)].filter(v => !skip.has(v));
}

const sum = (m: readonly TokenMass[]): number => m.reduce((s, t) => s + t.mass, 0);
const pct = (p: number): string =>
  p >= 0.1
    ? `${(p * 100).toFixed(0)}%`
    : p >= 0.001
      ? `${(p * 100).toFixed(1)}%`
      : p.toExponential(1);
const quoted = (t: TokenMass): string => `"${t.word}"`;

/** The top tokens of the first probed row, in words: `"Yes" 62%, "The" 4%`. */
function topText(top: readonly TopTokens[]): string {
  const first = top[0];
  if (!first) return '';
  return first.tokens.map(t => `${JSON.stringify(t.token)} ${pct(t.p)}`).join(', ');
}

/** The verdict on a probe: ok, a variant that takes the mass, or a prompt that does not fit. */
export function judgeHealth(probe: JudgeProbe): JudgeHealth {
  const yesMass = sum(probe.yes);
  const noMass = sum(probe.no);
  const yesVariantMass = sum(probe.yesVariants);
  const noVariantMass = sum(probe.noVariants);
  const base = { ...probe, yesMass, noMass, yesVariantMass, noVariantMass };
  const best = [...probe.yesVariants].sort((a, b) => b.mass - a.mass)[0];
  const configured = probe.yes.map(quoted).join(' + ');
  if (best && best.mass >= VARIANT_MASS && best.mass >= VARIANT_RATIO * yesMass)
    return {
      ...base,
      status: 'variant',
      warning:
        `The judge puts ${pct(best.mass)} of its next-token probability on ${quoted(best)} ` +
        `(token ${JSON.stringify(best.token)}) but only ${pct(yesMass)} on the configured ${configured}: ` +
        `P(yes) misses most of the answer. Add ${quoted(best)} as an answer variant (a new score cache key).`,
      fix: { kind: 'addVariant', word: best.word },
    };
  const total = yesMass + noMass + yesVariantMass + noVariantMass;
  if (total < MISFIT_MASS) {
    const top = topText(probe.top);
    return {
      ...base,
      status: 'misfit',
      warning:
        `Yes and no together get ${pct(total)} of the judge's next-token probability ` +
        `(${configured} ${pct(yesMass)}, no ${pct(noMass + noVariantMass)}): the prompt does not fit this model` +
        (top ? `; its likeliest next tokens are ${top}` : '') +
        '. Check the prompt template.',
      fix: { kind: 'openPrompt' },
    };
  }
  return { ...base, status: 'ok' };
}
