/**
 * Remote scoring throughput (issue 12, `npm run bench:remote`): the remote backend against the
 * stand-in engine (test/support/standInEngine.ts) in a separate process, playing a saturated GPU
 * server: it completes at most `capacity` prompts per step of a fixed service time (continuous
 * batching, requests queue for the next step), with a synthetic answer table (standInModel.ts
 * `syntheticBrain`) so that it costs (almost) no CPU and the client is what is measured. No real
 * engine runs here.
 *
 * Prints, for the same rows in the same run:
 * - sustained rows/s (goal ≥ 2,000 on the 2-core machine);
 * - the client's overhead as a share of the run (goal ≤ 5 %), from the stand-in's own step
 *   counters (`GET /stats`, StandInStepStats), read before and after each run:
 *   client overhead = (engine idle + unused step capacity − the last step's unavoidable
 *   remainder) / wall: the time the engine waited for the client, i.e. what a client that costs
 *   nothing would not have taken;
 * - the engine's own lateness = (time stepping − steps × service time) / wall: the stand-in's
 *   timers running late because the machine is busy (other processes, or the client on the same
 *   cores). It is not the client's overhead, but it does make the run longer, so the older
 *   figure, wall overhead = (wall − ideal) / wall with ideal = ⌈rows / capacity⌉ × service time,
 *   which counts both, prints too;
 * - client CPU = the client process's CPU time (user + system) / wall, i.e. how much of one
 *   core the client needs at this rate;
 * - the load average (1 min) after each run: on a loaded 2-core machine every figure moves.
 * The same runs repeat through the crash-safe score cache (group-committed fsyncs), as the CLI
 * runs them.
 *
 * Usage: npm run bench:remote -- [--rows N] [--service-ms MS] [--capacity PROMPTS_PER_STEP]
 *        [--concurrency C] [--per-request P] [--chars N] [--reps N]
 * Defaults: 40,000 rows of 1,000 characters; 50 ms steps of 256 prompts (an engine at 5,120
 * rows/s); 32 requests of 16 prompts in flight (twice what a step takes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScoreCache } from '../../src/core/askllm';
import { RemoteScorer, scoreRemoteCached } from '../../src/core/engines';
import { StandInEngine, type StandInStepStats } from '../support/standInEngine';
import { syntheticBrain } from '../support/standInModel';

const SERVER = 'WINNOW_BENCH_REMOTE_SERVER';
const YES = 9;
const NO = 10;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/** The stand-in, in its own process: prints its URL, serves until killed. */
async function server(serviceMs: number, capacity: number): Promise<void> {
  const e = await StandInEngine.start({ brain: syntheticBrain(YES, NO), serviceMs, capacity });
  process.stdout.write(`${e.url}\n`);
}

