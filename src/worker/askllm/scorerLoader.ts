/**
 * Loads an ASK-LLM scorer model (docs/runtime.md#loading-models): a seq2seq (Flan-T5) or causal
 * chat model with its tokenizer, by Hugging Face id or from a local folder, on the first device
 * that works. The frame it runs in (cache folder, Hub traffic, device fallback, the serialised
 * transformers.js environment) is the shared model runtime in ../runtime.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PreTrainedModel, PreTrainedTokenizer } from '@huggingface/transformers';
import {
  DTYPE_SUFFIX,
  ModelLoadError,
  errorMessage,
  loadConfigAndTokenizer,
  loadOnDevices,
  originOf,
  serializeModelLoad,
  withModelPlace,
  type LoadModelOptions,
  type LoadedModelIdentity,
  type ModelDtype,
  type ModelPlace,
  type TransformersModule,
} from '../runtime';

/** Model architecture family, which decides how P(yes) is read. */
export type ModelKind = 'seq2seq' | 'causal';


/** A loaded tokenizer + model pair and where it came from. */
export interface LoadedModel extends LoadedModelIdentity {
  readonly kind: ModelKind;
  readonly tokenizer: PreTrainedTokenizer;
  readonly model: PreTrainedModel;
  /** config.json as loaded. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Whether the decoder-only export has a `num_logits_to_keep` input. */
  readonly hasNumLogitsToKeep: boolean;
  /** Releases the ONNX sessions. */
  dispose(): Promise<void>;
}


/** The files a model kind needs for a dtype, relative to the model folder. */
export function requiredFiles(kind: ModelKind, dtype: ModelDtype): string[] {
  const sfx = DTYPE_SUFFIX[dtype];
  const onnx =
    kind === 'seq2seq'
      ? [`onnx/encoder_model${sfx}.onnx`, `onnx/decoder_model_merged${sfx}.onnx`]
      : [`onnx/model${sfx}.onnx`];
  return ['config.json', 'tokenizer.json', 'tokenizer_config.json', ...onnx];
}

/** Dtypes whose ONNX files are all present in a folder. */
export function availableDtypes(folder: string, kind: ModelKind): ModelDtype[] {
  return (Object.keys(DTYPE_SUFFIX) as ModelDtype[]).filter(d =>
    requiredFiles(kind, d).every(f => existsSync(join(folder, f))),
  );
}

function readConfig(folder: string, label: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ModelLoadError(`${label}: config.json cannot be read (${errorMessage(e)}).`);
  }
}

/** Seq2seq when config.json says `is_encoder_decoder`, causal otherwise. */
export function modelKindOf(config: Readonly<Record<string, unknown>>): ModelKind {
  return config.is_encoder_decoder === true ? 'seq2seq' : 'causal';
}

/**
 * Checks a model folder before transformers.js sees it, so that users get a message that says
 * what is missing instead of a library error.
 */
export function checkModelFolder(
  folder: string,
  dtype: ModelDtype,
  label = folder,
): Record<string, unknown> {
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    throw new ModelLoadError(`Model folder not found: ${folder}`);
  if (!existsSync(join(folder, 'config.json')))
    throw new ModelLoadError(
      `${label} is not a Hugging Face model folder: config.json is missing in ${folder}.`,
    );
  const config = readConfig(folder, label);
  const kind = modelKindOf(config);
  const sfx = DTYPE_SUFFIX[dtype];
  if (
    kind === 'seq2seq' &&
    !existsSync(join(folder, `onnx/decoder_model_merged${sfx}.onnx`)) &&
    existsSync(join(folder, `onnx/decoder_model${sfx}.onnx`))
  )
    throw new ModelLoadError(
      `${label} has onnx/decoder_model${sfx}.onnx but not onnx/decoder_model_merged${sfx}.onnx. ` +
        'Winnow needs the merged decoder of an Optimum export (optimum-cli export onnx … produces ' +
        'it; onnx-community/* and Xenova/* repositories include it).',
    );
  const missing = requiredFiles(kind, dtype).filter(f => !existsSync(join(folder, f)));
  if (missing.length > 0) {
    const onnxMissing = missing.some(f => f.startsWith('onnx/'));
    const have = onnxMissing ? availableDtypes(folder, kind) : [];
    throw new ModelLoadError(
      `${label} is missing ${missing.join(', ')}` +
        (onnxMissing
          ? ` for dtype ${dtype}. ${have.length > 0 ? `Available dtypes: ${have.join(', ')}.` : 'No complete ONNX export was found in its onnx/ folder.'}`
          : '.'),
    );
  }
  return config;
}


/**
 * Loads tokenizer and model. Ids are downloaded into `cacheDir` (with progress) unless offline;
 * offline ids resolve from `cacheDir/<id>/`. Tries devices in order (see device.ts) and records
 * each attempt. Throws `ModelLoadError` with a clear message for missing folders and files.
 */
export function loadScorerModel(options: LoadModelOptions): Promise<LoadedModel> {
  return serializeModelLoad(() => loadNow(options));
}


async function loadNow(options: LoadModelOptions): Promise<LoadedModel> {
  return await withModelPlace(options, 'Model', checkModelFolder, (tf, at) =>
    loadWith(tf, options, at),
  );
}


async function loadWith(
  tf: TransformersModule,
  options: LoadModelOptions,
  at: ModelPlace,
): Promise<LoadedModel> {
  const { dtype, local, folder, label, traffic, modelRef, common } = at;
  const { AutoModelForSeq2SeqLM, AutoModelForCausalLM } = tf;
  const { config, tokenizer } = await loadConfigAndTokenizer(tf, options.model, at);
  const kind = modelKindOf(config);
  if (!local) checkModelFiles(kind, dtype, folder, label, options.offline === true);

  const selection = await loadOnDevices(options, at, async (device, sessionOptions) => {
    const opts = {
      ...common,
      dtype,
      device,
      ...(sessionOptions ? { session_options: sessionOptions } : {}),
    };
    return kind === 'seq2seq'
      ? await AutoModelForSeq2SeqLM.from_pretrained(modelRef, opts)
      : await AutoModelForCausalLM.from_pretrained(modelRef, opts);
  });
  const model = selection.value;
  const decoder = (model.sessions as Record<string, { inputNames: string[] }>)['model'];
  const hasNumLogitsToKeep = kind === 'causal' && decoder.inputNames.includes('num_logits_to_keep');
  return {
    modelId: options.model,
    source: local ? 'folder' : 'hub',
    folder,
    origin: originOf(local, traffic),
    kind,
    dtype,
    device: selection.device,
    attempts: selection.attempts,
    tokenizer,
    model,
    config,
    hasNumLogitsToKeep,
    dispose: async () => {
      await model.dispose();
    },
  };
}

/**
 * After a hub config download, checks for the merged decoder the same way as for folders. Only
 * done when the files should already be on disk (offline), since online they download next.
 */
function checkModelFiles(
  kind: ModelKind,
  dtype: ModelDtype,
  folder: string,
  label: string,
  offline: boolean,
): void {
  if (offline) checkModelFolder(folder, dtype, label);
  else if (kind === 'seq2seq' && existsSync(join(folder, 'onnx')))
    try {
      const files = readdirSync(join(folder, 'onnx'));
      const sfx = DTYPE_SUFFIX[dtype];
      if (
        files.includes(`decoder_model${sfx}.onnx`) &&
        !files.includes(`decoder_model_merged${sfx}.onnx`)
      )
        checkModelFolder(folder, dtype, label);
    } catch {
      // A partially downloaded cache is fine: transformers.js fetches the rest.
    }
}
