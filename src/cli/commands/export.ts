/**
 * `winnow export FILE --out KEPT.jsonl`: the rows the decisions sidecar marks keep, byte for
 * byte in file order, plus a manifest (the extension's Export Kept Examples, core/dataset
 * exportKept.ts); with `--scored-jsonl` and `--parquet` also the kept rows with
 * `askllm_score` / `density_score` from `--scores` files.
 */
import { resolve } from 'node:path';
import { densityRanks } from '../../core/density';
import { exportKept, manifestPath } from '../../core/dataset/exportKept';
import { rekeyLegacyDecisions } from '../../core/dataset/offlineDecisions';
import type { ScoreColumns } from '../../core/dataset/scoreColumns';
import { compressionOfName, contentHash } from '../../core/jsonl';
import type { OptionTable } from '../args';
import { fileArgument } from '../args';
import type { Command, CommandContext, CommandOutcome } from '../command';
import { openDataset, type CliDataset } from '../dataset';
import { decisionsPath, readDecisions } from '../decisions';
import { CliError, ExitCode } from '../errors';
import { count } from '../progress';
import { readScoreSources, type ScoreSource } from '../scoreSources';

const options: OptionTable = {
  out: {
    type: 'string',
    value: 'OUT',
    help: 'The kept rows, byte for byte (required); manifest: OUT.manifest.json.',
  },
  'scored-jsonl': {
    type: 'string',
    value: 'FILE',
    help: 'Also the kept rows as JSONL with askllm_score and density_score.',
  },
  parquet: {
    type: 'string',
    value: 'FILE',
    help: 'Also the kept rows as Parquet (same columns as --scored-jsonl).',
  },
  scores: {
    type: 'string',
    multiple: true,
    value: 'FILE',
    help: 'Scores for the manifest and the scored copies (outputs of score / density).',
  },
  decisions: {
    type: 'string',
    value: 'FILE',
    help: 'The decisions file (default FILE.winnow.json beside the dataset).',
  },
  manifest: {
    type: 'string',
    value: 'FILE',
    help: 'Where the manifest goes (default OUT.manifest.json).',
  },
};

/** Kept lines (ascending) and the decision counts over every line. */
async function keptLines(
  ds: CliDataset,
  keep: ReadonlySet<string>,
  drop: ReadonlySet<string>,
): Promise<{ rows: Uint32Array; keep: number; drop: number; undecided: number }> {
  const rows: number[] = [];
  let dropped = 0;
  for await (const batch of ds.file.iterateRows(0))
    for (const r of batch) {
      const h = contentHash(r.bytes);
      if (keep.has(h)) rows.push(r.index);
      else if (drop.has(h)) dropped++;
    }
  return {
    rows: Uint32Array.from(rows),
    keep: rows.length,
    drop: dropped,
    undecided: ds.file.lineCount - rows.length - dropped,
  };
}

