/**
 * `winnow score FILE --out OUT.jsonl`: ASK-LLM for every valid row of FILE (of this shard),
 * through the engine `--engine` names, resuming from the score cache. Writes one object per row
 * (`line`, `content_hash`, `askllm_score`, `askllm_status`, ...) as JSONL or Parquet, and a
 * manifest beside it.
 */
import { dirname, resolve } from 'node:path';
import { removeStaleTempFiles } from '../../core/jsonl';
import { ScoreStore } from '../../worker/askllm/scoreStore';
import type { OptionTable } from '../args';
import { fileArgument, type Flags } from '../args';
import {
  modelsDir,
  shardCacheDir,
  type Command,
  type CommandContext,
  type CommandOutcome,
} from '../command';
import { openDataset, schemaFacts, type CliDataset } from '../dataset';
import type { EngineOptions, ScoringEngine } from '../engine';
import { engineFactory } from '../engines';
import { ExitCode, UsageError } from '../errors';
import { count } from '../progress';
import {
  ASKLLM_COLUMNS,
  manifestOf,
  openSink,
  outputFacts,
  outputFormat,
  writeManifest,
  type OutputFile,
} from '../records';
import { runScore, type ScoreRunCounts } from '../scoreRun';
import { resolveShard, shardFacts, type Shard } from '../shard';

const options: OptionTable = {
  out: {
    type: 'string',
    value: 'OUT',
    help: 'Where the scores go (required); the manifest is OUT.manifest.json.',
  },
  format: {
    type: 'string',
    value: 'FMT',
    help: 'jsonl or parquet (default: from OUT, .parquet → parquet).',
  },
  engine: {
    type: 'string',
    value: 'NAME',
    help: 'local (default: the in-process ONNX scorer), openai, vllm, sglang, llamacpp, ollama.',
  },
  endpoint: {
    type: 'string',
    value: 'URL',
    help: 'Remote engines: the base URL (OpenAI-compatible: ending in /v1).',
  },
  model: {
    type: 'string',
    value: 'NAME',
    help: 'The judge: a Hugging Face id or folder (local), or the served model name.',
  },
  api: { type: 'string', value: 'API', help: 'completions or chat (OpenAI-compatible engines).' },
  'api-key-env': {
    type: 'string',
    value: 'VAR',
    help: 'Read the API key from this environment variable (never logged).',
  },
  concurrency: { type: 'string', value: 'N', help: 'Requests in flight (remote engines).' },
  'max-logprobs': {
    type: 'string',
    value: 'K',
    help: 'Top-k logprobs to ask for where the engine caps them (default 20).',
  },
  shard: {
    type: 'string',
    value: 'I/N',
    help: 'Score only shard I of N (by content hash); auto: from Slurm or Kubernetes.',
  },
  'shard-count': {
    type: 'string',
    value: 'N',
    help: 'Shard count for --shard auto on Kubernetes (else WINNOW_SHARD_COUNT).',
  },
  'prompt-file': {
    type: 'string',
    value: 'FILE',
    help: "A .winnow-prompt template with {{document}} (default: the paper's prompt).",
  },
  'answer-variant': {
    type: 'string',
    multiple: true,
    value: 'WORD',
    help: 'Another single-token answer summed into P(yes).',
  },
  'max-tokens': {
    type: 'string',
    value: 'N',
    help: 'Longest prompt in tokens; the document is truncated (default 512).',
  },
  dtype: { type: 'string', value: 'T', help: 'Local: fp32 (default), fp16, q8, q4.' },
  device: { type: 'string', value: 'D', help: 'Local: auto (default), cpu, cuda, webgpu.' },
  'batch-size': { type: 'string', value: 'N', help: 'Local: rows per model call (default auto).' },
  offline: { type: 'boolean', help: 'Never download: model ids load from the model cache only.' },
};

