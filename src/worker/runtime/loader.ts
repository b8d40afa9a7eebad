/**
 * The frame every model load runs in, for the ASK-LLM scorer (../askllm/scorerLoader.ts) and the
 * DENSITY embedder alike, with @huggingface/transformers 4.x on onnxruntime-node
 * (docs/runtime.md#loading-models): by Hugging Face id (downloaded once from the Hub endpoint,
 * see hub.ts, into a user cache folder, never inside node_modules) or from a local folder,
 * offline if asked, on the first device that works.
 *
 * transformers.js keeps its settings in a global `env`, so loads are serialised here.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { PreTrainedTokenizer, ProgressInfo } from '@huggingface/transformers';
import {
  type DeviceAttempt,
  type DeviceChoice,
  type DeviceName,
  type DeviceSelection,
  errorMessage,
  withDeviceFallback,
} from './device';
import { ModelLoadError } from './errors';
import { type HubEndpoint, HubTraffic, endpointSource, resolveEndpoint } from './hub';

export { ModelLoadError };

/** The transformers.js module, imported lazily so that the worker starts fast. */
export type TransformersModule = typeof import('@huggingface/transformers');

let transformersPromise: Promise<TransformersModule> | undefined;

/**
 * Loads @huggingface/transformers once. The bundles are CommonJS, so `require` is used: a
 * dynamic `import()` would load the package's separate ESM build, and a second copy of the
 * library (with its own `env` settings) would then sit beside any static import of it.
 */
export function transformers(): Promise<TransformersModule> {
  transformersPromise ??= Promise.resolve().then(
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above.
    () => require('@huggingface/transformers') as TransformersModule,
  );
  return transformersPromise;
}

/** Model precisions offered to users, with their file suffixes (docs/runtime.md#dtypes). */
export const DTYPE_SUFFIX = { fp32: '', fp16: '_fp16', q8: '_quantized', q4: '_q4' } as const;

/** A supported precision. */
export type ModelDtype = keyof typeof DTYPE_SUFFIX;

/** Download / load progress, forwarded from transformers.js. */
export interface LoadProgress {
  status: 'initiate' | 'download' | 'progress' | 'done' | 'ready' | 'device';
  /** File being fetched, relative to the model folder. */
  file?: string;
  /** Percent 0–100 for `progress`. */
  progress?: number;
  loaded?: number;
  total?: number;
  /** For `device`: the device being tried. */
  device?: DeviceName;
}

/** Options for `loadScorerModel` (and, with more, for the DENSITY embedder). */
export interface LoadModelOptions {
  /** A Hugging Face id (`onnx-community/flan-t5-small`-style) or a local folder path. */
  model: string;
  /** User cache folder for downloads (an extension's global storage), never node_modules. */
  cacheDir: string;
  /** Resolve ids from `cacheDir` only, never the network (default false). */
  offline?: boolean;
  /** Precision (default fp32, the CPU default in Node). */
  dtype?: ModelDtype;
  /** Device setting (default auto: CUDA if installed, then WebGPU, then CPU). */
  device?: DeviceChoice;
  /**
   * The Hub endpoint as set in `winnow.models.endpoint`; empty or absent = the HF_ENDPOINT
   * environment variable, else https://huggingface.co (see hub.ts). Used for ids, not offline.
   */
  endpoint?: string;
  /** Download and load progress. */
  onProgress?: (p: LoadProgress) => void;
  /** ORT intra-op threads (default: ORT's choice). */
  intraOpNumThreads?: number;
  /**
   * Let ORT's CPU thread pools spin while they wait for work (default: on the CPU device only).
   * On a GPU the pools do little (shape arithmetic, the odd unsupported node), and spinning
   * threads there take cores from the tokenizer threads and the GPU driver; see gpuSessionOptions.
   */
  allowSpinning?: boolean;
}

