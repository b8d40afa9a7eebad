/**
 * Import Scores (docs/scores-api.md#importing-score-files): the per-row outputs of `winnow score`,
 * `winnow density` and `winnow merge`, made on a cluster or another machine, go into this
 * worker's caches, matched to the open dataset's rows by content hash (the key of every cache),
 * so they show in the dataset view, the hover, inlay hints, histograms and sampling exactly like
 * scores computed here.
 *
 * - ASK-LLM rows are appended to the score cache under the manifest's scorer key (narrowed by the
 *   extraction scope, as `winnow score` itself caches them), and the scorer is registered like any
 *   other (fingerprint `["import", scorerKey]`, its meta carrying the manifest's model, engine
 *   and prompt). The dataset then shows that scorer until the user scores it here.
 * - DENSITY rows become the dataset's stored DENSITY results (the `.wndr` file).
 *
 * Validation comes first and nothing is written for a file that fails it: a file without a
 * winnow manifest, rows that are not score rows, shard files of different runs, scores made with
 * another text extraction, and files none of whose rows match the dataset (scores of another
 * file). Rows whose hash matches no row are counted and reported, never attached to a row.
 */
import { stat } from 'node:fs/promises';
import {
  ScoreFileError,
  readScoreManifest,
  type ScoreFileKind,
} from '../../core/scoreFiles/scoreFile';
import type { ImportSummary } from '../../shared/protocol/worker';
import { extractionScope } from '../askllm/scorerConfig';
import type { ScoreStore } from '../askllm/scoreStore';
import type { Dataset } from '../dataset/dataset';
import type { DensityService } from '../density/densityService';
import { importAskLlm, importDensity } from './importKinds';
import type { ImportContext, ScoreFileInput } from './importRows';

/** Reads a file's manifest and checks it is a score file of a kind Winnow imports. */
async function inputOf(path: string): Promise<ScoreFileInput> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw new ScoreFileError(`${path} cannot be read: ${(e as Error).message}`);
  }
  if (!info.isFile()) throw new ScoreFileError(`${path} is not a file`);
  const manifest = await readScoreManifest(path);
  if (manifest.kind !== 'askllm' && manifest.kind !== 'density')
    throw new ScoreFileError(
      `${path}: its manifest holds "${String(manifest.kind)}" scores; Winnow imports the ASK-LLM ` +
        'scores of winnow score and the DENSITY scores of winnow density',
    );
  return { path, manifest, size: info.size, mtimeMs: info.mtimeMs };
}

/** The manifest fields that must agree between files imported together, by kind. */
const SAME: Record<ScoreFileKind, readonly string[]> = {
  askllm: ['model', 'engine', 'scorerKey'],
  density: ['model', 'embedderKey', 'sketch', 'textMode'],
};

/** The agreeing fields in words, for the refusal. */
const SAME_WORDS: Record<string, string> = {
  scorerKey: 'scorer: model, prompt, answer tokens or token limit',
  embedderKey: 'embedder',
  model: 'model',
  engine: 'engine',
  sketch: 'sketch',
  textMode: 'text extraction',
};

/** Checks that files of one kind come from one run, and that they read the text as we do. */
function checkGroup(dataset: Dataset, kind: ScoreFileKind, files: readonly ScoreFileInput[]): void {
  const first = files[0];
  if (kind === 'askllm' && typeof first.manifest.scorerKey !== 'string')
    throw new ScoreFileError(`${first.path}: its manifest has no scorer key`);
  for (const f of files.slice(1))
    for (const key of SAME[kind])
      if (JSON.stringify(f.manifest[key]) !== JSON.stringify(first.manifest[key]))
        throw new ScoreFileError(
          `${f.path} and ${first.path} come from different runs (another ${SAME_WORDS[key] ?? key}): ` +
            'import the shard files of one run together. Nothing was imported.',
        );
  const ours = extractionScope(dataset.schema ?? { kind: 'unknown' });
  for (const f of files) {
    const schema = f.manifest.schema as { kind?: unknown; label?: unknown } | undefined;
    if (!schema || typeof schema.kind !== 'string')
      throw new ScoreFileError(`${f.path}: its manifest does not say how the text was read`);
    if (extractionScope(schema as { kind: string }) !== ours)
      throw new ScoreFileError(
        `${f.path} scored the rows read as ${String(schema.label ?? schema.kind)}, but this ` +
          `file is read as ${dataset.schema?.label ?? 'unknown'}: those scores are of other texts`,
      );
  }
}

/**
 * Imports score files for an open, validated dataset. Files of both kinds may come together (one
 * group each). Throws {@link ScoreFileError} for a file that fails validation: then nothing of
 * that kind is written.
 */
export async function importScoreFiles(
  dataset: Dataset,
  paths: readonly string[],
  deps: { store: ScoreStore; density: DensityService },
): Promise<ImportSummary[]> {
  if (paths.length === 0) throw new ScoreFileError('No score files were given.');
  const inputs = [];
  for (const p of new Set(paths)) inputs.push(await inputOf(p));
  const importedAt = new Date().toISOString();
  const out: ImportSummary[] = [];
  for (const kind of ['askllm', 'density'] as const) {
    const files = inputs.filter(f => f.manifest.kind === kind);
    if (files.length === 0) continue;
    checkGroup(dataset, kind, files);
    const ctx: ImportContext = { dataset, files, ...deps, importedAt };
    out.push(kind === 'askllm' ? await importAskLlm(ctx) : await importDensity(ctx));
  }
  return out;
}