/** Per-line score columns of the file from the score sources. */
async function scoreColumns(
  ds: CliDataset,
  a: ScoreSource | undefined,
  d: ScoreSource | undefined,
): Promise<ScoreColumns | undefined> {
  if (!a && !d) return undefined;
  const n = ds.file.lineCount;
  const av = new Float32Array(n).fill(NaN);
  const dv = new Float32Array(n).fill(NaN);
  let scored = 0;
  const dLines: number[] = [];
  const dValues: number[] = [];
  for await (const batch of ds.file.iterateRows(0))
    for (const r of batch) {
      const h = contentHash(r.bytes);
      const x = a?.byHash.get(h);
      if (x !== undefined) {
        av[r.index] = x;
        scored++;
      }
      const y = d?.byHash.get(h);
      if (y !== undefined) {
        dv[r.index] = y;
        dLines.push(r.index);
        dValues.push(y);
      }
    }
  const ranks = new Uint32Array(n);
  densityRanks(dValues).forEach((rank, k) => (ranks[dLines[k]] = rank));
  const am = a?.manifest;
  const dm = d?.manifest;
  const sk = (dm?.sketch ?? {}) as Record<string, number>;
  return {
    rowCount: n,
    fileVersion: 'cli',
    ...(am
      ? {
          askllm: {
            values: av,
            scored,
            meta: {
              model: String(am.model),
              dtype: String(am.dtype ?? am.engine),
              promptName: String((am.prompt as { name?: string })?.name ?? ''),
              promptHash: String((am.prompt as { hash?: string })?.hash ?? ''),
              answerTokens: ((am.answerTokens ?? []) as { token: string }[]).map(t => t.token),
              maxTokens: Number(am.maxTokens ?? 0),
              variant: 'p-yes' as const,
              ...(am.device ? { device: String(am.device) } : {}),
            },
          },
        }
      : {}),
    ...(dm
      ? {
          density: {
            values: dv,
            ranks,
            meta: {
              model: String(dm.model),
              rows: sk.rows,
              buckets: sk.buckets,
              hashesPerRow: sk.hashesPerRow,
              bandwidth: sk.bandwidth,
              seed: sk.seed,
            },
          },
        }
      : {}),
  };
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const { flags } = ctx;
  const file = fileArgument(flags, 'export');
  const target = resolve(flags.required('out', 'where the kept rows go'));
  const sources = await readScoreSources(flags.strings('scores'));
  const ds = await openDataset(file);
  try {
    const saved = await rekeyLegacyDecisions(
      ds.file,
      await readDecisions(ds.path, flags.string('decisions')),
    );
    const where = decisionsPath(ds.path, flags.string('decisions'));
    const kept = await keptLines(ds, new Set(saved.keep), new Set(saved.drop));
    if (kept.rows.length === 0)
      throw new CliError(
        `no row of ${file} is marked keep in ${where} (mark rows with winnow sample --mark keep, or in the dataset view)`,
      );
    const scores = await scoreColumns(ds, sources.askllm, sources.density);
    const compression = compressionOfName(target);
    const result = await exportKept({
      file: ds.file,
      rows: kept.rows,
      target,
      // --out kept.jsonl.gz / .zst: the kept rows compressed (else plain JSONL).
      ...(compression ? { compression } : {}),
      ...(flags.string('scored-jsonl')
        ? { scoredJsonl: resolve(flags.string('scored-jsonl')!) }
        : {}),
      ...(flags.string('parquet') ? { parquet: resolve(flags.string('parquet')!) } : {}),
      manifest: resolve(flags.string('manifest') ?? manifestPath(target)),
      ...(scores ? { scores } : {}),
      counts: kept,
      rules: saved.rules,
      sidecar: where,
      maxLineBytes: ds.maxLineBytes,
      onProgress: m => ctx.logger.info(m),
      signal: ctx.signal,
    });
    return {
      code: ExitCode.ok,
      summary: {
        out: target,
        manifest: result.manifest,
        kept: kept.keep,
        dropped: kept.drop,
        undecided: kept.undecided,
        invalidKept: result.invalidKept,
        outputs: result.outputs.map(o => ({
          kind: o.kind,
          path: o.path,
          rows: o.rows,
          bytes: o.bytes,
          sha256: o.sha256 ?? null,
        })),
      },
      lines: [
        `Exported ${count(kept.keep)} kept rows of ${count(ds.file.lineCount)} to ${target}` +
          (result.invalidKept
            ? ` (${result.invalidKept} invalid rows left out of the scored copies)`
            : ''),
        ...result.outputs.filter(o => o.path !== target).map(o => `Wrote ${o.path}`),
      ],
    };
  } finally {
    await ds.close();
  }
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'Kept rows byte for byte plus a manifest; also JSONL with scores and Parquet.',
  usage: 'winnow export FILE --out KEPT.jsonl [--scored-jsonl F] [--parquet F] [--scores S]...',
  description:
    'Writes the rows that the decisions sidecar (FILE.winnow.json, or --decisions) marks keep, ' +
    'byte for byte in file order, to OUT, and a manifest beside it (source hash, counts, the ' +
    "rules that made the decisions, the scores' models and prompt hash, sketch parameters and " +
    'seed), exactly as Export Kept Examples in the editor. --scored-jsonl and --parquet also write ' +
    'the kept rows with askllm_score and density_score from the --scores files. Every file is ' +
    'written to a temporary file and renamed into place.',
  options,
  examples: [
    'winnow export data.jsonl --out kept.jsonl',
    'winnow export data.jsonl --out kept.jsonl --scores scores.jsonl --scores density.jsonl --parquet kept.parquet',
  ],
  run,
};
