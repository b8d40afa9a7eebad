/**
 * `winnow calibrate --scores S.jsonl --labels L.jsonl` in the core (docs/judge.md#cli): the two
 * files are joined on `line`, and the result is the calibration as one JSON object with at
 * least `auc`, `threshold`, `precision`, `recall` and `kappa`.
 *
 * - S rows: `{"line": N, "askllm_score": P, ...}` (what `winnow score` writes; a null or
 *   missing score is an unscored row);
 * - L rows: `{"line": N, "decision": "keep" | "drop"}`.
 *
 * Bad input is an error naming the file and line; nothing is guessed.
 */
import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import { type Calibration, type CalibrationOptions, calibrate } from './calibration';

/** The calibration of two files, with what the join found. */
export interface CalibrateReport extends Omit<Calibration, 'curve'> {
  /** Rows in the scores file, and those with a score. */
  readonly scoreRows: number;
  readonly scored: number;
  /** Labels in the labels file, and those whose line has no score (left out). */
  readonly labels: number;
  readonly unscoredLabels: number;
  /** The precision-recall curve, only when asked for (`curve: true`). */
  readonly curve?: Calibration['curve'];
}

export interface CalibrateFilesOptions extends CalibrationOptions {
  /** Include the (thinned) precision-recall curve in the report. */
  readonly curve?: boolean;
}

/** Parses JSONL text into objects, with errors that name `name` and the 1-based line. */
function* jsonObjects(text: string, name: string): Generator<[number, Record<string, unknown>]> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${name}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new Error(`${name}:${i + 1}: expected a JSON object`);
    yield [i + 1, v as Record<string, unknown>];
  }
}

function lineOf(o: Record<string, unknown>, name: string, at: number): number {
  const line = o.line;
  if (typeof line !== 'number' || !Number.isInteger(line) || line < 0)
    throw new Error(
      `${name}:${at}: "line" must be a whole number ≥ 0, got ${JSON.stringify(line)}`,
    );
  return line;
}

/** Scores by `line` from a scores file's text (null = unscored). */
export function parseScoreRows(text: string, name = 'scores'): Map<number, number | null> {
  const out = new Map<number, number | null>();
  for (const [at, o] of jsonObjects(text, name)) {
    const line = lineOf(o, name, at);
    const s = o.askllm_score;
    if (s !== undefined && s !== null && (typeof s !== 'number' || !Number.isFinite(s)))
      throw new Error(
        `${name}:${at}: "askllm_score" must be a number or null, got ${JSON.stringify(s)}`,
      );
    if (out.has(line)) throw new Error(`${name}:${at}: line ${line} appears twice`);
    out.set(line, typeof s === 'number' ? s : null);
  }
  return out;
}

/** Decisions by `line` from a labels file's text (true = keep). */
export function parseLabelRows(text: string, name = 'labels'): Map<number, boolean> {
  const out = new Map<number, boolean>();
  for (const [at, o] of jsonObjects(text, name)) {
    const line = lineOf(o, name, at);
    const d = o.decision;
    if (d !== 'keep' && d !== 'drop')
      throw new Error(
        `${name}:${at}: "decision" must be "keep" or "drop", got ${JSON.stringify(d)}`,
      );
    if (out.has(line)) throw new Error(`${name}:${at}: line ${line} appears twice`);
    out.set(line, d === 'keep');
  }
  return out;
}

/** Calibrates the scores of one file's text against the labels of the other's. */
export function calibrateTexts(
  scoresText: string,
  labelsText: string,
  options: CalibrateFilesOptions = {},
  names: { scores: string; labels: string } = { scores: 'scores', labels: 'labels' },
): CalibrateReport {
  const scores = parseScoreRows(scoresText, names.scores);
  const labels = parseLabelRows(labelsText, names.labels);
  const s: number[] = [];
  const l: boolean[] = [];
  let unscored = 0;
  for (const [line, keep] of labels) {
    const score = scores.get(line);
    if (score === undefined || score === null) unscored++;
    else {
      s.push(score);
      l.push(keep);
    }
  }
  let scored = 0;
  for (const v of scores.values()) if (v !== null) scored++;
  const { curve, ...calibration } = calibrate(s, l, options);
  return {
    ...calibration,
    scoreRows: scores.size,
    scored,
    labels: labels.size,
    unscoredLabels: unscored,
    ...(options.curve ? { curve } : {}),
  };
}

/** Reads and calibrates `scoresPath` against `labelsPath` (the CLI's `--scores` / `--labels`). */
export async function calibrateFiles(
  scoresPath: string,
  labelsPath: string,
  options: CalibrateFilesOptions = {},
): Promise<CalibrateReport> {
  const [scoresText, labelsText] = await Promise.all([
    fsp.readFile(scoresPath, 'utf8'),
    fsp.readFile(labelsPath, 'utf8'),
  ]);
  return calibrateTexts(scoresText, labelsText, options, {
    scores: basename(scoresPath),
    labels: basename(labelsPath),
  });
}
