/**
 * The JSONL engine: line index and random row reads over files of any size, tolerant line
 * parsing with precise errors, schema detection and text extraction, content hashes, and
 * atomic export. Pure Node: no vscode, no DOM, no console output.
 */
export {
  JsonlFile,
  FileUnavailableError,
  DEFAULT_MAX_LINE_BYTES,
  type RawRow,
  type LineBatch,
  type IndexProgress,
  type JsonlFileOptions,
  type RowSpan,
  type ChangeKind,
  type FileStamp,
} from './jsonlFile';
export { CHECKPOINT_BYTES, CHECKPOINT_LINES } from './sparseLineIndex';
export {
  parseLine,
  parseRow,
  locateJsonError,
  pythonReprColumn,
  type ParseErrorKind,
  type ParseError,
  type ParsedRow,
  type ParseLineOptions,
} from './parseLine';
export { detectSchema, extractText, getPath, type SchemaKind, type SchemaInfo } from './schema';
export {
  contentHash,
  contentDigest,
  contentDigestOf,
  legacyContentHash,
  countDuplicates,
  CONTENT_DIGEST_BYTES,
  CONTENT_HASH_DEFINITION,
  CONTENT_HASH_VERSION,
  type DuplicateReport,
} from './contentHash';
export { murmur3x86128 } from './murmur3';
export { decodeBatch, parseDecoded } from './batchParse';
export { ObjectScanner, type TextRule } from './objectScan';
export { SCHEMA_SAMPLE_LINES, sampleFileSchema, schemaSample } from './schemaSample';
export { exportRows, type ExportRowsOptions, type ExportRowsResult } from './exportRows';
export {
  detectJsonArrayFile,
  detectPrettyPrintedJson,
  startsOneJsonValue,
} from './detectJsonArray';
export {
  tempPathFor,
  parseTempName,
  processRuns,
  removeStaleTempFiles,
  STALE_TEMP_MIN_AGE_MS,
  type RemovedTempFile,
  type StaleTempOptions,
} from './tempFiles';
export {
  detectCompression,
  compressedFileMessage,
  isReadableCompression,
  sniffFileCompression,
  COMPRESSION_PROBE_BYTES,
  type CompressionFormat,
} from './compression';
export { fileHeadFacts, type FileHeadFacts } from './fileHead';
export { NewlineScanner } from './newlineScanner';
export {
  BINARY_PROBE_BYTES,
  SYNC_LIMIT_UTF16,
  Utf16Counter,
  binaryFileMessage,
  binaryNulLine,
  formatMegabytes,
  overSyncLimitBySize,
} from './editorLimits';
export { editorLimitMessage, editorLimitOf, type EditorLimit } from './editorLimitProbe';
export {
  GzipJsonl,
  DEFAULT_CHECKPOINT_INTERVAL,
  type GzipIndexProgress,
  type GzipJsonlOptions,
} from './gzipIndex';
export {
  inflateMembers,
  GzipFormatError,
  type GzipRestart,
  type FlushPointSink,
  type InflatedChunk,
  type InflateOptions,
} from './gzipMembers';
export {
  CompressedIndex,
  type CompressedIndexOptions,
  type CompressedIndexProgress,
  type DecodedChunk,
  type Restart,
} from './compressedIndex';
export { ZstdJsonl, type ZstdJsonlOptions } from './zstdIndex';
export { decodeFrames, ZstdFormatError, type ZstdDecoderKind } from './zstdFrames';
export {
  compressionOfName,
  compressorFor,
  nativeZstdAvailable,
  nativeZstdCompressAvailable,
  streamTransform,
  type ByteTransform,
  type OutputCompression,
} from './byteTransform';
export {
  openRowSource,
  type ReadableCompression,
  type RowSource,
  type RowSourceOptions,
} from './rowSource';
export { CompressedFile, type CompressedFileOptions } from './compressedFile';
