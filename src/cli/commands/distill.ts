/**
 * `winnow distill FILE --out OUT.jsonl`: the distilled scorer (docs/judge.md#distilled-scorer),
 * the FineWeb-Edu recipe over the core's `distillRows`: a ridge model from each row's DENSITY
 * embedding to the judge's log-odds, fitted on a sample of the rows the judge scored (cached
 * ASK-LLM scores of FILE; drawn by DENSITY when `--density` gives its scores), then applied to
 * every row. Rows the cache has no embedding for are embedded first (resumable, as `embed`).
 *
 * The output's column is `distilled_score` and its manifest's kind `distilled`: these are never
 * judge scores, and `sample` / `export` refuse them where judge scores are asked for.
 */
import { dirname, resolve } from 'node:path';
import { distillRows, type DistillRowsResult } from '../../core/judge';
import { removeStaleTempFiles } from '../../core/jsonl';
import type { OptionTable } from '../args';
import { fileArgument } from '../args';
import { pickColumn, readCachedColumns, readFileLabels, type CachedColumn } from '../cachedScores';
import type { Command, CommandContext, CommandOutcome } from '../command';
import { openDataset, schemaFacts, type CliDataset } from '../dataset';
import { embedShard, withEmbedder } from '../densityRun';
import { CliError, ExitCode } from '../errors';
import { count } from '../progress';
import {
  manifestOf,
  openSink,
  outputFacts,
  outputFormat,
  writeManifest,
  type Column,
  type OutputFile,
} from '../records';
import { readScoreSources } from '../scoreSources';
import { WHOLE } from '../shard';
import { EMBEDDER_OPTIONS, embedderSettings } from './densityFlags';

/** `winnow distill` rows. */
export const DISTILLED_COLUMNS: readonly Column[] = [
  { name: 'line', type: 'INT64' },
  { name: 'content_hash', type: 'STRING' },
  { name: 'distilled_score', type: 'DOUBLE' },
  { name: 'in_fit_sample', type: 'BOOLEAN' },
];

const { shard: _s, 'shard-count': _c, ...embedderOptions } = EMBEDDER_OPTIONS;
void _s;
void _c;

const options: OptionTable = {
  out: { type: 'string', value: 'OUT.jsonl', help: 'Where the distilled scores go (or .parquet).' },
  format: { type: 'string', value: 'F', help: 'jsonl or parquet (default: from --out).' },
  sample: {
    type: 'string',
    value: 'N',
    help: 'Judge-scored rows to fit on (default 3000, at most those the judge scored).',
  },
  density: {
    type: 'string',
    value: 'D.jsonl',
    help: 'DENSITY scores (winnow density): draw the fit sample by density, covering the space.',
  },
  scorer: {
    type: 'string',
    value: 'S',
    help: 'Which cached judge to distil (its number in the list, or its model).',
  },
  decisions: {
    type: 'string',
    value: 'PATH',
    help: 'Decisions for the AUC against labels (default: the sidecar FILE.winnow.json).',
  },
  seed: { type: 'string', value: 'N', help: 'Seed of the sample and the split (default 1).' },
  ...embedderOptions,
};

/** DENSITY scores per row from `--density`, or undefined. */
async function densityOf(path: string | undefined, hashes: readonly string[]) {
  if (!path) return undefined;
  const d = (await readScoreSources([path])).density;
  if (!d) throw new CliError(`${path} holds no DENSITY scores (give the output of winnow density)`);
  return Float64Array.from(hashes, h => d.byHash.get(h) ?? NaN);
}

/** The manifest beside the distilled scores: how they were made, and that they are not P(yes). */
function manifest(
  ds: CliDataset,
  judge: CachedColumn,
  embedder: string,
  r: DistillRowsResult,
  out: OutputFile,
  sampling: string,
): Record<string, unknown> {
  return {
    winnow: 'scores',
    version: 1,
    kind: 'distilled',
    createdAt: new Date().toISOString(),
    source: { path: resolve(ds.path), bytes: ds.bytes, mtime: new Date(ds.mtimeMs).toISOString() },
    schema: schemaFacts(ds.schema),
    score:
      'distilled: sigmoid(x·w + b) of a ridge model on the DENSITY embedding, fitted to the ' +
      "judge's log-odds; not a judge score",
    judge: { ...judge.scorer.meta, scorerKey: judge.scorer.scorerKey },
    embedder,
    fit: fitFacts(r, sampling),
    columns: DISTILLED_COLUMNS.map(c => c.name),
    output: outputFacts(out),
  };
}

function fitFacts(r: DistillRowsResult, sampling: string): Record<string, unknown> {
  return {
    model: r.fit.model.kind,
    dim: r.fit.model.dim,
    lambda: r.fit.model.lambda,
    sample: r.sampleRows.length,
    sampling,
    heldOut: r.fit.heldOutRows.length,
    heldOutSpearman: r.fit.heldOutSpearman,
    outOfSampleSpearman: r.outOfSampleSpearman,
    auc: r.auc,
  };
}

