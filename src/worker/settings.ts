import type { Connection } from 'vscode-languageserver/node';
import { REMOTE_ENGINES, type RemoteEngineName } from '../core/engines/types';
import { SETTINGS_SECTION, type LogLevel, type WinnowSettingsSection } from '../shared/settings';

/** ASK-LLM settings (`winnow.askllm.*` plus the shared device and `winnow.models.*` settings). */
export interface AskLlmSettings {
  /** Hugging Face id or local folder. */
  model: string;
  dtype: 'fp32' | 'fp16' | 'q8' | 'q4';
  device: 'auto' | 'cpu' | 'cuda' | 'webgpu';
  batchSize: number | 'auto';
  maxTokens: number;
  /** Prompt template file as configured ('' = the paper's prompt). */
  promptFile: string;
  answerVariants: string[];
  showNormalizedVariant: boolean;
  offline: boolean;
  /**
   * `winnow.models.endpoint` as set ('' = HF_ENDPOINT, else the Hub); checked when a model is
   * downloaded (src/worker/runtime/hub.ts), so a bad value is a load error, not a crash.
   */
  endpoint: string;
  /** `local`, or the remote engine that scores (docs/engines.md). */
  engine: 'local' | RemoteEngineName;
  /** The remote engine's base URL ('' with `local`). */
  engineEndpoint: string;
  engineApi: 'chat' | 'completions';
  /** Requests in flight to the remote engine (0: the engine's default). */
  engineConcurrency: number;
}

/** The settings the worker uses, resolved with defaults (see package.json). */
export interface WorkerSettings {
  maxLineBytes: number;
  maxProblems: number;
  logLevel: LogLevel;
  askllm: AskLlmSettings;
  /** Inlay hints with the score at the end of each scored line. */
  inlineScores: boolean;
}

/**
 * What a settings change touches in the worker (after rust-analyzer's change classification):
 * - `dataset`: how lines are read (`maxLineBytes`): open files are validated again;
 * - `diagnostics`: how many problems are listed: diagnostics are published again;
 * - `log`: the log level; `askllm`: the scorer configuration (new columns, cache keys);
 * - `inlay`: inline scores on or off.
 */
export type SettingsEffect = 'dataset' | 'diagnostics' | 'log' | 'askllm' | 'inlay';

/** The effects of going from `before` to `after` (empty when nothing the worker uses changed). */
export function classifySettingsChange(
  before: WorkerSettings,
  after: WorkerSettings,
): Set<SettingsEffect> {
  const effects = new Set<SettingsEffect>();
  if (before.maxLineBytes !== after.maxLineBytes) effects.add('dataset');
  if (before.maxProblems !== after.maxProblems) effects.add('diagnostics');
  if (before.logLevel !== after.logLevel) effects.add('log');
  if (JSON.stringify(before.askllm) !== JSON.stringify(after.askllm)) effects.add('askllm');
  if (before.inlineScores !== after.inlineScores) effects.add('inlay');
  return effects;
}

/** The default scorer: an ONNX export of Flan-T5 small (the paper's family, ~300 MB fp32). */
export const DEFAULT_MODEL = 'Xenova/flan-t5-small';

export const defaultSettings: WorkerSettings = {
  maxLineBytes: 100 * 1024 * 1024,
  maxProblems: 1000,
  logLevel: 'info',
  askllm: {
    model: DEFAULT_MODEL,
    dtype: 'fp32',
    device: 'auto',
    batchSize: 'auto',
    maxTokens: 512,
    promptFile: '',
    answerVariants: [],
    showNormalizedVariant: false,
    offline: false,
    endpoint: '',
    engine: 'local',
    engineEndpoint: '',
    engineApi: 'chat',
    engineConcurrency: 0,
  },
  inlineScores: true,
};

/**
 * Pulls `winnow.*` settings from the client with `workspace/configuration`, per resource, and
 * caches them until the client says they changed. Settings are never kept in globals elsewhere
 * (vscode-eslint's rule): every user asks this store for the resource at hand.
 *
 * A client without VS Code (an editor over stdio) may also give a `winnow` section in
 * `initializationOptions`: it is the base, and what `workspace/configuration` answers for the
 * section is laid over it key by key. Without either, the defaults apply (those of package.json).
 */
export class SettingsStore {
  private readonly cache = new Map<string, Promise<WinnowSettingsSection>>();
  private supported = false;
  private initial: WinnowSettingsSection = {};

  constructor(private readonly connection: Connection) {}

  /** Whether the client answers `workspace/configuration`; without it, defaults apply. */
  setSupported(supported: boolean): void {
    this.supported = supported;
  }

