/**
 * `winnow sample FILE --by density|askllm --scores S --size N|P%`: the selections of the paper.
 * DENSITY: an inverse-propensity sample (probability ∝ 1/score, without replacement, seeded).
 * ASK-LLM: the top N or P% by P(yes). Writes the selected rows as JSONL (line, content_hash,
 * score) and/or marks them in the decisions sidecar (`--mark keep|drop`) for `winnow export` and
 * the dataset view.
 */
import { resolve } from 'node:path';
import { sampleByDensity, sampleSize, type SampleTarget } from '../../core/density';
import type { DecisionRule } from '../../core/dataset/decisions';
import { contentHash, parseLine } from '../../core/jsonl';
import type { OptionTable } from '../args';
import { fileArgument } from '../args';
import type { Command, CommandContext, CommandOutcome } from '../command';
import { openDataset, type CliDataset } from '../dataset';
import { decisionsPath, readDecisions, writeDecisions } from '../decisions';
import { CliError, ExitCode, UsageError } from '../errors';
import { count } from '../progress';
import { openSink, outputFormat, type Column } from '../records';
import { readScoreSources } from '../scoreSources';

const options: OptionTable = {
  by: {
    type: 'string',
    value: 'KIND',
    help: 'density (default: inverse-propensity sample) or askllm (top by P(yes)).',
  },
  scores: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    help: 'Output of winnow score / density / merge (required).',
  },
  size: {
    type: 'string',
    value: 'N|P%',
    help: 'How many rows: a count or a percentage of the scored rows (required).',
  },
  seed: {
    type: 'string',
    value: 'S',
    help: 'DENSITY: the sampling seed (default 0); the same seed gives the same rows.',
  },
  out: {
    type: 'string',
    value: 'OUT',
    help: 'Write the selected rows (line, content_hash, score) here; - for stdout.',
  },
  format: { type: 'string', value: 'FMT', help: 'jsonl or parquet (default: from OUT).' },
  mark: {
    type: 'string',
    value: 'keep|drop',
    help: 'Record the selection in the decisions sidecar (for export and the editor).',
  },
  decisions: {
    type: 'string',
    value: 'FILE',
    help: 'The decisions file (default FILE.winnow.json beside the dataset).',
  },
};

const COLUMNS: readonly Column[] = [
  { name: 'line', type: 'INT64' },
  { name: 'content_hash', type: 'STRING' },
  { name: 'score', type: 'DOUBLE' },
];

function target(v: string | undefined): SampleTarget {
  if (v === undefined)
    throw new UsageError('--size is required (a count such as 1000, or a percentage such as 10%)');
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v.trim());
  if (m) return { percent: Number(m[1]) };
  if (/^\d+$/.test(v.trim())) return { count: Number(v) };
  throw new UsageError(`--size must be a count (1000) or a percentage (10%), got "${v}"`);
}

/** The scored rows of the file in line order: lines, hashes, scores. */
async function scoredRows(
  ds: CliDataset,
  byHash: ReadonlyMap<string, number>,
): Promise<{ lines: number[]; hashes: string[]; values: number[] }> {
  const lines: number[] = [];
  const hashes: string[] = [];
  const values: number[] = [];
  for await (const batch of ds.file.iterateRows(0))
    for (const r of batch) {
      if (!parseLine(r.bytes, { maxLineBytes: ds.maxLineBytes, firstLine: r.index === 0 }).ok)
        continue;
      const h = contentHash(r.bytes);
      const v = byHash.get(h);
      if (v === undefined) continue;
      lines.push(r.index);
      hashes.push(h);
      values.push(v);
    }
  return { lines, hashes, values };
}

