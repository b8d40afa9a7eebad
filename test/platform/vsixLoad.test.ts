/**
 * Loads packaged VSIXs for real, in the Node of their own platform: natively for this machine's
 * platform, and linux-arm64 on x64 Linux under qemu-user with the arm64 Node from npm
 * (scripts/setup-qemu-arm64.sh; scripts/release/emulation.mjs). For each VSIX in WINNOW_VSIX_DIR
 * (`winnow-<target>-<version>.vsix`, as `npm run package -- --target all` names them) it unpacks
 * the VSIX and
 *  1. runs the tiny-t5 encoder (a generated ONNX model, test/support/fixtures) through the
 *     onnxruntime-node inside the VSIX, checking that the binding it loaded is the VSIX's own
 *     platform folder and that the output is the closed form, exactly;
 *  2. starts the VSIX's own dist/worker.js over stdio in that Node, scores a dataset with
 *     tiny-t5 and compares every score with the closed form;
 *  3. runs the VSIX's own winnow CLI (dist/cli.js score) in that Node on a file, likewise.
 * VSIXs of platforms this machine cannot run are skipped with the reason (their headers and file
 * lists are checked by scripts/release/verifyVsix.mjs). With WINNOW_REQUIRE_ARM64=1 (the release
 * script) a linux-arm64 VSIX that cannot be run fails instead.
 *
 * Not part of the unit/lsp/vscode tiers: scripts/release.mjs runs it after packaging.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { PAPER_PROMPT, renderPrompt } from '../../src/core/askllm';
import { nodeFor } from '../../scripts/release/emulation.mjs';
import { Rng, allWords, generateTinyT5, t5Distribution, type TinyT5 } from '../support/fixtures';
import { assertProbability } from '../support/probability';
import { WorkerSession } from '../lsp/workerSession';

const vsixDir = process.env.WINNOW_VSIX_DIR ?? '';
const requireArm64 = process.env.WINNOW_REQUIRE_ARM64 === '1';
const VSIX_NAME = /^winnow-([a-z0-9]+-[a-z0-9]+)-\d+\.\d+\.\d+\.vsix$/;
const LIMIT = { timeout: 600_000 };

let root: string;
let t5: TinyT5;
let tok: PreTrainedTokenizer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'winnow-vsix-load-'));
  t5 = generateTinyT5(join(root, 'tiny-t5'));
  tok = await AutoTokenizer.from_pretrained(t5.dir);
});

after(() => rmSync(root, { recursive: true, force: true }));

/** The VSIXs to load: `[target, path]`. */
function vsixes(): [string, string][] {
  if (!vsixDir || !existsSync(vsixDir)) return [];
  return readdirSync(vsixDir)
    .map(name => [VSIX_NAME.exec(name)?.[1], join(vsixDir, name)] as const)
    .filter((e): e is [string, string] => e[0] !== undefined);
}

function unpack(vsix: string, target: string): string {
  const dir = join(root, `unpacked-${target}`);
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('unzip', ['-q', '-o', vsix, '-d', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `unzip ${vsix}: ${r.stderr}`);
  return join(dir, 'extension');
}

/** Runs the tiny-t5 encoder through `ext`'s onnxruntime-node in `node`; returns its report. */
function runEncoder(node: string[], ext: string, ids: number[], mask: number[]) {
  const script = `
    const ort = require(${JSON.stringify(join(ext, 'node_modules', 'onnxruntime-node'))});
    (async () => {
      const s = await ort.InferenceSession.create(${JSON.stringify(join(t5.dir, 'onnx', 'encoder_model.onnx'))}, { executionProviders: ['cpu'] });
      const t = a => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), [1, a.length]);
      const r = await s.run({ input_ids: t(${JSON.stringify(ids)}), attention_mask: t(${JSON.stringify(mask)}) });
      const binding = Object.keys(require.cache).filter(k => k.endsWith('.node'));
      process.stdout.write(JSON.stringify({ arch: process.arch, platform: process.platform, binding, out: Array.from(r.last_hidden_state.data) }));
    })().catch(e => { console.error(e && e.stack || e); process.exit(1); });`;
  const r = spawnSync(node[0], [...node.slice(1), '-e', script], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `the encoder run failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as {
    arch: string;
    platform: string;
    binding: string[];
    out: number[];
  };
}

function documents(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const words = allWords();
  return Array.from({ length: n }, () =>
    Array.from({ length: 3 + rng.int(20) }, () => words[rng.int(words.length)]).join(' '),
  );
}

async function scoreWithWorker(node: string[], ext: string): Promise<void> {
  const docs = documents(12, 7);
  const data = join(root, `data-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(data, docs.map((text, id) => JSON.stringify({ id, text })).join('\n') + '\n');
  const uri = pathToFileURL(data).toString();
  const w = await WorkerSession.start({
    transport: 'stdio',
    node,
    workerPath: join(ext, 'dist', 'worker.js'),
    settings: { askllm: { model: t5.dir }, device: 'cpu' },
    storagePath: mkdtempSync(join(root, 'storage-')),
  });
  try {
    await w.openDataset(uri, 'command');
    const r = await w.score(uri).result;
    assert.equal(r.cancelled, false);
    assert.equal(r.scored, docs.length, JSON.stringify(r));
    assert.equal(r.device, 'cpu');
    const c = await w.columns(uri);
    assert.ok(c.askllm, 'an askllm column');
    const got = new Float32Array(new Uint8Array(Buffer.from(c.askllm.data, 'base64')).buffer);
    for (const [i, d] of docs.entries()) {
      const want = t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, d)))[t5.yesId];
      assertProbability(got[i], want, `row ${i}`);
    }
  } finally {
    await w.shutdown().catch(() => undefined);
  }
}

