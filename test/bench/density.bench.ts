/**
 * DENSITY benchmark: `npm run bench:density [-- --n 1000000]`.
 *
 * Generates N random unit vectors of dimension d (seeded; generation time is reported but not
 * counted), then runs both passes of the DENSITY sketch with R = 1,000 through the production
 * ONNX Runtime hasher, streaming blocks of `--block` rows. In the same run it measures:
 * - ORT's own MatMul throughput on the same shapes ([block, d] × [d, R], nothing else in the
 *   graph), the limit for this work; it prints the sketch's wall time as a ratio to two passes of
 *   that MatMul;
 * - a straightforward JS implementation (scalar float64 dot products, ScalarLshHasher) on a
 *   `--js-n` subset, against the ORT path on the same subset, and prints the speed-up.
 * Flags: --n (default 1,000,000), --dim (384), --rows (1000), --block (8192), --js-n (20,000),
 * --baseline-rows (rows of raw MatMul to time, default min(N, 262,144)), --threads (ORT
 * intra-op threads; ORT's default when absent), --device (cpu, webgpu or cuda: the execution
 * provider of the sketch and of the raw MatMul; default cpu), --peak-gflops (the device's FP32
 * matrix rate, to print the sketch as a share of it).
 */
import { loadavg } from 'node:os';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  LshHasher,
  OrtLshHasher,
  ScalarLshHasher,
  computeDensity,
  createProjection,
  sketchParams,
} from '../../src/core/density';
import { GraphBuilder, float, modelBytes } from '../../src/core/onnx';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`Bad ${name} ${process.argv[i + 1]}`);
  return v;
}

const N = arg('--n', 1_000_000);
const D = arg('--dim', 384);
const R = arg('--rows', 1000);
const BLOCK = arg('--block', 8192);
const JS_N = Math.min(N, arg('--js-n', 20_000));
const BASELINE_ROWS = Math.min(N, arg('--baseline-rows', 262_144));
const THREADS = process.argv.includes('--threads') ? arg('--threads', 1) : undefined;
const DEVICE = process.argv.includes('--device')
  ? process.argv[process.argv.indexOf('--device') + 1]
  : 'cpu';
if (!['cpu', 'webgpu', 'cuda'].includes(DEVICE))
  throw new Error(`--device must be cpu, webgpu or cuda (got ${DEVICE})`);
const PROVIDERS = [DEVICE];
const PEAK_GFLOPS = process.argv.includes('--peak-gflops') ? arg('--peak-gflops', 1) : undefined;

const fmt = (s: number): string => `${s.toFixed(2)} s`;
const now = (): number => performance.now() / 1000;
/** This process's CPU time (all threads, ORT's included), in seconds. */
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const load = (): string =>
  loadavg()
    .map(v => v.toFixed(2))
    .join(' ');

/**
 * N unit vectors, uniform on the sphere: normals from ORT's RandomNormal (seeded, so the data is
 * the same every run), divided by their L2 norm. A JS generator took about a minute for 1M × 384.
 */
async function generate(n: number, d: number): Promise<Float32Array> {
  const g = new GraphBuilder('unit_vectors');
  const z = g.op('RandomNormal', [], { shape: [BLOCK, d], seed: float(2024), dtype: 1 });
  g.output(
    'x',
    'float32',
    [BLOCK, d],
    g.op('Div', [z, g.op('ReduceL2', [z], { axes: [1], keepdims: 1 })]),
  );
  const session = await InferenceSession.create(modelBytes(g), { executionProviders: ['cpu'] });
  const x = new Float32Array(n * d);
  for (let s = 0; s < n; s += BLOCK) {
    const block = (await session.run({})).x.data as Float32Array;
    x.set(block.subarray(0, Math.min(BLOCK, n - s) * d), s * d);
  }
  await session.release();
  return x;
}

/** Yields the data in `block`-row chunks, as an embedding store would. */
function* chunks(x: Float32Array, n: number, block: number): Generator<Float32Array> {
  for (let s = 0; s < n; s += block) yield x.subarray(s * D, Math.min(n, s + block) * D);
}

/**
 * Wraps a hasher to measure the time spent inside ORT (`project`, the path the passes take for a
 * K = 1 sketch in WebAssembly memory, or `hash`), forwarding both so the passes run as for users.
 */
function timed(h: OrtLshHasher): LshHasher & { seconds: number } {
  const t = {
    params: h.params,
    blockRows: h.blockRows,
    seconds: 0,
    async hash(x: Float32Array, n: number): Promise<Int32Array> {
      const t0 = now();
      const out = await h.hash(x, n);
      t.seconds += now() - t0;
      return out;
    },
    async project(x: Float32Array, n: number, out: Float32Array): Promise<void> {
      const t0 = now();
      await h.project(x, n, out);
      t.seconds += now() - t0;
    },
    dispose: () => h.dispose(),
  };
  return t;
}

