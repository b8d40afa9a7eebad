/**
 * `winnow/getColumns` (docs/scores-api.md): per-row score columns of a dataset, aligned with its
 * physical lines as the worker indexed them. Each kind of column comes from a provider
 * registered here: ASK-LLM from the scoring service, DENSITY later from its own service, so a
 * new column plugs in without touching the request handler.
 */
import type { GetColumnsResult } from '../../shared/protocol/worker';
import type { Dataset } from './dataset';

/** The column kinds of `winnow/getColumns`. */
export type ColumnKind = 'askllm' | 'density' | 'duplicates' | 'distilled';

/** What a provider adds to a `GetColumnsResult`. */
export type ColumnContribution = Pick<
  GetColumnsResult,
  'askllm' | 'density' | 'duplicates' | 'distilled'
>;

/**
 * Builds one kind of column. `prepare` may await (settings, identities); `build` then runs
 * synchronously for exactly `rowCount` rows, so that every column of one result describes the
 * same rows even while the file is being re-indexed.
 */
export interface ColumnProvider<P = unknown> {
  prepare(dataset: Dataset): Promise<P>;
  /** The column for the first `rowCount` rows, or undefined when there is nothing to show. */
  build(dataset: Dataset, rowCount: number, prepared: P): ColumnContribution | undefined;
}

/** The registered column providers. */
export class ColumnRegistry {
  private readonly providers = new Map<ColumnKind, ColumnProvider>();

  /** Registers the provider of a column kind; returns its unregistration. */
  register<P>(kind: ColumnKind, provider: ColumnProvider<P>): () => void {
    const p = provider as ColumnProvider;
    this.providers.set(kind, p);
    return () => {
      if (this.providers.get(kind) === p) this.providers.delete(kind);
    };
  }

  /** Every column of a dataset for its rows indexed so far. */
  async columns(dataset: Dataset): Promise<GetColumnsResult> {
    const providers = [...this.providers.values()];
    const prepared = await Promise.all(providers.map(p => p.prepare(dataset)));
    // From here on nothing awaits: the row count and every column agree.
    const rowCount = dataset.rows.count;
    const result: GetColumnsResult = { rowCount, fileVersion: `${dataset.version}.${rowCount}` };
    providers.forEach((provider, i) => {
      const part = provider.build(dataset, rowCount, prepared[i]);
      if (part?.askllm) result.askllm = part.askllm;
      if (part?.density) result.density = part.density;
      if (part?.duplicates) result.duplicates = part.duplicates;
      if (part?.distilled) result.distilled = part.distilled;
    });
    return result;
  }
}

/** Encodes the first `n` values of a Float32Array as the wire format (base64, little-endian). */
export function encodeFloat32(values: Float32Array, n: number): string {
  const view = values.subarray(0, n);
  return Buffer.from(view.buffer, view.byteOffset, n * 4).toString('base64');
}

/** Encodes the first `n` values of a Uint32Array as the wire format (base64, little-endian). */
export function encodeUint32(values: Uint32Array, n: number): string {
  const view = values.subarray(0, n);
  return Buffer.from(view.buffer, view.byteOffset, n * 4).toString('base64');
}
