import type { Connection } from 'vscode-languageserver/node';
import {
  SETTINGS_SECTION,
  type LogLevel,
  type WinnowSettingsSection,
} from '../shared/workerProtocol';

/** The settings the worker uses, resolved with defaults (see package.json). */
export interface WorkerSettings {
  maxLineBytes: number;
  maxProblems: number;
  logLevel: LogLevel;
}

export const defaultSettings: WorkerSettings = {
  maxLineBytes: 100 * 1024 * 1024,
  maxProblems: 1000,
  logLevel: 'info',
};

/**
 * Pulls `winnow.*` settings from the client with `workspace/configuration`, per resource, and
 * caches them until the client says they changed. Settings are never kept in globals elsewhere
 * (vscode-eslint's rule): every user asks this store for the resource at hand.
 */
export class SettingsStore {
  private readonly cache = new Map<string, Promise<WorkerSettings>>();
  private supported = false;

  constructor(private readonly connection: Connection) {}

  /** Whether the client answers `workspace/configuration`; without it, defaults apply. */
  setSupported(supported: boolean): void {
    this.supported = supported;
  }

  /** Settings for a resource (a dataset URI), or the global scope when `uri` is undefined. */
  get(uri?: string): Promise<WorkerSettings> {
    if (!this.supported) return Promise.resolve(defaultSettings);
    const key = uri ?? '';
    let settings = this.cache.get(key);
    if (!settings) {
      settings = this.connection.workspace
        .getConfiguration(
          uri ? { scopeUri: uri, section: SETTINGS_SECTION } : { section: SETTINGS_SECTION },
        )
        .then((raw: unknown) => resolveSettings(raw as WinnowSettingsSection | null | undefined))
        .catch(() => defaultSettings);
      this.cache.set(key, settings);
    }
    return settings;
  }

  /** Drops the cache; the next `get` pulls again. */
  clear(): void {
    this.cache.clear();
  }
}

/** Applies defaults and sanity limits to a raw `winnow` section. */
export function resolveSettings(raw: WinnowSettingsSection | null | undefined): WorkerSettings {
  const maxLineBytes = raw?.dataset?.maxLineBytes;
  const maxProblems = raw?.diagnostics?.maxProblems;
  const logLevel = raw?.worker?.logLevel;
  return {
    maxLineBytes:
      typeof maxLineBytes === 'number' && maxLineBytes >= 1024
        ? Math.floor(maxLineBytes)
        : defaultSettings.maxLineBytes,
    maxProblems:
      typeof maxProblems === 'number' && maxProblems >= 0
        ? Math.floor(maxProblems)
        : defaultSettings.maxProblems,
    logLevel:
      logLevel === 'error' || logLevel === 'warn' || logLevel === 'info' || logLevel === 'debug'
        ? logLevel
        : defaultSettings.logLevel,
  };
}
