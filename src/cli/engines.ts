/**
 * The engines `winnow score --engine NAME` can use. An engine that is not registered here fails
 * with `engine NAME: not available in this build`. To add one, implement `EngineFactory`
 * (engine.ts) and put it in the table.
 */
import { ENGINE_NAMES, type EngineFactory, type EngineName } from './engine';
import { CliError, UsageError } from './errors';
import { createLocalEngine } from './localEngine';
import { createRemoteEngine } from './remoteEngine';

const ENGINES: Partial<Record<EngineName, EngineFactory>> = {
  local: createLocalEngine,
  openai: createRemoteEngine,
  vllm: createRemoteEngine,
  sglang: createRemoteEngine,
  llamacpp: createRemoteEngine,
  ollama: createRemoteEngine,
};

/** The factory of an `--engine` value; a usage error for a name that is no engine. */
export function engineFactory(name: string): EngineFactory {
  if (!(ENGINE_NAMES as readonly string[]).includes(name))
    throw new UsageError(`--engine must be one of ${ENGINE_NAMES.join(', ')} (got "${name}")`);
  const factory = ENGINES[name as EngineName];
  if (!factory) throw new CliError(`engine ${name}: not available in this build`);
  return factory;
}

/** Engines this build can run. */
export function availableEngines(): EngineName[] {
  return ENGINE_NAMES.filter(n => ENGINES[n] !== undefined);
}
