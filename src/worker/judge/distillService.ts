/**
 * The distilled scorer in the worker (docs/judge.md#distilled-scorer): `winnow/distill` fits the
 * core's ridge model (`distillRows`, as `winnow distill` does) on the DENSITY embeddings to the
 * current judge's cached P(yes) of a sample drawn by DENSITY, and scores every row with an
 * embedding. The model (weights, fit facts) is kept beside the DENSITY results
 * (`<id>.distilled.json`, written atomically), so a restart scores the rows again from it; the
 * scores are the `distilled` column of `winnow/getColumns`, under their own scorer key, never
 * the ASK-LLM column.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../core/dataset/sidecar';
import { type DistilledModel, distillRows, scoreStoredRows } from '../../core/judge';
import type { DistilledColumnMeta, DistillResult } from '../../shared/protocol/worker';
import type { Dataset } from '../dataset/dataset';
import type { DensityService } from '../density/densityService';
import type { ScoringService } from '../askllm/scoringService';
import type { Logger } from '../logger';
import { errorText } from '../logger';

/** A user-facing problem of a distillation (no judge scores, no embeddings, too few rows). */
export class DistillError extends Error {}

/** The distilled scores of one file version. */
export interface DistilledColumn {
  /** `${dataset.version}.${rowCount}` of the rows the values align with. */
  readonly fileVersion: string;
  readonly values: Float32Array;
  readonly scored: number;
  readonly meta: DistilledColumnMeta;
}

/** The model file kept beside the DENSITY results. */
interface ModelFile {
  readonly winnow: 'distilled-model';
  readonly version: 1;
  readonly meta: DistilledColumnMeta;
  /** Key of the embedding store the model reads (another embedder: the model does not apply). */
  readonly storeKey: string;
  readonly bias: number;
  /** Float32 LE, base64. */
  readonly weights: string;
}

export interface DistillRunOptions {
  readonly sample: number;
  readonly seed: number;
  readonly signal: AbortSignal;
  readonly onProgress: (phase: 'fitting' | 'scoring', done: number, total: number) => void;
}

type Judge = Pick<ScoringService, 'judgeColumn' | 'judgeKey'>;

export class DistillService {
  private readonly columns = new WeakMap<Dataset, DistilledColumn>();
  /** File versions found to have no usable model (nothing is computed for them again). */
  private readonly missing = new WeakMap<Dataset, string>();

  constructor(
    private readonly judge: Judge,
    private readonly density: DensityService,
    private readonly logger: Logger,
  ) {}

  /** Fits the distilled scorer for a dataset and scores its rows (see the module comment). */
  async distill(dataset: Dataset, o: DistillRunOptions): Promise<DistillResult> {
    const t0 = performance.now();
    await dataset.whenValidated();
    const judge = await this.judge.judgeColumn(dataset);
    if (!judge || judge.scored === 0)
      throw new DistillError(
        'There are no ASK-LLM scores for this file under the current settings: run "Winnow: Score Current File" first.',
      );
    const { results, store } = await this.embeddings(dataset);
    const n = judge.values.length;
    const hashes = Array.from({ length: n }, (_, i) =>
      dataset.rows.ok(i) ? dataset.rows.hash(i) : '',
    );
    const densityColumn = this.density.columnFor(dataset, results, n);
    const labels = labelsOf(dataset, n);
    let r;
    try {
      r = await distillRows(store, hashes, judge.values, {
        sample: o.sample,
        seed: o.seed,
        density: densityColumn.scores,
        labels: labels.values,
        signal: o.signal,
        onProgress: o.onProgress,
      });
    } catch (e) {
      if (o.signal.aborted) throw e;
      throw new DistillError(errorText(e));
    }
    const fitMs = performance.now() - t0;
    const meta: DistilledColumnMeta = {
      scorerKey: distilledKey(judge.key, store.key, r.fit.model),
      judge: { model: judge.meta.model, promptName: judge.meta.promptName, scorerKey: judge.key },
      embedder: results.meta.model,
      model: r.fit.model.kind,
      dim: r.fit.model.dim,
      lambda: r.fit.model.lambda,
      sample: r.sampleRows.length,
      sampling: r.sampling,
      heldOut: r.fit.heldOutRows.length,
      heldOutSpearman: r.fit.heldOutSpearman,
      outOfSampleSpearman: r.outOfSampleSpearman,
      auc: r.auc,
      labelled: labels.count,
      createdAt: new Date().toISOString(),
    };
    await this.save(dataset, meta, store.key, r.fit.model);
    const column = {
      fileVersion: `${dataset.version}.${n}`,
      values: r.scores,
      scored: r.scored,
      meta,
    };
    this.columns.set(dataset, column);
    this.missing.delete(dataset);
    let unjudged = 0;
    for (let i = 0; i < n; i++)
      if (r.scores[i] === r.scores[i] && judge.values[i] !== judge.values[i]) unjudged++;
    const total = performance.now() - t0;
    return {
      uri: dataset.uri,
      meta,
      scored: r.scored,
      unjudged,
      ms: { fit: fitMs, score: total - fitMs, total },
    };
  }

