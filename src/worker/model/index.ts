/**
 * Model runtime for the worker: load an ASK-LLM scorer model (by Hugging Face id or folder, on
 * the first device that works) and score documents with it.
 */
export * from './device';
export * from './loader';
export * from './askLlmScorer';
export * from './hub';
export * from './hostData';
export { fetchThrough } from './directForward';
