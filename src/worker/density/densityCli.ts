/**
 * `node dist/densityCli.js`: command-line tools for DENSITY sketch files (`.wnds`), the way to
 * use DENSITY past one machine. Sketches are additive: build one per shard (each machine runs
 * "Winnow: Compute Density" on its shard with the same model and sketch settings), merge them
 * here, and the merged sketch equals, bit for bit, the sketch of one pass over all shards. Each
 * shard is then scored against all the others by listing their sketches in
 * `winnow.density.shardSketches` (or against the merged file).
 *
 *   node dist/densityCli.js merge <out.wnds> <shard1.wnds> <shard2.wnds> [...]
 *   node dist/densityCli.js info <sketch.wnds> [...]
 *
 * Exit codes: 0 done, 1 a file could not be read, merged or written (message on stderr), 2 usage.
 */
import { describeParams } from '../../core/density/params';
import { readSketchFile, writeSketchFile } from '../../core/density/serialize';
import { mergeSketches } from '../../core/density/sketch';

const USAGE = `Usage:
  node dist/densityCli.js merge <out.wnds> <shard.wnds> <shard.wnds> [...]
      Sums shard sketches built with the same parameters and seed into one sketch file.
  node dist/densityCli.js info <sketch.wnds> [...]
      Prints each sketch's parameters, seed and number of points.`;

/** Runs the CLI; returns the exit code. */
export async function main(
  args: readonly string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === 'merge' && rest.length >= 2) {
      const [target, ...inputs] = rest;
      const sketches = [];
      for (const path of inputs) sketches.push(await readSketchFile(path));
      const merged = mergeSketches(sketches[0]!, ...sketches.slice(1));
      const bytes = await writeSketchFile(target!, merged);
      out(
        `${target}: ${merged.count} points from ${inputs.length} sketches [${describeParams(merged.params)}], ${bytes} bytes`,
      );
      return 0;
    }
    if (command === 'info' && rest.length >= 1) {
      for (const path of rest) {
        const s = await readSketchFile(path);
        out(`${path}: ${s.count} points [${describeParams(s.params)}]`);
      }
      return 0;
    }
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    return 1;
  }
  err(USAGE);
  return 2;
}

if (require.main === module) {
  void main(
    process.argv.slice(2),
    line => process.stdout.write(`${line}\n`),
    line => process.stderr.write(`${line}\n`),
  ).then(code => {
    process.exitCode = code;
  });
}
