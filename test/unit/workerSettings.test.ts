/**
 * The worker's settings change classifier: what a change of the `winnow` section touches, so a
 * new log level does not re-validate every open file and a new prompt does not re-publish
 * diagnostics.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  classifySettingsChange,
  defaultSettings,
  type WorkerSettings,
} from '../../src/worker/settings';

const withChange = (change: Partial<WorkerSettings>): WorkerSettings => ({
  ...defaultSettings,
  ...change,
  askllm: { ...defaultSettings.askllm, ...(change.askllm ?? {}) },
});

describe('classifySettingsChange', () => {
  it('finds nothing when nothing changed', () => {
    assert.deepEqual([...classifySettingsChange(defaultSettings, withChange({}))], []);
  });

  it('names each group that changed, and only those', () => {
    const cases: [Partial<WorkerSettings>, string[]][] = [
      [{ maxLineBytes: 1024 }, ['dataset']],
      [{ maxProblems: 5 }, ['diagnostics']],
      [{ logLevel: 'debug' }, ['log']],
      [{ inlineScores: false }, ['inlay']],
      [{ askllm: { ...defaultSettings.askllm, maxTokens: 128 } }, ['askllm']],
      [{ askllm: { ...defaultSettings.askllm, answerVariants: ['Yes'] } }, ['askllm']],
      [{ logLevel: 'warn', maxProblems: 10 }, ['diagnostics', 'log']],
    ];
    for (const [change, want] of cases)
      assert.deepEqual(
        [...classifySettingsChange(defaultSettings, withChange(change))].sort(),
        want,
        JSON.stringify(change),
      );
  });
});
