/**
 * The JSONL engine: line index and random row reads over files of any size, tolerant line
 * parsing with precise errors, schema detection and text extraction, content hashes, and
 * atomic export. Pure Node: no vscode, no DOM, no console output.
 */
export {
  JsonlFile,
  DEFAULT_MAX_LINE_BYTES,
  type RawRow,
  type IndexProgress,
  type JsonlFileOptions,
  type RowSpan,
  type ChangeKind,
} from './jsonlFile';
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
  legacyContentHash,
  countDuplicates,
  CONTENT_DIGEST_BYTES,
  CONTENT_HASH_DEFINITION,
  CONTENT_HASH_VERSION,
  type DuplicateReport,
} from './contentHash';
export { murmur3x86128 } from './murmur3';
export { decodeBatch, parseDecoded } from './batchParse';
export { SCHEMA_SAMPLE_LINES, schemaSample } from './schemaSample';
export { exportRows } from './exportRows';
export { detectJsonArrayFile, detectPrettyPrintedJson } from './detectJsonArray';
export { NewlineScanner } from './newlineScanner';
