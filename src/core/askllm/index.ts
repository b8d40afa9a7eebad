/** ASK-LLM scoring core: prompts, answer tokens, truncation, softmax, batching, score cache. */
export * from './prompt';
export * from './softmax';
export * from './batching';
export * from './tokens';
export * from './scoreCache';
export * from './outOfMemory';
