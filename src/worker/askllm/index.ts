/** ASK-LLM in the worker: the scorer over a loaded model, and the scoring service and cache. */
export * from './askLlmScorer';
export { fetchThrough } from './directForward';
export * from './scorerLoader';
