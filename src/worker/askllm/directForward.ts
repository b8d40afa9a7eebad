/**
 * The scorer's forward pass as plain `session.run` calls on the model's own ONNX Runtime
 * sessions (the ones transformers.js created, on the device it picked), for the two layouts the
 * scorer reads P(yes) from:
 *
 * - seq2seq (Optimum `encoder_model` + `decoder_model_merged`): the encoder, then the first
 *   decoder step from the start token with an empty cache (`use_cache_branch` false);
 * - decoder-only (`model`): one pass over the left-padded prompt with an empty cache,
 *   `num_logits_to_keep` = 1 where the export has it.
 *
 * Only the tensors the score needs are fetched (`last_hidden_state`, `logits`; see fetchThrough
 * for exports that list other outputs first): in Optimum's layout the decoder's `present.*`
 * key/value outputs (for T5 the cross-attention cache is batch × heads × prompt × head-dim per
 * layer) are never copied out or downloaded from a GPU. transformers.js's generic
 * forward fetches them all. The feeds follow what transformers.js passes (checked against it in
 * the tests), and a session with any input this module does not know makes `directForward`
 * return undefined, so the scorer falls back to transformers.js's forward.
 */
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import type { LoadedModel } from './scorerLoader';

/** Runs one padded batch; resolves to the `logits` tensor (the caller disposes it). */
export type ForwardRun = (batch: PaddedBatch) => Promise<Tensor>;

/** A tokenised batch, padded (right for seq2seq, left for decoder-only). */
export interface PaddedBatch {
  readonly ids: BigInt64Array;
  readonly mask: BigInt64Array;
  readonly rows: number;
  readonly length: number;
}

