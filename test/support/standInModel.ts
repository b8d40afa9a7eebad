/**
 * The stand-in engine's "GPU": the fixture models run through onnxruntime-node (transformers.js)
 * with the fixture tokenizers, so a remote P(yes) can be compared with local scoring and with the
 * closed form (fixtures/closedForm.ts). Plus a synthetic answer table for benchmarks, where the
 * client is measured and the model must cost nothing.
 */
import { join } from 'node:path';
import type { PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import { type LoadedModel, loadScorerModel } from '../../src/worker/askllm';
import { type EmbeddingModel, loadEmbeddingModel } from '../../src/worker/density/embeddingModel';
import { transformers } from '../../src/worker/runtime';

/** A chat message as the OpenAI-style routes take it. */
export interface StandInMessage {
  role: string;
  content: string;
}

/** What the stand-in computes with. */
export interface StandInBrain {
  /** Ids of a raw prompt (special tokens per `addSpecial`). */
  encode(text: string, addSpecial: boolean): number[];
  /** The chat template's rendering of messages (see {@link renderChat}). */
  renderChat(
    messages: readonly StandInMessage[],
    opts: {
      addGenerationPrompt: boolean;
      continueFinal: boolean;
      kwargs?: Record<string, unknown>;
    },
  ): string;
  /** Text of ids, special tokens skipped (as `/detokenize` and local truncation decode). */
  decode(ids: readonly number[]): string;
  /** Token text as engines show it (decoded) and as a vocabulary piece. */
  tokenText(id: number): string;
  piece(id: number): string;
  /** The next-token distribution after `ids` (full-vocabulary log-softmax, float64). */
  next(ids: readonly number[]): Promise<Distribution>;
  /** Raw (unnormalised) sentence embeddings of texts, or undefined without an embedder. */
  embed?(texts: readonly string[]): Promise<Float32Array[]>;
  vocabSize: number;
}

/** A next-token distribution. */
export interface Distribution {
  logprob(id: number): number;
  /** The k most likely ids, most likely first. */
  top(k: number): { id: number; logprob: number }[];
}

/** A dense distribution over a whole vocabulary. */
export function denseDistribution(logp: Float64Array): Distribution {
  let order: number[] | undefined;
  return {
    logprob: id => logp[id],
    top(k) {
      order ??= Array.from(logp.keys()).sort((a, b) => logp[b] - logp[a] || a - b);
      return order.slice(0, k).map(id => ({ id, logprob: logp[id] }));
    },
  };
}

/** Log-softmax of logits in float64. */
function logSoftmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const log = Math.log(sum) + max;
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - log;
  return out;
}

/**
 * The rendered chat: with `continueFinal`, the template's text up to the end of the last
 * message's content (Hugging Face's `continue_final_message`), so the model continues it.
 */
function renderWith(
  tokenizer: PreTrainedTokenizer,
  messages: readonly StandInMessage[],
  opts: { addGenerationPrompt: boolean; continueFinal: boolean; kwargs?: Record<string, unknown> },
): string {
  const text = tokenizer.apply_chat_template(
    messages as { role: string; content: string }[],
    {
      tokenize: false,
      add_generation_prompt: opts.addGenerationPrompt,
      ...(opts.kwargs ?? {}),
    } as Parameters<PreTrainedTokenizer['apply_chat_template']>[1],
  ) as unknown as string;
  if (!opts.continueFinal) return text;
  const last = messages[messages.length - 1].content;
  const at = text.lastIndexOf(last);
  if (at < 0) throw new Error('continue_final_message: the final message is not in the rendering');
  return text.slice(0, at + last.length);
}