  /** The `winnow` section of `initializationOptions` (ignored unless it is an object). */
  setInitial(section: unknown): void {
    this.initial = isPlainObject(section) ? (section as WinnowSettingsSection) : {};
    this.cache.clear();
  }

  /** Settings for a resource (a dataset URI), or the global scope when `uri` is undefined. */
  async get(uri?: string): Promise<WorkerSettings> {
    return resolveSettings(await this.section(uri));
  }

  /** The raw `winnow` section for a resource: initializationOptions overlaid with the client's. */
  section(uri?: string): Promise<WinnowSettingsSection> {
    if (!this.supported) return Promise.resolve(this.initial);
    const key = uri ?? '';
    let section = this.cache.get(key);
    if (!section) {
      section = this.connection.workspace
        .getConfiguration(
          uri ? { scopeUri: uri, section: SETTINGS_SECTION } : { section: SETTINGS_SECTION },
        )
        .then((raw: unknown) => overlaySection(this.initial, raw) as WinnowSettingsSection)
        .catch(() => this.initial);
      this.cache.set(key, section);
    }
    return section;
  }

  /** The settings last pulled for a resource, if any are cached (to classify a change). */
  async cached(uri?: string): Promise<WorkerSettings | undefined> {
    const section = this.supported ? this.cache.get(uri ?? '') : Promise.resolve(this.initial);
    return section ? resolveSettings(await section) : undefined;
  }

  /** Drops the cache; the next `get` pulls again. */
  clear(): void {
    this.cache.clear();
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `over` laid over `base`: objects merge key by key, any other value of `over` (an array, a
 * number, a string) replaces the base's; `null` and `undefined` keep the base.
 */
export function overlaySection(base: unknown, over: unknown): unknown {
  if (over === null || over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = overlaySection(base[key], value);
  return merged;
}

/** Applies defaults and sanity limits to a raw `winnow` section. */
export function resolveSettings(raw: WinnowSettingsSection | null | undefined): WorkerSettings {
  const maxLineBytes = raw?.dataset?.maxLineBytes;
  const maxProblems = raw?.diagnostics?.maxProblems;
  const logLevel = raw?.worker?.logLevel;
  const a = raw?.askllm;
  const d = defaultSettings.askllm;
  const oneOf = <T extends string>(v: unknown, options: readonly T[], fallback: T): T =>
    typeof v === 'string' && (options as readonly string[]).includes(v) ? (v as T) : fallback;
  const askllm: AskLlmSettings = {
    model: typeof a?.model === 'string' && a.model.trim() !== '' ? a.model.trim() : d.model,
    dtype: oneOf(a?.dtype, ['fp32', 'fp16', 'q8', 'q4'], d.dtype),
    device: oneOf(raw?.device, ['auto', 'cpu', 'cuda', 'webgpu'], d.device),
    batchSize:
      typeof a?.batchSize === 'number' && a.batchSize >= 1 ? Math.floor(a.batchSize) : d.batchSize,
    maxTokens:
      typeof a?.maxTokens === 'number' && a.maxTokens >= 16 ? Math.floor(a.maxTokens) : d.maxTokens,
    promptFile: typeof a?.promptFile === 'string' ? a.promptFile.trim() : d.promptFile,
    answerVariants: Array.isArray(a?.answerVariants)
      ? a.answerVariants.filter((w): w is string => typeof w === 'string' && w.trim() !== '')
      : d.answerVariants,
    showNormalizedVariant: a?.showNormalizedVariant === true,
    offline: raw?.models?.offline === true,
    endpoint: typeof raw?.models?.endpoint === 'string' ? raw.models.endpoint.trim() : d.endpoint,
    engine: oneOf(a?.engine, ['local', ...REMOTE_ENGINES], d.engine),
    engineEndpoint:
      typeof a?.engineEndpoint === 'string' ? a.engineEndpoint.trim() : d.engineEndpoint,
    engineApi: oneOf(a?.engineApi, ['chat', 'completions'], d.engineApi),
    engineConcurrency:
      typeof a?.engineConcurrency === 'number' && a.engineConcurrency >= 1
        ? Math.floor(a.engineConcurrency)
        : d.engineConcurrency,
  };
  return {
    askllm,
    inlineScores: raw?.inlineScores?.enabled !== false,
    maxLineBytes:
      typeof maxLineBytes === 'number' && maxLineBytes >= 1024
        ? Math.floor(maxLineBytes)
        : defaultSettings.maxLineBytes,
    maxProblems:
      typeof maxProblems === 'number' && maxProblems >= 0
        ? Math.floor(maxProblems)
        : defaultSettings.maxProblems,
    logLevel:
      logLevel === 'error' || logLevel === 'warn' || logLevel === 'info' || logLevel === 'debug'
        ? logLevel
        : defaultSettings.logLevel,
  };
}
