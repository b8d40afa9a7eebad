/**
 * The worker's side of Import Scores: `winnow/importScores` (files the user picked) and the
 * automatic pick-up of a score file beside a dataset when it is opened (`train.scores.jsonl`,
 * `train.density.jsonl`, or `.parquet`; core/scoreFiles `scoreFilesBeside`), which is imported
 * once per version of the file (its size and mtime) and announced with `window/showMessage`.
 * Nothing is imported in an untrusted workspace.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  ScoreFileError,
  scoreFilesBeside,
  scoreManifestPath,
} from '../../core/scoreFiles/scoreFile';
import { importSummaryText } from '../../shared/format/scoreFormat';
import type { ImportSummary } from '../../shared/protocol/worker';
import type { ScoreStore } from '../askllm/scoreStore';
import type { Dataset } from '../dataset/dataset';
import type { DensityService } from '../density/densityService';
import { errorText, type Logger } from '../logger';
import { importScoreFiles } from './scoreImport';

export interface ScoreImporterHost {
  logger: Logger;
  store: () => Promise<ScoreStore>;
  density: DensityService;
  trusted: () => boolean;
  /** Scores of these kinds changed for a dataset (columns, hovers, hints). */
  onImported: (uri: string, kinds: ImportSummary['kind'][]) => void;
  /** Shows a message to the user (window/showMessage). */
  show: (type: 'info' | 'warning', message: string) => void;
}

export class ScoreImporter {
  constructor(private readonly host: ScoreImporterHost) {}

  /** Imports files for a dataset once it is validated. */
  async importFiles(dataset: Dataset, files: readonly string[]): Promise<ImportSummary[]> {
    await dataset.whenValidated();
    if (dataset.unavailable !== undefined)
      throw new ScoreFileError(`${dataset.unavailable}: nothing can be imported for it now`);
    const store = await this.host.store();
    const out = await importScoreFiles(dataset, files, { store, density: this.host.density });
    for (const s of out)
      this.host.logger.info(importSummaryText(basename(dataset.file.path), dataset.rows.count, s));
    this.host.onImported(
      dataset.uri,
      out.map(s => s.kind),
    );
    return out;
  }

  /** The score files beside a dataset that changed since their last import. */
  private async newFilesBeside(dataset: Dataset): Promise<string[]> {
    const store = await this.host.store();
    const picked: string[] = [];
    for (const kind of ['askllm', 'density'] as const) {
      const file = scoreFilesBeside(dataset.file.path).find(
        c => c.kind === kind && existsSync(c.path) && existsSync(scoreManifestPath(c.path)),
      );
      if (!file) continue;
      const info = await stat(file.path).catch(() => undefined);
      const last = store.imported(dataset.file.path, kind)?.files;
      const same =
        info &&
        last?.length === 1 &&
        last[0].path === file.path &&
        last[0].size === info.size &&
        last[0].mtimeMs === info.mtimeMs;
      if (info && !same) picked.push(file.path);
    }
    return picked;
  }

  /** Automatic pick-up on open (trusted workspaces only); errors become one warning. */
  async pickUp(dataset: Dataset): Promise<void> {
    if (!this.host.trusted()) return;
    try {
      await dataset.whenValidated();
      if (!dataset.validated || dataset.unavailable !== undefined) return;
      const files = await this.newFilesBeside(dataset);
      if (files.length === 0) return;
      const out = await this.importFiles(dataset, files);
      const name = basename(dataset.file.path);
      for (const s of out)
        this.host.show('info', `Winnow: ${importSummaryText(name, dataset.rows.count, s)}`);
    } catch (e) {
      this.host.logger.warn(`Score files beside ${dataset.file.path}: ${errorText(e)}`);
      this.host.show(
        'warning',
        `Winnow: the score file beside ${basename(dataset.file.path)} was not imported: ${errorText(e)}`,
      );
    }
  }
}
