/**
 * The worker as a language server for any client: the transport named on the command line, the
 * per-user cache folder, initializationOptions under workspace/configuration, and the defaults
 * a client without VS Code gets, which must be package.json's (the documented ones).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { userCacheDir } from '../../src/worker/cacheDir';
import { resolveDensitySettings } from '../../src/worker/density/densitySettings';
import { overlaySection, resolveSettings } from '../../src/worker/settings';
import { transportFromArgv } from '../../src/worker/transport';
import { CancellationTokenSource, LSPErrorCodes, ResponseError } from 'vscode-languageserver/node';
import { LatestRequests, rangeContains } from '../../src/worker/staleRequests';

describe('worker transport', () => {
  it('reads the transport from the command line as vscode-languageserver does', () => {
    assert.equal(transportFromArgv(['--stdio']), 'stdio');
    assert.equal(transportFromArgv(['--node-ipc', '--clientProcessId=12']), 'ipc');
    assert.equal(transportFromArgv(['--clientProcessId=12', '--socket=5007']), 'socket');
    assert.equal(transportFromArgv(['--pipe=/tmp/p']), 'pipe');
    assert.equal(transportFromArgv(['--stdio', '--node-ipc']), 'stdio', 'the first one wins');
    assert.equal(transportFromArgv([]), undefined);
    assert.equal(transportFromArgv(['--stdiox', 'stdio']), undefined);
  });
});

describe('per-user cache folder', () => {
  const home = '/home/ada';
  it('follows XDG on Linux, with ~/.cache as the fallback', () => {
    assert.equal(
      userCacheDir({ XDG_CACHE_HOME: '/var/cache/ada' }, 'linux', home),
      '/var/cache/ada/winnow',
    );
    assert.equal(userCacheDir({}, 'linux', home), '/home/ada/.cache/winnow');
    assert.equal(userCacheDir({ XDG_CACHE_HOME: '' }, 'linux', home), '/home/ada/.cache/winnow');
    // A relative XDG_CACHE_HOME is invalid (XDG Base Directory spec) and ignored.
    assert.equal(
      userCacheDir({ XDG_CACHE_HOME: 'rel' }, 'freebsd', home),
      '/home/ada/.cache/winnow',
    );
  });

  it('uses ~/Library/Caches on macOS and %LOCALAPPDATA% on Windows', () => {
    assert.equal(
      userCacheDir({ XDG_CACHE_HOME: '/x' }, 'darwin', '/Users/ada'),
      '/Users/ada/Library/Caches/winnow',
    );
    assert.equal(
      userCacheDir({ LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' }, 'win32', 'C:\\Users\\ada'),
      'C:\\Users\\ada\\AppData\\Local\\winnow\\Cache',
    );
    assert.equal(
      userCacheDir({}, 'win32', 'C:\\Users\\ada'),
      'C:\\Users\\ada\\AppData\\Local\\winnow\\Cache',
    );
  });
});

describe('settings without VS Code', () => {
  it('lays the client answer over initializationOptions key by key', () => {
    const init = {
      diagnostics: { maxProblems: 5 },
      askllm: { model: 'a', answerVariants: ['Yes'] },
    };
    assert.deepEqual(overlaySection(init, { askllm: { dtype: 'fp16', answerVariants: [] } }), {
      diagnostics: { maxProblems: 5 },
      askllm: { model: 'a', dtype: 'fp16', answerVariants: [] },
    });
    // Neovim answers null for a section it has no settings for: initializationOptions stay.
    assert.deepEqual(overlaySection(init, null), init);
    assert.deepEqual(overlaySection({}, { device: 'cpu' }), { device: 'cpu' });
    assert.equal(
      resolveSettings(overlaySection(init, { diagnostics: { maxProblems: 9 } }) as never)
        .maxProblems,
      9,
    );
  });

  it("defaults are package.json's contributes.configuration defaults", () => {
    const pkg = JSON.parse(
      readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'),
    ) as {
      contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
    };
    // Every documented default, as the nested `winnow` section a client would send.
    const section: Record<string, unknown> = {};
    for (const [key, { default: value }] of Object.entries(
      pkg.contributes.configuration.properties,
    )) {
      const path = key.replace(/^winnow\./, '').split('.');
      let node = section;
      for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
      node[path[path.length - 1]!] = value;
    }
    assert.deepEqual(resolveSettings(undefined), resolveSettings(section as never));
    assert.deepEqual(resolveDensitySettings(undefined), resolveDensitySettings(section));
  });
});

describe('stale requests', () => {
  const range = (a: number, b: number) => ({
    start: { line: a, character: 0 },
    end: { line: b, character: 0 },
  });

  it('a newer request whose range covers a running one supersedes it; others run on', async () => {
    const latest = new LatestRequests<ReturnType<typeof range>>(
      'textDocument/inlayHint',
      rangeContains,
    );
    const token = new CancellationTokenSource().token;
    let release!: () => void;
    const gate = new Promise<void>(r => (release = r));
    const run = (r: ReturnType<typeof range>, key = 'file:///a.jsonl') =>
      latest.run(key, r, token, async ensureCurrent => {
        await gate;
        ensureCurrent();
        return r.start.line;
      });
    const outcome = (p: Promise<number>) =>
      p.then(
        v => v,
        (e: unknown) => (e instanceof ResponseError ? e.code : String(e)),
      );
    const covered = outcome(run(range(2, 4)));
    const otherFile = outcome(run(range(2, 4), 'file:///b.jsonl'));
    const covering = outcome(run(range(0, 9)));
    const inside = outcome(run(range(5, 6)));
    release();
    assert.deepEqual(await Promise.all([covered, otherFile, covering, inside]), [
      LSPErrorCodes.RequestCancelled,
      2,
      0,
      5,
    ]);
    assert.equal(rangeContains(range(0, 9), range(0, 9)), true);
    assert.equal(rangeContains(range(1, 9), range(0, 9)), false);
  });

  it('a cancelled token stops the work at its next check', async () => {
    const latest = new LatestRequests('textDocument/hover');
    const source = new CancellationTokenSource();
    const pending = latest.run('file:///a.jsonl', undefined, source.token, async ensureCurrent => {
      await Promise.resolve();
      source.cancel();
      ensureCurrent();
      return 'ran to the end';
    });
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled,
    );
  });
});
