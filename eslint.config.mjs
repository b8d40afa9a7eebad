import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * Function size: no function longer than 80 lines, counted from its first line to its last
 * (blank lines, comments and nested functions included). scripts/check-function-length.mjs
 * lists the offenders with these same options.
 */
export const functionLengthOptions = {
  max: 80,
  skipBlankLines: false,
  skipComments: false,
  IIFEs: true,
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', '.cache/**', '.gl/**', 'node_modules/**', '**/*.d.ts', 'test-results/**'] },
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['src/**/*.ts', 'webview-ui/src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', functionLengthOptions] },
  },
  {
    // The worker talks LSP over IPC; console output goes to the log channel through the connection.
    files: ['src/worker/**/*.ts', 'src/core/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['src/shared/**/*.ts', 'webview-ui/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'path', 'vscode', '**/core/**', '**/extension/**', '**/worker/**'] }],
    },
  },
  {
    // The dataset view's actions layer: only actions.ts sends to the host and only hostEvents.ts
    // listens to it; the panels, the grid and the view go through them.
    files: ['webview-ui/src/**/*.ts'],
    ignores: ['webview-ui/src/actions.ts', 'webview-ui/src/hostEvents.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'vscode', '**/core/**', '**/extension/**', '**/worker/**'] },
            {
              group: ['**/util/host'],
              importNames: ['host', 'onHostEvent'],
              message: 'Send to the host through ./actions.ts and listen through ./hostEvents.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    // Import rules. `vscode` exists only in the extension host: the pure core (src/core), the
    // worker and the webview never import it. The host and the core never import the worker,
    // which they reach only through the protocol in src/shared/protocol.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/extension/**', '**/worker/**', '**/webview-ui/**'] }],
    },
  },
  {
    files: ['src/worker/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/extension/**', '**/webview-ui/**'] }] },
  },
  {
    // ASK-LLM and DENSITY use the model runtime through its index only. (Flat config replaces
    // a rule's options, so this block repeats the worker's rule.)
    files: ['src/worker/askllm/**/*.ts', 'src/worker/density/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/extension/**', '**/webview-ui/**', '../runtime/*'] }],
    },
  },
  {
    // The CLI is a front end like the worker: core and worker code, never vscode or the host.
    // It writes to stdout and stderr itself (main.ts), never through console.
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/extension/**', '**/webview-ui/**', '**/worker/runtime/*'] }],
    },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/worker/**', '**/webview-ui/**'] }] },
  },
);
