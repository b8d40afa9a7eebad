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
 * Only the tensors the score needs are fetched (`last_hidden_state`, `logits`): the decoder's
 * `present.*` key/value outputs (for T5 the cross-attention cache is batch × heads × prompt ×
 * head-dim per layer) are never copied out or downloaded from a GPU. transformers.js's generic
 * forward fetches them all. The feeds follow what transformers.js passes (checked against it in
 * the tests), and a session with any input this module does not know makes `directForward`
 * return undefined, so the scorer falls back to transformers.js's forward.
 */
import { type InferenceSession, Tensor } from 'onnxruntime-node';
import type { LoadedModel } from './loader';

/** Runs one padded batch; resolves to the `logits` tensor (the caller disposes it). */
export type ForwardRun = (batch: PaddedBatch) => Promise<Tensor>;

/** A tokenised batch, padded (right for seq2seq, left for decoder-only). */
export interface PaddedBatch {
  readonly ids: BigInt64Array;
  readonly mask: BigInt64Array;
  readonly rows: number;
  readonly length: number;
}

/** What emptyPast reads of an input's metadata (onnxruntime-common's ValueMetadata). */
interface InputMeta {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

type Session = InferenceSession;

const PAST = /^past_key_values\.\d+\.(?:(?:decoder|encoder)\.)?(?:key|value)$/;

/** An empty cache tensor for a `past_key_values.*` input: [batch, heads, 0, head_dim]. */
function emptyPast(session: Session, name: string, rows: number): Tensor | undefined {
  const meta = (session.inputMetadata as readonly InputMeta[] | undefined)?.find(
    m => m.name === name,
  );
  const type = meta?.type;
  if (!meta?.isTensor || (type !== 'float32' && type !== 'float16') || meta.shape?.length !== 4)
    return undefined;
  const [, heads, , dim] = meta.shape;
  if (typeof heads !== 'number' || typeof dim !== 'number') return undefined;
  const data = type === 'float16' ? new Uint16Array(0) : new Float32Array(0);
  return new Tensor(type, data, [rows, heads, 0, dim]);
}

/** Whether every input of `session` is one of `known` or a past key/value. */
function understood(session: Session, known: readonly string[]): boolean {
  return session.inputNames.every(n => known.includes(n) || PAST.test(n));
}

/** Feeds of `session` for the names it has: `values`, plus empty caches. Undefined if any fails. */
function feedsFor(
  session: Session,
  rows: number,
  values: Readonly<Record<string, Tensor>>,
): Record<string, Tensor> | undefined {
  const feeds: Record<string, Tensor> = {};
  for (const name of session.inputNames) {
    const v = values[name] ?? (PAST.test(name) ? emptyPast(session, name, rows) : undefined);
    if (!v) return undefined;
    feeds[name] = v;
  }
  return feeds;
}

/**
 * The direct forward pass for `model`, or undefined when its sessions have inputs this module
 * does not know (the scorer then uses transformers.js's forward).
 */
export function directForward(model: LoadedModel, startId: number): ForwardRun | undefined {
  const sessions = model.model.sessions as Record<string, Session | undefined>;
  const main = sessions.model;
  if (!main?.outputNames) return undefined;
  // Every cache input must have a known element type and head count / size.
  for (const s of Object.values(sessions))
    for (const name of s?.inputNames ?? [])
      if (PAST.test(name) && !emptyPast(s!, name, 1)) return undefined;
  const bool = (v: boolean) => new Tensor('bool', Uint8Array.from([v ? 1 : 0]), [1]);
  if (model.kind === 'seq2seq') {
    const decoder = sessions.decoder_model_merged;
    if (
      !decoder ||
      !main.outputNames.includes('last_hidden_state') ||
      !decoder.outputNames.includes('logits') ||
      !understood(main, ['input_ids', 'attention_mask']) ||
      !understood(decoder, [
        'input_ids',
        'encoder_attention_mask',
        'encoder_hidden_states',
        'use_cache_branch',
      ])
    )
      return undefined;
    return async ({ ids, mask, rows, length }) => {
      const input_ids = new Tensor('int64', ids, [rows, length]);
      const attention_mask = new Tensor('int64', mask, [rows, length]);
      const encFeeds = feedsFor(main, rows, { input_ids, attention_mask });
      if (!encFeeds) throw new Error('The encoder has inputs Winnow cannot fill.');
      const enc = await main.run(encFeeds, ['last_hidden_state']);
      const hidden = enc.last_hidden_state;
      try {
        const decFeeds = feedsFor(decoder, rows, {
          input_ids: new Tensor('int64', new BigInt64Array(rows).fill(BigInt(startId)), [rows, 1]),
          encoder_attention_mask: attention_mask,
          encoder_hidden_states: hidden,
          use_cache_branch: bool(false),
        });
        if (!decFeeds) throw new Error('The decoder has inputs Winnow cannot fill.');
        const out = await decoder.run(decFeeds, ['logits']);
        return out.logits;
      } finally {
        hidden.dispose();
      }
    };
  }
  if (
    !main.outputNames.includes('logits') ||
    !understood(main, [
      'input_ids',
      'attention_mask',
      'position_ids',
      'num_logits_to_keep',
      'use_cache_branch',
    ])
  )
    return undefined;
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
    const feeds = feedsFor(main, rows, values);
    if (!feeds) throw new Error('The model has inputs Winnow cannot fill.');
    const out = await main.run(feeds, ['logits']);
    return out.logits;
  };
}
