/**
 * The worker's per-row score columns (SCORES_API.md `winnow/getColumns`) as typed arrays: ASK-LLM
 * P(yes) and DENSITY score and rank, with the metadata that says how they were made. Free of
 * `vscode`.
 */
import type {
  DensityColumnMeta,
  GetColumnsResult,
  ScoreColumnMeta,
} from '../shared/workerProtocol';
import type { ScoreSourceView } from '../shared/webviewProtocol';

/** Score columns aligned with the physical lines of one version of the file. */
export interface ScoreColumns {
  readonly rowCount: number;
  readonly fileVersion: string;
  readonly askllm?: {
    readonly values: Float32Array;
    readonly scored: number;
    readonly meta: ScoreColumnMeta;
  };
  readonly density?: {
    readonly values: Float32Array;
    readonly ranks: Uint32Array;
    readonly meta: DensityColumnMeta;
  };
}

/** Decodes base64 of little-endian 32-bit values (copied: the result owns aligned memory). */
function decode(base64: string, rowCount: number, what: string): Uint8Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== rowCount * 4)
    throw new Error(`${what} has ${bytes.length / 4} values for ${rowCount} rows`);
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * Turns a `winnow/getColumns` result into typed arrays. Throws when a column's length does not
 * match its row count. (Every platform VS Code runs on is little-endian, as the wire format is.)
 */
export function decodeColumns(result: GetColumnsResult): ScoreColumns {
  const n = result.rowCount;
  const askllm = result.askllm
    ? {
        values: new Float32Array(decode(result.askllm.data, n, 'The ASK-LLM column').buffer),
        scored: result.askllm.scored,
        meta: result.askllm.meta,
      }
    : undefined;
  const density = result.density
    ? {
        values: new Float32Array(decode(result.density.score, n, 'The density column').buffer),
        ranks: new Uint32Array(decode(result.density.rank, n, 'The density ranks').buffer),
        meta: result.density.meta,
      }
    : undefined;
  return {
    rowCount: n,
    fileVersion: result.fileVersion,
    ...(askllm ? { askllm } : {}),
    ...(density ? { density } : {}),
  };
}

/** What the webview shows about where the scores came from. */
export function scoreSources(cols: ScoreColumns | undefined): ScoreSourceView {
  const a = cols?.askllm;
  const d = cols?.density;
  return {
    ...(a
      ? {
          askllm: {
            model: a.meta.model,
            promptName: a.meta.promptName,
            promptHash: a.meta.promptHash,
            variant: a.meta.variant,
            scored: a.scored,
            ...(a.meta.device ? { device: a.meta.device } : {}),
          },
        }
      : {}),
    ...(d
      ? {
          density: {
            model: d.meta.model,
            buckets: d.meta.buckets,
            hashesPerRow: d.meta.hashesPerRow,
            bandwidth: d.meta.bandwidth,
            seed: d.meta.seed,
            rows: d.meta.rows,
          },
        }
      : {}),
  };
}

/** Encodes a Float32Array as the wire format (for tests and tools that produce columns). */
export function encodeFloat32(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** Encodes a Uint32Array as the wire format. */
export function encodeUint32(values: Uint32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}
