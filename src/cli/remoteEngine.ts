/**
 * `winnow score --engine openai|vllm|sglang|llamacpp|ollama`: the CLI's engine over the core's
 * remote scorer (src/core/engines, docs/engines.md). The remote scorer probes the engine, builds
 * the same prompt as local scoring, keeps requests in flight and retries faults; this file only
 * maps its rows and manifest onto the CLI's engine seam (engine.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parsePromptTemplate, type PromptTemplate } from '../core/askllm/prompt';
import { RemoteScorer, type RemoteEngineName, type RemoteRowResult } from '../core/engines';
import type { EngineFactory, EngineFacts, RowResult, ScoreDocument, ScoringEngine } from './engine';
import { CliError } from './errors';

/** The `--prompt-file` template, relative to the working directory, or the paper's prompt. */
function promptOf(file: string | undefined): PromptTemplate | undefined {
  if (!file) return undefined;
  const path = resolve(file);
  try {
    return parsePromptTemplate(readFileSync(path, 'utf8'), path);
  } catch (e) {
    throw new CliError(`--prompt-file ${path}: ${(e as Error).message}`);
  }
}

/** The endpoint without credentials, query or fragment (for the manifest). */
function endpointOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.replace(/\/$/, '')}`;
  } catch {
    return url;
  }
}

class RemoteEngine implements ScoringEngine {
  constructor(
    private readonly scorer: RemoteScorer,
    readonly facts: EngineFacts,
  ) {}

  async score(
    documents: readonly ScoreDocument[],
    options: { signal: AbortSignal; onResults: (results: readonly RowResult[]) => void },
  ): Promise<void> {
    const delivered = new Uint8Array(documents.length);
    const toRow = (index: number, r: RemoteRowResult): RowResult => ({
      id: documents[index].id,
      status: r.status,
      score: r.status === 'ok' ? r.score : null,
      ...(r.upperBound !== undefined ? { upperBound: r.upperBound } : {}),
      ...(r.pNo !== undefined ? { pNo: r.pNo } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.tokens !== undefined ? { tokens: r.tokens, truncated: r.truncated ?? false } : {}),
    });
    const deliver = (rows: readonly { index: number; result: RemoteRowResult }[]) => {
      const fresh = rows.filter(({ index }) => !delivered[index]);
      for (const { index } of fresh) delivered[index] = 1;
      if (fresh.length > 0) options.onResults(fresh.map(r => toRow(r.index, r.result)));
    };
    const all = await this.scorer.score(
      documents.map(d => d.text),
      { signal: options.signal, onRows: deliver },
    );
    // Rows the scorer settled without a request (not sent after a stop) come with the result.
    deliver(all.flatMap((result, index) => (result ? [{ index, result }] : [])));
  }

  async dispose(): Promise<void> {
    this.scorer.close();
  }
}

/** Probes the engine and returns it ready to score. */
export const createRemoteEngine: EngineFactory = async o => {
  if (!o.endpoint) throw new CliError(`--engine ${o.engine} needs --endpoint URL`);
  if (!o.model) throw new CliError(`--engine ${o.engine} needs --model NAME (the served model)`);
  const prompt = promptOf(o.promptFile);
  const scorer = await RemoteScorer.create(
    {
      engine: o.engine as RemoteEngineName,
      endpoint: o.endpoint,
      model: o.model,
      ...(o.api ? { api: o.api } : {}),
      ...(o.apiKey ? { apiKey: o.apiKey } : {}),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.maxLogprobs ? { topLogprobs: o.maxLogprobs } : {}),
      ...(prompt ? { prompt } : {}),
      answerVariants: o.answerVariants,
      maxTokens: o.maxTokens,
      log: line => o.logger.info(line),
    },
    o.signal,
  ).catch(e => {
    throw new CliError(`engine ${o.engine} at ${endpointOf(o.endpoint!)}: ${(e as Error).message}`);
  });
  const m = scorer.manifest;
  o.logger.info(`engine ${m.engine} at ${m.endpointHost}: ${m.probe}`);
  const facts: EngineFacts = {
    engine: o.engine,
    model: m.model,
    endpoint: endpointOf(o.endpoint),
    api: m.api,
    mode: m.mode,
    ...(m.mode === 'top-k' ? { topK: m.topLogprobs } : {}),
    promptName: prompt?.name ?? 'ASK-LLM (paper)',
    promptHash: m.promptHash,
    promptId: m.promptId,
    answerTokens: m.answerTokens.map(a => ({ token: a.token ?? a.continuation, id: a.id ?? -1 })),
    answerTokenSource: m.answerTokensFoundBy,
    chatTemplate: m.chatTemplate === 'none' ? 'none' : 'engine',
    scorerKey: scorer.scorerKey,
    truncation: m.truncation,
    ...(m.maxTokens !== undefined ? { maxTokens: m.maxTokens } : {}),
  };
  return new RemoteEngine(scorer, facts);
};
