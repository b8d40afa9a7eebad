/**
 * The model runtime shared by ASK-LLM and DENSITY: device selection, the Hugging Face Hub
 * client, the serialised transformers.js loader and reading outputs back from a device.
 */
export * from './device';
export * from './ortRoute';
export * from './loader';
export * from './hub';
export * from './hostData';