/** The engine options of the command line (validated; the key read from its variable). */
function engineOptions(ctx: CommandContext, flags: Flags, datasetPath: string): EngineOptions {
  const engine = flags.string('engine') ?? 'local';
  const keyVar = flags.string('api-key-env');
  let apiKey: string | undefined;
  if (keyVar !== undefined) {
    apiKey = ctx.env[keyVar];
    if (apiKey === undefined || apiKey === '')
      throw new UsageError(`--api-key-env ${keyVar}: that environment variable is not set`);
  }
  const batch = flags.string('batch-size');
  const api = flags.string('api');
  if (api !== undefined && api !== 'completions' && api !== 'chat')
    throw new UsageError(`--api must be completions or chat (got "${api}")`);
  return {
    engine: engine as EngineOptions['engine'],
    endpoint: flags.string('endpoint'),
    model: flags.string('model'),
    api,
    apiKey,
    concurrency: flags.has('concurrency') ? flags.int('concurrency', 1, 1, 4096) : undefined,
    maxLogprobs: flags.has('max-logprobs')
      ? flags.int('max-logprobs', 20, 1, 1_000_000)
      : undefined,
    maxTokens: flags.int('max-tokens', 512, 16, 1 << 20),
    promptFile: flags.string('prompt-file'),
    answerVariants: flags.strings('answer-variant').filter(w => w.trim() !== ''),
    dtype: flags.choice('dtype', ['fp32', 'fp16', 'q8', 'q4'] as const, 'fp32'),
    device: flags.choice('device', ['auto', 'cpu', 'cuda', 'webgpu'] as const, 'auto'),
    batchSize:
      batch === undefined || batch === 'auto' ? 'auto' : flags.int('batch-size', 1, 1, 65536),
    modelCacheDir: modelsDir(ctx.cacheDir),
    offline: flags.bool('offline'),
    datasetPath: resolve(datasetPath),
    logger: ctx.logger,
    onLoadProgress: m => ctx.logger.info(m),
    signal: ctx.signal,
  };
}

/** The manifest beside the scores. */
function manifest(
  ds: CliDataset,
  shard: Shard,
  engine: ScoringEngine,
  c: ScoreRunCounts,
  out: OutputFile,
  timing: { startedAt: Date; loadMs: number; elapsedMs: number },
): Record<string, unknown> {
  const f = engine.facts;
  const scoringSeconds = c.scoringMs / 1000;
  return {
    winnow: 'scores',
    version: 1,
    kind: 'askllm',
    createdAt: new Date().toISOString(),
    source: {
      path: resolve(ds.path),
      bytes: ds.bytes,
      mtime: new Date(ds.mtimeMs).toISOString(),
      lines: c.lines,
    },
    schema: schemaFacts(ds.schema),
    shard: shardFacts(shard),
    engine: f.engine,
    endpoint: f.endpoint ?? null,
    api: f.api ?? null,
    model: f.model,
    dtype: f.dtype ?? null,
    device: f.device ?? null,
    mode: f.mode,
    topK: f.topK ?? null,
    prompt: {
      name: f.promptName,
      hash: f.promptHash,
      id: f.promptId,
      chatTemplate: f.chatTemplate,
    },
    answerTokens: f.answerTokens,
    answerTokenSource: f.answerTokenSource,
    maxTokens: f.maxTokens ?? null,
    ...(f.truncation ? { truncation: f.truncation } : {}),
    score: 'raw P(yes) over the full vocabulary at the first answer position',
    scorerKey: f.scorerKey,
    counts: {
      lines: c.lines,
      valid: c.valid,
      blank: c.blank,
      invalid: c.invalid,
      otherShards: c.otherShards,
      rows: c.rows,
      ok: c.ok,
      bound: c.bound,
      error: c.error,
      cachedAtStart: c.cachedAtStart,
      newlyScored: c.newlyScored,
    },
    timing: {
      startedAt: timing.startedAt.toISOString(),
      elapsedMs: Math.round(timing.elapsedMs),
      loadMs: Math.round(timing.loadMs),
      scoringMs: Math.round(c.scoringMs),
      rowsPerSecond:
        scoringSeconds > 0 ? Math.round((c.newlyScored / scoringSeconds) * 10) / 10 : null,
    },
    failures: c.failures,
    columns: ASKLLM_COLUMNS.map(col => col.name),
    output: outputFacts(out),
  };
}