/**
 * The ORT session options for `device`: `intraOpNumThreads` as given, and spinning thread pools
 * only where asked or on the CPU device (ORT's default spins; `extra` maps to ORT's
 * `session.intra_op.allow_spinning` / `session.inter_op.allow_spinning` config entries).
 */
export function sessionOptionsFor(
  device: DeviceName,
  options: Pick<LoadModelOptions, 'intraOpNumThreads' | 'allowSpinning'>,
): Record<string, unknown> | undefined {
  const spin = options.allowSpinning ?? device === 'cpu';
  const out: Record<string, unknown> = {};
  if (options.intraOpNumThreads !== undefined) out.intraOpNumThreads = options.intraOpNumThreads;
  if (!spin)
    out.extra = {
      session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } },
    };
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Where a model's files came from: a local folder, the model cache (nothing downloaded), or the
 * endpoint (some or all files downloaded into the cache by this load).
 */
export type ModelOrigin =
  | { kind: 'folder' }
  | { kind: 'cache' }
  | { kind: 'download'; endpoint: string; files: readonly string[] };

/** "the local folder F", "the model cache (F)", "https://… (3 files downloaded into F)". */
export function describeOrigin(origin: ModelOrigin, folder: string): string {
  switch (origin.kind) {
    case 'folder':
      return `the local folder ${folder}`;
    case 'cache':
      return `the model cache (${folder})`;
    case 'download':
      return (
        `${origin.endpoint} (${origin.files.length} file${origin.files.length === 1 ? '' : 's'} ` +
        `downloaded into ${folder})`
      );
  }
}

/** Which model was loaded, from where, how and on what device (scorer and embedder alike). */
export interface LoadedModelIdentity {
  /** The id or path as configured: recorded with every result. */
  readonly modelId: string;
  /** `hub` for ids (downloaded or cached), `folder` for local paths. */
  readonly source: 'hub' | 'folder';
  /** The folder the files were read from (for hub ids: inside the cache). */
  readonly folder: string;
  /** Where the files came from in this load. */
  readonly origin: ModelOrigin;
  readonly dtype: ModelDtype;
  /** The device that loaded the model. */
  readonly device: DeviceName;
  /** Every device attempt, in order, with messages. */
  readonly attempts: readonly DeviceAttempt[];
}

/** Whether a model setting names a local folder rather than a Hugging Face id. */
export function isLocalModelPath(model: string): boolean {
  if (isAbsolute(model) || /^(\.{1,2}[\\/]|~[\\/])/.test(model) || model.includes('\\'))
    return true;
  return !/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(model) || model.split('/').length > 2;
}

let loadChain: Promise<unknown> = Promise.resolve();

/**
 * The options every transformers.js `from_pretrained` call gets: the user cache folder, offline
 * mode, and a progress callback that forwards the file-level events as {@link LoadProgress}.
 * `progress` events are only forwarded for files that this load downloads through `traffic`
 * (transformers.js also reports reads from the cache or a local folder as progress).
 */
export function hubLoadOptions(
  cacheDir: string,
  offline: boolean,
  onProgress: ((p: LoadProgress) => void) | undefined,
  traffic?: HubTraffic,
): { cache_dir: string; local_files_only: boolean; progress_callback: (p: ProgressInfo) => void } {
  const progress = (p: ProgressInfo): void => {
    if (!onProgress) return;
    const info = p as Partial<LoadProgress> & { status: string };
    if (
      info.status === 'progress' &&
      (!traffic || info.file === undefined || !traffic.wasDownloaded(info.file))
    )
      return;
    if (['initiate', 'download', 'progress', 'done', 'ready'].includes(info.status))
      onProgress({
        status: info.status as LoadProgress['status'],
        file: info.file,
        progress: info.progress,
        loaded: info.loaded,
        total: info.total,
      });
  };
  return { cache_dir: cacheDir, local_files_only: offline, progress_callback: progress };
}

