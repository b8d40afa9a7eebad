/**
 * The distilled scorer's command (docs/judge.md#distilled-scorer):
 *  - `winnow.scoreRestWithDistilled` ("Winnow: Score the Rest with the Distilled Model"): fits a
 *    ridge model on the DENSITY embeddings to the judge's scores of a sample drawn by DENSITY
 *    (`winnow.distill.sampleSize` rows) in the worker, and scores every row with it, under a
 *    cancellable progress notification. The scores are the dataset view's Distilled column,
 *    never the ASK-LLM score.
 *  - {@link offerDistilled}: after Score Current File stops with rows left, when the judge
 *    would need longer than `winnow.distill.offerAfterSeconds` for them, offers the command.
 */
import * as vscode from 'vscode';
import {
  DistillErrorCodes,
  type DistillResult,
  type ScoreResult,
} from '../../shared/protocol/worker';
import { readHostSettings } from '../config';
import { errorText, log } from '../log';
import type { WorkerClient } from '../client/workerClient';
import { targetDataset } from './scoringCommands';

export const SCORE_REST_WITH_DISTILLED = 'winnow.scoreRestWithDistilled';
const ACTION = 'Score the Rest with the Distilled Model';

export function registerDistillCommands(worker: WorkerClient): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(SCORE_REST_WITH_DISTILLED, (arg?: unknown) =>
      scoreRestWithDistilled(worker, arg),
    ),
  ];
}

/** Seconds the judge would need for the rows it has not scored, at the run's own rate. */
export function judgeSecondsLeft(r: ScoreResult): number | undefined {
  const left = r.scorable - r.scored;
  const ms = r.elapsedMs - r.loadMs;
  if (left <= 0 || r.newlyScored <= 0 || ms <= 0) return undefined;
  return (left * ms) / r.newlyScored / 1000;
}

/** Offers the distilled model when the judge would take longer than the setting for the rest. */
export async function offerDistilled(uri: vscode.Uri, name: string, r: ScoreResult): Promise<void> {
  const seconds = judgeSecondsLeft(r);
  if (seconds === undefined || seconds <= readHostSettings(uri).distillOfferAfterSeconds) return;
  const left = (r.scorable - r.scored).toLocaleString('en-US');
  const pick = await vscode.window.showInformationMessage(
    `Winnow: the judge would need about ${Math.round(seconds / 60).toLocaleString('en-US')} min for the ${left} rows of ${name} it has not scored. ` +
      'A distilled model (ridge on the DENSITY embeddings, fitted to the judge) scores them in seconds; its scores are labelled distilled.',
    ACTION,
  );
  if (pick === ACTION) await vscode.commands.executeCommand(SCORE_REST_WITH_DISTILLED, uri);
}

async function scoreRestWithDistilled(
  worker: WorkerClient,
  arg?: unknown,
): Promise<DistillResult | undefined> {
  const uri = targetDataset(arg);
  if (!uri) {
    void vscode.window.showWarningMessage(
      'Winnow: open a JSONL dataset to score it with the distilled model.',
    );
    return undefined;
  }
  const name = uri.path.split('/').pop() ?? uri.toString();
  const sample = readHostSettings(uri).distillSampleSize;
  try {
    const r = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Winnow: distilling ${name}`,
        cancellable: true,
      },
      async (progress, token) => {
        let shown = 0;
        return worker.distill(uri, sample, token, (message, percentage) => {
          const increment =
            percentage !== undefined && percentage > shown ? percentage - shown : undefined;
          if (increment !== undefined) shown = percentage ?? shown;
          progress.report({ message, ...(increment !== undefined ? { increment } : {}) });
        });
      },
    );
    const m = r.meta;
    const fig = (v: number | null) => (v === null ? '—' : v.toFixed(2));
    const text =
      `fit on ${m.sample.toLocaleString('en-US')} judge scores (${m.sampling === 'density' ? 'drawn by DENSITY' : 'drawn uniformly'}), ` +
      `held-out Spearman ρ=${fig(m.heldOutSpearman)}, AUC against your labels ${fig(m.auc)}; ` +
      `${r.scored.toLocaleString('en-US')} rows have distilled scores (${r.unjudged.toLocaleString('en-US')} the judge has not scored) in ${(r.ms.total / 1000).toFixed(1)} s`;
    log.info(`Distilled ${name}: ${text}`);
    void vscode.window.showInformationMessage(
      `Winnow: distilled ${name}: ${text}. They show as the Distilled column, never as ASK-LLM scores.`,
    );
    return r;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const message = e instanceof Error ? e.message : String(e);
    if (message.includes('cancelled')) return undefined;
    log.error(`Distilling ${name} failed: ${errorText(e)}`);
    void (code === DistillErrorCodes.failed
      ? vscode.window.showWarningMessage(`Winnow: ${message}`)
      : vscode.window.showErrorMessage(`Winnow could not distill ${name}: ${message}`));
    return undefined;
  }
}
