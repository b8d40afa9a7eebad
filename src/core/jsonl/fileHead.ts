import { detectCompression, type CompressionFormat } from './compression';
import { detectJsonArrayFile } from './detectJsonArray';
import { binaryNulLine } from './editorLimits';

/** What a file's first bytes say about it as a whole (the worker and the dataset view agree). */
export interface FileHeadFacts {
  /** Compressed (gzip, zstd, xz): no line of it is JSON Lines, so nothing else is checked. */
  compression: CompressionFormat | undefined;
  /** A pretty-printed JSON array rather than JSON Lines. */
  jsonArray: boolean;
  /** The line of a NUL byte that makes VS Code open the file as binary. */
  binaryLine: number | undefined;
}

export function fileHeadFacts(head: Uint8Array): FileHeadFacts {
  const compression = detectCompression(head);
  if (compression) return { compression, jsonArray: false, binaryLine: undefined };
  return { compression, jsonArray: detectJsonArrayFile(head), binaryLine: binaryNulLine(head) };
}