async function main(): Promise<void> {
  console.log(
    `DENSITY bench: N=${N} d=${D} R=${R} B=20000 K=1 w=1 block=${BLOCK} threads=${THREADS ?? 'ORT default'} device=${DEVICE}`,
  );
  console.log(`load average at start (1, 5, 15 min): ${load()}`);
  let t0 = now();
  const x = await generate(N, D);
  console.log(`data: ${N} random unit vectors generated in ${fmt(now() - t0)} (not counted)`);

  const params = sketchParams({ dim: D, rows: R });
  const flopPerPass = 2 * N * D * R;

  // The sketch: both passes, session creation included.
  t0 = now();
  const c0 = cpu();
  const ort = timed(
    await OrtLshHasher.create(params, {
      blockRows: BLOCK,
      intraOpNumThreads: THREADS,
      executionProviders: PROVIDERS,
    }),
  );
  const setup = now() - t0;
  const result = await computeDensity(() => chunks(x, N, BLOCK), ort);
  const wall = now() - t0;
  const sketchCpu = cpu() - c0;
  await ort.dispose();
  const bookkeeping = wall - setup - ort.seconds;
  console.log(
    `sketch: both passes in ${fmt(wall)} (setup ${fmt(setup)}, ORT hash runs ${fmt(ort.seconds)}, ` +
      `Wasm buckets/counters and JS glue ${fmt(bookkeeping)}); ${((2 * flopPerPass) / wall / 1e9).toFixed(1)} GFLOP/s effective; CPU time ${fmt(sketchCpu)}`,
  );
  let min = Infinity;
  let max = 0;
  for (const s of result.scores) {
    min = Math.min(min, s);
    max = Math.max(max, s);
  }
  console.log(
    `scores: min ${min.toFixed(1)}, max ${max.toFixed(1)} (N·k(√2) ≈ ${(0.27 * N).toFixed(0)} expected)`,
  );

  // The limit: ORT's raw MatMul on the same shapes.
  const proj = createProjection(params);
  const g = new GraphBuilder('matmul');
  const xin = g.input('x', 'float32', ['n', D]);
  g.output(
    'y',
    'float32',
    ['n', R],
    g.op('MatMul', [xin, g.init('a', 'float32', [D, R], proj.matrix)]),
  );
  const options: InferenceSession.SessionOptions = {
    executionProviders: PROVIDERS,
    graphOptimizationLevel: 'all',
  };
  if (THREADS !== undefined) options.intraOpNumThreads = THREADS;
  const mm = await InferenceSession.create(modelBytes(g), options);
  await mm.run({
    x: new Tensor('float32', x.subarray(0, Math.min(BLOCK, N) * D), [Math.min(BLOCK, N), D]),
  });
  t0 = now();
  const m0 = cpu();
  for (let s = 0; s < BASELINE_ROWS; s += BLOCK) {
    const n = Math.min(BLOCK, BASELINE_ROWS - s);
    await mm.run({ x: new Tensor('float32', x.subarray(s * D, (s + n) * D), [n, D]) });
  }
  const mmSeconds = now() - t0;
  const mmCpu = ((cpu() - m0) * (2 * N)) / BASELINE_ROWS;
  await mm.release();
  const mmGflops = (2 * BASELINE_ROWS * D * R) / mmSeconds / 1e9;
  const limit = (2 * flopPerPass) / (mmGflops * 1e9);
  console.log(
    `limit: raw ORT MatMul [${BLOCK}×${D}]·[${D}×${R}] at ${mmGflops.toFixed(1)} GFLOP/s ` +
      `(${BASELINE_ROWS} rows timed) → two passes would take ${fmt(limit)} (CPU time ${fmt(mmCpu)})`,
  );

  // Straightforward JS on a subset, against the ORT path on the same subset.
  const sub = x.subarray(0, JS_N * D);
  t0 = now();
  const ortSub = await OrtLshHasher.create(params, {
    blockRows: BLOCK,
    intraOpNumThreads: THREADS,
    executionProviders: PROVIDERS,
  });
  const fast = await computeDensity(() => chunks(sub, JS_N, BLOCK), ortSub);
  const ortSubSeconds = now() - t0;
  await ortSub.dispose();
  t0 = now();
  const slow = await computeDensity(
    () => chunks(sub, JS_N, BLOCK),
    new ScalarLshHasher(params, BLOCK),
  );
  const jsSeconds = now() - t0;
  let maxDiff = 0;
  for (let i = 0; i < JS_N; i++)
    maxDiff = Math.max(maxDiff, Math.abs(fast.scores[i] - slow.scores[i]));
  console.log(
    `js: straightforward JS both passes on ${JS_N} rows in ${fmt(jsSeconds)} ` +
      `(${((2 * 2 * JS_N * D * R) / jsSeconds / 1e9).toFixed(2)} GFLOP/s); ORT path ${fmt(ortSubSeconds)}; ` +
      `max score difference ${maxDiff.toFixed(3)}`,
  );

  console.log('--- summary ---');
  console.log(
    `wall time, both passes, N=${N}: ${fmt(wall)} (goal ≤ 30 s on 2 cores: ${wall <= 30 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `ratio to raw ORT MatMul limit: ${(wall / limit).toFixed(2)}× its time (${((100 * limit) / wall).toFixed(0)} % of its throughput); ` +
      `CPU time ${(sketchCpu / mmCpu).toFixed(2)}× (goal ≤ 1.1×)`,
  );
  if (PEAK_GFLOPS !== undefined)
    console.log(
      `share of the device's FP32 matrix rate (${PEAK_GFLOPS} GFLOP/s): sketch ${((100 * 2 * flopPerPass) / wall / 1e9 / PEAK_GFLOPS).toFixed(1)} %, raw MatMul ${((100 * mmGflops) / PEAK_GFLOPS).toFixed(1)} % (goal on a GPU ≥ 30 %)`,
    );
  console.log(`load average at end (1, 5, 15 min): ${load()}`);
  console.log(
    `speed-up over straightforward JS (${JS_N} rows): ${(jsSeconds / ortSubSeconds).toFixed(1)}×`,
  );
  console.log(`straightforward JS extrapolated to N=${N}: ${fmt((jsSeconds * N) / JS_N)}`);
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
