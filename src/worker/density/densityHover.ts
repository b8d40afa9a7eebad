/**
 * The DENSITY part of a row's hover: rank, score and what the score means, or why there is none.
 */
import { importedText } from '../../shared/format/scoreFormat';
import { codeSpan, escapeMarkdown, formatCount } from '../editor/markdown';
import type { DensityColumn } from './densityService';

/** Markdown lines for row `index` (empty when nothing should be shown). */
export function renderDensityHover(
  column: DensityColumn | undefined,
  index: number,
  computing: boolean,
  parsed: boolean,
  failure?: string,
): string[] {
  if (!parsed) return [];
  const rank = column?.ranks[index] ?? 0;
  if (failure !== undefined && rank === 0 && !computing)
    return [`**DENSITY:** none: this row could not be embedded (${escapeMarkdown(failure)})`];
  if (!column) {
    return [
      computing
        ? '**DENSITY:** computing…'
        : '**DENSITY:** not computed yet (run **Winnow: Compute Density**)',
    ];
  }
  const meta = column.results.meta;
  if (rank === 0) {
    return [
      computing
        ? '**DENSITY:** computing…'
        : '**DENSITY:** none for this content (the file changed since DENSITY was computed; compute it again)',
    ];
  }
  const score = column.scores[index];
  // The mean counter over rows: how many rows (itself included) share its bucket per hash.
  const share = meta.points > 0 ? (100 * score) / meta.points : NaN;
  const lines = [
    `**DENSITY:** rank ${formatCount(rank)} of ${formatCount(column.scored)} (1 = most isolated) · ` +
      `score ${formatScore(score)}` +
      (Number.isFinite(share)
        ? ` (≈ ${share < 0.1 ? share.toPrecision(2) : share.toFixed(1)} % of rows share its bucket per hash)`
        : ''),
    `*Embedded by* ${codeSpan(meta.model)} *(≤ ${formatCount(meta.maxTokens)} tokens), sketch R=${meta.rows} B=${meta.buckets}` +
      `${meta.hashesPerRow > 1 ? ` K=${meta.hashesPerRow}` : ''} w=${escapeMarkdown(String(meta.bandwidth))} seed=${meta.seed}*`,
    ...(meta.imported ? [escapeMarkdown(`Scores ${importedText(meta.imported)}`)] : []),
  ];
  return lines;
}

function formatScore(s: number): string {
  return s >= 100 ? s.toFixed(1) : s.toPrecision(4);
}
