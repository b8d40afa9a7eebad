/**
 * DENSITY sketch files (`.wnds`, core/density serialize.ts) and the small manifest the CLI
 * writes beside each (`<sketch>.manifest.json`): which embedder and text extraction made the
 * points, from which file and shard. A sketch only holds its LSH parameters and seed; the
 * manifest lets `merge` and `density --sketch-in` refuse sketches of another embedder too.
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import {
  describeParams,
  readSketchFile,
  sameParams,
  writeSketchFile,
  type DensitySketch,
} from '../core/density';
import { CliError } from './errors';
import { writeManifest } from './records';

/** What the manifest says about a sketch's points. */
export interface SketchFacts {
  /** The embedder (id or folder) and its cache key (model, dtype, truncation, pipeline). */
  model: string;
  embedderKey: string;
  textMode: string;
  /** The dataset file(s) the points came from. */
  sources: string[];
  /** Shards summed into it (`{index, count}`); empty for a whole-file sketch. */
  shards: { index: number; count: number }[];
}

export function sketchManifestPath(path: string): string {
  return `${path}.manifest.json`;
}

/** Writes a sketch and its manifest (both atomically); returns the sketch file's size. */
export async function writeSketch(
  path: string,
  sketch: DensitySketch,
  facts: SketchFacts,
): Promise<number> {
  let bytes: number;
  try {
    bytes = await writeSketchFile(path, sketch);
  } catch (e) {
    throw new CliError(`${path} cannot be written: ${(e as Error).message}`);
  }
  await writeManifest(sketchManifestPath(path), {
    winnow: 'sketch',
    version: 1,
    createdAt: new Date().toISOString(),
    points: sketch.count,
    params: sketch.params,
    describe: describeParams(sketch.params),
    ...facts,
    sources: facts.sources.map(s => resolve(s)),
  });
  return bytes;
}

/** A sketch and its manifest's facts (undefined for a sketch the extension saved). */
export async function readSketch(
  path: string,
): Promise<{ sketch: DensitySketch; facts?: SketchFacts }> {
  let sketch: DensitySketch;
  try {
    sketch = await readSketchFile(path);
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
  let facts: SketchFacts | undefined;
  try {
    const m = JSON.parse(await fsp.readFile(sketchManifestPath(path), 'utf8')) as Record<
      string,
      unknown
    >;
    if (m.winnow === 'sketch') facts = m as unknown as SketchFacts;
  } catch {
    // Sketches saved by the extension have no manifest: only their parameters are checked.
  }
  return { sketch, facts };
}

/** Throws unless every sketch has the same parameters, seed and (where known) embedder. */
export function checkCompatible(
  items: readonly { path: string; sketch: DensitySketch; facts?: SketchFacts }[],
): void {
  const [first, ...rest] = items;
  for (const it of rest) {
    if (!sameParams(first.sketch.params, it.sketch.params))
      throw new CliError(
        `${it.path} was built with [${describeParams(it.sketch.params)}], ${first.path} with ` +
          `[${describeParams(first.sketch.params)}]: only sketches with the same model dimension, parameters and seed add up`,
      );
    if (
      first.facts &&
      it.facts &&
      (first.facts.embedderKey !== it.facts.embedderKey ||
        first.facts.textMode !== it.facts.textMode)
    )
      throw new CliError(
        `${it.path} holds embeddings of ${it.facts.model}, ${first.path} of ${first.facts.model} ` +
          '(or another truncation or text extraction): such sketches do not add up',
      );
  }
}
