/**
 * Sharded runs, as a cluster runs them, with real processes of dist/cli.js:
 * - the split by content hash is a partition and does not depend on the order of the rows;
 * - DENSITY as map → reduce → map over N shards, each with its own cache folder (as on separate
 *   machines), gives bit for bit the output of one pass;
 * - the recipes of docs/cluster.md: docs/cluster/winnow-shard.sh run as N local processes with
 *   the variables Slurm (job arrays) and Kubernetes (Indexed Jobs, from winnow-jobs.yaml) set,
 *   compared with one pass (DENSITY bit for bit, ASK-LLM to the last float32 bit);
 * - `winnow merge` refuses outputs that are not the shards of one run.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { load as loadYaml } from 'js-yaml';
import { openDataset, rowBlocks } from '../../src/cli/dataset';
import { ExitCode } from '../../src/cli/errors';
import { generateTinyBert, generateTinyT5, type TinyBert, type TinyT5 } from '../support/fixtures';
import { writeDensityDataset } from '../support/densityData';
import {
  cliEnv,
  cliPath,
  jsonlRows,
  realDataDir,
  repoRoot,
  runCli,
  runCliOk,
  sameScores,
} from './cliRun';

let dir: string;
let t5: TinyT5;
let bert: TinyBert;
let gen: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-cli-cluster-'));
  t5 = generateTinyT5(join(dir, 'tiny-t5'));
  bert = generateTinyBert(join(dir, 'tiny-bert'));
  gen = writeDensityDataset(join(dir, 'gen.jsonl'), { rows: 240, duplicates: 20, invalid: 3 }).path;
});
after(() => rmSync(dir, { recursive: true, force: true }));

const embed = () => ['--model', bert.dir, '--device', 'cpu'];
const judge = () => ['--model', t5.dir, '--device', 'cpu'];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** This shard's content hashes, read by the CLI's own row stream. */
async function shardHashes(path: string, index: number, count: number): Promise<string[]> {
  const ds = await openDataset(path);
  try {
    const out: string[] = [];
    for await (const b of rowBlocks(ds, { index, count, source: 'test' }, 1000))
      out.push(...b.rows.map(r => r.hash));
    return out;
  } finally {
    await ds.close();
  }
}

describe('shards', () => {
  it('split the rows by content hash: a partition, the same after the rows are reordered', async () => {
    const lines = readFileSync(gen, 'utf8').trimEnd().split('\n');
    const reversed = join(dir, 'reversed.jsonl');
    writeFileSync(reversed, `${[...lines].reverse().join('\n')}\n`);
    const all = await shardHashes(gen, 0, 1);
    const parts = await Promise.all(range(4).map(i => shardHashes(gen, i, 4)));
    assert.deepEqual(parts.flat().sort(), [...all].sort(), 'every row in exactly one shard');
    assert.ok(
      parts.every(p => p.length > all.length / 8),
      parts.map(p => p.length).join(' '),
    );
    for (const i of range(4))
      assert.deepEqual(
        (await shardHashes(reversed, i, 4)).sort(),
        [...parts[i]].sort(),
        `shard ${i}`,
      );
  });

  it('DENSITY map → reduce → map over 4 shards, each on its own cache, equals one pass bit for bit', async () => {
    const out = join(dir, 'dens');
    mkdirSync(out);
    await runCliOk([
      'density',
      gen,
      ...embed(),
      '--out',
      join(out, 'one.jsonl'),
      '--cache-dir',
      join(out, 'cache-one'),
    ]);
    const node = (i: number) => ['--cache-dir', join(out, `node-${i}`)];
    await Promise.all(
      range(4).map(i =>
        runCliOk([
          'density',
          gen,
          ...embed(),
          '--shard',
          `${i}/4`,
          '--sketch-out',
          join(out, `s${i}.wnds`),
          ...node(i),
        ]),
      ),
    );
    const merged = await runCliOk([
      'merge',
      join(out, 'all.wnds'),
      ...range(4).map(i => join(out, `s${i}.wnds`)),
      '--json',
    ]);
    const valid = (await shardHashes(gen, 0, 1)).length;
    assert.equal(merged.summary?.points, valid, 'every valid row is a point');
    await Promise.all(
      range(4).map(i =>
        runCliOk([
          'density',
          gen,
          ...embed(),
          '--shard',
          `${i}/4`,
          '--sketch-in',
          join(out, 'all.wnds'),
          '--out',
          join(out, `d${i}.jsonl`),
          ...node(i),
        ]),
      ),
    );
    const joined = await runCliOk([
      'merge',
      join(out, 'density.jsonl'),
      ...range(4).map(i => join(out, `d${i}.jsonl`)),
      '--json',
    ]);
    assert.equal(joined.summary?.rows, valid);
    assert.equal(
      readFileSync(join(out, 'density.jsonl'), 'utf8'),
      readFileSync(join(out, 'one.jsonl'), 'utf8'),
    );
    // A shard's own sketch scores it against that shard only: not the same numbers.
    await runCliOk([
      'density',
      gen,
      ...embed(),
      '--shard',
      '0/4',
      '--out',
      join(out, 'own0.jsonl'),
      ...node(0),
    ]);
    assert.notDeepEqual(
      jsonlRows(readFileSync(join(out, 'own0.jsonl'), 'utf8')),
      jsonlRows(readFileSync(join(out, 'd0.jsonl'), 'utf8')),
    );
  });
});

