/**
 * The PyTorch comparison of `npm run bench:score` (issue 13, docs/benchmarks.md#the-gpu-against-pytorch):
 *
 * - `writePromptsFile` writes the prompts both sides score (token ids and prompt text per row, the
 *   answer token ids, the model folder whose ONNX weights torch_baseline.py loads);
 * - `readTorchBaseline` reads and checks the JSON that test/bench/torch_baseline.py prints;
 * - `compareWithTorch` turns Winnow's measured examples/s and P(yes) into "ratio to PyTorch" per
 *   model and precision, and the agreement (max relative difference of P(yes)) against the
 *   tolerance of each precision.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** The precisions torch_baseline.py times, with the P(yes) agreement each must reach. */
export const AGREEMENT_TOLERANCE: Readonly<Record<string, number>> = { fp32: 1e-5, bf16: 1e-2 };

/** One model's prompts, as torch_baseline.py reads them. */
export interface PromptSet {
  model: string;
  kind: 'seq2seq' | 'causal';
  /** The model folder (Optimum layout) whose ONNX initializers become the torch weights. */
  dir: string;
  yes_ids: number[];
  pad_id: number;
  decoder_start_id: number;
  rows: { ids: readonly number[]; text: string }[];
}

/** Writes the prompts file atomically (a temp file renamed into place). */
export function writePromptsFile(path: string, sets: readonly PromptSet[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ version: 1, models: sets }));
  renameSync(tmp, path);
}

/** The best torch figure of one model and precision. */
export interface TorchBest {
  mode: string;
  batch: number;
  rows_per_s: number;
}

/** One model in torch_baseline.py's output. */
export interface TorchModel {
  model: string;
  /** Best examples/s per precision (`fp32`, `bf16`), over batch sizes and modes. */
  best: Record<string, TorchBest>;
  /** P(yes) of the first rows of the prompts file, per precision, in file order. */
  p_yes: Record<string, number[]>;
}

/** torch_baseline.py's JSON document (the fields the bench reads). */
export interface TorchBaseline {
  device: string;
  driver: string;
  torch: string;
  transformers: string;
  models: TorchModel[];
}

function fail(path: string, what: string): never {
  throw new Error(`${path}: not a torch_baseline.py result: ${what}`);
}

function checkModel(path: string, m: unknown, i: number): TorchModel {
  const o = m as Partial<TorchModel> | null;
  if (!o || typeof o.model !== 'string') fail(path, `models[${i}] has no "model" name`);
  if (!o.best || typeof o.best !== 'object') fail(path, `${o.model} has no "best" figures`);
  for (const [p, b] of Object.entries(o.best))
    if (!b || !Number.isFinite(b.rows_per_s) || b.rows_per_s <= 0)
      fail(path, `${o.model} ${p}: "rows_per_s" must be a positive number`);
  const pYes = o.p_yes ?? {};
  for (const [p, xs] of Object.entries(pYes))
    if (!Array.isArray(xs) || xs.some(x => typeof x !== 'number' || !(x >= 0 && x <= 1)))
      fail(path, `${o.model} ${p}: "p_yes" must be a list of probabilities`);
  return { model: o.model, best: o.best, p_yes: pYes };
}

/** Reads torch_baseline.py's output; a missing or malformed file is a clear error. */
export function readTorchBaseline(path: string): TorchBaseline {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--baseline ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = doc as Partial<TorchBaseline> & { skipped?: string };
  if (!o || typeof o !== 'object') fail(path, 'not a JSON object');
  if (typeof o.skipped === 'string') fail(path, `the baseline was skipped (${o.skipped})`);
  if (!Array.isArray(o.models)) fail(path, 'no "models" list');
  return {
    device: String(o.device ?? '?'),
    driver: String(o.driver ?? '?'),
    torch: String(o.torch ?? '?'),
    transformers: String(o.transformers ?? '?'),
    models: o.models.map((m, i) => checkModel(path, m, i)),
  };
}

/**
 * The largest relative difference `|a - b| / max(|a|, |b|)` over the rows both lists have, and
 * how many rows that was (0 rows gives NaN: nothing was compared).
 */
export function maxRelativeDifference(
  a: readonly number[],
  b: readonly number[],
): { max: number; rows: number } {
  const rows = Math.min(a.length, b.length);
  let max = rows === 0 ? NaN : 0;
  for (let i = 0; i < rows; i++) {
    const scale = Math.max(Math.abs(a[i]), Math.abs(b[i]));
    const d = scale === 0 ? 0 : Math.abs(a[i] - b[i]) / scale;
    max = Math.max(max, d);
  }
  return { max, rows };
}

/** What Winnow measured on one model, to compare with torch. */
export interface WinnowFigures {
  model: string;
  device: string;
  /** The production pipeline's examples/s (tokenisation included). */
  pipelineExPerS: number;
  /** Raw `session.run` on the same batches. */
  rawExPerS: number;
  /** P(yes) of the rows in prompts-file order. */
  pYes: readonly number[];
}

/** One row of the comparison: a model at one torch precision. */
export interface TorchComparison {
  model: string;
  precision: string;
  torch: TorchBest;
  /** Winnow pipeline examples/s over torch's best. */
  ratio: number;
  rawRatio: number;
  agreement: { max: number; rows: number; tolerance: number; met: boolean };
}

/** Compares every precision torch measured for this model; none when torch has no such model. */
export function compareWithTorch(w: WinnowFigures, baseline: TorchBaseline): TorchComparison[] {
  const t = baseline.models.find(m => m.model === w.model);
  if (!t) return [];
  return Object.entries(t.best).map(([precision, best]) => {
    const tolerance = AGREEMENT_TOLERANCE[precision] ?? 1e-2;
    const diff = maxRelativeDifference(w.pYes, t.p_yes[precision] ?? []);
    return {
      model: w.model,
      precision,
      torch: best,
      ratio: w.pipelineExPerS / best.rows_per_s,
      rawRatio: w.rawExPerS / best.rows_per_s,
      agreement: { ...diff, tolerance, met: diff.rows > 0 && diff.max <= tolerance },
    };
  });
}

/** The lines the bench prints for one comparison ("… 1.23× PyTorch"). */
export function formatComparison(c: TorchComparison, device: string): string[] {
  const a = c.agreement;
  const agree =
    a.rows === 0
      ? 'agreement: no P(yes) rows to compare'
      : `agreement: max relative difference of P(yes) ${a.max.toExponential(2)} over ${a.rows} rows (≤ ${a.tolerance.toExponential(0)}) ${a.met ? 'MET' : 'NOT MET'}`;
  return [
    `RATIO to PyTorch ${c.model} ${c.precision}: Winnow ${device.toUpperCase()} pipeline ` +
      `${c.ratio.toFixed(2)}× PyTorch (torch ${c.torch.mode} B=${c.torch.batch}: ` +
      `${c.torch.rows_per_s.toFixed(1)} examples/s; raw session.run ${c.rawRatio.toFixed(2)}× PyTorch) ` +
      `(goal ≥ 1.0×) ${c.ratio >= 1 ? 'MET' : 'NOT MET'}`,
    `  ${agree}`,
  ];
}