async function run(ctx: CommandContext): Promise<CommandOutcome> {
  const t0 = performance.now();
  const startedAt = new Date();
  const { flags } = ctx;
  const file = fileArgument(flags, 'score');
  const out = resolve(flags.required('out', 'where the scores go'));
  const format = outputFormat(flags.string('format'), out);
  const shard = resolveShard(flags.string('shard'), flags.string('shard-count'), ctx.env);
  const eo = engineOptions(ctx, flags, file);
  const factory = engineFactory(eo.engine);
  const store = await ScoreStore.open(shardCacheDir(ctx.cacheDir, shard), ctx.logger);
  let ds: CliDataset | undefined;
  let engine: ScoringEngine | undefined;
  try {
    ds = await openDataset(file);
    ctx.progress.phase('loading', 1, 'model');
    engine = await factory(eo);
    ctx.progress.update({ done: 1 });
    ctx.progress.end();
    const loadMs = performance.now() - t0;
    if (engine.registration)
      await store.remember(engine.registration.fingerprint, {
        scorerKey: engine.facts.scorerKey,
        meta: engine.registration.meta,
      });
    await removeStaleTempFiles(dirname(out));
    const sink = await openSink(out, format, ASKLLM_COLUMNS);
    let counts: ScoreRunCounts;
    let output: OutputFile;
    try {
      counts = await runScore({
        ds,
        shard,
        engine,
        store,
        sink,
        progress: ctx.progress,
        signal: ctx.signal,
      });
      output = await sink.finish();
    } catch (e) {
      await sink.abort();
      throw e;
    }
    const elapsedMs = performance.now() - t0;
    await writeManifest(
      manifestOf(out),
      manifest(ds, shard, engine, counts, output, { startedAt, loadMs, elapsedMs }),
    );
    return outcome(engine, shard, counts, output, elapsedMs);
  } finally {
    await engine?.dispose().catch(() => undefined);
    await ds?.close();
    await store.close();
  }
}

function outcome(
  engine: ScoringEngine,
  shard: Shard,
  c: ScoreRunCounts,
  out: OutputFile,
  elapsedMs: number,
): CommandOutcome {
  const rate = c.scoringMs > 0 ? c.newlyScored / (c.scoringMs / 1000) : 0;
  const lines = [
    `Scored ${count(c.rows)} rows${shard.count > 1 ? ` of shard ${shard.index}/${shard.count}` : ''} ` +
      `with ${engine.facts.model} (${engine.facts.engine}${engine.facts.device ? `, ${engine.facts.device}` : ''}): ` +
      `${count(c.ok)} ok, ${count(c.bound)} bound, ${count(c.error)} error; ` +
      `${count(c.cachedAtStart)} from the cache, ${count(c.newlyScored)} new` +
      (rate > 0 ? ` at ${rate.toFixed(1)} rows/s` : ''),
    `Wrote ${out.path} and ${manifestOf(out.path)}`,
    ...c.failures.slice(0, 5).map(f => `  line ${f.line}: ${f.error}`),
  ];
  if (c.error > 0)
    lines.push(`${count(c.error)} rows in error: run the same command again to retry them`);
  return {
    code: c.error > 0 ? ExitCode.incomplete : ExitCode.ok,
    summary: {
      out: out.path,
      manifest: manifestOf(out.path),
      format: out.format,
      engine: engine.facts.engine,
      model: engine.facts.model,
      shard: shardFacts(shard),
      counts: {
        lines: c.lines,
        rows: c.rows,
        ok: c.ok,
        bound: c.bound,
        error: c.error,
        cachedAtStart: c.cachedAtStart,
        newlyScored: c.newlyScored,
      },
      elapsedMs: Math.round(elapsedMs),
      rowsPerSecond: Math.round(rate * 10) / 10,
    },
    lines,
  };
}

export const scoreCommand: Command = {
  name: 'score',
  summary: 'ASK-LLM: P(yes) of every row, from a local model or an engine (vLLM, SGLang, ...).',
  usage: 'winnow score FILE --out OUT.jsonl [options]',
  description:
    'Scores every valid row of FILE with the ASK-LLM prompt: the raw P("yes") of the judge at the ' +
    'first answer position over its whole vocabulary. Writes one object per row to OUT ' +
    '(line, content_hash, askllm_score, askllm_status, askllm_upper_bound, askllm_error, ' +
    'askllm_tokens, askllm_truncated) and OUT.manifest.json (model, engine, prompt hash, answer ' +
    'tokens, counts, timing).\n\nResumes by default: finished rows are kept in the crash-safe ' +
    "score cache (the extension's format and keys), so a killed run continues where it stopped " +
    'and a rerun only scores what is missing; rows in error are retried.',
  options,
  examples: [
    'winnow score data.jsonl --out data.scores.jsonl',
    'winnow score data.jsonl --model ./flan-t5-large --device cuda --out scores.parquet',
    'winnow score data.jsonl --engine vllm --endpoint http://gpu:8000/v1 --model Qwen/Qwen2.5-7B-Instruct --shard 3/16 --out s3.jsonl',
  ],
  run,
};