/**
 * Points transformers.js's global `env` at the cache folder and, for downloads, at the endpoint
 * with the load's traffic recorder as its fetch. Returns a function that restores the fetch.
 * Only call inside the load queue ({@link serializeModelLoad}).
 */
export function configureTransformersEnv(
  tf: TransformersModule,
  cacheDir: string,
  offline: boolean,
  traffic: HubTraffic | undefined,
): () => void {
  const { env, LogLevel } = tf;
  // transformers.js defaults both folders to inside its own package (i.e. node_modules).
  env.cacheDir = cacheDir;
  env.localModelPath = cacheDir;
  env.useFSCache = true;
  env.allowLocalModels = true;
  env.allowRemoteModels = !offline && traffic !== undefined;
  env.logLevel = LogLevel.ERROR;
  // The global env outlives this load: another load must not inherit this endpoint or fetch.
  const defaults = (envDefaults ??= { fetch: env.fetch, remoteHost: env.remoteHost });
  env.remoteHost = traffic ? traffic.endpoint.url : defaults.remoteHost;
  env.fetch = traffic ? traffic.fetch : defaults.fetch;
  return () => {
    env.fetch = defaults.fetch;
    env.remoteHost = defaults.remoteHost;
  };
}

/** transformers.js's own `env.fetch` and `env.remoteHost`, as first seen. */
let envDefaults: Pick<TransformersModule['env'], 'fetch' | 'remoteHost'> | undefined;

/**
 * The endpoint and traffic recorder of a hub id's load, or undefined for folders and offline
 * loads (which never download). Throws `ModelLoadError` for a bad endpoint setting.
 */
export function hubTrafficFor(
  local: boolean,
  offline: boolean,
  endpoint: string | undefined,
): HubTraffic | undefined {
  if (local || offline) return undefined;
  const resolved: HubEndpoint = resolveEndpoint(endpoint);
  return new HubTraffic(resolved);
}

/**
 * Where a load of `model` will look, for the log line before it: "local folder", "offline, model
 * cache C" or "endpoint E (winnow.models.endpoint), model cache C".
 */
export function modelSourceNote(
  model: string,
  offline: boolean,
  endpoint: string | undefined,
  cacheDir: string,
): string {
  if (isLocalModelPath(model)) return 'local folder';
  if (offline) return `offline, model cache ${cacheDir}`;
  let where: string;
  try {
    const e = resolveEndpoint(endpoint);
    where = `endpoint ${e.url}${endpointSource(e)}`;
  } catch {
    where = 'an unusable endpoint setting';
  }
  return `${where}, model cache ${cacheDir}`;
}

/** Where the files of a load came from, from its traffic. */
export function originOf(local: boolean, traffic: HubTraffic | undefined): ModelOrigin {
  if (local) return { kind: 'folder' };
  if (!traffic || traffic.downloaded.size === 0) return { kind: 'cache' };
  return { kind: 'download', endpoint: traffic.endpoint.url, files: [...traffic.downloaded] };
}

/**
 * Runs `load` in the same queue as `loadScorerModel`, so that other model loaders (the DENSITY
 * embedder, src/worker/density) never change transformers.js's global `env` during a scorer load.
 */
export function serializeModelLoad<T>(load: () => Promise<T>): Promise<T> {
  const p = loadChain.then(load, load);
  loadChain = p.catch(() => undefined);
  return p;
}

/** Where a load finds its model, and how messages name it (see withModelPlace). */
export interface ModelPlace {
  dtype: ModelDtype;
  local: boolean;
  cacheDir: string;
  folder: string;
  /** "Model folder F" / "Model id", with the loader's noun. */
  label: string;
  traffic: HubTraffic | undefined;
  /** What `from_pretrained` is given: the folder for local models, else the id. */
  modelRef: string;
  /** The options every `from_pretrained` call of the load gets (hubLoadOptions). */
  common: ReturnType<typeof hubLoadOptions>;
}

