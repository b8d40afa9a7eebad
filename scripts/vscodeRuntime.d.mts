// Types for scripts/vscodeRuntime.mjs, so that TypeScript test support can import it.
import type { Browser } from 'playwright-core';

export const VSCODE_VERSION: string;
export const QUIET_SETTINGS: Readonly<Record<string, unknown>>;
export const CHROMIUM_ARGS: readonly string[];
export function runtimeDir(): string;
export function runtimePaths(): { node: string; serverMain: string };
export function chromiumPath(): string;
export function launchChromium(): Promise<Browser>;
export function killProcessTree(pid: number): void;

export interface StartServerOptions {
  smokeTestDriver?: boolean;
  installExtensions?: string[];
  settings?: Record<string, unknown>;
  env?: Record<string, string>;
  runDir?: string;
  keepRunDir?: boolean;
  port?: number;
  host?: string;
  onOutput?: (line: string) => void;
}

export type TestPayload = [string, string][];

export interface VSCodeServer {
  readonly pid: number;
  readonly port: number;
  readonly host: string;
  readonly base: string;
  readonly runDir: string;
  readonly logFile: string;
  readLog(): string;
  workbenchUrl(folder?: string, payload?: TestPayload): string;
  remoteUri(path: string): string;
  readonly exited: Promise<number | string | null>;
  stop(): void;
}

export function startServer(opts?: StartServerOptions): Promise<VSCodeServer>;