/** Runs the VSIX's own winnow CLI (dist/cli.js score) in `node`; checks every score. */
function scoreWithCli(node: string[], ext: string): void {
  const docs = documents(8, 11);
  const work = mkdtempSync(join(root, 'cli-'));
  const data = join(work, 'data.jsonl');
  writeFileSync(data, docs.map((text, id) => JSON.stringify({ id, text })).join('\n') + '\n');
  const out = join(work, 'scores.jsonl');
  const cli = join(ext, 'dist', 'cli.js');
  const args = ['score', data, '--model', t5.dir, '--device', 'cpu', '--out', out, '--json'];
  const r = spawnSync(node[0], [...node.slice(1), cli, ...args], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, XDG_CACHE_HOME: join(work, 'xdg') },
  });
  assert.equal(r.status, 0, `winnow score failed (${r.status ?? r.signal}): ${r.stderr}`);
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map(l => JSON.parse(l) as { line: number; askllm_score: number; askllm_status: string });
  assert.equal(rows.length, docs.length);
  for (const row of rows) {
    assert.equal(row.askllm_status, 'ok', JSON.stringify(row));
    const d = docs[row.line - 1]!;
    const want = t5Distribution(t5, tok.encode(renderPrompt(PAPER_PROMPT, d)))[t5.yesId];
    assertProbability(row.askllm_score, want, `line ${row.line}`);
  }
}

for (const [target, vsix] of vsixes()) {
  const runner = nodeFor(target);
  describe(`the ${target} VSIX, loaded ${runner.how ?? 'nowhere here'}`, () => {
    if (runner.missing !== undefined) {
      if (requireArm64 && target === 'linux-arm64')
        it('can be run here', () => assert.fail(runner.missing));
      else it(`is not loaded: ${runner.missing}`, { skip: runner.missing }, () => {});
      return;
    }
    const node = runner.node;
    let ext: string;
    before(() => {
      ext = unpack(vsix, target);
    });

    it('runs a fixture model through its own onnxruntime-node: the closed form', LIMIT, () => {
      const ids = [5, 17, 3, 42, 9, 0];
      const mask = [1, 1, 1, 1, 1, 0];
      const r = runEncoder(node, ext, ids, mask);
      const [os, cpu] = target.split('-');
      assert.equal(`${r.platform}-${r.arch}`, target);
      const own = join(ext, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', os, cpu);
      assert.deepEqual(r.binding, [join(own, 'onnxruntime_binding.node')]);
      assert.equal(r.out.length, ids.length * t5.d);
      for (const [j, id] of ids.entries())
        for (let k = 0; k < t5.d; k++) {
          // === and not assert.equal: JSON turns -0 into 0.
          const want = Math.fround(t5.eEnc[id * t5.d + k] * mask[j]);
          assert.ok(
            r.out[j * t5.d + k] === want,
            `row ${j}, channel ${k}: ${r.out[j * t5.d + k]} ≠ ${want}`,
          );
        }
    });

    it('its worker scores a dataset over stdio: every score is the closed form', LIMIT, () =>
      scoreWithWorker(node, ext),
    );

    it(
      'its winnow CLI (dist/cli.js score) scores a file: every score is the closed form',
      LIMIT,
      () => scoreWithCli(node, ext),
    );
  });
}

if (!vsixes().length)
  it('has VSIXs to load', () =>
    assert.fail(`no winnow-<target>-<version>.vsix in WINNOW_VSIX_DIR (${vsixDir || 'unset'})`));
