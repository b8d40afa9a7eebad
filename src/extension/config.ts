import * as vscode from 'vscode';
import { DEFAULT_MAX_LINE_BYTES } from '../core/jsonl';
import type { TriageKeys } from '../shared/protocol/webview';
import { SETTINGS_SECTION, type LogLevel } from '../shared/settings';

/**
 * The host's one typed reader of Winnow's settings (after rust-analyzer's `config.ts`). The worker
 * pulls the settings it uses itself (`workspace/configuration`); the host reads only what runs
 * in the host, through here, with the defaults of package.json.
 */
export interface HostSettings {
  /** `winnow.dataset.maxLineBytes`: longer lines are invalid rows, not parsed. */
  readonly maxLineBytes: number;
  /** `winnow.datasetView.triageKeys`: keep/drop keys of the dataset view. */
  readonly triageKeys: TriageKeys;
  /** `winnow.density.computeAfterScoring`: run DENSITY after each scoring run. */
  readonly computeDensityAfterScoring: boolean;
  /** `winnow.worker.logLevel`, passed to the worker at start (it follows changes itself). */
  readonly workerLogLevel: LogLevel | undefined;
  /** `winnow.calibration.targetPrecision`: the precision the calibrated threshold must reach. */
  readonly targetPrecision: number;
  /** `winnow.distill.sampleSize`: judge-scored rows the distilled scorer is fitted on. */
  readonly distillSampleSize: number;
  /** `winnow.distill.offerAfterSeconds`: offer the distilled scorer when the judge would take longer. */
  readonly distillOfferAfterSeconds: number;
}

/** Reads the host settings for a resource (or the window). */
export function readHostSettings(scope?: vscode.Uri): HostSettings {
  const c = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  return {
    maxLineBytes: c.get<number>('dataset.maxLineBytes', DEFAULT_MAX_LINE_BYTES),
    triageKeys: c.get<string>('datasetView.triageKeys') === 'k/d' ? 'k/d' : 'y/n',
    computeDensityAfterScoring: c.get<boolean>('density.computeAfterScoring', false),
    workerLogLevel: c.get<LogLevel>('worker.logLevel'),
    targetPrecision: validTarget(c.get<number>('calibration.targetPrecision', 0.9)),
    distillSampleSize: Math.max(10, Math.round(c.get<number>('distill.sampleSize', 3000) || 3000)),
    distillOfferAfterSeconds: Math.max(0, c.get<number>('distill.offerAfterSeconds', 600) ?? 600),
  };
}

/** A target precision in (0, 1], else the default 0.9. */
function validTarget(v: number): number {
  return typeof v === 'number' && v > 0 && v <= 1 ? v : 0.9;
}

/**
 * What a settings change needs before it takes effect:
 * - `live`: read again on the next use (or pushed to open views at once);
 * - `reopenDataset`: open dataset views keep the value they were opened with until reopened;
 * - `worker`: the worker pulls it on `workspace/didChangeConfiguration` (nothing to do here).
 */
export type SettingEffect = 'live' | 'reopenDataset' | 'worker';

const HOST_KEYS: Readonly<Record<string, SettingEffect>> = {
  'dataset.maxLineBytes': 'reopenDataset',
  'datasetView.triageKeys': 'live',
  'density.computeAfterScoring': 'live',
  'calibration.targetPrecision': 'live',
  'distill.sampleSize': 'live',
  'distill.offerAfterSeconds': 'live',
};

/** The effects of a configuration change for a resource: one entry per affected host key. */
export function classifyChange(
  event: vscode.ConfigurationChangeEvent,
  scope?: vscode.Uri,
): Map<string, SettingEffect> {
  const effects = new Map<string, SettingEffect>();
  for (const [key, effect] of Object.entries(HOST_KEYS))
    if (event.affectsConfiguration(`${SETTINGS_SECTION}.${key}`, scope)) effects.set(key, effect);
  if (event.affectsConfiguration(SETTINGS_SECTION, scope) && effects.size === 0)
    effects.set('*', 'worker');
  return effects;
}
