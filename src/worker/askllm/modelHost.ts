/**
 * Keeps one ASK-LLM model loaded in the worker and builds scorers on it. A scorer is reused
 * while the configuration stays the same; a new model, dtype or device loads the model again
 * (the old sessions are released first: two models at once could exhaust GPU memory).
 */
import { AskLlmScorer } from './askLlmScorer';
import { type LoadProgress, ModelLoadError, describeOrigin, modelSourceNote } from '../runtime';
import { type LoadedModel, loadScorerModel } from './scorerLoader';
import type { Logger } from '../logger';
import type { ScorerConfig } from './scorerConfig';
import { ScorerSettingsError } from './scorerConfig';
import { RemoteAskLlmScorer, type RunScorer } from './remoteAskLlm';

/** Options of {@link ModelHost.scorerFor}. */
export interface ScorerForOptions {
  /** Forbid downloads (ids then resolve from the model cache only). */
  offline: boolean;
  onProgress?: (p: LoadProgress) => void;
  /**
   * A remote engine's API key for this run (VS Code SecretStorage); kept in memory by the
   * scorer only.
   */
  apiKey?: string;
  /** Automatic run: never sends rows to a remote engine. */
  auto?: boolean;
}

/** A scorer ready to run, and what loading it cost. */
export interface ReadyScorer {
  scorer: RunScorer;
  /** Milliseconds spent loading the model now (0 when it was loaded already). */
  loadMs: number;
}

/** The loaded model and its current scorer. */
export class ModelHost {
  private model: { key: string; loaded: LoadedModel } | undefined;
  private current: { key: string; scorer: RunScorer; apiKey?: string } | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  /**
   * `cacheDir` is read at each load: the worker learns its storage folder (and so the model
   * cache) at initialize, after the services are built.
   */
  constructor(
    private readonly cacheDir: () => string,
    private readonly logger: Logger,
  ) {}

  /** The loaded model, if any (for the status bar: model id and device). */
  get loaded(): LoadedModel | undefined {
    return this.model?.loaded;
  }

  /** Whether the model of `config` is loaded (a run then needs no loading phase). */
  holds(config: ScorerConfig): boolean {
    return this.model?.key === config.modelKey;
  }

  /**
   * A scorer for `config`, loading the model if needed. `offline` forbids downloads (ids then
   * resolve from the model cache only). Loads are serialised.
   */
  scorerFor(config: ScorerConfig, options: ScorerForOptions): Promise<ReadyScorer> {
    const run = (): Promise<ReadyScorer> =>
      config.settings.engine === 'local'
        ? this.scorerNow(config, options)
        : this.remoteNow(config, options);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * A remote engine's scorer (docs/engines.md): reused while the configuration and the key stay
   * the same, else connected and probed anew (the local model is released first).
   */
  private async remoteNow(config: ScorerConfig, options: ScorerForOptions): Promise<ReadyScorer> {
    // Rows leave the machine only in a run the user started (the host shows it in the status
    // bar): automatic re-scoring of changed rows never sends them.
    if (options.auto)
      throw new ScorerSettingsError(
        'Automatic scoring does not send rows to a remote engine: run Score Current File.',
      );
    const key = JSON.stringify(['remote', config.fingerprint, config.modelKey]);
    const c = this.current;
    if (c?.key === key && c.apiKey === options.apiKey) return { scorer: c.scorer, loadMs: 0 };
    await this.release();
    const s = config.settings;
    const t0 = performance.now();
    this.logger.info(
      `Connecting to ${s.engine} for ASK-LLM (model ${s.model}, ${s.engineApi} API)`,
    );
    const scorer = await RemoteAskLlmScorer.create(s, config.prompt, options.apiKey, this.logger);
    this.current = { key, scorer, apiKey: options.apiKey };
    return { scorer, loadMs: performance.now() - t0 };
  }

  private async scorerNow(config: ScorerConfig, options: ScorerForOptions): Promise<ReadyScorer> {
    const s = config.settings;
    const scorerKey = JSON.stringify([config.fingerprint, config.modelKey, s.batchSize]);
    if (this.current?.key === scorerKey && this.model?.key === config.modelKey)
      return { scorer: this.current.scorer, loadMs: 0 };
    let loadMs = 0;
    if (this.model?.key !== config.modelKey || this.current?.scorer instanceof RemoteAskLlmScorer) {
      await this.release();
      const cacheDir = this.cacheDir();
      const t0 = performance.now();
      this.logger.info(
        `Loading ASK-LLM model ${s.model} (dtype ${s.dtype}, device ${s.device}, ` +
          `${modelSourceNote(s.model, options.offline, s.endpoint, cacheDir)})`,
      );
      const loaded = await loadScorerModel({
        model: s.model,
        cacheDir,
        offline: options.offline,
        endpoint: s.endpoint,
        dtype: s.dtype,
        device: s.device,
        onProgress: options.onProgress,
      });
      loadMs = performance.now() - t0;
      this.model = { key: config.modelKey, loaded };
      const attempts = loaded.attempts
        .map(a => `${a.device}: ${a.outcome}${a.outcome === 'ok' ? '' : ` (${a.message})`}`)
        .join('; ');
      this.logger.info(
        `Loaded ${loaded.modelId} (${loaded.kind}, ${loaded.dtype}) from ` +
          `${describeOrigin(loaded.origin, loaded.folder)} on ` +
          `${loaded.device} in ${(loadMs / 1000).toFixed(1)} s. Devices tried: ${attempts}`,
      );
    }
    const loaded = this.model.loaded;
    let scorer: AskLlmScorer;
    try {
      scorer = AskLlmScorer.create(loaded, {
        prompt: config.prompt,
        answerVariants: s.answerVariants,
        maxTokens: s.maxTokens,
        batchSize: s.batchSize,
      });
    } catch (e) {
      throw new ScorerSettingsError((e as Error).message);
    }
    const old = this.current;
    this.current = { key: scorerKey, scorer };
    await old?.scorer.dispose().catch(() => undefined);
    const i = scorer.info;
    this.logger.info(
      `ASK-LLM scorer: prompt "${i.promptName}" (${i.promptHash}), answers ` +
        `${i.yes.map(a => JSON.stringify(a.token)).join(' + ')}, max ${i.maxTokens} tokens` +
        `${i.chatTemplate ? ', chat template' : ''}, tokenisation ${scorer.tokenization}`,
    );
    return { scorer, loadMs };
  }

  /** Releases the scorer and the model. */
  async release(): Promise<void> {
    const scorer = this.current?.scorer;
    const model = this.model?.loaded;
    this.current = undefined;
    this.model = undefined;
    await scorer?.dispose().catch(() => undefined);
    await model?.dispose().catch(() => undefined);
  }
}

export { ModelLoadError };