/** Indices into the scored rows that the selection keeps, ascending. */
function select(
  by: 'density' | 'askllm',
  values: number[],
  t: SampleTarget,
  seed: number,
): number[] {
  try {
    if (by === 'density') return Array.from(sampleByDensity(values, t, seed).indices);
    const k = sampleSize(values.length, t);
    const order = values.map((_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
    return order.slice(0, k).sort((a, b) => a - b);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const { flags } = ctx;
  const file = fileArgument(flags, 'sample');
  const by = flags.choice('by', ['density', 'askllm'] as const, 'density');
  const t = target(flags.string('size'));
  const seed = flags.int('seed', 0, 0, 0xffffffff);
  const mark = flags.has('mark')
    ? flags.choice('mark', ['keep', 'drop'] as const, 'keep')
    : undefined;
  const out = flags.string('out');
  if (!out && !mark)
    throw new UsageError('give --out (the selected rows), --mark keep|drop (the sidecar), or both');
  if (flags.strings('scores').length === 0)
    throw new UsageError('--scores is required (outputs of winnow score or winnow density)');
  const source = (await readScoreSources(flags.strings('scores')))[by];
  if (!source)
    throw new CliError(
      `--scores has no ${by} scores (give the output of winnow ${by === 'askllm' ? 'score' : 'density'})`,
    );
  const ds = await openDataset(file);
  try {
    const rows = await scoredRows(ds, source.byHash);
    if (rows.values.length === 0)
      throw new CliError(`no row of ${file} has a ${by} score in ${source.files.join(', ')}`);
    const picked = select(by, rows.values, t, seed);
    if (out) await writeSelection(ctx, out, flags.string('format'), rows, picked);
    const marked = mark
      ? await markRows(
          ds.path,
          flags.string('decisions'),
          mark,
          by,
          picked.map(i => rows.hashes[i]),
          t,
          seed,
          rows.values,
          picked,
        )
      : undefined;
    const threshold =
      by === 'askllm' && picked.length > 0 ? Math.min(...picked.map(i => rows.values[i])) : null;
    return {
      code: ExitCode.ok,
      summary: {
        by,
        eligible: rows.values.length,
        selected: picked.length,
        seed: by === 'density' ? seed : null,
        threshold,
        out: out ?? null,
        decisions: marked ?? null,
      },
      lines: [
        `Selected ${count(picked.length)} of ${count(rows.values.length)} scored rows ` +
          (by === 'density'
            ? `by DENSITY (inverse propensity, seed ${seed})`
            : `by ASK-LLM (top, P(yes) ≥ ${threshold})`),
        ...(marked ? [`Marked them ${mark} in ${marked}`] : []),
      ],
    };
  } finally {
    await ds.close();
  }
}

async function writeSelection(
  ctx: CommandContext,
  out: string,
  format: string | undefined,
  rows: { lines: number[]; hashes: string[]; values: number[] },
  picked: number[],
): Promise<void> {
  if (out === '-') {
    for (const i of picked)
      ctx.out(
        JSON.stringify({
          line: rows.lines[i] + 1,
          content_hash: rows.hashes[i],
          score: rows.values[i],
        }),
      );
    return;
  }
  const sink = await openSink(resolve(out), outputFormat(format, out), COLUMNS);
  try {
    for (const i of picked)
      await sink.add({
        line: rows.lines[i] + 1,
        content_hash: rows.hashes[i],
        score: rows.values[i],
      });
    await sink.finish();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

/** Records the selection in the decisions file with its rule; resolves to the file. */
async function markRows(
  datasetPath: string,
  flag: string | undefined,
  decision: 'keep' | 'drop',
  by: 'density' | 'askllm',
  hashes: string[],
  t: SampleTarget,
  seed: number,
  values: number[],
  picked: number[],
): Promise<string> {
  const saved = await readDecisions(datasetPath, flag);
  const keep = new Set(saved.keep);
  const drop = new Set(saved.drop);
  for (const h of hashes) {
    keep.delete(h);
    drop.delete(h);
    (decision === 'keep' ? keep : drop).add(h);
  }
  const rule: DecisionRule =
    by === 'density'
      ? {
          kind: 'densitySample',
          decision,
          rows: hashes.length,
          count: hashes.length,
          seed,
          at: new Date().toISOString(),
          scope: 'winnow sample (CLI)',
        }
      : {
          kind: 'topPercent',
          decision,
          rows: hashes.length,
          percent:
            'percent' in t ? t.percent : Math.round((1e4 * hashes.length) / values.length) / 100,
          threshold: picked.length > 0 ? Math.min(...picked.map(i => values[i])) : undefined,
          at: new Date().toISOString(),
          scope: 'winnow sample (CLI)',
        };
  await writeDecisions(datasetPath, flag, {
    ...saved,
    keep: [...keep],
    drop: [...drop],
    rules: [...saved.rules, rule],
  });
  return decisionsPath(datasetPath, flag);
}

export const sampleCommand: Command = {
  name: 'sample',
  summary: 'DENSITY sampling (inverse propensity) and top-k by ASK-LLM score.',
  usage:
    'winnow sample FILE --scores SCORES --size N|P% [--by density|askllm] [--out OUT] [--mark keep]',
  description:
    'Selects rows by their scores (outputs of winnow score / density / merge, matched to the ' +
    'rows by content hash). --by density draws an inverse-propensity sample: rows without ' +
    'replacement with probability proportional to 1/score (Efraimidis–Spirakis keys; the same ' +
    'seed gives the same rows), which thins crowded regions and keeps coverage, as the paper ' +
    'recommends. --by askllm keeps the top N or P% by P(yes) (ties by line). The selection goes ' +
    'to --out and/or into the decisions sidecar with --mark, which winnow export and the dataset ' +
    'view read. The dataset itself is never written.',
  options,
  examples: [
    'winnow sample data.jsonl --scores density.jsonl --size 10% --seed 7 --mark keep',
    'winnow sample data.jsonl --by askllm --scores scores.jsonl --size 5000 --out top.jsonl',
  ],
  run,
};
