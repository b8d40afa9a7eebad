/**
 * `winnow compare`: judge A/B (docs/judge.md#judge-ab), a thin command over the core:
 * Spearman, Kendall, keep↔drop flips at each scorer's calibrated threshold (with labels) and at
 * the same keep rate, the AUC of each, and the flipping lines.
 *
 * - `A.jsonl B.jsonl [--labels L.jsonl]`: two scores files joined on `line` (`compareFiles`);
 * - `FILE`: two scorers cached for FILE (`--scorer A --scorer B`, or the only two) against
 *   the decisions of its sidecar.
 */
import { compareColumns, compareFiles, type CompareReport } from '../../core/judge';
import type { OptionTable } from '../args';
import type { Command, CommandContext, CommandOutcome } from '../command';
import { pickColumn, readCachedColumns, readFileLabels } from '../cachedScores';
import { openDataset } from '../dataset';
import { ExitCode, UsageError } from '../errors';
import { WHOLE } from '../shard';
import { numberFlag } from './calibrate';

const options: OptionTable = {
  labels: {
    type: 'string',
    value: 'L.jsonl',
    help: 'Labels (rows with "line" and "decision"): calibrate each scorer, flips at its threshold.',
  },
  'keep-rate': {
    type: 'string',
    value: 'R',
    help: 'Share both keep for the same-keep-rate flips (default: what A keeps at its threshold, else 0.5).',
  },
  scorer: {
    type: 'string',
    multiple: true,
    value: 'S',
    help: 'With FILE, twice: the cached scorers A and B (number in the list, or model).',
  },
  decisions: {
    type: 'string',
    value: 'PATH',
    help: 'With FILE: the decisions file (default: the sidecar FILE.winnow.json).',
  },
};

/** `winnow compare FILE`: two of FILE's cached scorers against its sidecar's decisions. */
async function compareFile(ctx: CommandContext, file: string, keepRate: number | undefined) {
  const ds = await openDataset(file);
  try {
    const { rows, columns, storage } = await readCachedColumns(ctx.cacheDir, ds, WHOLE);
    const wanted = ctx.flags.strings('scorer');
    if (wanted.length === 0 && columns.length === 2) wanted.push('1', '2');
    if (wanted.length !== 2)
      throw new UsageError(
        `winnow compare FILE needs two scorers (--scorer A --scorer B); ${file} has ` +
          `${columns.length} cached:\n` +
          columns.map(c => `  ${c.index}: ${c.name} (${c.scored} rows)`).join('\n'),
      );
    const [a, b] = wanted.map(w => pickColumn(columns, w, file, storage));
    if (a === b)
      throw new UsageError(`--scorer ${wanted[0]} and ${wanted[1]} name the same scorer`);
    const l = await readFileLabels(ds, rows, ctx.flags.string('decisions'));
    const lineNumbers = Uint32Array.from(rows.lines, i => i + 1);
    const report = compareColumns(
      a.pYes,
      b.pYes,
      l.keep + l.drop > 0 ? l.labels : undefined,
      lineNumbers,
      {
        ...(keepRate !== undefined ? { keepRate } : {}),
      },
    );
    const named = (c: typeof a) => ({ number: c.index, name: c.name, model: c.scorer.meta.model });
    return { report, extra: { file, scorerA: named(a), scorerB: named(b), decisions: l.path } };
  } finally {
    await ds.close();
  }
}

const fig = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : String(Number(v.toPrecision(4)));

function lines(r: CompareReport): string[] {
  const out = [
    `${r.rows} rows scored by both · Spearman ${fig(r.spearman)} · Kendall τ ${fig(r.kendall)}`,
  ];
  const t = r.atThresholds;
  if (t)
    out.push(
      `flips at the calibrated thresholds (A ≥ ${fig(t.thresholdA)}, B ≥ ${fig(t.thresholdB)}): ` +
        `${t.flips} (${t.keptByAOnly} kept by A only, ${t.keptByBOnly} by B only)`,
    );
  const k = r.atKeepRate;
  out.push(
    `flips at the same keep rate ${fig(k.keepRate)}: ${k.flips} ` +
      `(${k.keptByAOnly} kept by A only, ${k.keptByBOnly} by B only)`,
  );
  if (r.calibrationA || r.calibrationB)
    out.push(
      `AUC against the labels: A ${fig(r.calibrationA?.auc)} · B ${fig(r.calibrationB?.auc)}`,
    );
  return out;
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const positionals = ctx.flags.positionals;
  const keepRate = numberFlag(ctx, 'keep-rate');
  let report: CompareReport;
  let extra: Record<string, unknown> = {};
  if (positionals.length === 1) {
    if (ctx.flags.string('labels'))
      throw new UsageError('With FILE the labels are its sidecar (or --decisions), not --labels');
    ({ report, extra } = await compareFile(ctx, positionals[0], keepRate));
  } else if (positionals.length === 2) {
    const [a, b] = positionals;
    report = await compareFiles(
      a,
      b,
      ctx.flags.string('labels'),
      keepRate !== undefined ? { keepRate } : {},
    );
  } else
    throw new UsageError(
      'Give two scores files (winnow compare A.jsonl B.jsonl) or one dataset (winnow compare FILE)',
    );
  const { calibrationA, calibrationB, ...rest } = report;
  const brief = (c: typeof calibrationA) =>
    c
      ? { auc: c.auc, threshold: c.threshold, labelled: c.labelled, warnings: c.warnings }
      : undefined;
  const names = extra.scorerA
    ? [
        `A: ${(extra.scorerA as { name: string }).name}`,
        `B: ${(extra.scorerB as { name: string }).name}`,
      ]
    : [];
  return {
    code: ExitCode.ok,
    summary: {
      ...extra,
      ...rest,
      ...(calibrationA ? { calibrationA: brief(calibrationA) } : {}),
      ...(calibrationB ? { calibrationB: brief(calibrationB) } : {}),
    },
    lines: [...names, ...lines(report)],
  };
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Compare two scorers of the same rows (judge A/B: correlation, flips, AUC).',
  usage:
    'winnow compare A.jsonl B.jsonl [--labels L.jsonl] [options] | winnow compare FILE [--scorer A --scorer B]',
  description:
    'Joins two scores files on "line" and compares them over the rows both scored: Spearman and ' +
    'Kendall, keep↔drop flips at each calibrated threshold (with --labels) and at the same keep ' +
    'rate, the AUC of each against the labels, and the lines that flip (docs/judge.md). With ' +
    'one FILE it compares two scorers cached for it, against the decisions of its sidecar.',
  options,
  examples: [
    'winnow compare flan.jsonl qwen.jsonl --labels labels.jsonl --json',
    'winnow compare data.jsonl --scorer 1 --scorer 2',
  ],
  run,
};
