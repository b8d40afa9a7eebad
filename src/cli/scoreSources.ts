/**
 * Scores from the CLI's output files (`score`, `density`, `merge`; JSONL or Parquet) for
 * `sample` and `export`: each file's rows by content hash (so they follow rows that moved or a
 * file that was reordered), with the manifest that says how they were made.
 */
import { resolve } from 'node:path';
import { CliError } from './errors';
import { readManifest, readRecords } from './records';

/** One kind of score (ASK-LLM or DENSITY) by row content hash. */
export interface ScoreSource {
  readonly kind: 'askllm' | 'density';
  readonly byHash: ReadonlyMap<string, number>;
  readonly manifest: Record<string, unknown>;
  readonly files: readonly string[];
}

/** Reads `--scores` files; several files of one kind (shards) are joined. */
export async function readScoreSources(
  paths: readonly string[],
): Promise<Partial<Record<'askllm' | 'density', ScoreSource>>> {
  const out: Partial<
    Record<
      'askllm' | 'density',
      { byHash: Map<string, number>; manifest: Record<string, unknown>; files: string[] }
    >
  > = {};
  for (const p of paths.map(x => resolve(x))) {
    const manifest = await readManifest(p);
    const kind = manifest.kind;
    if (kind === 'distilled')
      throw new CliError(
        `${p} holds distilled scores (winnow distill), not judge scores: give the output of winnow score or winnow density`,
      );
    if (kind !== 'askllm' && kind !== 'density')
      throw new CliError(`${p}: unknown score kind "${String(kind)}"`);
    let entry = out[kind];
    if (!entry) out[kind] = entry = { byHash: new Map(), manifest, files: [] };
    else if (JSON.stringify(entry.manifest.model) !== JSON.stringify(manifest.model))
      throw new CliError(
        `${p} holds ${kind} scores of ${String(manifest.model)}, another file of ${String(entry.manifest.model)}`,
      );
    entry.files.push(p);
    const column = kind === 'askllm' ? 'askllm_score' : 'density_score';
    for await (const r of readRecords(p)) {
      const v = r[column];
      if (typeof v === 'number' && typeof r.content_hash === 'string')
        entry.byHash.set(r.content_hash, v);
    }
  }
  const result: Partial<Record<'askllm' | 'density', ScoreSource>> = {};
  for (const kind of ['askllm', 'density'] as const) {
    const e = out[kind];
    if (e) result[kind] = { kind, ...e };
  }
  return result;
}
