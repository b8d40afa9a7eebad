/**
 * The shape of Winnow's settings (`winnow.*` in VS Code; the `winnow` section of
 * `workspace/configuration` or `initializationOptions.settings` for other LSP clients), shared by
 * the host's config reader and the worker. Defaults live in package.json's
 * `contributes.configuration` and are applied where each value is read.
 */
/** The settings section the worker pulls with `workspace/configuration`. */
export const SETTINGS_SECTION = 'winnow';

/** The shape of the `winnow` settings section as the worker reads it (every key optional). */
export interface WinnowSettingsSection {
  dataset?: { maxLineBytes?: number };
  diagnostics?: { maxProblems?: number };
  worker?: { logLevel?: LogLevel };
  askllm?: {
    /** Hugging Face id or local folder of the scorer model. */
    model?: string;
    dtype?: string;
    batchSize?: number | 'auto';
    maxTokens?: number;
    /** A `.winnow-prompt` template file (absolute, `~/`, or relative to the workspace folder). */
    promptFile?: string;
    /** Extra answer words whose probabilities are summed into P(yes), e.g. `["Yes"]`. */
    answerVariants?: string[];
    /** Also show the labelled variant P(yes)/(P(yes)+P(no)). */
    showNormalizedVariant?: boolean;
    /**
     * `local` (the in-process ONNX scorer) or a remote engine (docs/engines.md): `openai`,
     * `vllm`, `sglang`, `llamacpp`, `ollama`. With a remote engine `model` is the served name.
     */
    engine?: string;
    /** The remote engine's base URL (OpenAI-compatible engines: ending in `/v1`). */
    engineEndpoint?: string;
    /** `chat` (the engine applies the chat template) or `completions` (raw prompt). */
    engineApi?: string;
    /** Requests in flight to the remote engine (0: the engine's default). */
    engineConcurrency?: number;
  };
  /** Execution device: auto (CUDA, then WebGPU, then CPU), cpu, cuda or webgpu. */
  device?: string;
  inlineScores?: { enabled?: boolean };
  models?: {
    offline?: boolean;
    /** Hugging Face endpoint for downloads ('' = HF_ENDPOINT, else https://huggingface.co). */
    endpoint?: string;
  };
  /** DENSITY settings (`winnow.density.*`, read by src/worker/density/densitySettings.ts). */
  density?: {
    model?: string;
    dtype?: string;
    maxTokens?: number;
    batchSize?: number;
    rows?: number;
    buckets?: number;
    hashesPerRow?: number;
    bandwidth?: number;
    seed?: number;
    shardSketches?: string[];
    computeAfterScoring?: boolean;
    /** `local` or a remote embedding engine: `openai`, `vllm`, `tei`, `ollama`. */
    engine?: string;
    /** The remote engine's base URL (OpenAI-compatible engines: ending in `/v1`). */
    engineEndpoint?: string;
    /** Requests in flight to the remote engine (0: the default). */
    engineConcurrency?: number;
  };
  /** Near-duplicate groups (`winnow.duplicates.*`, src/worker/map/mapSettings.ts). */
  duplicates?: { threshold?: number };
  /** The embedding map (`winnow.map.*`, src/worker/map/mapSettings.ts). */
  map?: { landmarks?: number; seed?: number };
}

/** Log levels of `winnow.worker.logLevel`, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
