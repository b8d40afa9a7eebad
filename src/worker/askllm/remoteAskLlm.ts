/**
 * ASK-LLM through a remote engine for Score Current File (`winnow.askllm.engine`,
 * docs/engines.md): the core's remote backend (src/core/engines) behind the scorer interface the
 * scoring service runs, over the same score cache. Rows with a score go into the column; rows a
 * top-k engine gave only an upper bound for, and rows with no result, are reported as failed with
 * their reason: no score is shown that the engine did not give.
 *
 * The API key is given by the host with each explicit run (VS Code SecretStorage) and lives in
 * memory only, inside the backend's HTTP client; it is never logged or stored.
 */
import type { PromptTemplate } from '../../core/askllm/prompt';
import { normalizedYes } from '../../core/askllm/softmax';
import {
  RemoteScorer,
  type RemoteRowResult,
  type RemoteEngineName,
  scoreRemoteCached,
} from '../../core/engines';
import type { Logger } from '../logger';
import type { AskLlmSettings } from '../settings';
import type {
  AskLlmScore,
  FailedRow,
  ScoreRunOptions,
  ScoreRunResult,
  ScorerInfo,
} from './askLlmScorer';

/** What the scoring service needs of a scorer: the local one and the remote one alike. */
export interface RunScorer {
  readonly info: ScorerInfo;
  score(documents: readonly string[], run?: ScoreRunOptions): Promise<ScoreRunResult>;
  dispose(): Promise<void>;
}

/** The reason shown for a row without a score. */
function reasonOf(r: RemoteRowResult, k: number): string {
  if (r.status === 'bound')
    return `no score: the answer token is not among the engine's top ${k} log-probs, so P(yes) < ${(r.upperBound ?? 0).toPrecision(3)}`;
  return r.error ?? 'no result from the engine';
}

export class RemoteAskLlmScorer implements RunScorer {
  private constructor(
    private readonly remote: RemoteScorer,
    readonly info: ScorerInfo,
  ) {}

  /** Connects to the engine of `settings` and runs its capability probe (see core/engines/probe.ts). */
  static async create(
    settings: AskLlmSettings,
    prompt: PromptTemplate | undefined,
    apiKey: string | undefined,
    logger: Logger,
  ): Promise<RemoteAskLlmScorer> {
    const remote = await RemoteScorer.create({
      engine: settings.engine as RemoteEngineName,
      endpoint: settings.engineEndpoint,
      model: settings.model,
      api: settings.engineApi,
      apiKey,
      concurrency: settings.engineConcurrency > 0 ? settings.engineConcurrency : undefined,
      prompt,
      answerVariants: settings.answerVariants,
      maxTokens: settings.maxTokens,
      log: line => logger.info(line),
    });
    const m = remote.manifest;
    const answer = (a: (typeof m.answerTokens)[number]) => ({
      word: a.word,
      continuation: a.continuation,
      id: a.id ?? -1,
      token: a.token ?? a.continuation,
    });
    const info: ScorerInfo = {
      modelId: remote.identity.modelId,
      kind: 'causal',
      device: `${m.engine} at ${m.endpointHost}`,
      dtype: remote.identity.dtype,
      promptId: m.promptId,
      promptName: prompt?.name ?? 'ASK-LLM (paper, ANSWER: form)',
      promptHash: m.promptHash,
      yes: m.answerTokens.map(answer),
      no: m.negativeTokens.map(answer),
      // Judge health (variants of the answers) is measured by the local scorer only.
      yesVariants: [],
      noVariants: [],
      maxTokens: m.maxTokens ?? 0,
      chatTemplate: m.chatTemplate !== 'none',
      scorerKey: remote.scorerKey,
    };
    return new RemoteAskLlmScorer(remote, info);
  }

  /** The probe's findings, for the log. */
  get manifest(): RemoteScorer['manifest'] {
    return this.remote.manifest;
  }

  async score(documents: readonly string[], run: ScoreRunOptions = {}): Promise<ScoreRunResult> {
    const scores: (AskLlmScore | undefined)[] = new Array(documents.length);
    const failed: FailedRow[] = [];
    const k = this.remote.manifest.topLogprobs;
    const onRows = (
      rows: readonly { index: number; result: RemoteRowResult; cached: boolean }[],
    ) => {
      const fresh: AskLlmScore[] = [];
      const bad: FailedRow[] = [];
      for (const { index, result, cached } of rows) {
        if (result.status === 'ok' && result.score !== null) {
          const pNo = result.pNo ?? Number.NaN;
          const s: AskLlmScore = {
            index,
            pYes: result.score,
            pNo,
            normalizedVariant: normalizedYes(result.score, pNo),
            tokens: result.tokens ?? 0,
            truncated: result.truncated ?? false,
            cached,
          };
          scores[index] = s;
          fresh.push(s);
        } else bad.push({ index, reason: reasonOf(result, k) });
      }
      failed.push(...bad);
      if (fresh.length > 0) run.onScores?.(fresh);
      if (bad.length > 0) run.onFailed?.(bad);
    };
    if (run.cache) {
      const reported = new Set<number>();
      const r = await scoreRemoteCached(this.remote, documents, {
        cache: run.cache,
        hashes: run.hashes,
        cacheScope: run.cacheScope,
        signal: run.signal,
        onRows: rows => {
          for (const row of rows) reported.add(row.index);
          onRows(rows);
        },
      });
      // Rows the run stopped before sending (the engine kept failing) are failures too.
      if (!run.signal?.aborted)
        onRows(
          r.rows
            .map((result, index) => ({ index, result, cached: false }))
            .filter(x => !reported.has(x.index)),
        );
    } else {
      const rows = await this.remote.score(documents, { signal: run.signal });
      onRows(rows.map((result, index) => ({ index, result, cached: false })));
    }
    return {
      scores,
      failed,
      cancelled: run.signal?.aborted === true,
      batches: 0,
      paddedTokens: 0,
      realTokens: 0,
    };
  }

  async dispose(): Promise<void> {
    this.remote.close();
  }
}
