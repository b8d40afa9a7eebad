/**
 * DENSITY's entry point in the worker: `registerDensity` wires the requests of
 * src/shared/protocol/worker.ts (DENSITY) to a {@link DensityService} and returns what the server needs
 * for `winnow/getColumns` (the density part) and for hovers. All DENSITY logic stays in
 * src/worker/density; server.ts only calls this.
 */
import {
  ResponseError,
  type CancellationToken,
  type Connection,
  LSPErrorCodes,
} from 'vscode-languageserver/node';
import {
  ComputeDensityRequest,
  type ComputeDensityParams,
  DensityErrorCodes,
  DensityProgressNotification,
  SampleByDensityRequest,
  type ComputeDensityResult,
  type DensityProgressParams,
  type SampleByDensityResult,
  DidChangeColumnsNotification,
  WorkerErrorCodes,
  type GetColumnsResult,
} from '../../shared/protocol/worker';
import { type ColumnRegistry, encodeFloat32, encodeUint32 } from '../dataset/columns';
import type { Dataset } from '../dataset/dataset';
import type { HoverSections } from '../editor/hoverSections';
import { type Logger, errorText } from '../logger';
import { ModelLoadError, NoDeviceError } from '../runtime';
import { onRequest, sendNotification } from '../protocol';
import type { DatasetRegistry } from '../dataset/registry';
import { type DensitySettings, resolveDensitySettings } from './densitySettings';
import { renderDensityHover } from './densityHover';
import { DensityError, DensityService } from './densityService';

/** Progress notifications are sent at most this often (phase changes always go out). */
const progressIntervalMs = 200;

/** What `registerDensity` needs from the server. */
export interface DensityDeps {
  registry: DatasetRegistry;
  logger: Logger;
  /** `winnow/getColumns` providers: DENSITY registers kind `density`. */
  columns: ColumnRegistry;
  /** Hover sections: DENSITY registers order 20, after ASK-LLM's 10. */
  hoverSections: HoverSections;
  /** Extension storage folder (initializationOptions.storagePath; known after initialize). */
  storagePath: () => string | undefined;
  /** Model download folder (initializationOptions; known after initialize). */
  modelCacheDir: () => string | undefined;
  /** Workspace trust: no model named by settings is loaded in an untrusted workspace. */
  trusted: () => boolean;
  /** The raw `winnow` section for a dataset (initializationOptions and workspace/configuration). */
  settingsSection: (uri: string) => Promise<unknown>;
}

/** What the server keeps. */
export interface DensityRegistration {
  readonly service: DensityService;
  /** Releases the model and the caches (call on shutdown). */
  dispose(): Promise<void>;
}

/**
 * Registers DENSITY in the worker: the requests `winnow/computeDensity` and
 * `winnow/sampleByDensity`, the `density` column of `winnow/getColumns` (and its
 * `winnow/didChangeColumns` after each run), and the hover section (order 20).
 */
export function registerDensity(connection: Connection, deps: DensityDeps): DensityRegistration {
  const service = new DensityService({
    storageDir: deps.storagePath,
    modelCacheDir: deps.modelCacheDir,
    logger: deps.logger,
  });

  onRequest(connection, ComputeDensityRequest.type, (params, token) =>
    // The API key (from the host's SecretStorage) goes to the embedder only, never to a log.
    computeDensity(connection, deps, service, params, token),
  );

  onRequest(
    connection,
    SampleByDensityRequest.type,
    async (params): Promise<SampleByDensityResult> => {
      const dataset = await datasetFor(deps, params.uri);
      try {
        const { lines, eligible } = await service.sample(dataset, params.target, params.seed);
        return { lines, eligible, seed: params.seed };
      } catch (e) {
        throw toResponseError(e, undefined, deps.logger);
      }
    },
  );

  registerDensityColumn(deps, service);

  deps.hoverSections.register(20, async ctx => {
    const results = await service.resultsFor(ctx.dataset);
    const column = results && service.columnFor(ctx.dataset, results);
    const lines = renderDensityHover(
      column,
      ctx.index,
      service.isRunning(ctx.dataset.uri),
      ctx.parsed,
      service.failureFor(ctx.dataset, ctx.index),
    );
    return lines.length > 0 ? lines.join('\n\n') : undefined;
  });

  return { service, dispose: () => service.dispose() };
}