  /**
   * The distilled column of the dataset's current version: from memory, else scored again from
   * the kept model when it was fitted to the current judge and embedder. Undefined otherwise.
   */
  async column(dataset: Dataset): Promise<DistilledColumn | undefined> {
    if (!dataset.validated) return undefined;
    const version = `${dataset.version}.${dataset.rows.count}`;
    const judgeKey = await this.judge.judgeKey(dataset);
    const mem = this.columns.get(dataset);
    if (mem?.fileVersion === version)
      return mem.meta.judge.scorerKey === judgeKey ? mem : undefined;
    if (this.missing.get(dataset) === version) return undefined;
    try {
      const found = await this.rescore(dataset, judgeKey);
      if (found) this.columns.set(dataset, found);
      else this.missing.set(dataset, version);
      return found;
    } catch (e) {
      this.logger.debug(`No distilled scores for ${dataset.uri}: ${errorText(e)}`);
      this.missing.set(dataset, version);
      return undefined;
    }
  }

  /** The column as known now (no computing), when it describes the dataset's current rows. */
  known(dataset: Dataset): DistilledColumn | undefined {
    const c = this.columns.get(dataset);
    return c?.fileVersion === `${dataset.version}.${dataset.rows.count}` ? c : undefined;
  }

  /** Forgets what is known of a dataset (the judge or the embeddings changed). */
  forget(dataset: Dataset): void {
    this.columns.delete(dataset);
    this.missing.delete(dataset);
  }

  private async rescore(
    dataset: Dataset,
    judgeKey: string | undefined,
  ): Promise<DistilledColumn | undefined> {
    const file = await readModel(this.density.derivedPath(dataset, 'distilled.json'));
    if (!file || file.meta.judge.scorerKey !== judgeKey) return undefined;
    const { store } = await this.embeddings(dataset);
    if (store.key !== file.storeKey || store.dim !== file.meta.dim) return undefined;
    const n = dataset.rows.count;
    const records = Int32Array.from({ length: n }, (_, i) =>
      dataset.rows.ok(i) ? store.recordOf(dataset.rows.hash(i)) : -1,
    );
    const bytes = Buffer.from(file.weights, 'base64');
    const weights = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    const model: DistilledModel = {
      kind: 'ridge-logit',
      dim: file.meta.dim,
      weights,
      bias: file.bias,
      lambda: file.meta.lambda,
    };
    const values = await scoreStoredRows(store, records, model);
    let scored = 0;
    for (const v of values) if (v === v) scored++;
    return { fileVersion: `${dataset.version}.${n}`, values, scored, meta: file.meta };
  }

  private async embeddings(dataset: Dataset) {
    try {
      return await this.density.embeddingsFor(dataset);
    } catch (e) {
      throw new DistillError(errorText(e));
    }
  }

  private async save(
    dataset: Dataset,
    meta: DistilledColumnMeta,
    storeKey: string,
    model: DistilledModel,
  ): Promise<void> {
    const w = model.weights;
    const file: ModelFile = {
      winnow: 'distilled-model',
      version: 1,
      meta,
      storeKey,
      bias: model.bias,
      weights: Buffer.from(w.buffer, w.byteOffset, w.byteLength).toString('base64'),
    };
    try {
      await writeFileAtomic(
        this.density.derivedPath(dataset, 'distilled.json'),
        JSON.stringify(file),
      );
    } catch (e) {
      this.logger.warn(`Could not keep the distilled model: ${errorText(e)}`);
    }
  }
}

/** The distilled scorer's key: never a judge scorer's key (those have no `distilled:` prefix). */
function distilledKey(judgeKey: string, storeKey: string, model: DistilledModel): string {
  const h = createHash('sha256').update(
    JSON.stringify([judgeKey, storeKey, model.bias, model.lambda]),
  );
  h.update(
    new Uint8Array(model.weights.buffer, model.weights.byteOffset, model.weights.byteLength),
  );
  return `distilled:${h.digest('hex').slice(0, 32)}`;
}

/** Saved keep (1) / drop (0) per row (NaN: undecided) from the sidecar the view gave. */
function labelsOf(dataset: Dataset, n: number): { values: Float64Array; count: number } {
  const values = new Float64Array(n).fill(NaN);
  const saved = dataset.savedDecisions?.rowsIn(0, n);
  if (!saved) return { values, count: 0 };
  for (const r of saved.keep) values[r] = 1;
  for (const r of saved.drop) values[r] = 0;
  return { values, count: saved.keep.length + saved.drop.length };
}

async function readModel(path: string): Promise<ModelFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const f = JSON.parse(text) as ModelFile;
    return f.winnow === 'distilled-model' && f.version === 1 ? f : undefined;
  } catch {
    return undefined;
  }
}
