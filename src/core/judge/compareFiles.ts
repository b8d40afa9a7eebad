/**
 * `winnow compare` in the core (docs/judge.md#judge-ab): two scores files (the format `winnow
 * score` writes: `line` and `askllm_score`), optionally a labels file (`line` and `decision`),
 * joined on `line`; the result is the comparison as one JSON object, and the lines that flip.
 */
import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import { parseLabelRows, parseScoreRows } from './calibrateFiles';
import { type CompareOptions, type Comparison, compareScorers, flipRows } from './compare';

/** The comparison of two scores files, with the lines where the scorers disagree. */
export interface CompareReport extends Comparison {
  /** Lines (as the files name them) that flip at each scorer's threshold (else at the keep rate). */
  readonly flipLines: readonly number[];
}

/** Compares the scores of two files' texts, against the labels of a third when given. */
export function compareTexts(
  aText: string,
  bText: string,
  labelsText: string | undefined,
  options: Omit<CompareOptions, 'labels'> = {},
  names = { a: 'scores A', b: 'scores B', labels: 'labels' },
): CompareReport {
  const a = parseScoreRows(aText, names.a);
  const b = parseScoreRows(bText, names.b);
  const labels = labelsText === undefined ? undefined : parseLabelRows(labelsText, names.labels);
  const lines = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  const va = Float64Array.from(lines, l => a.get(l) ?? NaN);
  const vb = Float64Array.from(lines, l => b.get(l) ?? NaN);
  const vl = labels
    ? Float64Array.from(lines, l => {
        const d = labels.get(l);
        return d === undefined ? -1 : d ? 1 : 0;
      })
    : undefined;
  return compareColumns(va, vb, vl, lines, options);
}

/**
 * Compares two score columns of the same rows (NaN: not scored), against labels per row (1
 * keep, 0 drop, else none) when given; `lines` names each row in `flipLines`.
 */
export function compareColumns(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  labels: ArrayLike<number> | undefined,
  lines: ArrayLike<number>,
  options: Omit<CompareOptions, 'labels'> = {},
): CompareReport {
  const c = compareScorers(a, b, { ...options, ...(labels ? { labels } : {}) });
  const at = c.atThresholds ?? c.atKeepRate;
  const flips = flipRows(a, b, at.thresholdA, at.thresholdB);
  return { ...c, flipLines: Array.from(flips, i => lines[i]) };
}

/** Reads and compares two scores files (and a labels file). */
export async function compareFiles(
  aPath: string,
  bPath: string,
  labelsPath?: string,
  options: Omit<CompareOptions, 'labels'> = {},
): Promise<CompareReport> {
  const [a, b, l] = await Promise.all([
    fsp.readFile(aPath, 'utf8'),
    fsp.readFile(bPath, 'utf8'),
    labelsPath ? fsp.readFile(labelsPath, 'utf8') : Promise.resolve(undefined),
  ]);
  return compareTexts(a, b, l, options, {
    a: basename(aPath),
    b: basename(bPath),
    labels: labelsPath ? basename(labelsPath) : 'labels',
  });
}
