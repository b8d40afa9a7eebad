/**
 * Tier 2: the worker as a standard language server in a real editor other than VS Code. Debian's
 * `neovim` runs headless with test/support/neovim/init.lua, which attaches
 * `node dist/worker.js --stdio` to `.jsonl` files; test/support/neovim/drive.lua waits for the
 * diagnostics, asks for hovers and writes what Neovim received as JSON, which this test reads.
 *
 * Without `nvim` on PATH the test fails under CI=true (.ci/run installs neovim through
 * scripts/setup-vscode-runtime.sh) and is skipped, with the reason, elsewhere.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLine } from '../../src/core/jsonl';
import { repoRoot, workerPath } from './workerSession';

const neovimDir = join(repoRoot, 'test', 'support', 'neovim');
const nvimVersion = spawnSync('nvim', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0];
const ci = process.env.CI === 'true';
const skip =
  !nvimVersion && !ci ? 'nvim is not installed (apt-get install neovim to run this test)' : false;

/** What drive.lua writes. */
interface NeovimResult {
  diagnosticsArrived: boolean;
  clients: string[];
  diagnostics: { lnum: number; col: number; severity: number; message: string; source: string }[];
  hovers: { line: number; kind?: string; value?: string; error?: string }[];
}

const lines = [
  '{"instruction": "Say hi", "output": "hi"}',
  '{"instruction": "Broken", "output": ',
  '{"instruction": "Count", "output": "1 2 3"}',
];

/** Runs nvim headless on `file`; resolves with drive.lua's result and nvim's own output. */
function runNeovim(dir: string, file: string, hoverLines: number[]) {
  const resultPath = join(dir, 'result.json');
  const env = {
    ...process.env,
    WINNOW_WORKER: workerPath,
    WINNOW_NODE: process.execPath,
    WINNOW_RESULT: resultPath,
    WINNOW_HOVER_LINES: hoverLines.join(','),
    // Neovim's state, log and shada, and the worker's per-user cache, stay in the temp folder.
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CACHE_HOME: join(dir, 'cache'),
  };
  const args = ['--headless', '-n', '-i', 'NONE', '-u', join(neovimDir, 'init.lua')];
  args.push(file, '-c', `luafile ${join(neovimDir, 'drive.lua')}`);
  return new Promise<{ result: NeovimResult; output: string }>((resolve, reject) => {
    execFile('nvim', args, { env, cwd: dir, timeout: 120_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err) return reject(new Error(`nvim failed: ${err.message}\n${output}`));
      try {
        resolve({ result: JSON.parse(readFileSync(resultPath, 'utf8')) as NeovimResult, output });
      } catch (e) {
        reject(new Error(`nvim wrote no result (${String(e)})\n${output}`));
      }
    });
  });
}

describe('Neovim drives the worker over stdio', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'winnow-nvim-'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a diagnostic for the bad line and a hover with the parse status', { skip }, async t => {
    assert.ok(nvimVersion, 'nvim is not installed: CI=true requires it (apt-get install neovim)');
    const file = join(dir, 'chat.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const { result, output } = await runNeovim(dir, file, [0, 1]);
    const lsplog = () => {
      try {
        return readFileSync(join(dir, 'state', 'nvim', 'lsp.log'), 'utf8');
      } catch {
        return readFileSync(join(dir, 'cache', 'nvim', 'lsp.log'), 'utf8');
      }
    };
    const context = () => `${nvimVersion}\n${JSON.stringify(result)}\n${output}`;
    assert.deepEqual(result.clients, ['winnow'], context());
    assert.ok(result.diagnosticsArrived, `no diagnostics arrived: ${context()}\n${lsplog()}`);

    // One Error diagnostic, on line 2, with the JSONL engine's message.
    const bad = parseLine(new TextEncoder().encode(lines[1]));
    assert.equal(bad.ok, false);
    assert.equal(result.diagnostics.length, 1, context());
    const [d] = result.diagnostics;
    assert.equal(d!.lnum, 1);
    assert.equal(d!.severity, 1, 'vim.diagnostic.severity.ERROR');
    assert.equal(d!.source, 'Winnow');
    assert.equal(d!.message, bad.error.message);

    // Hovers: the parse status of a valid and of the invalid line, with the fields.
    const [valid, invalid] = result.hovers;
    assert.equal(valid!.kind, 'markdown', context());
    assert.match(valid!.value!, /\*\*Parse:\*\* OK: JSON object with 2 fields/);
    assert.match(valid!.value!, /\*\*Fields:\*\* `instruction`, `output`/);
    assert.match(invalid!.value!, /\*\*Parse:\*\* Error \(syntax\)/);
    // No hover came back as an error (e.g. dropped as stale).
    assert.deepEqual(
      result.hovers.map(h => h.error ?? null),
      [null, null],
    );
    t.diagnostic(`${nvimVersion}: ${JSON.stringify(result.diagnostics)}`);
  });
});
