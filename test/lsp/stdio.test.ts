/**
 * Tier 2: the real worker (dist/worker.js) as a standard language server over stdio
 * (`--stdio`), driven the way an editor other than VS Code drives it: plain
 * `textDocument/didOpen` (no `winnow/*` notifications), settings from `initializationOptions`
 * and `workspace/configuration`, no storage folder (the per-user cache folder is used). stdout
 * must carry nothing but the protocol, also while ONNX Runtime and transformers.js load and run
 * a model. Also: stale hover and inlay requests are dropped (RequestCancelled).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  CancellationTokenSource,
  LSPErrorCodes,
  ResponseError,
  type Hover,
  type MarkupContent,
} from 'vscode-languageserver-protocol/node';
import { generateTinyT5, type TinyT5 } from '../support/fixtures';
import { WorkerSession, type ConfigurationItem } from './workerSession';

let dir: string;
const sessions: WorkerSession[] = [];

function writeDataset(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return pathToFileURL(path).toString();
}

/** Opens a file the way any LSP client does: didOpen with the text (which the worker ignores). */
function didOpen(session: WorkerSession, uri: string): Promise<void> {
  return session.connection.sendNotification('textDocument/didOpen', {
    textDocument: { uri, languageId: 'jsonl', version: 1, text: '' },
  });
}

function hoverText(hover: Hover | null): string {
  assert.ok(hover, 'a hover');
  return (hover.contents as MarkupContent).value.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

async function start(options: Parameters<typeof WorkerSession.start>[0]): Promise<WorkerSession> {
  const session = await WorkerSession.start({ transport: 'stdio', ...options });
  sessions.push(session);
  return session;
}

/** Shuts a session down cleanly and checks that stdout was well-formed LSP all along. */
async function finish(session: WorkerSession): Promise<void> {
  assert.equal(await session.shutdown(), 0, 'clean exit after shutdown/exit');
  assert.deepEqual(session.connectionErrors, [], 'stdout carried only LSP messages');
}

const lines = [
  '{"text": "a valid row", "id": 1}',
  '{"text": "broken',
  '{"text": "another", "id": 3}',
  'not json at all',
  '{"text": "last", "id": 5}',
];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-lsp-stdio-'));
});

