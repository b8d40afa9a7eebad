/**
 * Inlay hints: the ASK-LLM score at the end of every scored line of a dataset shown as text
 * (`winnow.inlineScores.enabled` turns them off). The label is short (3 significant digits);
 * the tooltip has the full value, the model and the prompt.
 */
import type { InlayHint, Range } from 'vscode-languageserver/node';
import type { Dataset } from '../dataset/dataset';
import { lineLengthUtf16 } from '../dataset/lineText';
import type { ScoringService } from '../askllm/scoringService';
import { formatProbability, formatProbabilityShort } from '../askllm/format';
import type { DistillService } from '../judge/distillService';
import { distilledProvenance } from '../judge/provenance';

/** Lines answered per request at most (VS Code asks for the visible range plus a margin). */
const maxLines = 5000;

/** The hints of the lines in `range`. */
export async function scoreInlayHints(
  dataset: Dataset,
  range: Range,
  scoring: ScoringService,
  distill?: DistillService,
): Promise<InlayHint[]> {
  const start = Math.max(0, range.start.line);
  const last = Math.min(range.end.line, dataset.file.lineCount - 1, start + maxLines - 1);
  if (last < start) return [];
  const rows = await dataset.file.readRows(start, last - start + 1);
  const scores = await scoring.rowScores(dataset, rows);
  const distilled = await distill?.column(dataset);
  if (scores.size === 0 && !distilled) return [];
  const meta = await scoring.describe(dataset);
  const about = meta ? `\n\nModel ${meta.model} (${meta.dtype}) · prompt ${meta.promptName}` : '';
  const hints: InlayHint[] = [];
  for (const row of rows) {
    const s = scores.get(row.index);
    const d = distilled && row.index < distilled.values.length ? distilled.values[row.index] : NaN;
    if (!s) {
      // A row only the distilled model scored: labelled distilled, never ASK-LLM.
      if (d === d && distilled)
        hints.push(distilledHint(row, d, distilledProvenance(distilled.meta)));
      continue;
    }
    const variant =
      s.normalized !== undefined ? ` · variant ${formatProbabilityShort(s.normalized)}` : '';
    hints.push({
      position: { line: row.index, character: lineLengthUtf16(row.bytes, row.index === 0) },
      label: `ASK-LLM ${formatProbabilityShort(s.pYes)}${variant}${d === d ? ` · distilled ${formatProbabilityShort(d)}` : ''}`,
      paddingLeft: true,
      tooltip: {
        kind: 'markdown',
        value:
          `ASK-LLM P(yes) = ${formatProbability(s.pYes)}` +
          (s.normalized !== undefined
            ? `\n\nVariant (not the ASK-LLM score): P(yes) / (P(yes) + P(no)) = ${formatProbability(s.normalized)}`
            : '') +
          about.replace(/[\\`*_[\]<>]/g, c => `\\${c}`) +
          (d === d && distilled
            ? `\n\nDistilled (not the ASK-LLM score) = ${formatProbability(d)}: ${distilledProvenance(distilled.meta)}`
            : ''),
      },
    });
  }
  return hints;
}

function distilledHint(
  row: { index: number; bytes: Uint8Array },
  d: number,
  provenance: string,
): InlayHint {
  return {
    position: { line: row.index, character: lineLengthUtf16(row.bytes, row.index === 0) },
    label: `distilled ${formatProbabilityShort(d)}`,
    paddingLeft: true,
    tooltip: {
      kind: 'markdown',
      value: `Distilled score (not the ASK-LLM score) = ${formatProbability(d)}: ${provenance}`,
    },
  };
}
