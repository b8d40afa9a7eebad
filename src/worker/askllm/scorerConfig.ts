/**
 * The scorer configuration of a dataset, resolved from settings: which model, precision and
 * device, which prompt template (the paper's, or a workspace `.winnow-prompt` file), which
 * answer words, how many tokens. Its fingerprint names everything that changes a score, so the
 * scores of a configuration can be found again without loading the model (see scoreStore.ts).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import nodePath, { type PlatformPath, basename } from 'node:path';
import { type PromptTemplate, parsePromptTemplate, promptHash } from '../../core/askllm';
import type { AskLlmSettings } from '../settings';

/** A settings problem the user must fix (bad prompt file, …). */
export class ScorerSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScorerSettingsError';
  }
}

/** A resolved scorer configuration. */
export interface ScorerConfig {
  settings: AskLlmSettings;
  /** The template from `winnow.askllm.promptFile`; undefined = the paper's prompt. */
  prompt: PromptTemplate | undefined;
  /** Identifies everything that changes a score (model, dtype, prompt, answers, max tokens). */
  fingerprint: string;
  /** Identifies the loaded model a scorer can reuse (model, dtype, device). */
  modelKey: string;
}

/**
 * Resolves `winnow.askllm.promptFile` against the dataset's workspace folder: absolute paths
 * and `~/` as they are, relative paths from the workspace folder that contains the dataset (or
 * the first folder, or the dataset's own folder when there is no workspace). `paths` and `home`
 * are this platform's (tests give `path.win32` to check Windows paths anywhere).
 */
export function resolvePromptPath(
  setting: string,
  datasetPath: string | undefined,
  workspaceFolders: readonly string[],
  paths: PlatformPath = nodePath,
  home: string = homedir(),
): string {
  if (setting.startsWith('~/') || setting.startsWith('~\\'))
    return paths.join(home, setting.slice(2));
  if (paths.isAbsolute(setting)) return setting;
  const owner =
    datasetPath === undefined
      ? undefined
      : workspaceFolders.find(f => {
          const r = paths.relative(f, datasetPath);
          return r !== '' && r !== '..' && !r.startsWith(`..${paths.sep}`) && !paths.isAbsolute(r);
        });
  const base =
    owner ?? workspaceFolders[0] ?? (datasetPath ? paths.dirname(datasetPath) : process.cwd());
  return paths.resolve(base, setting);
}

/** Reads the prompt file (if any) and builds the configuration. */
export async function resolveScorerConfig(
  settings: AskLlmSettings,
  datasetPath: string | undefined,
  workspaceFolders: readonly string[],
): Promise<ScorerConfig> {
  let prompt: PromptTemplate | undefined;
  if (settings.promptFile !== '') {
    const path = resolvePromptPath(settings.promptFile, datasetPath, workspaceFolders);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new ScorerSettingsError(
        `The prompt template ${path} (winnow.askllm.promptFile) cannot be read: ${(e as Error).message}`,
      );
    }
    try {
      prompt = parsePromptTemplate(text, `file:${path}`, basename(path));
    } catch (e) {
      throw new ScorerSettingsError(`${(e as Error).message} (${path})`);
    }
  }
  // A remote engine's scores depend on the engine, its API and the served model, not on the
  // local dtype, device or token limit (docs/engines.md#prompt).
  const remote = settings.engine !== 'local';
  const fingerprint = JSON.stringify([
    settings.model,
    ...(remote ? [settings.engine, settings.engineApi] : [settings.dtype]),
    prompt ? promptHash(prompt) : 'paper',
    ['yes', ...settings.answerVariants],
    ...(remote ? [] : [settings.maxTokens]),
  ]);
  const modelKey = remote
    ? JSON.stringify([
        'remote',
        settings.engine,
        settings.engineEndpoint,
        settings.model,
        settings.engineApi,
        settings.engineConcurrency,
      ])
    : JSON.stringify([settings.model, settings.dtype, settings.device]);
  return { settings, prompt, fingerprint, modelKey };
}

/**
 * The text-extraction config of a dataset (schema kind, field, template), as the cache scope of
 * its scores: a schema override makes every row another document.
 */
export function extractionScope(schema: {
  kind: string;
  field?: string;
  template?: string;
}): string {
  return JSON.stringify(['extract', schema.kind, schema.field ?? '', schema.template ?? '']);
}