after(async () => {
  for (const s of sessions)
    if (s.child.exitCode === null && s.child.signalCode === null)
      await s.shutdown().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('worker over stdio (a client without VS Code)', () => {
  it('serves diagnostics, hover and code actions on a plain didOpen, with settings from initializationOptions', async () => {
    // No workspace/configuration: the settings come from initializationOptions only.
    const session = await start({
      configuration: false,
      initializationOptions: { winnow: { diagnostics: { maxProblems: 1 } } },
    });
    const uri = writeDataset('plain.jsonl', lines);
    await didOpen(session, uri);
    const d = await session.waitForDiagnostics(uri, x => x.length === 2);
    assert.equal(d[0]!.range.start.line, 1);
    assert.equal(d[0]!.severity, 1);
    assert.equal(d[1]!.code, 'more-problems');
    assert.match(
      d[1]!.message as string,
      /^1 more invalid lines? (is|are) not listed \(winnow\.diagnostics\.maxProblems = 1\)/,
    );

    const valid = hoverText(await session.hover(uri, 2));
    assert.match(valid, /\*\*Parse:\*\* OK: JSON object with 2 fields/);
    assert.match(valid, /\*\*Fields:\*\* `text`, `id`/);
    const invalid = hoverText(await session.hover(uri, 3));
    assert.match(invalid, /\*\*Parse:\*\* Error \(/);

    const actions = (await session.codeActions(uri, 0)) ?? [];
    assert.deepEqual(
      actions.map(a => a.title),
      ['Keep example', 'Drop example'],
    );
    // Nothing is scored: no inlay hints, and no error either.
    assert.deepEqual(await session.inlayHints(uri, 0, lines.length), []);
    await finish(session);
  });

  it('lays workspace/configuration over initializationOptions', async () => {
    const session = await start({
      settings: { diagnostics: { maxProblems: 2 } },
      initializationOptions: { winnow: { diagnostics: { maxProblems: 1 } } },
    });
    const uri = writeDataset('configured.jsonl', lines);
    await didOpen(session, uri);
    // Both invalid lines listed: the client's answer (2) wins over initializationOptions (1).
    const d = await session.waitForDiagnostics(
      uri,
      x => x.length === 2 && x[1]!.code !== 'more-problems',
    );
    assert.deepEqual(
      d.map(x => x.range.start.line),
      [1, 3],
    );
    await finish(session);
  });
});

describe('scoring over stdio', () => {
  let t5: TinyT5;

  before(() => {
    t5 = generateTinyT5(join(dir, 'tiny-t5'));
  });

  it('loads and runs a model with nothing but LSP on stdout; scores go to the per-user cache folder', async () => {
    const session = await start({
      initializationOptions: {
        workspaceTrusted: true,
        winnow: { askllm: { model: t5.dir }, device: 'cpu', worker: { logLevel: 'debug' } },
      },
      // The client answers workspace/configuration with nothing for the section, as Neovim does
      // without `settings`.
      settings: undefined,
    });
    session.answerConfiguration = () => null;
    const uri = writeDataset('scored.jsonl', lines);
    await didOpen(session, uri);
    await session.waitForDiagnostics(uri, x => x.length === 2);
    const run = session.score(uri);
    const result = await run.result;
    assert.equal(result.scored, 3);
    assert.equal(result.device, 'cpu');
    // The hover shows the score, and the inlay hints are there.
    assert.match(hoverText(await session.hover(uri, 0)), /P\(yes\) = [0-9.e-]+/);
    const hints = (await session.inlayHints(uri, 0, lines.length)) ?? [];
    assert.deepEqual(
      hints.map(h => h.position.line),
      [0, 2, 4],
    );
    // No storage folder was given: the score cache is in $XDG_CACHE_HOME/winnow.
    assert.ok(session.userCacheDir);
    assert.ok(existsSync(join(session.userCacheDir, 'askllm', 'scores.log')));
    await finish(session);
  });
});

describe('stale editor requests', () => {
  /**
   * A session whose client holds back the settings of one dataset: the worker cannot open the
   * dataset, so every hover and inlay request for it waits, until `release()`.
   */
  async function heldSession(uri: string) {
    const session = await start({});
    let release!: () => void;
    const released = new Promise<void>(r => (release = r));
    session.answerConfiguration = async (item: ConfigurationItem) => {
      if (item.scopeUri === uri) await released;
      return item.section === 'winnow' ? {} : null;
    };
    await didOpen(session, uri);
    await session.waitFor('the held settings request', () =>
      session.configurationRequests.some(i => i.scopeUri === uri),
    );
    return { session, release };
  }

  /** The error a request ended with, or undefined when it succeeded. */
  async function errorOf(p: Promise<unknown>): Promise<ResponseError<unknown> | undefined> {
    try {
      await p;
      return undefined;
    } catch (err) {
      assert.ok(err instanceof ResponseError, String(err));
      return err;
    }
  }

  it('drops a hover superseded by a newer one for the same document', async () => {
    const uri = writeDataset('stale-hover.jsonl', lines);
    const { session, release } = await heldSession(uri);
    const first = errorOf(session.hover(uri, 0));
    const second = session.hover(uri, 2);
    // A hover of an unopened file answers at once; the worker handles requests in order, so
    // once it answered, both hovers above are running (waiting for the dataset).
    assert.equal(await session.hover(pathToFileURL(join(dir, 'none.jsonl')).toString(), 0), null);
    release();
    const error = await first;
    assert.equal(error?.code, LSPErrorCodes.RequestCancelled, 'the first hover was dropped');
    assert.match(error!.message, /superseded/);
    assert.match(hoverText(await second), /row 3 of 5/);
    await finish(session);
  });

  it('drops inlay-hint requests whose range a newer one covers, and hovers the client cancelled', async () => {
    const uri = writeDataset('stale-inlay.jsonl', lines);
    const { session, release } = await heldSession(uri);
    const firstHints = errorOf(session.inlayHints(uri, 0, 2));
    const secondHints = session.inlayHints(uri, 0, 5);
    // Another view of the file (a split editor) asks for other lines: both are wanted.
    const otherView = session.inlayHints(uri, 2, 3);
    const source = new CancellationTokenSource();
    const cancelled = errorOf(
      session.connection.sendRequest(
        'textDocument/hover',
        { textDocument: { uri }, position: { line: 1, character: 0 } },
        source.token,
      ),
    );
    source.cancel();
    assert.equal(await session.hover(pathToFileURL(join(dir, 'none.jsonl')).toString(), 0), null);
    release();
    assert.equal((await firstHints)?.code, LSPErrorCodes.RequestCancelled);
    assert.deepEqual(await secondHints, [], 'the covering request is answered');
    assert.deepEqual(await otherView, [], 'a request that covers neither is answered');
    assert.equal((await cancelled)?.code, LSPErrorCodes.RequestCancelled);
    await finish(session);
  });
});