function startServer(
  serviceMs: number,
  capacity: number,
): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename], {
      env: { ...process.env, [SERVER]: `${serviceMs},${capacity}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.once('data', (c: Buffer) => resolve({ url: c.toString('utf8').trim(), child }));
    child.once('exit', code => reject(new Error(`the stand-in exited (${code})`)));
  });
}

/** Row texts of about `chars` characters, all distinct. */
function documents(rows: number, chars: number): string[] {
  const words = ['science', 'energy', 'the', 'city', 'knowledge', 'of', 'light', 'cells', 'market'];
  const base = Array.from(
    { length: Math.ceil(chars / 7) },
    (_, i) => words[(i * 7) % words.length],
  ).join(' ');
  return Array.from({ length: rows }, (_, i) => `${i} ${base}`.slice(0, chars));
}

interface Measured {
  label: string;
  rows: number;
  wallMs: number;
  cpuMs: number;
  idealMs: number;
  /** Time the engine waited for the client (idle + unused capacity, less the last step's). */
  clientMs: number;
  /** Time the stand-in's steps ran past their service time. */
  lateMs: number;
  load: number;
}

/** The stand-in's step counters (`GET /stats`). */
async function stats(url: string): Promise<StandInStepStats> {
  return (await (await fetch(`${url}/stats`)).json()) as StandInStepStats;
}

interface Setup {
  url: string;
  idealMs: number;
  rows: number;
  capacity: number;
  serviceMs: number;
}

async function measure(label: string, o: Setup, run: () => Promise<unknown>): Promise<Measured> {
  const s0 = await stats(o.url);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s1 = await stats(o.url);
  const remainder = o.idealMs - (o.rows / o.capacity) * o.serviceMs;
  const waited = s1.idleMs - s0.idleMs + (s1.underfillMs - s0.underfillMs) - remainder;
  return {
    label,
    rows: o.rows,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    idealMs: o.idealMs,
    clientMs: Math.max(0, waited),
    lateMs: Math.max(0, s1.busyMs - s0.busyMs - (s1.steps - s0.steps) * o.serviceMs),
    load: loadavg()[0],
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

function report(m: Measured): void {
  const rate = m.rows / (m.wallMs / 1000);
  const client = m.clientMs / m.wallMs;
  const wallOver = Math.max(0, (m.wallMs - m.idealMs) / m.wallMs);
  console.log(
    `${m.label.padEnd(34)} ${Math.round(rate).toString().padStart(7)} rows/s ${rate >= 2000 ? '(goal ≥ 2,000: met)' : '(goal ≥ 2,000: NOT met)'}` +
      `  client overhead ${pct(client)} ${client <= 0.05 ? '(goal ≤ 5 %: met)' : '(goal ≤ 5 %: NOT met)'}` +
      `  engine late ${pct(m.lateMs / m.wallMs)}` +
      `  wall ${(m.wallMs / 1000).toFixed(2)} s vs ideal ${(m.idealMs / 1000).toFixed(2)} s (${pct(wallOver)})` +
      `  client CPU ${pct(m.cpuMs / m.wallMs)} of one core  load ${m.load.toFixed(1)}`,
  );
}

async function main(): Promise<void> {
  const rows = arg('rows', 40_000);
  const serviceMs = arg('service-ms', 50);
  const capacity = arg('capacity', 256);
  const concurrency = arg('concurrency', 32);
  const perRequest = arg('per-request', 16);
  const chars = arg('chars', 1000);
  const reps = arg('reps', 3);
  const { url, child } = await startServer(serviceMs, capacity);
  const tmp = mkdtempSync(join(tmpdir(), 'winnow-bench-remote-'));
  try {
    const scorer = await RemoteScorer.create({
      engine: 'vllm',
      endpoint: `${url}/v1`,
      model: 'tiny',
      api: 'completions',
      concurrency,
      promptsPerRequest: perRequest,
    });
    const docs = documents(rows, chars);
    const idealMs = Math.ceil(rows / capacity) * serviceMs;
    console.log(
      `bench:remote: ${rows} rows of ${chars} characters; stand-in engine (separate process, synthetic answers) completing ${capacity} prompts per ${serviceMs} ms step; ` +
        `client: ${concurrency} requests in flight × ${perRequest} prompts (${scorer.manifest.engine} ${scorer.manifest.api}, ${scorer.manifest.mode}, truncation ${scorer.manifest.truncation}: ${scorer.manifest.truncation === 'tokens' ? 'one POST /tokenize per row before its request' : 'rows sent whole'}); ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} (a shared machine: compare the figures of one run)`,
    );
    console.log(
      `ideal (a client that costs nothing): ${Math.round((rows / idealMs) * 1000)} rows/s`,
    );
    await scorer.score(docs.slice(0, concurrency * perRequest)); // warm-up: connections, JIT
    const setup: Setup = { url, idealMs, rows, capacity, serviceMs };
    // Alternating repetitions (the machine is shared: the median and the best both print); each
    // cached run gets a fresh cache, so every row is sent.
    const runs: Record<string, Measured[]> = { backend: [], 'backend + score cache': [] };
    for (let rep = 0; rep < reps; rep++) {
      runs.backend.push(await measure('backend', setup, () => scorer.score(docs)));
      const cache = await ScoreCache.open(join(tmp, `scores-${rep}.log`));
      runs['backend + score cache'].push(
        await measure('backend + score cache', setup, () =>
          scoreRemoteCached(scorer, docs, { cache }),
        ),
      );
      await cache.close();
    }
    for (const [label, ms] of Object.entries(runs)) {
      const sorted = [...ms].sort((a, b) => a.wallMs - b.wallMs);
      report({
        ...sorted[Math.floor((sorted.length - 1) / 2)],
        label: `${label}, median of ${reps}`,
      });
      report({ ...sorted[0], label: `${label}, best` });
    }
    scorer.close();
  } finally {
    child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.env[SERVER]) {
  const [serviceMs, capacity] = (process.env[SERVER] ?? '').split(',').map(Number);
  void server(serviceMs, capacity);
} else
  void main().catch(e => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