/** What is read of an input's metadata (onnxruntime-common's ValueMetadata). */
interface InputMeta {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

type Session = InferenceSession;

const PAST = /^past_key_values\.\d+\.(?:(?:decoder|encoder)\.)?(?:key|value)$/;

/** Builds one run's feeds for a session from the values the caller has. */
type Feeder = (rows: number, values: Readonly<Record<string, Tensor>>) => Record<string, Tensor>;

/**
 * The feeder of `session`, or undefined when it has an input that is neither one of `known` nor
 * a `past_key_values.*` cache of known element type, head count and head size. Cache inputs get
 * empty tensors [batch, heads, 0, head_dim]; their shapes are read from the metadata once, here.
 */
function feeder(session: Session, known: readonly string[]): Feeder | undefined {
  const meta = (session.inputMetadata ?? []) as readonly InputMeta[];
  const pasts: { name: string; type: 'float32' | 'float16'; heads: number; dim: number }[] = [];
  const named: string[] = [];
  for (const name of session.inputNames) {
    if (known.includes(name)) {
      named.push(name);
      continue;
    }
    if (!PAST.test(name)) return undefined;
    const m = meta.find(x => x.name === name);
    const type = m?.type;
    if (!m?.isTensor || (type !== 'float32' && type !== 'float16') || m.shape?.length !== 4)
      return undefined;
    const [, heads, , dim] = m.shape;
    if (typeof heads !== 'number' || typeof dim !== 'number') return undefined;
    pasts.push({ name, type, heads, dim });
  }
  return (rows, values) => {
    const feeds: Record<string, Tensor> = {};
    for (const name of named) {
      const v = values[name];
      if (!v) throw new Error(`Winnow has no value for the model input ${name}.`);
      feeds[name] = v;
    }
    for (const p of pasts)
      feeds[p.name] = new Tensor(
        p.type,
        p.type === 'float16' ? new Uint16Array(0) : new Float32Array(0),
        [rows, p.heads, 0, p.dim],
      );
    return feeds;
  };
}

/**
 * The fetch list that reads `name` from `session`: the session's outputs up to and including it.
 * onnxruntime-node (1.30) matches the `preferredOutputLocation` session option to fetched outputs
 * by their position in the fetch list, not by name. transformers.js asks for `present.*` in GPU
 * memory on WebGPU, so fetching `logits` alone from a graph whose first output is a cache gave
 * back logits marked as GPU memory, and reading them aborted the process (measured on an H100).
 * With a prefix of the output list the positions agree. Optimum exports put `logits` (and the
 * encoder's `last_hidden_state`) first, so the prefix is normally the one name.
 */
export function fetchThrough(outputNames: readonly string[], name: string): string[] {
  const i = outputNames.indexOf(name);
  if (i < 0) throw new Error(`the model has no output ${name}`);
  return outputNames.slice(0, i + 1);
}

/** Runs `session` fetching through `name` (see fetchThrough); frees the other outputs. */
async function runFor(
  session: Session,
  feeds: Record<string, Tensor>,
  name: string,
  fetches: readonly string[],
): Promise<Tensor> {
  const out = await session.run(feeds, fetches);
  for (const [k, t] of Object.entries(out)) if (k !== name) t.dispose();
  return out[name];
}

/**
 * The direct forward pass for `model`, or undefined when its sessions have inputs this module
 * does not know (the scorer then uses transformers.js's forward).
 */
export function directForward(model: LoadedModel, startId: number): ForwardRun | undefined {
  const sessions = model.model.sessions as Record<string, Session | undefined>;
  const main = sessions.model;
  if (!main?.outputNames) return undefined;
  const bool = (v: boolean) => new Tensor('bool', Uint8Array.from([v ? 1 : 0]), [1]);
  if (model.kind === 'seq2seq') {
    const decoder = sessions.decoder_model_merged;
    const encoderFeeds = feeder(main, ['input_ids', 'attention_mask']);
    const decoderFeeds =
      decoder &&
      feeder(decoder, [
        'input_ids',
        'encoder_attention_mask',
        'encoder_hidden_states',
        'use_cache_branch',
      ]);
    if (
      !decoder ||
      !encoderFeeds ||
      !decoderFeeds ||
      !main.outputNames.includes('last_hidden_state') ||
      !decoder.outputNames.includes('logits')
    )
      return undefined;
    const encoderFetch = fetchThrough(main.outputNames, 'last_hidden_state');
    const decoderFetch = fetchThrough(decoder.outputNames, 'logits');
    return async ({ ids, mask, rows, length }) => {
      const input_ids = new Tensor('int64', ids, [rows, length]);
      const attention_mask = new Tensor('int64', mask, [rows, length]);
      const hidden = await runFor(
        main,
        encoderFeeds(rows, { input_ids, attention_mask }),
        'last_hidden_state',
        encoderFetch,
      );
      try {
        const feeds = decoderFeeds(rows, {
          input_ids: new Tensor('int64', new BigInt64Array(rows).fill(BigInt(startId)), [rows, 1]),
          encoder_attention_mask: attention_mask,
          encoder_hidden_states: hidden,
          use_cache_branch: bool(false),
        });
        return await runFor(decoder, feeds, 'logits', decoderFetch);
      } finally {
        hidden.dispose();
      }
    };
  }
  const feeds = feeder(main, [
    'input_ids',
    'attention_mask',
    'position_ids',
    'num_logits_to_keep',
    'use_cache_branch',
  ]);
  if (!feeds || !main.outputNames.includes('logits')) return undefined;
  const fetch = fetchThrough(main.outputNames, 'logits');
  return async ({ ids, mask, rows, length }) => {
    const values: Record<string, Tensor> = {
      input_ids: new Tensor('int64', ids, [rows, length]),
      attention_mask: new Tensor('int64', mask, [rows, length]),
      num_logits_to_keep: new Tensor('int64', BigInt64Array.from([1n]), []),
      use_cache_branch: bool(false),
    };
    if (main.inputNames.includes('position_ids')) {
      // Positions count real tokens only (left padding), as transformers.js computes them:
      // cumsum(mask) − 1, and 1 on padding.
      const pos = new BigInt64Array(rows * length).fill(1n);
      for (let b = 0; b < rows; b++) {
        let c = 0n;
        for (let i = 0; i < length; i++) if (mask[b * length + i] === 1n) pos[b * length + i] = c++;
      }
      values.position_ids = new Tensor('int64', pos, [rows, length]);
    }
    return await runFor(main, feeds(rows, values), 'logits', fetch);
  };
}