/** Writes one row per embedded row of the file. */
async function writeScores(
  out: string,
  format: 'jsonl' | 'parquet',
  lines: Uint32Array,
  hashes: readonly string[],
  r: DistillRowsResult,
): Promise<OutputFile> {
  await removeStaleTempFiles(dirname(out));
  const sink = await openSink(out, format, DISTILLED_COLUMNS);
  const inSample = new Set(r.sampleRows);
  try {
    for (let i = 0; i < hashes.length; i++) {
      const s = r.scores[i];
      await sink.add({
        line: lines[i] + 1,
        content_hash: hashes[i],
        distilled_score: Number.isFinite(s) ? s : null,
        in_fit_sample: inSample.has(i),
      });
    }
    return await sink.finish();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const { flags } = ctx;
  const file = fileArgument(flags, 'distill');
  const out = resolve(flags.required('out', 'where the distilled scores go'));
  const format = outputFormat(flags.string('format'), out);
  const settings = embedderSettings(flags, ctx.cacheDir, ctx.env);
  const ds = await openDataset(file);
  try {
    const { rows, columns, storage } = await readCachedColumns(ctx.cacheDir, ds, WHOLE);
    const judge = pickColumn(columns, flags.string('scorer'), file, storage);
    const density = await densityOf(flags.string('density'), rows.hashes);
    const labels = await readFileLabels(ds, rows, flags.string('decisions'));
    return await withEmbedder(ctx, storage, ds, settings, async e => {
      const embedded = await embedShard(e, ds, WHOLE, settings, ctx.progress, ctx.signal);
      if (embedded.rows.length !== rows.hashes.length)
        throw new CliError(`${file} changed while it was read; run winnow distill again`);
      const t0 = performance.now();
      const r = await distillRows(e.store, rows.hashes, judge.pYes, {
        sample: flags.int('sample', 3000, 10),
        seed: flags.int('seed', 1, 0, 0xffffffff),
        ...(density ? { density } : {}),
        labels: labels.labels,
        signal: ctx.signal,
      });
      const fitMs = performance.now() - t0;
      const sampling = r.sampling === 'density' ? 'by DENSITY (probability ∝ 1/score)' : 'uniform';
      const o = await writeScores(out, format, rows.lines, rows.hashes, r);
      await writeManifest(manifestOf(out), manifest(ds, judge, e.model.modelId, r, o, sampling));
      return outcome(judge, r, o, fitMs, sampling);
    });
  } finally {
    await ds.close();
  }
}

function outcome(
  judge: CachedColumn,
  r: DistillRowsResult,
  o: OutputFile,
  fitMs: number,
  sampling: string,
): CommandOutcome {
  const fig = (v: number | null) => (v === null ? '—' : v.toFixed(3));
  const f = fitFacts(r, sampling);
  return {
    code: ExitCode.ok,
    summary: {
      judge: { number: judge.index, name: judge.name, model: judge.scorer.meta.model },
      ...f,
      scored: r.scored,
      elapsedMs: Math.round(fitMs),
      out: o.path,
      manifest: manifestOf(o.path),
    },
    lines: [
      `Distilled ${judge.name} on ${count(r.sampleRows.length)} rows (${sampling}): ` +
        `held-out Spearman ${fig(r.fit.heldOutSpearman)}, on the other judged rows ${fig(r.outOfSampleSpearman)}` +
        `, AUC against the labels ${fig(r.auc)}`,
      `Scored ${count(r.scored)} rows with the distilled model in ${Math.round(fitMs)} ms (fit included)`,
      `Wrote ${o.path} and ${manifestOf(o.path)} (column distilled_score: not judge scores)`,
    ],
  };
}

export const distillCommand: Command = {
  name: 'distill',
  summary: 'Fit a distilled scorer (ridge on DENSITY embeddings) to the judge, score every row.',
  usage: 'winnow distill FILE --out OUT.jsonl [options]',
  description:
    "Fits a ridge regression from each row's DENSITY embedding to the cached ASK-LLM judge's " +
    'log-odds on a sample of the rows it scored (drawn by DENSITY with --density, so the fit ' +
    'covers the space), reports the held-out Spearman against the judge and the AUC against ' +
    'the sidecar labels, and scores every row: one matrix product, orders of magnitude faster ' +
    'than the judge. Rows without an embedding are embedded first. The output column is ' +
    'distilled_score (manifest kind "distilled"), never a judge score.',
  options,
  examples: [
    'winnow distill data.jsonl --out data.distilled.jsonl',
    'winnow distill data.jsonl --density data.density.jsonl --sample 5000 --out d.parquet',
  ],
  run,
};
