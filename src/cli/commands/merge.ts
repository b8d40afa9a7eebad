/**
 * `winnow merge OUT INPUT...`: the reduce step of sharded runs.
 * - Sketches (`.wnds`): sums them into OUT (what `node dist/densityCli.js merge` did, same
 *   output line); only sketches with the same parameters, seed and embedder add up.
 * - Score outputs of `score` or `density` (JSONL or Parquet, each with its manifest): joins the
 *   shards' rows into one file in line order, after checking that they are shards of one file,
 *   scored the same way, and that every shard is there and none twice.
 */
import { resolve } from 'node:path';
import { describeParams, mergeSketches } from '../../core/density';
import type { OptionTable } from '../args';
import type { Command, CommandContext, CommandOutcome } from '../command';
import { CliError, ExitCode, UsageError } from '../errors';
import { count } from '../progress';
import {
  ASKLLM_COLUMNS,
  DENSITY_COLUMNS,
  manifestOf,
  openSink,
  outputFacts,
  outputFormat,
  readManifest,
  readRecords,
  writeManifest,
  type OutputFile,
  type OutputRecord,
} from '../records';
import { checkCompatible, readSketch, writeSketch, type SketchFacts } from '../sketchFiles';

const options: OptionTable = {
  out: {
    type: 'string',
    value: 'OUT',
    help: 'The merged file (else the first FILE argument is OUT).',
  },
  format: {
    type: 'string',
    value: 'FMT',
    help: 'Score outputs: jsonl or parquet (default: from OUT).',
  },
  partial: { type: 'boolean', help: 'Score outputs: merge even when some shards are missing.' },
};

/** OUT and the inputs of the command line (`merge OUT IN...` or `merge --out OUT IN...`). */
function targets(ctx: CommandContext): { out: string; inputs: string[] } {
  const pos = [...ctx.flags.positionals];
  const out = ctx.flags.string('out') ?? pos.shift();
  if (!out || pos.length === 0)
    throw new UsageError('usage: winnow merge OUT INPUT... (see --help)');
  return { out: resolve(out), inputs: pos.map(p => resolve(p)) };
}

async function mergeSketchFiles(out: string, inputs: string[]): Promise<CommandOutcome> {
  const items = [];
  for (const path of inputs) items.push({ path, ...(await readSketch(path)) });
  checkCompatible(items);
  let merged;
  try {
    merged = mergeSketches(items[0].sketch, ...items.slice(1).map(i => i.sketch));
  } catch (e) {
    throw new CliError(`the sketches cannot be merged: ${(e as Error).message}`);
  }
  const f = items.find(i => i.facts)?.facts;
  const facts: SketchFacts = {
    model: f?.model ?? 'unknown (sketches without manifests)',
    embedderKey: f?.embedderKey ?? '',
    textMode: f?.textMode ?? '',
    sources: [...new Set(items.flatMap(i => i.facts?.sources ?? []))],
    shards: items.flatMap(i => i.facts?.shards ?? []),
  };
  const bytes = await writeSketch(out, merged, facts);
  return {
    code: ExitCode.ok,
    summary: {
      kind: 'sketch',
      out,
      inputs: inputs.length,
      points: merged.count,
      params: describeParams(merged.params),
      bytes,
    },
    lines: [
      `${out}: ${merged.count} points from ${inputs.length} sketches [${describeParams(merged.params)}], ${bytes} bytes`,
    ],
  };
}

/** What must agree between shard outputs of one run (by kind). */
const SAME: Record<string, readonly string[]> = {
  askllm: ['engine', 'model', 'scorerKey', 'mode'],
  density: ['model', 'embedderKey', 'textMode', 'sketch'],
};

/** Checks the manifests belong together; returns the shard count (1: unsharded inputs). */
function checkManifests(
  inputs: readonly string[],
  manifests: Record<string, unknown>[],
  partial: boolean,
): number {
  const first = manifests[0];
  const kind = String(first.kind);
  if (!(kind in SAME)) throw new CliError(`${inputs[0]}: unknown output kind "${kind}"`);
  const src = (m: Record<string, unknown>) => m.source as { bytes: number; lines: number };
  const seen = new Map<number, string>();
  let shardCount = 0;
  manifests.forEach((m, i) => {
    const at = inputs[i];
    if (m.kind !== kind)
      throw new CliError(`${at} holds ${String(m.kind)} scores, ${inputs[0]} ${kind} scores`);
    for (const key of SAME[kind])
      if (JSON.stringify(m[key]) !== JSON.stringify(first[key]))
        throw new CliError(
          `${at} was made with another ${key} than ${inputs[0]}: these are not shards of one run`,
        );
    if (src(m).bytes !== src(first).bytes || src(m).lines !== src(first).lines)
      throw new CliError(
        `${at} scored a different file (${src(m).lines} lines, ${src(m).bytes} bytes) than ${inputs[0]}`,
      );
    const shard = m.shard as { index: number; count: number } | null;
    if (!shard)
      throw new CliError(
        `${at} is not a shard output (it covers the whole file): nothing to merge`,
      );
    if (shardCount && shard.count !== shardCount)
      throw new CliError(
        `${at} is shard ${shard.index} of ${shard.count}, ${inputs[0]} of ${shardCount}`,
      );
    shardCount = shard.count;
    const twice = seen.get(shard.index);
    if (twice)
      throw new CliError(
        `shard ${shard.index} of ${shard.count} is given twice: ${twice} and ${at}`,
      );
    seen.set(shard.index, at);
  });
  const missing = [];
  for (let i = 0; i < shardCount; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0 && !partial)
    throw new CliError(
      `shard${missing.length > 1 ? 's' : ''} ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''} of ${shardCount} ` +
        `${missing.length > 1 ? 'are' : 'is'} missing (--partial merges the others)`,
    );
  return shardCount;
}

