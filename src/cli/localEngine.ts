/**
 * `--engine local`: the in-process ONNX scorer of the extension's worker (AskLlmScorer on
 * ONNX Runtime, src/worker/askllm), loaded the same way (ModelHost) from a Hugging Face id or a
 * local folder. Its scorer key is the worker's, so the CLI and the extension share cached
 * scores of the same model, prompt and file.
 */
import { resolve } from 'node:path';
import type { ScoreColumnMeta } from '../shared/protocol/worker';
import { ModelHost } from '../worker/askllm/modelHost';
import { resolveScorerConfig, ScorerSettingsError } from '../worker/askllm/scorerConfig';
import { AskLlmScorer } from '../worker/askllm/askLlmScorer';
import { DEFAULT_MODEL, type AskLlmSettings } from '../worker/settings';
import { ModelLoadError, NoDeviceError, type LoadProgress } from '../worker/runtime';
import type { EngineFacts, EngineOptions, RowResult, ScoringEngine } from './engine';
import { CliError } from './errors';

/** A loaded local scorer as an engine. */
class LocalEngine implements ScoringEngine {
  constructor(
    private readonly host: ModelHost,
    private readonly scorer: AskLlmScorer,
    readonly facts: EngineFacts,
    /** How the extension finds these scores without loading the model (scorers.json). */
    readonly registration: { fingerprint: string; meta: ScoreColumnMeta },
  ) {}

  async score(
    documents: Parameters<ScoringEngine['score']>[0],
    options: Parameters<ScoringEngine['score']>[1],
  ): Promise<void> {
    const ids = documents.map(d => d.id);
    await this.scorer.score(
      documents.map(d => d.text),
      {
        // The CLI dedupes rows by content hash before they get here: ids are unique keys.
        hashes: ids.map(String),
        signal: options.signal,
        onScores: scores =>
          options.onResults(
            scores.map((s): RowResult => ({
              id: ids[s.index],
              status: 'ok',
              score: s.pYes,
              pNo: s.pNo,
              tokens: s.tokens,
              truncated: s.truncated,
            })),
          ),
        onFailed: failed =>
          options.onResults(
            failed.map((f): RowResult => ({
              id: ids[f.index],
              status: 'error',
              score: null,
              error: f.reason,
            })),
          ),
      },
    );
  }

  async dispose(): Promise<void> {
    await this.host.release();
  }
}

/** The worker's settings shape for the CLI's flags. */
function settingsOf(o: EngineOptions): AskLlmSettings {
  return {
    model: o.model ?? DEFAULT_MODEL,
    dtype: o.dtype,
    device: o.device,
    batchSize: o.batchSize,
    maxTokens: o.maxTokens,
    // Relative to the working directory, as any CLI path.
    promptFile: o.promptFile ? resolve(o.promptFile) : '',
    answerVariants: [...o.answerVariants],
    showNormalizedVariant: false,
    offline: o.offline,
    endpoint: '',
    // The remote engines are their own CLI engines (src/cli/engines.ts), not the worker's setting.
    engine: 'local',
    engineEndpoint: '',
    engineApi: 'chat',
    engineConcurrency: 0,
  };
}

/** A one-line message for a model download / load step, or undefined to skip it. */
function loadMessage(model: string, p: LoadProgress): string | undefined {
  if (p.status === 'progress' && p.file)
    return `downloading ${model}: ${p.file} ${p.progress !== undefined ? `${Math.floor(p.progress)}%` : ''}`;
  if (p.status === 'device') return `loading ${model} on ${p.device ?? 'a device'}`;
  return undefined;
}

/** Loads the local scorer (`--engine local`). */
export async function createLocalEngine(o: EngineOptions): Promise<ScoringEngine> {
  if (o.endpoint !== undefined)
    throw new CliError(
      '--endpoint is for remote engines; --engine local runs the model in-process',
    );
  const settings = settingsOf(o);
  const host = new ModelHost(() => o.modelCacheDir, o.logger);
  try {
    const config = await resolveScorerConfig(settings, o.datasetPath, []);
    const { scorer: loaded } = await host.scorerFor(config, {
      offline: settings.offline,
      onProgress: p => {
        const m = loadMessage(settings.model, p);
        if (m) o.onLoadProgress?.(m);
      },
    });
    if (!(loaded instanceof AskLlmScorer))
      throw new CliError('the local engine loaded no local scorer');
    const scorer = loaded;
    const i = scorer.info;
    const facts: EngineFacts = {
      engine: 'local',
      model: i.modelId,
      mode: 'exact',
      dtype: i.dtype,
      device: i.device,
      promptName: i.promptName,
      promptHash: i.promptHash,
      promptId: i.promptId,
      answerTokens: i.yes.map(a => ({ token: a.token, id: a.id })),
      answerTokenSource: 'tokenizer',
      maxTokens: i.maxTokens,
      chatTemplate: i.chatTemplate ? 'local' : 'none',
      scorerKey: i.scorerKey,
    };
    const meta: ScoreColumnMeta = {
      model: i.modelId,
      dtype: i.dtype,
      promptName: i.promptName,
      promptHash: i.promptHash,
      answerTokens: i.yes.map(a => a.token),
      maxTokens: i.maxTokens,
      variant: 'p-yes',
      device: i.device,
    };
    return new LocalEngine(host, scorer, facts, { fingerprint: config.fingerprint, meta });
  } catch (e) {
    await host.release();
    if (
      e instanceof ModelLoadError ||
      e instanceof NoDeviceError ||
      e instanceof ScorerSettingsError
    )
      throw new CliError(e.message);
    throw e;
  }
}
