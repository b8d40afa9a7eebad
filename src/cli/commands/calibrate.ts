/**
 * `winnow calibrate`: the judge's calibration against the user's keep/drop labels
 * (docs/judge.md#calibration), a thin command over the core: AUC, the threshold reaching the
 * target precision (else best F1), precision, recall, F1 and Cohen's κ at it, with seeded
 * bootstrap intervals.
 *
 * - `--scores S.jsonl --labels L.jsonl`: two files joined on `line` (`calibrateFiles`);
 * - `FILE`: the cached ASK-LLM scores of FILE (one scorer, `--scorer`) and its sidecar.
 */
import { calibrate, calibrateFiles, type CalibrateReport } from '../../core/judge';
import type { OptionTable } from '../args';
import type { Command, CommandContext, CommandOutcome } from '../command';
import { pickColumn, readCachedColumns, readFileLabels } from '../cachedScores';
import { openDataset } from '../dataset';
import { ExitCode, UsageError } from '../errors';
import { WHOLE } from '../shard';

const options: OptionTable = {
  scores: {
    type: 'string',
    value: 'S.jsonl',
    help: 'Scores: rows with "line" and "askllm_score" (what winnow score writes).',
  },
  labels: {
    type: 'string',
    value: 'L.jsonl',
    help: 'Labels: rows with "line" and "decision" ("keep" / "drop").',
  },
  'target-precision': {
    type: 'string',
    value: 'P',
    help: 'The precision the threshold must reach (default 0.9).',
  },
  replicates: { type: 'string', value: 'N', help: 'Bootstrap resamples (default 1000; 0: none).' },
  seed: { type: 'string', value: 'N', help: 'Seed of the bootstrap (default 1).' },
  scorer: {
    type: 'string',
    value: 'S',
    help: 'With FILE: which cached scorer (its number in the list, or its model).',
  },
  decisions: {
    type: 'string',
    value: 'PATH',
    help: 'With FILE: the decisions file (default: the sidecar FILE.winnow.json).',
  },
};

/** A number flag, or undefined when absent; a usage error when not a number. */
export function numberFlag(ctx: CommandContext, name: string): number | undefined {
  const v = ctx.flags.string(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

const fig = (v: number | null): string => (v === null ? '—' : String(Number(v.toPrecision(4))));

function lines(r: CalibrateReport): string[] {
  const iv = r.intervals;
  const range = (x: readonly [number, number] | undefined): string =>
    x ? ` (95%: ${fig(x[0])}–${fig(x[1])})` : '';
  return [
    `${r.labelled} labelled rows (${r.keep} keep, ${r.drop} drop) of ${r.scored} scored; ` +
      `${r.unscoredLabels} labels without a score left out`,
    `AUC ${fig(r.auc)}${range(iv?.auc)}`,
    `threshold ${fig(r.threshold)}${range(iv?.threshold)} (${r.rule ?? 'none'}, target precision ${r.targetPrecision})`,
    `precision ${fig(r.precision)}${range(iv?.precision)} · recall ${fig(r.recall)}${range(iv?.recall)}` +
      ` · κ ${fig(r.kappa)}${range(iv?.kappa)}`,
    ...r.warnings.map(w => `warning: ${w}`),
  ];
}

/** The bootstrap and threshold flags as core options. */
function calibrationOptions(ctx: CommandContext) {
  const targetPrecision = numberFlag(ctx, 'target-precision');
  const replicates = numberFlag(ctx, 'replicates');
  const seed = numberFlag(ctx, 'seed');
  return {
    ...(targetPrecision !== undefined ? { targetPrecision } : {}),
    ...(replicates !== undefined ? { replicates } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** `winnow calibrate FILE`: the cached scores of one scorer against the sidecar's decisions. */
async function calibrateFile(
  ctx: CommandContext,
  file: string,
): Promise<CalibrateReport & Record<string, unknown>> {
  const ds = await openDataset(file);
  try {
    const { rows, columns, storage } = await readCachedColumns(ctx.cacheDir, ds, WHOLE);
    const column = pickColumn(columns, ctx.flags.string('scorer'), file, storage);
    const l = await readFileLabels(ds, rows, ctx.flags.string('decisions'));
    const scores = column.pYes.map((p, i) => (l.labels[i] >= 0 ? p : NaN));
    let unscored = 0;
    for (let i = 0; i < scores.length; i++)
      if (l.labels[i] >= 0 && !Number.isFinite(scores[i])) unscored++;
    const { curve, ...c } = calibrate(scores, l.labels, calibrationOptions(ctx));
    void curve;
    return {
      ...c,
      scoreRows: rows.hashes.length,
      scored: column.scored,
      labels: l.keep + l.drop,
      unscoredLabels: unscored,
      file,
      scorer: { number: column.index, name: column.name, model: column.scorer.meta.model },
      decisions: l.path,
    };
  } finally {
    await ds.close();
  }
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const scores = ctx.flags.string('scores');
  const labels = ctx.flags.string('labels');
  const [file, ...rest] = ctx.flags.positionals;
  if (rest.length > 0)
    throw new UsageError(`winnow calibrate takes one FILE; unexpected "${rest[0]}"`);
  if (file !== undefined && (scores || labels))
    throw new UsageError('Give either FILE or --scores S.jsonl --labels L.jsonl, not both.');
  if (file === undefined && (!scores || !labels))
    throw new UsageError('Give FILE, or --scores S.jsonl and --labels L.jsonl.');
  const report =
    file !== undefined
      ? await calibrateFile(ctx, file)
      : await calibrateFiles(scores!, labels!, calibrationOptions(ctx));
  const head =
    'scorer' in report ? [`${file}: ${String((report.scorer as { name: string }).name)}`] : [];
  return {
    code: ExitCode.ok,
    summary: report as unknown as Record<string, unknown>,
    lines: [...head, ...lines(report)],
  };
}

export const calibrateCommand: Command = {
  name: 'calibrate',
  summary: 'Calibrate ASK-LLM scores against keep/drop labels (AUC, threshold, κ).',
  usage: 'winnow calibrate --scores S.jsonl --labels L.jsonl [options] | winnow calibrate FILE',
  description:
    'Joins the scores and the labels on "line" (or, for FILE, takes the ASK-LLM scores cached ' +
    'for FILE and the keep/drop decisions of its sidecar) and measures the judge against the ' +
    'labels: ROC AUC, the lowest threshold reaching the target precision (else the best-F1 ' +
    "one), precision, recall, F1 and Cohen's κ at it, with seeded 95% bootstrap intervals " +
    '(docs/judge.md). Nothing is written.',
  options,
  examples: [
    'winnow calibrate --scores scores.jsonl --labels labels.jsonl --json',
    'winnow calibrate data.jsonl --target-precision 0.95',
  ],
  run,
};