/** Runs docs/cluster/winnow-shard.sh STEP with the given environment; resolves with its output. */
function recipeStep(step: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [join(repoRoot, 'docs', 'cluster', 'winnow-shard.sh'), step], {
      env,
      cwd: dir,
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve(output)
        : reject(new Error(`winnow-shard.sh ${step} exited ${code}:\n${output}`)),
    );
  });
}

/** The recipe's four steps, with `taskEnv(i)` the variables the scheduler gives task i. */
async function runRecipe(
  data: string,
  out: string,
  n: number,
  taskEnv: (i: number) => NodeJS.ProcessEnv,
): Promise<void> {
  const base = cliEnv({
    WINNOW: `${process.execPath} ${cliPath}`,
    DATA: data,
    OUT: out,
    // The recipes point at vLLM; here the local engine with the fixture models stands in.
    JUDGE_ARGS: judge().join(' '),
    EMBED_ARGS: embed().join(' '),
  });
  await Promise.all(range(n).map(i => recipeStep('map', { ...base, ...taskEnv(i) })));
  await recipeStep('reduce', { ...base, ...taskEnv(0) });
  await Promise.all(range(n).map(i => recipeStep('density', { ...base, ...taskEnv(i) })));
  await recipeStep('merge', { ...base, ...taskEnv(0) });
}

/** One pass over the file: the reference the shards must match. */
async function onePass(data: string, out: string): Promise<void> {
  mkdirSync(out, { recursive: true });
  const cache = ['--cache-dir', join(out, 'cache')];
  await runCliOk(['score', data, ...judge(), '--out', join(out, 'scores.jsonl'), ...cache]);
  await runCliOk(['density', data, ...embed(), '--out', join(out, 'density.jsonl'), ...cache]);
}

function compareWithOnePass(sharded: string, single: string, shards: number): void {
  assert.equal(
    readFileSync(join(sharded, 'density.jsonl'), 'utf8'),
    readFileSync(join(single, 'density.jsonl'), 'utf8'),
    'DENSITY bit for bit',
  );
  sameScores(
    jsonlRows(readFileSync(join(sharded, 'scores.jsonl'), 'utf8')),
    jsonlRows(readFileSync(join(single, 'scores.jsonl'), 'utf8')),
  );
  const m = JSON.parse(readFileSync(join(sharded, 'scores.jsonl.manifest.json'), 'utf8')) as {
    mergedFrom: { shardCount: number; shards: unknown[] };
    shard: unknown;
  };
  assert.equal(m.shard, null);
  assert.deepEqual([m.mergedFrom.shardCount, m.mergedFrom.shards.length], [shards, shards]);
}

/** The parts of a Kubernetes object the recipe test reads. */
interface K8sObject {
  kind: string;
  metadata: { name: string; labels: { step: string } };
  data?: Record<string, string>;
  spec?: {
    completionMode?: string;
    completions?: number;
    template: {
      spec: { containers: { command: string[]; envFrom: { configMapRef?: { name: string } }[] }[] };
    };
  };
}

