/**
 * The map's entry point in the worker: `registerMap` wires `winnow/getLayout` and
 * `winnow/getDuplicateGroups` (src/shared/protocol/worker.ts) to a {@link MapService}, sends
 * their progress on `winnow/mapProgress`, and adds the `duplicates` column of
 * `winnow/getColumns` once groups are known for a file version.
 */
import {
  ResponseError,
  type CancellationToken,
  type Connection,
  LSPErrorCodes,
} from 'vscode-languageserver/node';
import {
  DidChangeColumnsNotification,
  GetDuplicateGroupsRequest,
  GetLayoutRequest,
  MapErrorCodes,
  MapProgressNotification,
  WorkerErrorCodes,
  type GetDuplicateGroupsResult,
  type GetLayoutResult,
  type MapProgressParams,
} from '../../shared/protocol/worker';
import type { ColumnRegistry } from '../dataset/columns';
import { encodeFloat32 } from '../dataset/columns';
import type { Dataset } from '../dataset/dataset';
import type { DatasetRegistry } from '../dataset/registry';
import { DensityError, type DensityService } from '../density/densityService';
import { type Logger, errorText } from '../logger';
import { onRequest, sendNotification } from '../protocol';
import { resolveMapSettings, type MapSettings } from './mapSettings';
import { MapService, type MapProgress, type RowGroups } from './mapService';

const progressIntervalMs = 200;

export interface MapDeps {
  registry: DatasetRegistry;
  logger: Logger;
  columns: ColumnRegistry;
  density: DensityService;
  settingsSection: (uri: string) => Promise<unknown>;
}

/** Registers the map requests and the `duplicates` column; returns the service. */
export function registerMap(connection: Connection, deps: MapDeps): MapService {
  const service = new MapService(deps.density, deps.logger);

  onRequest(connection, GetLayoutRequest.type, (params, token) =>
    run(connection, deps, params.uri, 'layout', token, async (dataset, settings, signal, p) => {
      const l = await service.layout(dataset, settings, signal, p);
      const result: GetLayoutResult = {
        uri: params.uri,
        rowCount: l.rowCount,
        fileVersion: l.fileVersion,
        x: encodeFloat32(l.x, l.rowCount),
        y: encodeFloat32(l.y, l.rowCount),
        placed: l.placed,
        items: l.items,
        landmarks: l.landmarks,
        seed: l.seed,
        model: l.model,
        cached: l.cached,
        ms: l.ms,
      };
      return result;
    }),
  );

  onRequest(connection, GetDuplicateGroupsRequest.type, (params, token) =>
    run(connection, deps, params.uri, 'duplicates', token, async (dataset, settings, signal, p) => {
      const threshold = params.threshold ?? settings.threshold;
      if (!(threshold >= 0.5 && threshold < 1))
        throw new ResponseError(
          MapErrorCodes.failed,
          `The threshold must be in [0.5, 1), got ${threshold}`,
        );
      const g = await service.duplicateGroups(dataset, { ...settings, threshold }, signal, p);
      void sendNotification(connection, DidChangeColumnsNotification.type, {
        uri: params.uri,
        kinds: ['duplicates'],
      });
      return groupsResult(params.uri, g);
    }),
  );

  deps.columns.register('duplicates', {
    prepare: async (dataset: Dataset) => {
      const settings = await settingsFor(deps, dataset.uri);
      return service.knownGroups(dataset, settings.threshold);
    },
    build: (dataset, rowCount, known: RowGroups | undefined) => {
      if (!known || known.fileVersion !== `${dataset.version}.${rowCount}`) return undefined;
      const g = known.groups;
      return {
        duplicates: {
          group: Buffer.from(g.groupOfRow.buffer, g.groupOfRow.byteOffset, rowCount * 4).toString(
            'base64',
          ),
          count: g.count,
          groupedRows: g.groupedRows,
          threshold: known.threshold,
        },
      };
    },
  });
  return service;
}

function groupsResult(uri: string, g: RowGroups): GetDuplicateGroupsResult {
  const rows = g.groups.groupOfRow;
  const p = g.plan;
  return {
    uri,
    rowCount: g.rowCount,
    fileVersion: g.fileVersion,
    threshold: g.threshold,
    group: Buffer.from(rows.buffer, rows.byteOffset, g.rowCount * 4).toString('base64'),
    count: g.groups.count,
    groupedRows: g.groups.groupedRows,
    embeddedItems: g.embeddedItems,
    unembeddedItems: g.unembeddedItems,
    plan: {
      bandWidth: p.bandWidth,
      bands: p.bands,
      checkRows: p.checkRows,
      checkMin: p.checkMin,
      pairRecall: p.pairRecall,
    },
    ...(g.stats ? { stats: g.stats } : {}),
    cached: g.cached,
    ms: g.ms,
  };
}

async function settingsFor(deps: MapDeps, uri: string): Promise<MapSettings> {
  try {
    return resolveMapSettings(await deps.settingsSection(uri));
  } catch {
    return resolveMapSettings(undefined);
  }
}

/** One map request: the dataset, settings, cancellation and throttled progress around `work`. */
async function run<T>(
  connection: Connection,
  deps: MapDeps,
  uri: string,
  task: MapProgressParams['task'],
  token: CancellationToken | undefined,
  work: (
    dataset: Dataset,
    settings: MapSettings,
    signal: AbortSignal,
    p: MapProgress,
  ) => Promise<T>,
): Promise<T> {
  const pending = deps.registry.get(uri);
  if (!pending)
    throw new ResponseError(
      WorkerErrorCodes.datasetNotOpen,
      `Dataset not open in the worker: ${uri}`,
    );
  const dataset = await pending;
  const settings = await settingsFor(deps, uri);
  const abort = new AbortController();
  const subscription = token?.onCancellationRequested(() =>
    abort.abort(new DOMException('Cancelled', 'AbortError')),
  );
  let lastPhase = '';
  let lastSent = 0;
  const progress: MapProgress = p => {
    const now = Date.now();
    if (p.phase === lastPhase && now - lastSent < progressIntervalMs && p.done < p.total) return;
    lastPhase = p.phase;
    lastSent = now;
    void sendNotification(connection, MapProgressNotification.type, { uri, task, ...p });
  };
  try {
    return await work(dataset, settings, abort.signal, progress);
  } catch (e) {
    if (e instanceof ResponseError) throw e;
    if (abort.signal.aborted)
      throw new ResponseError(
        LSPErrorCodes.RequestCancelled,
        `The ${task} computation was cancelled.`,
      );
    if (e instanceof DensityError) throw new ResponseError(MapErrorCodes.noEmbeddings, e.message);
    deps.logger.error(`Map ${task} failed`, e);
    throw new ResponseError(
      MapErrorCodes.failed,
      `The ${task} computation failed: ${errorText(e)}`,
    );
  } finally {
    subscription?.dispose();
  }
}
