/**
 * Sentence-embedding models for DENSITY, loaded with @huggingface/transformers on onnxruntime-node
 * on the same device selection as the ASK-LLM scorer (src/worker/runtime/device.ts), in the same
 * load queue and with the same cache-folder rules (src/worker/runtime/loader.ts).
 *
 * Every embedding is: tokenise (truncated to `maxTokens`, special tokens kept) → the encoder's
 * ONNX graph → pooling over the attention mask (mean by default) → the sentence-transformers
 * Dense layers, if any → L2 normalisation. So DENSITY always sees unit vectors.
 *
 * Supported model layouts (one encoder graph, `model{suffix}.onnx`):
 * - transformers.js / Optimum `--library transformers` exports (`onnx/model.onnx`, output
 *   `last_hidden_state`), e.g. Xenova/all-MiniLM-L6-v2, Xenova/bge-small-en-v1.5. Pooling,
 *   Dense and Normalize come from the folder's sentence-transformers files (`modules.json`,
 *   `1_Pooling/config.json`, `2_Dense/config.json` + `2_Dense/model.safetensors`); without
 *   `modules.json`, mean pooling + L2.
 * - Optimum `--library sentence_transformers` exports, whose graph already contains pooling,
 *   Dense and Normalize (output `sentence_embedding`): the graph output is used as is (and
 *   normalised again, which changes nothing). `model.onnx` may sit in `onnx/` or in the root.
 * Sentence-T5 (T5 encoder → mean → Dense 768→768 → Normalize): either layout works. With a
 * transformer-only export, the Dense weights must be in `2_Dense/model.safetensors`; a folder
 * that only has the original `2_Dense/pytorch_model.bin` gets an error with a one-line
 * conversion command.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import { decodeFloat16 } from '../../core/embedStore';
import {
  type DeviceAttempt,
  type DeviceName,
  errorMessage,
  type HubTraffic,
  hostData,
  DTYPE_SUFFIX,
  type LoadModelOptions,
  type LoadedModelIdentity,
  ModelLoadError,
  type ModelDtype,
  type ModelOrigin,
  type ModelPlace,
  loadConfigAndTokenizer,
  loadOnDevices,
  originOf,
  serializeModelLoad,
  transformers,
  withModelPlace,
} from '../runtime';
import { applyDense, l2Normalize, pool, type PoolingMode } from './pooling';
import { type SentenceHead, headFiles, readSentenceHead } from './sentenceTransformers';

/** The default embedder: small and fast (6 layers, 384-d, 22M parameters), mean pooling + L2. */
export const DEFAULT_EMBEDDING_MODEL = 'Xenova/all-MiniLM-L6-v2';

/** Truncation when neither the setting nor the model (sentence_bert_config.json) gives one. */
export const DEFAULT_EMBEDDING_MAX_TOKENS = 256;

/** Marker written into a cached hub folder whose repository has no modules.json. */
const NO_MODULES_MARKER = '.winnow-no-modules';

/** Options for {@link loadEmbeddingModel}: the scorer loader's, plus the truncation. */
export interface EmbeddingModelOptions extends LoadModelOptions {
  /**
   * Tokens per text, special tokens included; 0 or absent: the model's own max_seq_length, else
   * {@link DEFAULT_EMBEDDING_MAX_TOKENS}. Capped at the model's limit.
   */
  maxTokens?: number;
}

/** One embedded batch. */
export interface EmbeddedBatch {
  /** n × dim unit vectors, row-major, in input order. */
  vectors: Float32Array;
  /** Tokens fed per text (after truncation, special tokens included). */
  tokens: Int32Array;
  /** 1 where the text was cut to `maxTokens`. */
  truncated: Uint8Array;
}

/**
 * What DENSITY needs of an embedder: a local model ({@link EmbeddingModel}) or a remote engine
 * (remoteEmbedder.ts). Both give unit vectors in the same layout, so DENSITY is unchanged.
 */
