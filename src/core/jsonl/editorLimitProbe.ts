/**
 * Reads what {@link editorLimits} needs from a file on disk: its first 512 bytes and size, and
 * where the size alone does not decide, its length in UTF-16 code units (one streaming pass).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  BINARY_PROBE_BYTES,
  SYNC_LIMIT_UTF16,
  Utf16Counter,
  binaryFileMessage,
  binaryNulLine,
  formatMegabytes,
  overSyncLimitBySize,
} from './editorLimits';

/** Why VS Code keeps a file from extensions. */
export type EditorLimit =
  | { readonly kind: 'too-large'; readonly bytes: number }
  | { readonly kind: 'binary'; readonly nulLine: number };

/** Whether VS Code keeps the file at `path` from extensions, and why (undefined: it does not). */
export async function editorLimitOf(path: string): Promise<EditorLimit | undefined> {
  const fh = await open(path, 'r');
  let head: Uint8Array;
  let bytes: number;
  try {
    bytes = (await fh.stat()).size;
    const buffer = new Uint8Array(Math.min(bytes, BINARY_PROBE_BYTES));
    const { bytesRead } = await fh.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const nulLine = binaryNulLine(head);
  if (nulLine !== undefined) return { kind: 'binary', nulLine };
  const bySize = overSyncLimitBySize(bytes);
  if (bySize === 'no') return undefined;
  if (bySize === 'count' && (await utf16Length(path)) <= SYNC_LIMIT_UTF16) return undefined;
  return { kind: 'too-large', bytes };
}

/** The file's text length in UTF-16 code units, as VS Code measures its text model. */
async function utf16Length(path: string): Promise<number> {
  const counter = new Utf16Counter();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
    counter.add(chunk as Buffer);
  return counter.units;
}

/** What a notice says about `fileName`, which VS Code keeps from extensions. */
export function editorLimitMessage(fileName: string, limit: EditorLimit): string {
  if (limit.kind === 'binary') return `${fileName}: ${binaryFileMessage(limit.nulLine)}`;
  return (
    `${fileName} is ${formatMegabytes(limit.bytes)}, over VS Code's 50 MB limit: VS Code gives ` +
    'extensions no text document for it, so this text editor shows no Winnow hovers, inline ' +
    'scores or keep/drop actions (its problems still reach the Problems panel). The Winnow ' +
    'Dataset View reads the file itself.'
  );
}