/**
 * The frame of a model load shared by the scorer and the embedder: validates the dtype, resolves
 * the folder (a local path, or the id's folder in the cache), checks a local folder with
 * `checkFolder` and an offline id against the cache, then runs `load` with transformers.js's
 * `env` set up for it and restored afterwards. `noun` names the model in messages ("Model").
 */
export async function withModelPlace<T>(
  options: LoadModelOptions,
  noun: string,
  checkFolder: (folder: string, dtype: ModelDtype, label: string) => unknown,
  load: (tf: TransformersModule, at: ModelPlace) => Promise<T>,
): Promise<T> {
  const dtype = options.dtype ?? 'fp32';
  if (!(dtype in DTYPE_SUFFIX))
    throw new ModelLoadError(
      `Unknown dtype "${dtype}"; use one of ${Object.keys(DTYPE_SUFFIX).join(', ')}.`,
    );
  const local = isLocalModelPath(options.model);
  const cacheDir = resolve(options.cacheDir);
  const folder = local
    ? resolve(options.model.replace(/^~(?=[\\/])/, process.env.HOME ?? '~'))
    : join(cacheDir, options.model);
  const label = local ? `${noun} folder ${folder}` : `${noun} ${options.model}`;
  if (local) checkFolder(folder, dtype, label);
  else if (options.offline) {
    if (!existsSync(join(folder, 'config.json')))
      throw new ModelLoadError(
        `${noun} ${options.model} is not in the model cache (${cacheDir}) and offline mode is on. ` +
          'Turn offline mode off once to download it, or set the model to a local folder.',
      );
    checkFolder(folder, dtype, label);
  }
  const offline = options.offline === true;
  const traffic = hubTrafficFor(local, offline, options.endpoint);
  const tf = await transformers();
  const restore = configureTransformersEnv(tf, cacheDir, offline, traffic);
  try {
    const modelRef = local ? folder : options.model;
    const common = hubLoadOptions(cacheDir, offline, options.onProgress, traffic);
    return await load(tf, { dtype, local, cacheDir, folder, label, traffic, modelRef, common });
  } finally {
    restore();
  }
}

/** The model's config (as plain JSON) and tokenizer; a failure names the model and the cause. */
export async function loadConfigAndTokenizer(
  tf: TransformersModule,
  model: string,
  at: Pick<ModelPlace, 'label' | 'traffic' | 'modelRef' | 'common'>,
): Promise<{ config: Record<string, unknown>; tokenizer: PreTrainedTokenizer }> {
  const { modelRef, common } = at;
  try {
    const cfg = await tf.AutoConfig.from_pretrained(modelRef, common);
    const config = JSON.parse(JSON.stringify(cfg)) as Record<string, unknown>;
    const tokenizer = await tf.AutoTokenizer.from_pretrained(modelRef, common);
    return { config, tokenizer };
  } catch (e) {
    throw new ModelLoadError(
      at.traffic?.explain(model, at.label) ?? `${at.label} could not be loaded: ${errorMessage(e)}`,
    );
  }
}

/**
 * Creates the model's sessions on the first device that works (withDeviceFallback), with the
 * device's ORT session options (sessionOptionsFor) and a `device` progress event per attempt.
 * Throws `ModelLoadError` when none works.
 */
export async function loadOnDevices<T>(
  options: LoadModelOptions,
  at: Pick<ModelPlace, 'label' | 'traffic'>,
  create: (device: DeviceName, sessionOptions: Record<string, unknown> | undefined) => Promise<T>,
): Promise<DeviceSelection<T>> {
  return await withDeviceFallback(options.device ?? 'auto', async device => {
    options.onProgress?.({ status: 'device', device });
    return await create(device, sessionOptionsFor(device, options));
  }).catch((e: unknown) => {
    throw new ModelLoadError(
      at.traffic?.explain(options.model, at.label) ??
        `${at.label} could not be loaded on any device. ${errorMessage(e)}`,
    );
  });
}