async function settingsFor(deps: DensityDeps, uri: string): Promise<DensitySettings> {
  try {
    return resolveDensitySettings(await deps.settingsSection(uri));
  } catch {
    return resolveDensitySettings(undefined);
  }
}

async function datasetFor(deps: DensityDeps, uri: string): Promise<Dataset> {
  const pending = deps.registry.get(uri);
  if (!pending)
    throw new ResponseError(
      WorkerErrorCodes.datasetNotOpen,
      `Dataset not open in the worker: ${uri}`,
    );
  return pending;
}

/** `winnow/computeDensity`: one run, its progress sent at most every `progressIntervalMs` per phase. */
async function computeDensity(
  connection: Connection,
  deps: DensityDeps,
  service: DensityService,
  params: ComputeDensityParams,
  token?: CancellationToken,
): Promise<ComputeDensityResult> {
  const { uri, apiKey } = params;
  if (!deps.trusted())
    throw new ResponseError(
      DensityErrorCodes.failed,
      'This workspace is in Restricted Mode: Winnow does not load embedding models here.',
    );
  const dataset = await datasetFor(deps, uri);
  const settings = await settingsFor(deps, uri);
  const abort = new AbortController();
  const subscription = token?.onCancellationRequested(() =>
    abort.abort(new DOMException('Cancelled', 'AbortError')),
  );
  let lastPhase = '';
  let lastSent = 0;
  const progress = (p: Omit<DensityProgressParams, 'uri'>): void => {
    const now = Date.now();
    if (p.phase === lastPhase && now - lastSent < progressIntervalMs && p.done < p.total) return;
    lastPhase = p.phase;
    lastSent = now;
    void sendNotification(connection, DensityProgressNotification.type, { uri, ...p });
  };
  try {
    const summary = await service.compute(dataset, settings, abort.signal, progress, apiKey);
    void sendNotification(connection, DidChangeColumnsNotification.type, {
      uri,
      kinds: ['density'],
    });
    return { uri, ...summary };
  } catch (e) {
    throw toResponseError(e, abort.signal, deps.logger);
  } finally {
    subscription?.dispose();
  }
}

/** The `density` column of `winnow/getColumns`: scores, ranks and what produced them. */
function registerDensityColumn(deps: DensityDeps, service: DensityService): void {
  deps.columns.register('density', {
    prepare: dataset => service.resultsFor(dataset),
    build: (dataset, rowCount, results): Pick<GetColumnsResult, 'density'> | undefined => {
      if (!results) return undefined;
      const column = service.columnFor(dataset, results, rowCount);
      const m = results.meta;
      const failed = service.failuresOf(dataset, rowCount);
      return {
        density: {
          ...(failed.length > 0 ? { failed } : {}),
          score: encodeFloat32(column.scores, rowCount),
          rank: encodeUint32(column.ranks, rowCount),
          meta: {
            model: m.model,
            rows: m.rows,
            buckets: m.buckets,
            hashesPerRow: m.hashesPerRow,
            bandwidth: m.bandwidth,
            seed: m.seed,
          },
        },
      };
    },
  });
}

/** User-facing problems keep their message; cancellation becomes LSP's RequestCancelled. */
function toResponseError(
  e: unknown,
  signal: AbortSignal | undefined,
  logger: Logger,
): ResponseError<void> {
  if (e instanceof ResponseError) return e as ResponseError<void>;
  if (signal?.aborted)
    return new ResponseError(LSPErrorCodes.RequestCancelled, 'DENSITY was cancelled.');
  if (e instanceof DensityError || e instanceof ModelLoadError || e instanceof NoDeviceError)
    return new ResponseError(DensityErrorCodes.failed, e.message);
  logger.error('DENSITY failed', e);
  return new ResponseError(DensityErrorCodes.failed, `DENSITY failed: ${errorText(e)}`);
}
