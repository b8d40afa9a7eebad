/**
 * The distilled scorer's entry point in the worker: `registerDistill` wires `winnow/distill`
 * (src/shared/protocol/worker.ts) to a {@link DistillService} with work-done progress and
 * cancellation, adds the `distilled` column of `winnow/getColumns` and the hover section
 * (order 15, after ASK-LLM's 10): always labelled distilled, never the ASK-LLM score.
 */
import {
  LSPErrorCodes,
  ResponseError,
  WorkDoneProgress,
  type Connection,
} from 'vscode-languageserver/node';
import {
  DidChangeColumnsNotification,
  DistillErrorCodes,
  DistillRequest,
} from '../../shared/protocol/worker';
import type { ColumnRegistry } from '../dataset/columns';
import { encodeFloat32 } from '../dataset/columns';
import type { Dataset } from '../dataset/dataset';
import { uriBaseName } from '../dataset/uri';
import type { HoverSections } from '../editor/hoverSections';
import { codeSpan, escapeMarkdown, formatCount } from '../editor/markdown';
import { formatProbability } from '../askllm/format';
import type { ScoringService } from '../askllm/scoringService';
import type { DensityService } from '../density/densityService';
import { type Logger, errorText } from '../logger';
import { onRequest, sendNotification } from '../protocol';
import { DistillError, DistillService } from './distillService';
import { distilledProvenance } from './provenance';

export interface DistillDeps {
  logger: Logger;
  columns: ColumnRegistry;
  hoverSections: HoverSections;
  scoring: ScoringService;
  density: DensityService;
  openDataset: (uri: string) => Promise<Dataset>;
}

export function registerDistill(connection: Connection, deps: DistillDeps): DistillService {
  const service = new DistillService(deps.scoring, deps.density, deps.logger);
  onRequest(connection, DistillRequest.type, async (params, token) => {
    const dataset = await deps.openDataset(params.uri);
    const abort = new AbortController();
    const cancel = token.onCancellationRequested(() =>
      abort.abort(new DOMException('Cancelled', 'AbortError')),
    );
    const progressToken = params.workDoneToken;
    const progress = (message: string, percentage?: number) =>
      progressToken !== undefined &&
      void connection.sendProgress(WorkDoneProgress.type, progressToken, {
        kind: 'report',
        message,
        ...(percentage !== undefined ? { percentage: Math.floor(percentage) } : {}),
      });
    if (progressToken !== undefined)
      void connection.sendProgress(WorkDoneProgress.type, progressToken, {
        kind: 'begin',
        title: `Fitting the distilled scorer of ${uriBaseName(params.uri)}`,
        cancellable: true,
        percentage: 0,
      });
    try {
      const sample = params.sample ?? 3000;
      if (!(Number.isInteger(sample) && sample >= 10))
        throw new DistillError(
          `The fit sample must be a whole number of at least 10 rows, got ${sample}`,
        );
      const result = await service.distill(dataset, {
        sample,
        seed: params.seed ?? 1,
        signal: abort.signal,
        onProgress: (phase, done, total) =>
          phase === 'fitting'
            ? progress('fitting on the judge-scored sample', 5)
            : progress(
                `${formatCount(done)} of ${formatCount(total)} rows scored`,
                10 + (90 * done) / Math.max(1, total),
              ),
      });
      void sendNotification(connection, DidChangeColumnsNotification.type, {
        uri: params.uri,
        kinds: ['distilled'],
      });
      return result;
    } catch (e) {
      if (abort.signal.aborted)
        throw new ResponseError(LSPErrorCodes.RequestCancelled, 'The distillation was cancelled.');
      if (e instanceof DistillError) throw new ResponseError(DistillErrorCodes.failed, e.message);
      deps.logger.error('The distillation failed', e);
      throw new ResponseError(DistillErrorCodes.failed, `The distillation failed: ${errorText(e)}`);
    } finally {
      cancel.dispose();
      if (progressToken !== undefined)
        void connection.sendProgress(WorkDoneProgress.type, progressToken, { kind: 'end' });
    }
  });
  deps.columns.register('distilled', {
    prepare: dataset => service.column(dataset),
    build: (dataset, rowCount, c) => {
      if (!c || c.fileVersion !== `${dataset.version}.${rowCount}`) return undefined;
      return {
        distilled: { data: encodeFloat32(c.values, rowCount), scored: c.scored, meta: c.meta },
      };
    },
  });
  deps.hoverSections.register(15, async ctx => {
    if (!ctx.parsed) return undefined;
    const c = await service.column(ctx.dataset);
    const v = c && ctx.index < c.values.length ? c.values[ctx.index] : NaN;
    if (!c || v !== v || ctx.dataset.rows.hash(ctx.index) !== ctx.hash) return undefined;
    return (
      `**Distilled (not the ASK-LLM score):** ${formatProbability(v)} · ` +
      `${escapeMarkdown(distilledProvenance(c.meta))} · ridge on ${codeSpan(c.meta.embedder)} ` +
      `embeddings, judge ${codeSpan(c.meta.judge.model)}`
    );
  });
  return service;
}
