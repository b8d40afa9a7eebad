/**
 * What the grid's cells and tooltips and the detail panel say about a row's scores and length:
 * the same facts as the text editor's hover (P(yes), its percentile and rank in the file, the
 * model and prompt, the prompt tokens, DENSITY rank), worded the same way. Pure (no DOM):
 * unit-tested in Node.
 */
import {
  formatProbability,
  importedText,
  standingText,
} from '../../../src/shared/format/scoreFormat';
import type { RowDetail, RowScores, ScoreSourceView } from '../../../src/shared/protocol/webview';

type AskLlmSource = NonNullable<ScoreSourceView['askllm']>;

const count = (n: number) => n.toLocaleString('en-US');

/** The Length cell: characters. */
export function lengthText(row: { readonly chars: number }): string {
  return count(row.chars);
}

/** The Tokens cell: prompt tokens once the row is scored, `511+` when the document was cut. */
export function tokensCellText(row: RowScores): string | undefined {
  if (row.tokens === undefined) return undefined;
  return `${count(row.tokens)}${row.tokensTruncated ? '+' : ''}`;
}

/**
 * Prompt tokens in words: "94 prompt tokens for <model> (document truncated to fit 512 tokens)";
 * `withModel: false` leaves the model out (where it is named already).
 */
export function tokensText(
  row: RowScores,
  askllm: AskLlmSource | undefined,
  withModel = true,
): string | undefined {
  if (row.tokens === undefined) return undefined;
  return (
    `${count(row.tokens)} prompt ${row.tokens === 1 ? 'token' : 'tokens'}` +
    (askllm && withModel ? ` for ${askllm.model}` : '') +
    (row.tokensTruncated
      ? askllm
        ? ` (document truncated to fit ${count(askllm.maxTokens)} tokens)`
        : ' (document truncated)'
      : '')
  );
}

/** The Length cell's tooltip. */
export function lengthTooltip(
  row: { readonly chars: number; readonly bytes: number } & RowScores,
  askllm: AskLlmSource | undefined,
): string {
  const tokens = tokensText(row, askllm);
  return (
    `${count(row.chars)} ${row.chars === 1 ? 'character' : 'characters'} · ` +
    `${count(row.bytes)} ${row.bytes === 1 ? 'byte' : 'bytes'}` +
    (tokens ? ` · ${tokens}` : '') +
    '\nSorting by length uses characters.'
  );
}

/** The labelled variant, when it was sent: never to be read as the ASK-LLM score. */
export function variantText(row: RowScores): string | undefined {
  return row.normalized !== undefined
    ? `P(yes) / (P(yes) + P(no)) = ${formatProbability(row.normalized)}`
    : undefined;
}

/** Where the score stands in the file: "87th percentile in this file (rank 4 of 30 scored rows)". */
export function standingOf(row: RowScores, askllm: AskLlmSource | undefined): string | undefined {
  return row.scoreRank !== undefined && row.scorePercentile !== undefined && askllm
    ? standingText({ rank: row.scoreRank, of: askllm.scored, percentile: row.scorePercentile })
    : undefined;
}

/** P(yes) and where it stands: "P(yes) = 0.114235 · 87th percentile in this file (rank 4 of 30 scored rows)". */
export function scoreText(row: RowScores, askllm: AskLlmSource | undefined): string | undefined {
  if (row.score === undefined) return undefined;
  const standing = standingOf(row, askllm);
  return `P(yes) = ${formatProbability(row.score)}${standing ? ` · ${standing}` : ''}`;
}

/** The model and prompt behind the scores: "Model m (fp32, cpu) · prompt p · answer ▁yes". */
export function scorerText(askllm: AskLlmSource): string {
  const how = [askllm.dtype, askllm.device].filter(Boolean).join(', ');
  return (
    `Model ${askllm.model}${how ? ` (${how})` : ''} · prompt ${askllm.promptName}` +
    (askllm.answerTokens.length ? ` · answer ${askllm.answerTokens.join(' + ')}` : '')
  );
}

/** DENSITY in words: "DENSITY rank 12 (1 = most isolated) · score 3.25". */
export function densityText(row: RowScores): string | undefined {
  if (row.densityFailed !== undefined && row.density === undefined)
    return `DENSITY: could not embed this row: ${row.densityFailed}`;
  if (row.densityRank === undefined && row.density === undefined) return undefined;
  return (
    'DENSITY ' +
    [
      row.densityRank !== undefined ? `rank ${count(row.densityRank)} (1 = most isolated)` : '',
      row.density !== undefined ? `score ${row.density.toPrecision(4)}` : '',
    ]
      .filter(Boolean)
      .join(' · ')
  );
}

/**
 * The row's hover in the grid (score cell and line number): the facts of the text editor's
 * hover, one per line.
 */