export interface DensityEmbedder {
  /** The model id, folder or served model name: recorded with every result. */
  readonly modelId: string;
  readonly dtype: string;
  /** The local model's device; `remote` for an engine (the hash graph then runs on the CPU). */
  readonly device: DeviceName | 'remote';
  readonly dim: number;
  /** Truncation length in tokens; 0 where the engine truncates to its model's own limit. */
  readonly maxTokens: number;
  readonly pipeline: string;
  /** The embedding cache key (see {@link EmbeddingModel.key}). */
  readonly key: string;
  /**
   * Texts a caller should hand to one {@link embedBatch} call (a remote engine splits them into
   * requests with several in flight); undefined: the caller's batch size.
   */
  readonly callBatch?: number;
  /** Remote engines: where rows are sent (engine name and host), for logs and the status bar. */
  readonly remote?: { readonly engine: string; readonly host: string };
  embedBatch(texts: readonly string[], signal?: AbortSignal): Promise<EmbeddedBatch>;
  /** Local models: the token ids fed to the encoder (remote engines do not tell). */
  tokenize?(text: string): number[];
  dispose(): Promise<void>;
}

/** A loaded sentence-embedding model. */
export interface EmbeddingModel
  extends LoadedModelIdentity, Omit<DensityEmbedder, 'device' | 'dtype'> {
  /** Embedding dimension (after any Dense layer). */
  readonly dim: number;
  /** Truncation length in tokens, special tokens included: recorded with every result. */
  readonly maxTokens: number;
  /** How a vector is made, e.g. "last_hidden_state → mean → Dense 768→768 → L2". */
  readonly pipeline: string;
  /**
   * Everything that determines a vector besides the text (model, file identity, dtype,
   * truncation, head): the embedding cache key.
   */
  readonly key: string;
  /** Embeds texts as one padded batch. */
  embedBatch(texts: readonly string[]): Promise<EmbeddedBatch>;
  /** The token ids fed to the encoder for a text (truncated, special tokens included). */
  tokenize(text: string): number[];
  /** Releases the ONNX session. */
  dispose(): Promise<void>;
}

/** Folder where the encoder graph lives: `onnx/` (transformers.js layout) or the root (Optimum). */
function graphSubfolder(folder: string, dtype: ModelDtype): 'onnx' | '' | undefined {
  const file = `model${DTYPE_SUFFIX[dtype]}.onnx`;
  if (existsSync(join(folder, 'onnx', file))) return 'onnx';
  if (existsSync(join(folder, file))) return '';
  return undefined;
}

function checkLocalFolder(folder: string, dtype: ModelDtype, label: string): void {
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new ModelLoadError(`Embedding model folder not found: ${folder}`);
  for (const f of ['config.json', 'tokenizer.json'])
    if (!existsSync(join(folder, f)))
      throw new ModelLoadError(
        `${label} is not a Hugging Face model folder: ${f} is missing in ${folder}.`,
      );
  if (graphSubfolder(folder, dtype) === undefined) {
    const have = (Object.keys(DTYPE_SUFFIX) as ModelDtype[]).filter(
      d => graphSubfolder(folder, d) !== undefined,
    );
    throw new ModelLoadError(
      `${label} has no onnx/model${DTYPE_SUFFIX[dtype]}.onnx (or model${DTYPE_SUFFIX[dtype]}.onnx) for dtype ${dtype}. ` +
        (have.length > 0
          ? `Available dtypes: ${have.join(', ')}.`
          : 'Winnow needs a single encoder graph: export one with optimum-cli export onnx --task feature-extraction.'),
    );
  }
}

/**
 * Downloads the sentence-transformers head files of a hub model into its cache folder (those
 * transformers.js does not fetch). A repository without modules.json is remembered with a marker
 * file, so offline loads behave the same.
 */
async function fetchHeadFiles(traffic: HubTraffic, id: string, folder: string): Promise<void> {
  if (existsSync(join(folder, 'modules.json')) || existsSync(join(folder, NO_MODULES_MARKER))) {
    await fetchMissing(traffic, id, folder, headFiles(folder).slice(1));
    return;
  }
  const got = await fetchFile(traffic, id, 'modules.json', folder);
  if (!got) {
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, NO_MODULES_MARKER), '');
    return;
  }
  await fetchMissing(traffic, id, folder, headFiles(folder).slice(1));
}

async function fetchMissing(
  traffic: HubTraffic,
  id: string,
  folder: string,
  files: string[],
): Promise<void> {
  for (const f of files) if (!existsSync(join(folder, f))) await fetchFile(traffic, id, f, folder);
}

/**
 * Fetches one file through the load's traffic recorder (which names the endpoint when it cannot
 * be reached); false on 404, throws on other failures.
 */