describe('the recipes of docs/cluster.md', () => {
  it('Slurm job array: winnow.sbatch runs winnow-shard.sh; N tasks with SLURM_ARRAY_* equal one pass', async () => {
    const sbatch = readFileSync(join(repoRoot, 'docs', 'cluster', 'winnow.sbatch'), 'utf8');
    assert.match(sbatch, /^exec sh "\$\{SLURM_SUBMIT_DIR:-\.\}\/winnow-shard\.sh" "\$@"$/m);
    for (const step of ['map', 'reduce', 'density', 'merge'])
      assert.match(sbatch, new RegExp(`winnow\\.sbatch ${step}`));
    const data = join(realDataDir, 'c4-en-sample.jsonl');
    const out = join(dir, 'slurm');
    // --array=1-3: Slurm numbers the tasks from the range's start.
    await runRecipe(data, out, 3, i => ({
      SLURM_ARRAY_JOB_ID: '4242',
      SLURM_ARRAY_TASK_ID: String(i + 1),
      SLURM_ARRAY_TASK_MIN: '1',
      SLURM_ARRAY_TASK_COUNT: '3',
    }));
    await onePass(data, join(dir, 'slurm-one'));
    compareWithOnePass(out, join(dir, 'slurm-one'), 3);
  });

  it('Kubernetes Indexed Jobs: winnow-jobs.yaml; N pods with JOB_COMPLETION_INDEX equal one pass', async () => {
    const text = readFileSync(join(repoRoot, 'docs', 'cluster', 'winnow-jobs.yaml'), 'utf8');
    const objects = text.split(/^---$/m).map(d => loadYaml(d) as K8sObject);
    const config = objects.find(o => o.kind === 'ConfigMap')!;
    const jobs = Object.fromEntries(
      objects.filter(o => o.kind === 'Job').map(o => [o.metadata.labels.step, o.spec!]),
    );
    const data = config.data!;
    const count = Number(data.WINNOW_SHARD_COUNT);
    for (const step of ['map', 'density']) {
      assert.equal(jobs[step].completionMode, 'Indexed', step);
      assert.equal(
        jobs[step].completions,
        count,
        `${step}: WINNOW_SHARD_COUNT repeats completions`,
      );
    }
    for (const step of ['map', 'reduce', 'density', 'merge']) {
      const c = jobs[step].template.spec.containers[0];
      assert.deepEqual(c.command, ['sh', '/scripts/winnow-shard.sh', step]);
      assert.equal(c.envFrom[0].configMapRef?.name, config.metadata.name);
    }
    assert.match(data.JUDGE_ARGS, /--engine vllm --endpoint http:\/\/\S+\/v1/);
    assert.doesNotMatch(text, /api[_-]?key["']?\s*:\s*\S/i, 'no API key in the manifest');
    const out = join(dir, 'k8s');
    await runRecipe(gen, out, 3, i => ({
      JOB_COMPLETION_INDEX: String(i),
      WINNOW_SHARD_COUNT: '3',
    }));
    await onePass(gen, join(dir, 'k8s-one'));
    compareWithOnePass(out, join(dir, 'k8s-one'), 3);
  });
});

describe('winnow merge refuses what is not one run', () => {
  it('a missing shard, a shard twice, another model, sketches with another seed', async () => {
    const out = join(dir, 'refuse');
    mkdirSync(out);
    const cache = ['--cache-dir', join(out, 'cache')];
    for (const i of range(3))
      await runCliOk([
        'score',
        gen,
        ...judge(),
        '--shard',
        `${i}/3`,
        '--out',
        join(out, `s${i}.jsonl`),
        ...cache,
      ]);
    const fail = async (args: string[], message: RegExp) => {
      const r = await runCli(['merge', join(out, 'm.jsonl'), ...args]);
      assert.equal(r.code, ExitCode.failed, r.stderr);
      assert.match(r.stderr, message);
    };
    await fail([join(out, 's0.jsonl'), join(out, 's2.jsonl')], /shard 1 of 3 is missing/);
    await fail(
      [join(out, 's0.jsonl'), join(out, 's0.jsonl'), join(out, 's1.jsonl')],
      /shard 0 of 3 is given twice/,
    );
    await runCliOk([
      'score',
      gen,
      ...judge(),
      '--max-tokens',
      '256',
      '--shard',
      '1/3',
      '--out',
      join(out, 'other.jsonl'),
      ...cache,
    ]);
    await fail(
      [join(out, 's0.jsonl'), join(out, 'other.jsonl'), join(out, 's2.jsonl')],
      /another scorerKey/,
    );
    const partial = await runCliOk([
      'merge',
      join(out, 'm.jsonl'),
      join(out, 's0.jsonl'),
      join(out, 's2.jsonl'),
      '--partial',
      '--json',
    ]);
    assert.equal(partial.summary?.shardCount, 3);
    await runCliOk([
      'density',
      gen,
      ...embed(),
      '--shard',
      '0/2',
      '--sketch-out',
      join(out, 'a.wnds'),
      ...cache,
    ]);
    await runCliOk([
      'density',
      gen,
      ...embed(),
      '--shard',
      '1/2',
      '--seed',
      '7',
      '--sketch-out',
      join(out, 'b.wnds'),
      ...cache,
    ]);
    const r = await runCli([
      'merge',
      join(out, 'ab.wnds'),
      join(out, 'a.wnds'),
      join(out, 'b.wnds'),
    ]);
    assert.equal(r.code, ExitCode.failed);
    assert.match(r.stderr, /seed=7.*seed=24301.*only sketches with the same/);
  });
});