export function scoreTooltip(row: RowScores, sources: ScoreSourceView): string {
  const a = sources.askllm;
  const lines: string[] = [];
  const score = scoreText(row, a);
  if (score) {
    lines.push(`ASK-LLM ${score}`);
    if (a) {
      const tokens = tokensText(row, a, false);
      lines.push(scorerText(a) + (tokens ? ` · ${tokens}` : ''));
      if (a.imported) lines.push(`Scores ${importedText(a.imported)}`);
    }
    const variant = variantText(row);
    if (variant) lines.push(`Variant (not the ASK-LLM score): ${variant}`);
  } else if (row.scoreFailed !== undefined)
    lines.push(`ASK-LLM: could not score this row: ${row.scoreFailed}`);
  else lines.push('ASK-LLM: not scored yet (Winnow: Score Current File)');
  if (row.distilled !== undefined && sources.distilled)
    lines.push(
      `Distilled ${formatProbability(row.distilled)} (not the ASK-LLM score): ${sources.distilled.provenance}`,
    );
  const density = densityText(row);
  if (density) lines.push(density);
  return lines.join('\n');
}

/** The detail panel's Scores section, as (label, value) pairs. */
export function scoreFacts(d: RowDetail): [string, string][] {
  const facts: [string, string][] = [];
  const a = d.sources.askllm;
  if (d.score !== undefined) {
    const standing = standingOf(d, a);
    facts.push(['ASK-LLM P(yes)', formatProbability(d.score) + (standing ? ` · ${standing}` : '')]);
  } else
    facts.push([
      'ASK-LLM P(yes)',
      d.scoreFailed !== undefined ? `could not score: ${d.scoreFailed}` : 'not scored',
    ]);
  const variant = variantText(d);
  if (variant) facts.push(['Variant (not the ASK-LLM score)', variant]);
  if (a) {
    const how = [a.dtype, a.device].filter(Boolean).join(', ');
    facts.push(['Model', a.model + (how ? ` (${how})` : '')]);
    facts.push([
      'Prompt',
      `${a.promptName} · hash ${a.promptHash.slice(0, 12)}` +
        (a.answerTokens.length ? ` · answer ${a.answerTokens.join(' + ')}` : ''),
    ]);
    if (a.imported) facts.push(['Scores', importedText(a.imported)]);
    if (a.health)
      facts.push([
        'Judge health',
        a.health.warning ?? 'ok: the answer tokens get the judge’s answer',
      ]);
  }
  const tokens = tokensText(d, a, false);
  if (tokens) facts.push(['Prompt tokens', tokens]);
  const t = d.sources.distilled;
  if (t)
    facts.push([
      'Distilled (not the ASK-LLM score)',
      `${d.distilled !== undefined ? formatProbability(d.distilled) : 'no embedding'} · ${t.provenance} · ridge on ${t.embedder} embeddings, judge ${t.judgeModel}`,
    ]);
  const b = d.sources.compare;
  if (b)
    facts.push([
      'Second scorer (B) P(yes)',
      `${d.compareScore !== undefined ? formatProbability(d.compareScore) : 'not scored'} · ${b.label}`,
    ]);
  const dn = d.sources.density;
  facts.push([
    'DENSITY',
    d.density !== undefined
      ? `score ${d.density.toPrecision(4)}${d.densityRank ? ` · rank ${count(d.densityRank)} (1 = most isolated)` : ''}`
      : d.densityFailed !== undefined
        ? `could not embed: ${d.densityFailed}`
        : 'not computed',
  ]);
  if (dn)
    facts.push([
      'Sketch',
      `${dn.model} · ${count(dn.buckets)} buckets × ${dn.hashesPerRow} hashes · bandwidth ${dn.bandwidth} · seed ${dn.seed}`,
    ]);
  if (dn?.imported) facts.push(['DENSITY scores', importedText(dn.imported)]);
  facts.push(['Length', `${count(d.chars)} characters · ${count(d.bytes)} bytes`]);
  if (d.fields.length) facts.push(['Fields', d.fields.join(', ')]);
  return facts;
}

/**
 * The header's note on imported scores, or undefined when none are: the short text ("Imported
 * scores: ASK-LLM by m · prompt p · DENSITY by e") and the full provenance for its tooltip.
 */
export function importedScoresNote(
  sources: ScoreSourceView,
): { text: string; title: string } | undefined {
  const a = sources.askllm?.imported ? sources.askllm : undefined;
  const d = sources.density?.imported ? sources.density : undefined;
  if (!a && !d) return undefined;
  const parts: string[] = [];
  const title: string[] = [];
  if (a?.imported) {
    parts.push(`ASK-LLM by ${a.model} · prompt ${a.promptName}`);
    title.push(
      `ASK-LLM scores ${importedText(a.imported)}`,
      `${scorerText(a)} · prompt hash ${a.promptHash.slice(0, 12)}`,
    );
  }
  if (d?.imported) {
    parts.push(`DENSITY by ${d.model}`);
    title.push(`DENSITY scores ${importedText(d.imported)}`, `Embedded by ${d.model}`);
  }
  return { text: `Imported scores: ${parts.join(' · ')}`, title: title.join('\n') };
}
