/**
 * The CLI's conventions, through the real dist/cli.js: `--help` for the tool and every command,
 * the documented exit codes with one-line errors on stderr, the `--json` summary as the last
 * stdout line (also on failure), `--progress json` lines on stderr, `--shard` parsing from the
 * flag and the schedulers' variables, and `winnow lsp` as the language server over stdio, which
 * shows scores the CLI put in the shared per-user cache.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { MarkupContent } from 'vscode-languageserver-protocol/node';
import { resolveShard, shardOfHash } from '../../src/cli/shard';
import { ExitCode } from '../../src/cli/errors';
import { contentHash } from '../../src/core/jsonl';
import { generateTinyT5, type TinyT5 } from '../support/fixtures';
import { WorkerSession } from '../lsp/workerSession';
import { cliEnv, runCli, runCliOk } from './cliRun';

const COMMANDS = ['score', 'embed', 'density', 'sample', 'export', 'merge', 'info', 'lsp'];

let dir: string;
let t5: TinyT5;
let data: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-basics-'));
  t5 = generateTinyT5(join(dir, 'tiny-t5'));
  data = join(dir, 'data.jsonl');
  writeFileSync(
    data,
    [
      '{"text": "a good row about rivers"}',
      '{"text": "broken',
      '',
      '{"text": "tides and owls"}',
    ].join('\n') + '\n',
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A line of stderr that is an error message (not a progress or log line). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter(l => l.startsWith('winnow'));
}

describe('winnow --help and usage', () => {
  it('lists every command, and each has its own --help', async () => {
    const top = await runCliOk(['--help']);
    for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'), c);
    assert.match(top.stdout, /Exit codes: 0 done/);
    for (const c of COMMANDS) {
      const r = await runCliOk([c, '--help']);
      assert.match(r.stdout, new RegExp(`^Usage: winnow ${c}`), c);
    }
    const score = await runCliOk(['score', '--help']);
    for (const flag of [
      '--engine',
      '--endpoint',
      '--model',
      '--out',
      '--api',
      '--api-key-env',
      '--concurrency',
      '--shard',
      '--format',
      '--json',
      '--progress',
      '--cache-dir',
    ])
      assert.match(score.stdout, new RegExp(`${flag} `), flag);
  });

  it('exit 2 with one line for an unknown command, an unknown flag or a bad value', async () => {
    for (const args of [
      ['frobnicate'],
      ['score', data, '--out', join(dir, 'x.jsonl'), '--bogus'],
      ['score', data, '--out', join(dir, 'x.jsonl'), '--shard', '3/2'],
      ['score', data],
      [],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, ExitCode.usage, `${args.join(' ')}: ${r.stderr}`);
      if (args.length > 0) assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    }
  });

  it('exit 1 with one line on stderr, and a JSON summary with --json, for a missing file', async () => {
    const r = await runCli([
      'score',
      join(dir, 'nope.jsonl'),
      '--out',
      join(dir, 'x.jsonl'),
      '--json',
    ]);
    assert.equal(r.code, ExitCode.failed);
    assert.deepEqual(errorLines(r.stderr), [
      `winnow score: ${join(dir, 'nope.jsonl')}: no such file`,
    ]);
    assert.deepEqual(r.summary, {
      command: 'score',
      ok: false,
      exitCode: 1,
      error: `${join(dir, 'nope.jsonl')}: no such file`,
    });
  });

  it('a remote engine that cannot be reached fails with one clear line, before anything is read', async () => {
    const r = await runCli([
      'score',
      data,
      '--engine',
      'openai',
      '--endpoint',
      'http://127.0.0.1:9/v1',
      '--model',
      'm',
      '--out',
      join(dir, 'x.jsonl'),
    ]);
    assert.equal(r.code, ExitCode.failed);
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^winnow score: engine openai at http:\/\/127\.0\.0\.1:9\/v1: /);
    assert.equal(existsSync(join(dir, 'x.jsonl')), false);
  });

  it('an --api-key-env naming an unset variable is a usage error that does not print a key', async () => {
    const r = await runCli([
      'score',
      data,
      '--api-key-env',
      'WINNOW_TEST_NO_SUCH_KEY',
      '--out',
      join(dir, 'x.jsonl'),
    ]);
    assert.equal(r.code, ExitCode.usage);
    assert.match(r.stderr, /WINNOW_TEST_NO_SUCH_KEY: that environment variable is not set/);
  });

  it('--json: the summary is the last stdout line; --progress json: one object per line on stderr', async () => {
    const out = join(dir, 'progress.jsonl');
    const r = await runCliOk([
      'score',
      data,
      '--model',
      t5.dir,
      '--device',
      'cpu',
      '--out',
      out,
      '--json',
      '--progress',
      'json',
      '--cache-dir',
      join(dir, 'cache-p'),
    ]);
    assert.equal(r.summary?.command, 'score');
    assert.equal(r.summary?.ok, true);
    assert.equal(r.summary?.exitCode, 0);
    assert.deepEqual(r.summary?.counts, {
      lines: 4,
      rows: 2,
      ok: 2,
      bound: 0,
      error: 0,
      cachedAtStart: 0,
      newlyScored: 2,
    });
    const progress = r.stderr
      .split('\n')
      .filter(l => l.startsWith('{'))
      .map(l => JSON.parse(l) as { event: string; phase: string; done: number; total: number });
    assert.ok(progress.length >= 2, r.stderr);
    assert.ok(progress.every(p => p.event === 'progress'));
    const last = progress.filter(p => p.phase === 'scoring').pop();
    assert.deepEqual([last?.done, last?.total], [2, 2]);
  });
});

describe('--shard', () => {
  it('I/N, or auto from Slurm, Kubernetes or WINNOW_SHARD_*', () => {
    assert.deepEqual(resolveShard(undefined, undefined, {}), {
      index: 0,
      count: 1,
      source: 'no --shard',
    });
    assert.equal(resolveShard('2/8', undefined, {}).index, 2);
    const slurm = resolveShard('auto', undefined, {
      SLURM_ARRAY_TASK_ID: '5',
      SLURM_ARRAY_TASK_COUNT: '8',
      SLURM_ARRAY_TASK_MIN: '1',
    });
    assert.deepEqual([slurm.index, slurm.count], [4, 8]);
    const k8s = resolveShard('auto', undefined, {
      JOB_COMPLETION_INDEX: '3',
      WINNOW_SHARD_COUNT: '4',
    });
    assert.deepEqual([k8s.index, k8s.count], [3, 4]);
    assert.equal(resolveShard('auto', '6', { JOB_COMPLETION_INDEX: '5' }).count, 6);
    assert.throws(
      () => resolveShard('auto', undefined, { JOB_COMPLETION_INDEX: '3' }),
      /shard count/,
    );
    assert.throws(() => resolveShard('auto', undefined, {}), /found no scheduler/);
    assert.throws(() => resolveShard('8/8', undefined, {}), /not below/);
    assert.throws(() => resolveShard('a/b', undefined, {}), /I\/N/);
  });

  it('splits by content hash: uniform, and the same for the same bytes', () => {
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 4000; i++)
      counts[shardOfHash(contentHash(Buffer.from(`{"id": ${i}}`)), 4)]++;
    for (const c of counts) assert.ok(c > 800 && c < 1200, String(counts));
    assert.equal(shardOfHash('00000000000050000000000000000000', 7), 0x5 % 7);
  });
});

describe('winnow lsp', () => {
  it('is the language server over stdio, and shows the scores the CLI cached (same cache folder and keys)', async () => {
    const env = cliEnv({ XDG_CACHE_HOME: mkdtempSync(join(dir, 'xdg-')) });
    const scored = await runCliOk(
      [
        'score',
        data,
        '--model',
        t5.dir,
        '--device',
        'cpu',
        '--out',
        join(dir, 'lsp.jsonl'),
        '--json',
      ],
      { env },
    );
    const uri = pathToFileURL(data).toString();
    const session = await WorkerSession.start({
      transport: 'cli',
      env,
      initializationOptions: {
        workspaceTrusted: true,
        winnow: { askllm: { model: t5.dir }, device: 'cpu' },
      },
    });
    try {
      session.answerConfiguration = () => null;
      await session.connection.sendNotification('textDocument/didOpen', {
        textDocument: { uri, languageId: 'jsonl', version: 1, text: '' },
      });
      const d = await session.waitForDiagnostics(uri, x => x.length >= 1);
      assert.equal(d[0]!.range.start.line, 1);
      const hover = (await session.hover(uri, 0))!.contents as MarkupContent;
      const p = /P\(yes\) = ([0-9.e+-]+)/.exec(hover.value.replace(/\\(.)/g, '$1'));
      assert.ok(p, `the hover shows the CLI's score without a run: ${hover.value}`);
      assert.equal(scored.summary?.ok, true);
      assert.equal(await session.shutdown(), 0);
      assert.deepEqual(session.connectionErrors, []);
    } finally {
      if (session.child.exitCode === null) session.child.kill();
    }
  });
});
