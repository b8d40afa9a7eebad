/**
 * The dataset view's map on the host side: answers the webview's `map/*` and `duplicates/find`
 * requests from the document (decisions, scores, the current view) and the worker (layout and
 * near-duplicate groups, docs/map.md). Per-row data goes to the webview as ArrayBuffers.
 */
import type * as vscode from 'vscode';
import type { DatasetView } from '../../core/dataset/datasetView';
import {
  ownBuffer,
  rankFractions,
  schemaCategories,
  viewMask,
} from '../../core/dataset/mapColumns';
import type {
  FindDuplicatesResponse,
  MapLocateResponse,
  MapPart,
  MapPreviewResponse,
  MapRegionResponse,
  MapResponse,
} from '../../shared/protocol/webview';
import type {
  GetDuplicateGroupsResult,
  GetLayoutResult,
  MapProgressParams,
} from '../../shared/protocol/worker';
import type { DatasetDocument } from './datasetDocument';

/** What the map needs from the worker (the editor provider implements it). */
export interface MapWorker {
  layout(uri: vscode.Uri, onProgress: (p: MapProgressParams) => void): Promise<GetLayoutResult>;
  findDuplicates(
    uri: vscode.Uri,
    onProgress: (p: MapProgressParams) => void,
  ): Promise<GetDuplicateGroupsResult>;
}

const PHASE_LABELS: Record<MapProgressParams['phase'], string> = {
  loading: 'Reading embeddings',
  neighbours: 'Finding neighbours',
  layout: 'Laying out (UMAP)',
  placing: 'Placing rows',
  hashing: 'Hashing embeddings',
  grouping: 'Grouping near-duplicates',
  saving: 'Saving',
};

function decodeFloats(base64: string): ArrayBuffer {
  const b = Buffer.from(base64, 'base64');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
}

export class MapBridge {
  constructor(
    private readonly document: DatasetDocument,
    private readonly view: () => DatasetView,
    private readonly worker: MapWorker,
    private readonly progress: (label: string, done: number, total: number) => void,
  ) {}

  /** `map/get`: the parts asked for; the layout fails softly (`error`) before DENSITY. */
  async get(parts: readonly MapPart[]): Promise<MapResponse> {
    const doc = this.document;
    const rowCount = doc.indexState.rowCount;
    const base = { type: 'map' as const, generation: doc.generation, rowCount };
    let layout: MapResponse['layout'];
    if (parts.includes('layout')) {
      let r: GetLayoutResult;
      try {
        r = await this.worker.layout(doc.uri, p => this.report(p));
      } catch (e) {
        return { ...base, error: e instanceof Error ? e.message : String(e) };
      } finally {
        this.progress('', 0, 0);
      }
      if (r.rowCount !== rowCount)
        return { ...base, error: 'The file changed while the map was computed: open it again.' };
      layout = {
        x: decodeFloats(r.x),
        y: decodeFloats(r.y),
        placed: r.placed,
        landmarks: r.landmarks,
        model: r.model,
        cached: r.cached,
        ms: r.ms.total,
      };
    }
    return {
      ...base,
      ...(layout ? { layout } : {}),
      ...(parts.includes('columns') ? { columns: this.columns(rowCount) } : {}),
      ...(parts.includes('state') ? { state: this.state(rowCount) } : {}),
    };
  }

  private columns(rowCount: number): MapResponse['columns'] {
    const scores = this.document.scores;
    const usable = scores && scores.rowCount === rowCount ? scores : undefined;
    const schema = schemaCategories(this.document.columns, rowCount);
    const dup = usable?.duplicates;
    return {
      ...(usable?.askllm ? { score: ownBuffer(usable.askllm.values.subarray(0, rowCount)) } : {}),
      ...(usable?.density
        ? { density: ownBuffer(rankFractions(usable.density.ranks, rowCount)) }
        : {}),
      schema: ownBuffer(schema.categories),
      schemaNames: schema.names,
      ...(dup
        ? { groups: ownBuffer(dup.groups.subarray(0, rowCount)), groupCount: dup.count }
        : {}),
    };
  }

  private state(rowCount: number): MapResponse['state'] {
    const decisions = new Uint8Array(rowCount);
    decisions.set(
      this.document.decisions.codes.subarray(0, Math.min(rowCount, this.document.decisions.rows)),
    );
    const view = this.view();
    return {
      decisions: ownBuffer(decisions),
      ...(view.rows ? { inView: ownBuffer(viewMask(view.rows, rowCount)) } : {}),
      viewId: view.id,
    };
  }

  /** `map/preview/get`: the row's preview text, score and decision. */
  async preview(row: number): Promise<MapPreviewResponse> {
    const [v] = await this.document.rowViewsOf([row]);
    return {
      type: 'map/preview',
      row,
      preview: v?.preview ?? '',
      ...(v?.score !== undefined ? { score: v.score } : {}),
      ...(v?.decision ? { decision: v.decision } : {}),
      ...(v?.duplicateGroup !== undefined ? { duplicateGroup: v.duplicateGroup } : {}),
    };
  }

  /** `map/region/set`: registers the lines of a drawn region for the "in region" filter. */
  region(lines: ArrayBuffer): MapRegionResponse {
    const rows = new Uint32Array(lines);
    return { type: 'map/region', id: this.document.setRegion(rows), rows: rows.length };
  }

  /** `map/locate`: where a clicked row is in the current view. */
  locate(row: number): MapLocateResponse {
    const view = this.view();
    return { type: 'map/locate', viewId: view.id, position: view.positionOf(row) };
  }

  /** `duplicates/find`: groups near-duplicates in the worker (the column arrives by itself). */
  async findDuplicates(): Promise<FindDuplicatesResponse> {
    try {
      const r = await this.worker.findDuplicates(this.document.uri, p => this.report(p));
      const fmt = (n: number) => n.toLocaleString('en-US');
      const message =
        r.count === 0
          ? `No near-duplicates at cosine ≥ ${r.threshold}`
          : `${fmt(r.count)} near-duplicate ${r.count === 1 ? 'group' : 'groups'} (${fmt(r.groupedRows)} rows) at cosine ≥ ${r.threshold}`;
      return { type: 'map/duplicates', count: r.count, groupedRows: r.groupedRows, message };
    } finally {
      this.progress('', 0, 0);
    }
  }

  private report(p: MapProgressParams): void {
    this.progress(PHASE_LABELS[p.phase], p.done, p.total);
  }
}