/** A min-heap of input heads by line, for the k-way merge. */
class Heads {
  private readonly heap: { line: number; src: number; rec: OutputRecord }[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(item: { line: number; src: number; rec: OutputRecord }): void {
    const h = this.heap;
    h.push(item);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (h[p].line <= h[i].line) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  pop(): { line: number; src: number; rec: OutputRecord } {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].line < h[m].line) m = l;
        if (r < h.length && h[r].line < h[m].line) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

/** Streams the inputs' rows into `add` in line order (each input is in line order already). */
async function kWayMerge(
  inputs: readonly string[],
  add: (r: OutputRecord) => Promise<void>,
): Promise<number> {
  const its = inputs.map(p => readRecords(p));
  const heads = new Heads();
  const lastLine = new Array<number>(inputs.length).fill(0);
  const next = async (src: number): Promise<void> => {
    const r = await its[src].next();
    if (r.done) return;
    const line = Number(r.value.line);
    if (!Number.isInteger(line) || line <= lastLine[src])
      throw new CliError(
        `${inputs[src]}: line ${String(r.value.line)} is out of order (not a winnow output?)`,
      );
    lastLine[src] = line;
    heads.push({ line, src, rec: r.value });
  };
  for (let s = 0; s < inputs.length; s++) await next(s);
  let rows = 0;
  let prev = 0;
  while (heads.size > 0) {
    const h = heads.pop();
    if (h.line === prev)
      throw new CliError(`line ${h.line} is in two inputs: are these shards of one --shard run?`);
    prev = h.line;
    await add(h.rec);
    rows++;
    await next(h.src);
  }
  return rows;
}

/** Sums the manifests' counts. */
function sumCounts(manifests: readonly Record<string, unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of manifests)
    for (const [k, v] of Object.entries((m.counts ?? {}) as Record<string, unknown>))
      if (
        typeof v === 'number' &&
        k !== 'lines' &&
        k !== 'valid' &&
        k !== 'blank' &&
        k !== 'invalid' &&
        k !== 'otherShards'
      )
        out[k] = (out[k] ?? 0) + v;
  const first = (manifests[0].counts ?? {}) as Record<string, number>;
  return {
    lines: first.lines,
    valid: first.valid,
    blank: first.blank,
    invalid: first.invalid,
    ...out,
  };
}

async function mergeOutputs(
  ctx: CommandContext,
  out: string,
  inputs: string[],
): Promise<CommandOutcome> {
  const manifests = [];
  for (const p of inputs) manifests.push(await readManifest(p));
  const shardCount = checkManifests(inputs, manifests, ctx.flags.bool('partial'));
  const kind = String(manifests[0].kind);
  const columns = kind === 'askllm' ? ASKLLM_COLUMNS : DENSITY_COLUMNS;
  const sink = await openSink(out, outputFormat(ctx.flags.string('format'), out), columns);
  let file: OutputFile;
  try {
    ctx.progress.phase(
      'merging',
      Number((manifests[0].source as { lines: number }).lines),
      'lines',
    );
    await kWayMerge(inputs, async r => {
      await sink.add(r);
      ctx.progress.update({ done: Number(r.line) });
    });
    ctx.progress.end();
    file = await sink.finish();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  const counts = sumCounts(manifests);
  const shards = manifests.map((m, i) => ({
    ...(m.shard as object),
    file: inputs[i],
    timing: m.timing ?? null,
  }));
  const {
    shard: _s,
    output: _o,
    timing: _t,
    counts: _c,
    failures: _f,
    createdAt: _a,
    ...common
  } = manifests[0];
  await writeManifest(manifestOf(out), {
    ...common,
    createdAt: new Date().toISOString(),
    shard: null,
    mergedFrom: { shardCount, shards },
    counts,
    output: outputFacts(file),
  });
  return {
    code: counts.error > 0 ? ExitCode.incomplete : ExitCode.ok,
    summary: {
      kind,
      out: file.path,
      manifest: manifestOf(file.path),
      inputs: inputs.length,
      shardCount,
      rows: file.rows,
      counts,
    },
    lines: [
      `Merged ${inputs.length} of ${shardCount} shards (${kind}): ${count(file.rows)} rows into ${file.path}` +
        `${counts.error > 0 ? ` (${count(counts.error)} rows in error: rerun their shards)` : ''}`,
    ],
  };
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const { out, inputs } = targets(ctx);
  if (/\.wnds$/i.test(out) || inputs.every(p => /\.wnds$/i.test(p)))
    return mergeSketchFiles(out, inputs);
  return mergeOutputs(ctx, out, inputs);
}

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'Joins shard outputs (scores, density) or sums shard sketches (.wnds).',
  usage: 'winnow merge OUT INPUT... | winnow merge --out OUT INPUT...',
  description:
    'The reduce step of sharded runs. With sketches (.wnds) it sums them into OUT: the sum of ' +
    "the shards' sketches equals, bit for bit, the sketch of one pass over all their rows; only " +
    'sketches with the same parameters, seed and embedder add up. With outputs of `winnow ' +
    'score` or `winnow density` (JSONL or Parquet, each with its manifest) it joins their rows ' +
    'into OUT in line order and writes OUT.manifest.json with the summed counts; it refuses ' +
    'outputs of another file, model or prompt, a shard given twice, and missing shards ' +
    '(unless --partial).',
  options,
  examples: [
    'winnow merge all.wnds sketches/s*.wnds',
    'winnow merge scores.jsonl scores-*.jsonl',
    'winnow merge --out scores.parquet scores-0.jsonl scores-1.jsonl',
  ],
  run,
};