/** The causal fixture (and optionally the BERT fixture) as the stand-in's model. */
export async function fixtureBrain(
  causalDir: string,
  cacheRoot: string,
  bertDir?: string,
): Promise<StandInBrain & { dispose(): Promise<void> }> {
  const model: LoadedModel = await loadScorerModel({
    model: causalDir,
    cacheDir: join(cacheRoot, 'standin-cache'),
    offline: true,
    device: 'cpu',
  });
  const embedder: EmbeddingModel | undefined = bertDir
    ? await loadEmbeddingModel({
        model: bertDir,
        cacheDir: join(cacheRoot, 'standin-cache'),
        device: 'cpu',
      })
    : undefined;
  const { Tensor: TensorClass } = await transformers();
  const tok = model.tokenizer;
  const inverse = new Map([...tok.get_vocab()].map(([t, i]) => [i, t]));
  return {
    vocabSize: inverse.size,
    encode: (text, addSpecial) => tok.encode(text, { add_special_tokens: addSpecial }),
    renderChat: (messages, opts) => renderWith(tok, messages, opts),
    decode: ids => tok.decode([...ids], { skip_special_tokens: true }),
    tokenText: id => tok.decode([id], { skip_special_tokens: false }),
    piece: id => inverse.get(id) ?? `<${id}>`,
    async next(ids) {
      const n = ids.length;
      const inputs: Record<string, Tensor> = {
        input_ids: new TensorClass('int64', BigInt64Array.from(ids, BigInt), [1, n]),
        attention_mask: new TensorClass('int64', new BigInt64Array(n).fill(1n), [1, n]),
      };
      if (model.hasNumLogitsToKeep) inputs.num_logits_to_keep = new TensorClass('int64', [1n], []);
      const out = (await model.model(inputs)) as { logits: Tensor };
      const [, P, V] = out.logits.dims;
      const data = out.logits.data as Float32Array;
      return denseDistribution(logSoftmax(data.subarray((P - 1) * V, P * V)));
    },
    embed: embedder
      ? async texts => {
          const r = await embedder.embedBatch(texts);
          return texts.map((_, i) => r.vectors.slice(i * embedder.dim, (i + 1) * embedder.dim));
        }
      : undefined,
    async dispose() {
      await model.dispose();
      await embedder?.dispose();
    },
  };
}

/** FNV-1a of a string: a cheap, stable per-prompt seed. */
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A synthetic "model" for benchmarks: no tokenizer work beyond one hash of the prompt, and a
 * distribution over `vocabSize` ids where `yesId` sits at a rank that depends on the prompt
 * (sometimes beyond the top 20, so bound rows occur too). Answers are not a real model's.
 */
export function syntheticBrain(yesId: number, noId: number, vocabSize = 32000): StandInBrain {
  return {
    vocabSize,
    // One id per text, plus the answer's id when the text ends with it (for /tokenize diffs).
    encode: text => {
      for (const [suffix, id] of [
        [' yes', yesId],
        [' no', noId],
      ] as const)
        if (text.endsWith(suffix)) return [fnv(text.slice(0, -suffix.length)) % vocabSize, id];
      return [fnv(text) % vocabSize];
    },
    renderChat: messages => messages.map(m => `<${m.role}>${m.content}`).join('') + '<assistant>',
    decode: ids => ids.map(id => (id === yesId ? 'yes' : id === noId ? 'no' : `t${id}`)).join(''),
    tokenText: id => (id === yesId ? 'yes' : id === noId ? 'no' : `t${id}`),
    piece: id => (id === yesId ? 'yes' : id === noId ? 'no' : `t${id}`),
    async next(ids) {
      const seed = ids[0] ?? 0;
      const yesRank = seed % 32;
      const table = new Map<number, number>();
      for (let r = 0, id = 100; r < 24; r++, id++)
        table.set(r === yesRank ? yesId : id, -1 - r * 0.25);
      if (!table.has(yesId)) table.set(yesId, -9 - (seed % 5));
      table.set(noId, -1.1 - (seed % 7) * 0.3);
      const sorted = [...table]
        .sort((a, b) => b[1] - a[1])
        .map(([id, logprob]) => ({ id, logprob }));
      return { logprob: id => table.get(id) ?? -30, top: k => sorted.slice(0, k) };
    },
  };
}
