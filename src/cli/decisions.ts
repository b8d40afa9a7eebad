/**
 * The keep/drop decisions of a dataset for `sample --mark` and `export`: the extension's sidecar
 * (`<FILE>.winnow.json`, core/dataset/sidecar.ts, read strictly, written atomically), or the
 * file `--decisions` names (for a dataset in a read-only folder). The dataset is never written.
 */
import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';
import {
  parseSidecar,
  readSidecar,
  sidecarPath,
  sidecarText,
  writeFileAtomic,
  writeSidecar,
  EMPTY_SIDECAR,
  type SidecarData,
} from '../core/dataset/sidecar';
import { CliError } from './errors';

/** Where the decisions of `datasetPath` are: `--decisions`, else the sidecar beside it. */
export function decisionsPath(datasetPath: string, flag: string | undefined): string {
  return flag ?? sidecarPath(datasetPath);
}

/** Reads the decisions (an absent file is empty); a file that cannot be read is an error. */
export async function readDecisions(
  datasetPath: string,
  flag: string | undefined,
): Promise<SidecarData> {
  try {
    if (flag === undefined) return await readSidecar(datasetPath);
    let text: string;
    try {
      text = await fsp.readFile(flag, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_SIDECAR;
      throw e;
    }
    return parseSidecar(text, flag);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Writes the decisions atomically; resolves to the path written. */
export async function writeDecisions(
  datasetPath: string,
  flag: string | undefined,
  data: SidecarData,
): Promise<string> {
  try {
    if (flag === undefined) return await writeSidecar(datasetPath, data);
    await writeFileAtomic(flag, sidecarText(basename(datasetPath), data));
    return flag;
  } catch (e) {
    throw new CliError(
      `the decisions cannot be written to ${decisionsPath(datasetPath, flag)}: ${(e as Error).message}`,
    );
  }
}
