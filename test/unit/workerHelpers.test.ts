/**
 * Pure helpers of the worker and its status bar: Markdown escaping of dataset text, diagnostic
 * ranges and caps, settings defaults, file URIs, the status-bar text, and reading model outputs
 * that an execution provider left on the GPU.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  detectSchema,
  JsonlFile,
  SCHEMA_SAMPLE_LINES,
  schemaSample,
  type ParseError,
} from '../../src/core/jsonl';
import { Dataset } from '../../src/worker/dataset/dataset';
import { Logger } from '../../src/worker/logger';
import { buildDiagnostics, errorRange, type InvalidRow } from '../../src/worker/editor/diagnostics';
import { renderRowHover } from '../../src/worker/editor/hover';
import { hostData } from '../../src/worker/runtime/hostData';
import { decodeLine, lineLengthUtf16 } from '../../src/worker/dataset/lineText';
import { codeSpan, escapeMarkdown } from '../../src/worker/editor/markdown';
import { defaultSettings, resolveSettings } from '../../src/worker/settings';
import { uriBaseName, uriToPath } from '../../src/worker/dataset/uri';
import { workerStatusText } from '../../src/shared/format/workerStatusText';

const enc = new TextEncoder();

describe('markdown escaping', () => {
  it('escapes every character Markdown would act on, and shows control characters', () => {
    const text = '[x](http://a) *b* _c_ `d` <img> # e\n| f ~ g & h';
    const escaped = escapeMarkdown(text);
    // Removing the escapes gives the text back, with the newline shown as a visible \n.
    assert.equal(escaped.replace(/\\(.)/g, '$1'), text.replace('\n', '\\n'));
    assert.doesNotMatch(escaped, /(^|[^\\])[[\]()*_`<>#|~&]/);
    assert.ok(escaped.includes('\\\\n'), 'newline shown as an escape');
  });

  it('wraps text in a code span that backticks inside cannot close', () => {
    assert.equal(codeSpan('plain'), '`plain`');
    assert.equal(codeSpan('a`b'), '``a`b``');
    assert.equal(codeSpan('``x'), '``` ``x ```');
    assert.equal(codeSpan(''), '`  `');
    assert.equal(codeSpan('two\nlines'), '`two\\nlines`');
  });
});

describe('diagnostic ranges', () => {
  const syntax = (column?: number): ParseError => ({ kind: 'syntax', message: 'm', column });

  it('points a syntax error at its column, or at the last character past the end', () => {
    assert.deepEqual(errorRange(syntax(5), 10), { start: 4, end: 5 });
    assert.deepEqual(errorRange(syntax(11), 10), { start: 9, end: 10 });
    assert.deepEqual(errorRange(syntax(1), 0), { start: 0, end: 1 });
  });

  it('covers the whole line for errors about the line as a whole', () => {
    assert.deepEqual(errorRange({ kind: 'not-object', message: 'm', column: 1 }, 7), {
      start: 0,
      end: 7,
    });
    assert.deepEqual(errorRange({ kind: 'empty', message: 'm' }, 0), { start: 0, end: 0 });
    assert.deepEqual(errorRange(syntax(undefined), 3), { start: 0, end: 3 });
  });

  it('caps the list at maxProblems and adds one note with the rest', () => {
    const invalid: InvalidRow[] = [2, 4, 6, 8].map(index => ({
      index,
      error: syntax(1),
      startChar: 0,
      endChar: 1,
    }));
    const d = buildDiagnostics({
      invalid,
      invalidCount: 10,
      maxProblems: 3,
      jsonArray: false,
      firstLineLength: 5,
    });
    assert.deepEqual(
      d.map(x => [x.range.start.line, x.severity, x.code]),
      [
        [2, 1, 'syntax'],
        [4, 1, 'syntax'],
        [6, 1, 'syntax'],
        [8, 3, 'more-problems'],
      ],
    );
    assert.equal(
      d[3]!.message,
      '7 more invalid lines are not listed (winnow.diagnostics.maxProblems = 3).',
    );
    const none = buildDiagnostics({
      invalid,
      invalidCount: 10,
      maxProblems: 0,
      jsonArray: false,
      firstLineLength: 5,
    });
    assert.deepEqual(none, []);
  });

  it('measures lines in UTF-16 code units, without CR or the BOM of line 0', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode('{"a":"😀"}\r')]);
    assert.equal(decodeLine(bom, true), '{"a":"😀"}');
    assert.equal(lineLengthUtf16(bom, true), 10);
    assert.equal(lineLengthUtf16(bom, false), 11, 'a BOM on a later line is a character');
  });
});

describe('hover text', () => {
  it('names the row, its fields and the schema, and marks a still-growing count', () => {
    const markdown = renderRowHover({
      index: 9,
      rowCount: 1500,
      counting: true,
      parsed: { ok: true, value: { instruction: 'x', output: 'y' } },
      bytes: 42,
      hash: '0123456789ab',
      schema: {
        kind: 'alpaca',
        label: 'Alpaca (instruction/input/output)',
        fields: ['instruction', 'input', 'output'],
      },
      jsonArray: false,
    });
    const text = markdown.replace(/\\(.)/g, '$1');
    assert.match(text, /row 10 of 1,500\+ \(still indexing\)/);
    assert.match(text, /\*\*Fields:\*\* `instruction`, `output`/);
    assert.match(text, /\*\*Missing schema fields:\*\* `input`/);
    assert.match(text, /`0123456789ab`/);
  });
});

describe('settings', () => {
  it('falls back to defaults for missing or out-of-range values', () => {
    assert.deepEqual(resolveSettings(undefined), defaultSettings);
    assert.deepEqual(
      resolveSettings({
        dataset: { maxLineBytes: 10 },
        diagnostics: { maxProblems: -1 },
        worker: { logLevel: 'loud' as never },
      }),
      defaultSettings,
    );
    assert.deepEqual(
      resolveSettings({ dataset: { maxLineBytes: 4096.5 }, diagnostics: { maxProblems: 0 } }),
      { ...defaultSettings, maxLineBytes: 4096, maxProblems: 0, logLevel: 'info' },
    );
  });

  it('resolves the ASK-LLM settings, ignoring invalid values', () => {
    const s = resolveSettings({
      askllm: {
        model: '  /models/flan  ',
        dtype: 'q8',
        batchSize: 12.7,
        maxTokens: 256,
        promptFile: 'p.winnow-prompt',
        answerVariants: ['Yes', '', 3 as never],
        showNormalizedVariant: true,
      },
      device: 'webgpu',
      inlineScores: { enabled: false },
      models: { offline: true, endpoint: ' https://hf-mirror.com ' },
    });
    assert.deepEqual(s.askllm, {
      model: '/models/flan',
      dtype: 'q8',
      device: 'webgpu',
      batchSize: 12,
      maxTokens: 256,
      promptFile: 'p.winnow-prompt',
      answerVariants: ['Yes'],
      showNormalizedVariant: true,
      offline: true,
      endpoint: 'https://hf-mirror.com',
      engine: 'local',
      engineEndpoint: '',
      engineApi: 'chat',
      engineConcurrency: 0,
    });
    assert.equal(s.inlineScores, false);
    const remote = resolveSettings({
      askllm: {
        engine: 'vllm',
        engineEndpoint: ' http://gpu:8000/v1 ',
        engineApi: 'completions',
        engineConcurrency: 8.5,
      },
    }).askllm;
    assert.deepEqual(
      [remote.engine, remote.engineEndpoint, remote.engineApi, remote.engineConcurrency],
      ['vllm', 'http://gpu:8000/v1', 'completions', 8],
    );
    assert.equal(resolveSettings({ askllm: { engine: 'tgi' } }).askllm.engine, 'local');
    const bad = resolveSettings({
      askllm: { model: ' ', dtype: 'int3', batchSize: 0, maxTokens: 4 },
      device: 'tpu',
    });
    assert.deepEqual(bad.askllm, defaultSettings.askllm);
  });
});

describe('file URIs', () => {
  it('converts VS Code file URIs to paths and rejects other schemes', () => {
    assert.equal(uriToPath('file:///tmp/a%20b/data.jsonl'), '/tmp/a b/data.jsonl');
    assert.equal(uriToPath('untitled:Untitled-1'), undefined);
    assert.equal(uriToPath('vscode-remote://ssh/x.jsonl'), undefined);
    assert.equal(uriBaseName('file:///tmp/a%20b/my%20data.jsonl'), 'my data.jsonl');
  });
});

describe('status-bar text', () => {
  it('shows idle, indexing with a percentage, scoring with counts and device, and stopped', () => {
    assert.equal(workerStatusText({ state: 'idle' }).text, '$(check) Winnow: idle');
    const indexing = workerStatusText({
      state: 'indexing',
      detail: 'big.jsonl',
      progress: { done: 512 * 1024, total: 2 * 1024 * 1024, unit: 'bytes' },
    });
    assert.equal(indexing.text, '$(sync~spin) Winnow: indexing 25%');
    assert.equal(indexing.tooltip, 'Indexing and validating: big.jsonl (512.0 KB of 2.0 MB)');
    assert.equal(
      workerStatusText({
        state: 'scoring',
        progress: { done: 120, total: 1000, unit: 'rows' },
        device: 'cuda',
      }).text,
      '$(sync~spin) Winnow: scoring 120/1000 · CUDA',
    );
    assert.equal(workerStatusText({ state: 'stopped' }).text, '$(circle-slash) Winnow: stopped');
  });

  it('names the device and ONNX Runtime version, and the reason of every fallback on hover', () => {
    const deviceAttempts = [
      {
        device: 'cuda',
        outcome: 'skipped' as const,
        message: 'libcudnn.so.9 (cuDNN 9 for CUDA 13) was not found',
      },
      { device: 'webgpu', outcome: 'failed' as const, message: 'No supported adapters' },
      { device: 'cpu', outcome: 'ok' as const, message: 'loaded' },
    ];
    const idle = workerStatusText({
      state: 'idle',
      model: 'm',
      device: 'cpu',
      ortVersion: '1.30.0',
      deviceAttempts,
    });
    assert.equal(idle.text, '$(check) Winnow: idle · CPU · ORT 1.30.0');
    assert.equal(
      idle.tooltip,
      'The Winnow worker is idle. ASK-LLM model m loaded on CPU (ONNX Runtime 1.30.0).\n\n' +
        'Devices tried:\n' +
        'CUDA: skipped — libcudnn.so.9 (cuDNN 9 for CUDA 13) was not found\n' +
        'WebGPU: failed — No supported adapters\n' +
        'CPU: loaded',
    );
    const cuda = workerStatusText({
      state: 'scoring',
      progress: { done: 1, total: 2, unit: 'rows' },
      model: 'm',
      device: 'cuda',
      ortVersion: '1.29.0',
      deviceAttempts: [{ device: 'cuda', outcome: 'ok', message: 'loaded' }],
    });
    assert.equal(cuda.text, '$(sync~spin) Winnow: scoring 1/2 · CUDA · ORT 1.29.0');
    assert.equal(
      cuda.tooltip,
      'Scoring with m on CUDA (ONNX Runtime 1.29.0)',
      'no fallback, no list',
    );
    const webgpu = workerStatusText({ state: 'idle', device: 'webgpu', ortVersion: '1.30.0' });
    assert.equal(webgpu.text, '$(check) Winnow: idle · WebGPU · ORT 1.30.0');
  });
});

describe('model outputs in host memory', () => {
  // What onnxruntime-node's WebGPU provider hands back for an output it keeps on the GPU: a
  // tensor whose `.data` throws until it is downloaded (seen on an H100 for `logits`).
  const onGpu = (values: number[]) => {
    let downloads = 0;
    const t = ort.Tensor.fromGpuBuffer({ size: values.length * 4 } as never, {
      dataType: 'float32',
      dims: [values.length],
      download: async () => {
        downloads++;
        return Float32Array.from(values);
      },
    });
    return { t, downloads: () => downloads };
  };

  it('downloads a GPU-resident output instead of reading .data', async () => {
    const { t, downloads } = onGpu([0.25, -1, 3]);
    assert.throws(() => t.data, /not on CPU/);
    assert.deepEqual(Array.from((await hostData(t)) as Float32Array), [0.25, -1, 3]);
    assert.equal(downloads(), 1);
  });

  it('reads CPU outputs in place, and unwraps transformers.js tensors', async () => {
    const cpu = new ort.Tensor('float32', Float32Array.from([1, 2]), [2]);
    assert.equal(await hostData(cpu), cpu.data);
    const { t, downloads } = onGpu([7]);
    assert.deepEqual(Array.from((await hostData({ ort_tensor: t })) as Float32Array), [7]);
    assert.equal(downloads(), 1);
  });
});

describe('one schema sample for host and worker', () => {
  it('the worker detects the schema the host detects, from the same first 200 lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'winnow-schema-'));
    const path = join(dir, 'mixed.jsonl');
    // 64 text rows, then 136 Alpaca rows, an invalid line, and more text rows past line 200: a
    // sample of the first 64 valid rows says "text", the first 200 lines say "alpaca".
    const lines = [
      ...Array.from({ length: 64 }, (_, i) => JSON.stringify({ text: `t${i}` })),
      'not json',
      ...Array.from({ length: 135 }, (_, i) =>
        JSON.stringify({ instruction: `q${i}`, output: 'a' }),
      ),
      ...Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `late ${i}` })),
    ];
    writeFileSync(path, lines.join('\n') + '\n');
    const silent = new Logger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {} });
    const opts = { maxLineBytes: 1 << 20, detailCap: 10 };
    const dataset = await Dataset.open(pathToFileURL(path).toString(), path, opts, silent);
    const file = await JsonlFile.open(path);
    try {
      await dataset.whenValidated();
      const host = detectSchema(schemaSample(await file.readRows(0, SCHEMA_SAMPLE_LINES), 1 << 20));
      assert.equal(host.kind, 'alpaca');
      assert.ok(dataset.schemaSettled);
      assert.deepEqual(dataset.schema, host);
    } finally {
      await file.close();
      await dataset.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
