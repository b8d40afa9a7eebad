/**
 * The sentence-transformers packaging of an embedding model (`modules.json` and its module
 * folders): which pooling, which Dense layers, whether it normalises, and its maximum sequence
 * length. Sentence-T5 (the paper's embedder) is T5 encoder → mean pooling → Dense 768→768
 * (no bias, identity) → Normalize; MiniLM is BERT → mean pooling → Normalize.
 *
 * Supported modules: Transformer (the ONNX graph), Pooling (one of mean / cls / max),
 * Dense (weights from `<module>/model.safetensors`, identity or tanh activation) and Normalize.
 * A folder without `modules.json` is a plain encoder: mean pooling, then L2 normalisation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DenseLayer, type PoolingMode } from './pooling';
import { readSafetensors } from './safetensors';

/** The post-encoder head of a sentence-transformers model. */
export interface SentenceHead {
  /** Pooling of the token states (default mean). */
  pooling: PoolingMode;
  /** Dense layers after pooling, in order (sentence-t5 has one). */
  dense: DenseLayer[];
  /** The model's own `max_seq_length` (sentence_bert_config.json), if it states one. */
  maxSeqLength?: number;
  /** Lower-case the text before tokenising (sentence_bert_config.json `do_lower_case`). */
  doLowerCase: boolean;
  /** Whether modules.json was found (false: the defaults above apply). */
  fromModules: boolean;
  /** Module folders with their types, for the log. */
  modules: string[];
}

interface ModuleEntry {
  idx?: number;
  name?: string;
  path?: string;
  type?: string;
}

/** Files of a sentence-transformers packaging that are read, relative to the model folder. */
export function headFiles(folder: string): string[] {
  const files = ['modules.json', 'sentence_bert_config.json'];
  for (const m of readModules(folder) ?? []) {
    if (!m.path || isTransformer(m.type)) continue;
    files.push(`${m.path}/config.json`);
    if (m.type?.endsWith('.Dense')) files.push(`${m.path}/model.safetensors`);
  }
  return files;
}

function isTransformer(type: string | undefined): boolean {
  return type === 'sentence_transformers.models.Transformer';
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function readModules(folder: string): ModuleEntry[] | undefined {
  const path = join(folder, 'modules.json');
  if (!existsSync(path)) return undefined;
  const list = readJson(path) as unknown;
  if (!Array.isArray(list)) throw new Error(`${path} is not a list of modules`);
  return (list as ModuleEntry[]).slice().sort((a, b) => (a.idx ?? 0) - (b.idx ?? 0));
}

/**
 * Reads the head of a model folder.
 * @throws Error with a user-facing message for an unsupported module or missing weights.
 */
export function readSentenceHead(folder: string): SentenceHead {
  const head: SentenceHead = {
    pooling: 'mean',
    dense: [],
    doLowerCase: false,
    fromModules: false,
    modules: [],
  };
  const stConfig = join(folder, 'sentence_bert_config.json');
  if (existsSync(stConfig)) {
    const c = readJson(stConfig);
    if (typeof c.max_seq_length === 'number' && c.max_seq_length > 0)
      head.maxSeqLength = c.max_seq_length;
    head.doLowerCase = c.do_lower_case === true;
  }
  const modules = readModules(folder);
  if (!modules) return head;
  head.fromModules = true;
  for (const m of modules) {
    const type = m.type ?? '';
    const dir = join(folder, m.path ?? '');
    head.modules.push(`${m.path || '.'}: ${type.replace('sentence_transformers.models.', '')}`);
    if (isTransformer(type)) continue;
    if (type.endsWith('.Pooling'))
      head.pooling = poolingMode(readJson(join(dir, 'config.json')), dir);
    else if (type.endsWith('.Dense')) head.dense.push(readDense(dir));
    else if (type.endsWith('.Normalize')) continue;
    else
      throw new Error(
        `${join(folder, 'modules.json')} lists a ${type} module; Winnow supports Transformer, ` +
          'Pooling (mean, cls or max), Dense and Normalize.',
      );
  }
  return head;
}

function poolingMode(c: Record<string, unknown>, dir: string): PoolingMode {
  const modes: [string, PoolingMode | undefined][] = [
    ['pooling_mode_mean_tokens', 'mean'],
    ['pooling_mode_cls_token', 'cls'],
    ['pooling_mode_max_tokens', 'max'],
    ['pooling_mode_mean_sqrt_len_tokens', undefined],
    ['pooling_mode_weightedmean_tokens', undefined],
    ['pooling_mode_lasttoken', undefined],
  ];
  const on = modes.filter(([k]) => c[k] === true);
  if (on.length === 1 && on[0][1]) return on[0][1];
  if (
    on.length === 0 &&
    typeof c.pooling_mode === 'string' &&
    ['mean', 'cls', 'max'].includes(c.pooling_mode)
  )
    return c.pooling_mode as PoolingMode;
  throw new Error(
    `${join(dir, 'config.json')}: pooling ${on.map(([k]) => k).join(' + ') || '(none)'} is not supported; ` +
      'Winnow pools with exactly one of mean, cls or max.',
  );
}

const ACTIVATIONS: Record<string, DenseLayer['activation']> = {
  'torch.nn.modules.linear.Identity': 'identity',
  'torch.nn.modules.activation.Tanh': 'tanh',
};

function readDense(dir: string): DenseLayer {
  const c = readJson(join(dir, 'config.json'));
  const inFeatures = Number(c.in_features);
  const outFeatures = Number(c.out_features);
  const activation =
    ACTIVATIONS[String(c.activation_function ?? 'torch.nn.modules.linear.Identity')];
  if (!activation)
    throw new Error(
      `${dir}: Dense activation ${String(c.activation_function)} is not supported (identity or tanh).`,
    );
  const weights = join(dir, 'model.safetensors');
  if (!existsSync(weights)) {
    const bin = existsSync(join(dir, 'pytorch_model.bin'));
    throw new Error(
      `${dir} has no model.safetensors${bin ? ' (only pytorch_model.bin, a PyTorch pickle Winnow does not read)' : ''}. ` +
        'Convert the Dense weights once with Python: ' +
        `python -c "import torch, safetensors.torch as s; s.save_file(torch.load('${join(dir, 'pytorch_model.bin')}'), '${weights}')"`,
    );
  }
  const tensors = readSafetensors(weights);
  const w = tensors.get('linear.weight');
  if (!w || w.shape.length !== 2 || w.shape[0] !== outFeatures || w.shape[1] !== inFeatures)
    throw new Error(`${weights}: expected linear.weight of shape [${outFeatures}, ${inFeatures}]`);
  const b = tensors.get('linear.bias');
  if (c.bias !== false && b && b.data.length !== outFeatures)
    throw new Error(`${weights}: linear.bias has ${b.data.length} values, expected ${outFeatures}`);
  return {
    inFeatures,
    outFeatures,
    weight: w.data,
    ...(c.bias !== false && b ? { bias: b.data } : {}),
    activation,
  };
}
