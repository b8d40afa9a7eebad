/** Remote engines for ASK-LLM scores and DENSITY embeddings (docs/engines.md). */
export * from './types';
export * from './backend';
export * from './embeddings';
export { EngineHttp, EngineRequestError, TransientHttpError, endpointHost } from './http';
export { DEFAULT_RETRY_POLICY, RetryableError, type RetryPolicy } from './retry';
export { PROBE_DOCUMENT, type ProbeResult } from './probe';
export * from './cachedRun';