async function fetchFile(
  traffic: HubTraffic,
  id: string,
  file: string,
  folder: string,
): Promise<boolean> {
  const url = `${traffic.endpoint.url}${id}/resolve/main/${file}`;
  const response = await traffic.fetch(url);
  if (response.status === 404) return false;
  if (!response.ok) throw new ModelLoadError(`Could not download ${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const path = join(folder, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return true;
}

/**
 * Loads an embedding model. Throws `ModelLoadError` with a user-facing message for a missing
 * folder or file, an offline cache miss, an unsupported head, or when no device works.
 */
export function loadEmbeddingModel(options: EmbeddingModelOptions): Promise<EmbeddingModel> {
  return serializeModelLoad(() => loadNow(options));
}

async function loadNow(options: EmbeddingModelOptions): Promise<EmbeddingModel> {
  return await withModelPlace(options, 'Embedding model', checkLocalFolder, (tf, at) =>
    loadWith(tf, options, at),
  );
}

async function loadWith(
  tf: Awaited<ReturnType<typeof transformers>>,
  options: EmbeddingModelOptions,
  at: ModelPlace,
): Promise<EmbeddingModel> {
  const { dtype, local, folder, label, traffic, modelRef, common } = at;
  const { PreTrainedModel } = tf;
  const { config, tokenizer } = await loadConfigAndTokenizer(tf, options.model, at);
  if (traffic)
    await fetchHeadFiles(traffic, options.model, folder).catch((e: unknown) => {
      throw new ModelLoadError(
        traffic.explain(options.model, label) ?? `${label}: ${errorMessage(e)}`,
      );
    });
  let head: SentenceHead;
  try {
    head = readSentenceHead(folder);
  } catch (e) {
    throw new ModelLoadError(`${label}: ${errorMessage(e)}`);
  }

  // For hub ids the graph sits in onnx/ (transformers.js layout); folders may have it in the root.
  const subfolder = local ? (graphSubfolder(folder, dtype) ?? 'onnx') : 'onnx';
  const selection = await loadOnDevices(options, at, (device, sessionOptions) =>
    // The base class loads any architecture as one encoder-only graph (session `model`), which
    // is what a feature-extraction export is; AutoModel would want a decoder for T5 configs.
    PreTrainedModel.from_pretrained(modelRef, {
      ...common,
      dtype,
      device,
      subfolder,
      ...(sessionOptions ? { session_options: sessionOptions } : {}),
    }),
  );
  const model = selection.value;
  const session = (
    model.sessions as Record<string, { outputNames: string[]; inputNames: string[] }>
  )['model'];
  const embedder = new TransformersEmbedder({
    tf,
    options,
    local,
    folder,
    origin: originOf(local, traffic),
    dtype,
    device: selection.device,
    attempts: selection.attempts,
    tokenizer,
    model,
    config,
    head,
    outputNames: session.outputNames,
    inputNames: session.inputNames,
    subfolder,
  });
  try {
    await embedder.init();
  } catch (e) {
    await model.dispose();
    throw new ModelLoadError(
      `${label} loaded, but embedding a test sentence failed: ${errorMessage(e)}`,
    );
  }
  return embedder;
}

interface EmbedderParts {
  tf: Awaited<ReturnType<typeof transformers>>;
  options: EmbeddingModelOptions;
  local: boolean;
  folder: string;
  origin: ModelOrigin;
  dtype: ModelDtype;
  device: DeviceName;
  attempts: readonly DeviceAttempt[];
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  config: Record<string, unknown>;
  head: SentenceHead;
  outputNames: string[];
  inputNames: string[];
  subfolder: string;
}

/** How the graph's output becomes a sentence vector. */
type OutputMode = { kind: 'sentence'; name: string } | { kind: 'tokens'; name: string };

class TransformersEmbedder implements EmbeddingModel {
  readonly modelId: string;
  readonly source: 'hub' | 'folder';
  readonly folder: string;
  readonly origin: ModelOrigin;
  readonly dtype: ModelDtype;
  readonly device: DeviceName;
  readonly attempts: readonly DeviceAttempt[];
  readonly maxTokens: number;
  dim = 0;
  pipeline = '';
  key = '';
  private readonly output: OutputMode;
  private readonly pooling: PoolingMode;
  /** Special tokens the post-processor puts before and after the text. */
  private prefix = 0;
  private suffix = 0;
  private disposed = false;

  constructor(private readonly parts: EmbedderParts) {
    const { options, folder, dtype, head, outputNames, tokenizer, config } = parts;
    this.modelId = options.model;
    this.source = parts.local ? 'folder' : 'hub';
    this.folder = folder;
    this.origin = parts.origin;
    this.dtype = dtype;
    this.device = parts.device;
    this.attempts = parts.attempts;
    this.pooling = head.pooling;
    this.output = outputNames.includes('sentence_embedding')
      ? { kind: 'sentence', name: 'sentence_embedding' }
      : {
          kind: 'tokens',
          name:
            ['last_hidden_state', 'token_embeddings'].find(n => outputNames.includes(n)) ??
            outputNames[0],
        };
    const wanted =
      options.maxTokens && options.maxTokens > 0
        ? Math.floor(options.maxTokens)
        : (head.maxSeqLength ?? DEFAULT_EMBEDDING_MAX_TOKENS);
    const limits = [tokenizer.model_max_length, config.max_position_embeddings].filter(
      (v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0,
    );
    this.maxTokens = Math.max(1, Math.min(wanted, ...limits));
  }

  /** Finds the special-token layout and the dimension with one probe, and builds the key. */
  async init(): Promise<void> {
    const { tokenizer } = this.parts;
    const withSpecial = tokenizer.encode('winnow');
    const bare = tokenizer.encode('winnow', { add_special_tokens: false });
    const at = indexOfRun(withSpecial, bare);
    this.prefix = at >= 0 ? at : 0;
    this.suffix = at >= 0 ? withSpecial.length - at - bare.length : 0;
    const probe = await this.embedBatch(['winnow']);
    this.dim = probe.vectors.length;
    const head = this.parts.head;
    const steps =
      this.output.kind === 'sentence'
        ? [`${this.output.name} (pooling in the graph)`]
        : [
            this.output.name,
            this.pooling,
            ...head.dense.map(
              d =>
                `Dense ${d.inFeatures}→${d.outFeatures}${d.activation === 'tanh' ? ' tanh' : ''}`,
            ),
          ];
    this.pipeline = [...steps, 'L2'].join(' → ');
    this.key = JSON.stringify({
      model: this.modelId,
      files: this.source === 'folder' ? fileIdentity(this.parts) : undefined,
      dtype: this.dtype,
      maxTokens: this.maxTokens,
      lowerCase: head.doLowerCase,
      pipeline: this.pipeline,
      dim: this.dim,
    });
  }

  async embedBatch(texts: readonly string[]): Promise<EmbeddedBatch> {
    if (this.disposed) throw new Error('The embedding model was disposed');
    const n = texts.length;
    if (n === 0)
      return {
        vectors: new Float32Array(0),
        tokens: new Int32Array(0),
        truncated: new Uint8Array(0),
      };
    const { tf, model, tokenizer, head, inputNames } = this.parts;
    const ids = texts.map(t => this.encode(t));
    const truncated = new Uint8Array(n);
    const tokens = new Int32Array(n);
    ids.forEach((x, i) => {
      truncated[i] = x.truncated ? 1 : 0;
      tokens[i] = x.ids.length;
    });
    const L = Math.max(1, ...ids.map(x => x.ids.length));
    const pad = BigInt(tokenizer.pad_token_id ?? 0);
    const inputIds = new BigInt64Array(n * L).fill(pad);
    const mask = new BigInt64Array(n * L);
    const maskNum = new Uint8Array(n * L);
    ids.forEach((x, b) => {
      x.ids.forEach((id, t) => {
        inputIds[b * L + t] = BigInt(id);
        mask[b * L + t] = 1n;
        maskNum[b * L + t] = 1;
      });
    });
    const feeds: Record<string, Tensor> = {
      input_ids: new tf.Tensor('int64', inputIds, [n, L]),
      attention_mask: new tf.Tensor('int64', mask, [n, L]),
    };
    if (inputNames.includes('token_type_ids'))
      feeds.token_type_ids = new tf.Tensor('int64', new BigInt64Array(n * L), [n, L]);
    const out = (await model(feeds)) as Record<string, Tensor>;
    const t = out[this.output.name];
    if (!t) throw new Error(`the model has no output ${this.output.name}`);
    const data = await floatData(t);
    let vectors: Float32Array;
    if (this.output.kind === 'sentence' || t.dims.length === 2) {
      vectors = data.slice(0, n * (t.dims[t.dims.length - 1] as number));
    } else {
      const [B, Lo, H] = t.dims as [number, number, number];
      vectors = pool(data, [B, Lo, H], maskNum, this.pooling);
      for (const dense of head.dense) {
        if (dense.inFeatures !== vectors.length / n)
          throw new Error(
            `Dense layer expects ${dense.inFeatures} inputs, the encoder gives ${vectors.length / n}`,
          );
        vectors = applyDense(vectors, n, dense);
      }
    }
    for (const v of Object.values(out)) (v as { dispose?: () => void }).dispose?.();
    return { vectors: l2Normalize(vectors, n), tokens, truncated };
  }

  tokenize(text: string): number[] {
    return this.encode(text).ids;
  }

  /**
   * Token ids of one text (lower-cased first where the model asks), truncated like the Python
   * tokenizers: special tokens are kept. Only a prefix of a long text is tokenised (see
   * {@link prefixIds}), so a row of many megabytes costs what a short one costs.
   */
  private encode(text: string): { ids: number[]; truncated: boolean } {
    const { tokenizer, head } = this.parts;
    const max = this.maxTokens;
    const { ids, shortened } = prefixIds(
      t => tokenizer.encode(head.doLowerCase ? t.toLowerCase() : t),
      text,
      max,
    );
    if (ids.length <= max) return { ids, truncated: shortened };
    const keep = Math.max(0, max - this.prefix - this.suffix);
    return {
      ids: [...ids.slice(0, this.prefix + keep), ...ids.slice(ids.length - this.suffix)].slice(
        0,
        max,
      ),
      truncated: true,
    };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.parts.model.dispose();
  }
}

/**
 * The token ids of the shortest prefix of `text` worth tokenising for a limit of `max` tokens:
 * the text cut (before a whitespace where there is one) to 8 characters per token, grown ×4
 * while it gives fewer than `max` + 16 tokens, up to 256 characters per token. The 16 extra
 * tokens keep the tokens at the cut, which can differ from those of the whole text, past the
 * ones kept, so truncating these ids to `max` equals truncating the ids of the whole text. A text
 * whose first `256 × max` characters hold fewer tokens (a huge whitespace run) is embedded on
 * those characters.
 */
export function prefixIds(
  encode: (text: string) => number[],
  text: string,
  max: number,
): { ids: number[]; shortened: boolean } {
  const margin = 16;
  const limit = Math.min(text.length, 256 * max);
  const cut = (size: number): string => {
    if (size >= text.length) return text;
    for (let i = size; i > size - 256 && i > 0; i--)
      if (/\s/.test(text[i])) return text.slice(0, i);
    const code = text.charCodeAt(size - 1);
    // Never split a surrogate pair.
    return text.slice(0, code >= 0xd800 && code <= 0xdbff ? size - 1 : size);
  };
  let part = cut(Math.min(limit, 8 * (max + margin)));
  let ids = encode(part);
  while (part.length < limit && ids.length < max + margin) {
    part = cut(Math.min(limit, 4 * part.length));
    ids = encode(part);
  }
  return { ids, shortened: part.length < text.length };
}

/** Position of `needle` inside `hay`, or -1. */
function indexOfRun(hay: readonly number[], needle: readonly number[]): number {
  if (needle.length === 0) return -1;
  for (let i = 0; i + needle.length <= hay.length; i++) {
    let ok = true;
    for (let j = 0; j < needle.length && ok; j++) ok = hay[i + j] === needle[j];
    if (ok) return i;
  }
  return -1;
}

/** Size and mtime of a folder model's graph: a changed file invalidates cached embeddings. */
function fileIdentity(parts: EmbedderParts): string {
  const file = join(parts.folder, parts.subfolder, `model${DTYPE_SUFFIX[parts.dtype]}.onnx`);
  try {
    const s = statSync(file);
    return `${s.size}:${Math.floor(s.mtimeMs)}`;
  } catch {
    return 'unknown';
  }
}

/** A float tensor's values as float32 in host memory (fp16 outputs are converted). */
async function floatData(t: Tensor): Promise<Float32Array> {
  const data = (await hostData(t)) as unknown;
  if (data instanceof Float32Array) return data;
  if (t.type === 'float16' && data instanceof Uint16Array)
    return decodeFloat16(data, new Float32Array(data.length));
  if (ArrayBuffer.isView(data) && 'length' in data)
    return Float32Array.from(data as unknown as ArrayLike<number>);
  throw new Error(`unexpected output type ${t.type}`);
}
